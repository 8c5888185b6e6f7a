// Package memfleet is an in-memory fleet (fleet.Fleet) for tests and the
// local run: instances move between states over time as on EC2, and
// failures can be injected per action and instance.
package memfleet

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// Fleet is an in-memory fleet.Fleet whose instances move between states
// over time, like EC2: pending becomes running after the start delay,
// stopping becomes stopped after the stop delay. Safe for concurrent use.
type Fleet struct {
	mu         sync.Mutex
	instances  map[string]*fleetInstance
	order      []string
	now        func() time.Time
	startDelay time.Duration
	stopDelay  time.Duration
	denied     map[string]bool
	failures   map[string]error
	calls      []string
	seq        int
}

type fleetInstance struct {
	domain.Instance
	settleAt time.Time
	// startFailure, when set, makes every start fall back to stopped with
	// this state reason (as EC2 does when an encrypted volume's KMS key is
	// unusable).
	startFailure string
	// refuseHibernation: see InstanceSpec.HibernationRefused.
	refuseHibernation bool
}

// FleetOption configures a Fleet.
type FleetOption func(*Fleet)

// WithTransitionDelays sets how long pending and stopping last.
func WithTransitionDelays(start, stop time.Duration) FleetOption {
	return func(f *Fleet) { f.startDelay, f.stopDelay = start, stop }
}

// WithFleetClock sets the clock of state transitions.
func WithFleetClock(c ports.Clock) FleetOption {
	return func(f *Fleet) { f.now = c.Now }
}

// NewFleet returns an empty fleet (transitions take 2 s by default).
func NewFleet(opts ...FleetOption) *Fleet {
	f := &Fleet{
		instances: map[string]*fleetInstance{}, now: time.Now,
		startDelay: 2 * time.Second, stopDelay: 2 * time.Second,
		denied: map[string]bool{}, failures: map[string]error{},
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

var _ fleet.Fleet = (*Fleet)(nil)

// InstanceSpec describes an instance to launch.
type InstanceSpec struct {
	Type  string
	State domain.InstanceState // running (default) or stopped
	Tags  map[string]string
	// Hibernation makes the instance able to hibernate.
	Hibernation bool
	// StartFailure makes starts fall back to stopped with this reason.
	StartFailure string
	// HibernationRefused makes the provider refuse to hibernate the
	// instance although it reports hibernation as configured.
	HibernationRefused bool
}

// Launch adds an instance and returns its id.
func (f *Fleet) Launch(spec InstanceSpec) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := fmt.Sprintf("i-%017x", 0xabc0000+f.seq)
	state := spec.State
	if state == "" {
		state = domain.StateRunning
	}
	typ := spec.Type
	if typ == "" {
		typ = "t3.micro"
	}
	f.instances[id] = &fleetInstance{
		Instance: domain.Instance{
			ID: id, Type: typ, State: state, Tags: maps.Clone(spec.Tags),
			LaunchTime: f.now().UTC().Truncate(time.Second), HibernationConfigured: spec.Hibernation,
		},
		startFailure: spec.StartFailure, refuseHibernation: spec.HibernationRefused,
	}
	f.order = append(f.order, id)
	return id
}

// Terminate terminates an instance at once.
func (f *Fleet) Terminate(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in, ok := f.instances[id]; ok {
		in.State = domain.StateTerminated
	}
}

// Deny makes dry runs and calls of action ("start" or "stop") fail with
// ErrDenied, as a missing IAM permission would.
func (f *Fleet) Deny(action string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.denied[action] = true
}

// Fail makes every call of action ("start" or "stop") that includes
// instance id fail with err, as a persistent provider error would (for
// testing error handling); a nil err clears it.
func (f *Fleet) Fail(action, id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failures, action+" "+id)
		return
	}
	f.failures[action+" "+id] = err
}

// Calls returns the state-changing calls made so far, as "start i-1,i-2".
func (f *Fleet) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *Fleet) settle(in *fleetInstance) {
	if in.settleAt.IsZero() || f.now().Before(in.settleAt) {
		return
	}
	in.settleAt = time.Time{}
	switch in.State {
	case domain.StatePending:
		if in.startFailure != "" {
			in.State, in.StateReason = domain.StateStopped, in.startFailure
		} else {
			in.State, in.StateReason = domain.StateRunning, ""
		}
	case domain.StateStopping:
		in.State = domain.StateStopped
	default:
	}
}

func (f *Fleet) snapshot(in *fleetInstance) domain.Instance {
	f.settle(in)
	out := in.Instance
	out.Tags = maps.Clone(in.Tags)
	return out
}

// Describe implements fleet.Fleet.
func (f *Fleet) Describe(ctx context.Context, ids ...string) ([]domain.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory fleet: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]domain.Instance, 0, len(ids))
	for _, id := range ids {
		in, ok := f.instances[id]
		if !ok {
			return nil, fmt.Errorf("describe %s: %w", id, fleet.ErrNotFound)
		}
		out = append(out, f.snapshot(in))
	}
	return out, nil
}

// List implements fleet.Fleet.
func (f *Fleet) List(ctx context.Context, tags map[string]string) ([]domain.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory fleet: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.Instance
	for _, id := range f.order {
		in := f.instances[id]
		match := true
		for k, v := range tags {
			if in.Tags[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, f.snapshot(in))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Start implements fleet.Fleet with EC2's rules: stopped instances start,
// running and pending ones are left as they are, others refuse.
func (f *Fleet) Start(ctx context.Context, ids []string, opts fleet.ActionOptions) ([]fleet.StateChange, error) {
	return f.act(ctx, "start", ids, opts)
}

// Stop implements fleet.Fleet: running instances stop (or hibernate when
// asked and configured), stopped and stopping ones are left, others refuse.
func (f *Fleet) Stop(ctx context.Context, ids []string, opts fleet.ActionOptions) ([]fleet.StateChange, error) {
	return f.act(ctx, "stop", ids, opts)
}

func (f *Fleet) act(ctx context.Context, action string, ids []string, opts fleet.ActionOptions) ([]fleet.StateChange, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory fleet: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.denied[action] {
		return nil, fmt.Errorf("%s: %w", action, fleet.ErrDenied)
	}
	// Validate the whole batch first: a failing call changes nothing.
	for _, id := range ids {
		in, ok := f.instances[id]
		if !ok {
			return nil, fmt.Errorf("%s %s: %w", action, id, fleet.ErrNotFound)
		}
		if err, ok := f.failures[action+" "+id]; ok {
			return nil, fmt.Errorf("%s %s: %w", action, id, err)
		}
		f.settle(in)
		if err := allowed(action, in, opts); err != nil {
			return nil, err
		}
	}
	if opts.DryRun {
		return nil, fmt.Errorf("%s: %w", action, fleet.ErrDryRunSucceeded)
	}
	f.calls = append(f.calls, fmt.Sprintf("%s %v", action, ids))
	changes := make([]fleet.StateChange, 0, len(ids))
	for _, id := range ids {
		in := f.instances[id]
		prev := in.State
		switch {
		case action == "start" && in.State == domain.StateStopped:
			in.State, in.StateReason, in.settleAt = domain.StatePending, "", f.now().Add(f.startDelay)
		case action == "stop" && in.State == domain.StateRunning:
			in.State, in.StateReason, in.settleAt = domain.StateStopping, "Client.UserInitiatedShutdown: User initiated shutdown", f.now().Add(f.stopDelay)
		}
		changes = append(changes, fleet.StateChange{ID: id, Previous: prev, Current: in.State})
		f.settle(in)
	}
	return changes, nil
}

func allowed(action string, in *fleetInstance, opts fleet.ActionOptions) error {
	bad := func() error {
		return fmt.Errorf("%s %s in state %s: %w", action, in.ID, in.State, fleet.ErrIncorrectState)
	}
	switch action {
	case "start":
		if in.State == domain.StateStopping || in.State == domain.StateShuttingDown || in.State == domain.StateTerminated {
			return bad()
		}
	case "stop":
		if in.State == domain.StatePending || in.State == domain.StateShuttingDown || in.State == domain.StateTerminated {
			return bad()
		}
		if opts.Hibernate && (!in.HibernationConfigured || in.refuseHibernation) {
			return fmt.Errorf("hibernate %s: %w", in.ID, fleet.ErrHibernationUnsupported)
		}
	}
	return nil
}
