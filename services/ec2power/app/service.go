// Package app holds the ec2power use cases: reading the managed fleet
// (Inventory), starting and stopping instances and groups safely (Power),
// and the audit trail (History). It depends only on its ports: the fleet
// (package fleet) and the audit log (AuditLog).
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// Errors of the use cases.
var (
	// ErrNotManaged: the instance exists but lacks the managed tag.
	ErrNotManaged = errors.New("instance is not managed by ec2power")
	// ErrGroupNotFound: no managed instance carries the group tag.
	ErrGroupNotFound = errors.New("no managed instance in this group")
	// ErrAuditUnavailable: the request could not be recorded, so nothing
	// was done.
	ErrAuditUnavailable = errors.New("audit trail unavailable")
	// ErrNoDefaultTarget: the legacy routes have no target configured.
	ErrNoDefaultTarget = errors.New("no default target configured")
	// ErrHistoryNotFound: nothing was ever recorded for the instance.
	ErrHistoryNotFound = errors.New("no history for this instance")
	// ErrNotPermitted: the instance or group is outside the caller's
	// grant; nothing was done.
	ErrNotPermitted = errors.New("outside the caller's grant")
	// ErrGrantsUnavailable: the caller's grant could not be read, so
	// nothing was done.
	ErrGrantsUnavailable = errors.New("grants unavailable")
)

// Target is what the legacy routes act on: instance ids or a group.
type Target struct {
	InstanceIDs []string
	Group       string
}

// ParseTarget reads "group:NAME" or a comma-separated list of instance ids.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, nil
	}
	if g, ok := strings.CutPrefix(s, "group:"); ok {
		if !domain.ValidGroup(g) {
			return Target{}, fmt.Errorf("default target: invalid group name %q", g)
		}
		return Target{Group: g}, nil
	}
	var t Target
	for _, id := range strings.Split(s, ",") {
		id = strings.TrimSpace(id)
		if !domain.ValidInstanceID(id) {
			return Target{}, fmt.Errorf("default target: %q is not an instance id (use i-... or group:NAME)", id)
		}
		t.InstanceIDs = append(t.InstanceIDs, id)
	}
	return t, nil
}

// Config tunes the service.
type Config struct {
	Selector domain.Selector
	// DefaultWait is the wait when a request asks to wait without a timeout.
	DefaultWait time.Duration
	// WaitLimit caps every wait (0: no cap beyond the request's deadline),
	// e.g. below API Gateway's integration timeout.
	WaitLimit time.Duration
	// PollInterval is the time between two reads while waiting.
	PollInterval time.Duration
	// DefaultTarget is what GET /start and GET /stop act on.
	DefaultTarget Target
	// Leases bound the leases callers may ask for.
	Leases domain.LeaseLimits
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Selector: domain.DefaultSelector, DefaultWait: 5 * time.Minute,
		PollInterval: 2 * time.Second, Leases: domain.DefaultLeaseLimits,
	}
}

// Inventory reads the managed fleet: the use cases of describeInstances,
// and what the power use cases check before they act.
type Inventory struct {
	fleet    fleet.Fleet
	selector domain.Selector
}

// NewInventory returns the inventory of the instances sel selects.
func NewInventory(f fleet.Fleet, cfg Config) *Inventory {
	return &Inventory{fleet: f, selector: cfg.Selector}
}

// Selector returns the tags the service works with.
func (s *Inventory) Selector() domain.Selector { return s.selector }

func (s *Inventory) managedTags() map[string]string {
	return map[string]string{s.selector.ManagedKey: s.selector.ManagedValue}
}

// List returns the managed instances.
func (s *Inventory) List(ctx context.Context) ([]domain.Instance, error) {
	out, err := s.fleet.List(ctx, s.managedTags())
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// Get returns one managed instance; an unmanaged one is not found.
func (s *Inventory) Get(ctx context.Context, id string) (domain.Instance, error) {
	in, err := s.describe(ctx, id)
	if errors.Is(err, ErrNotManaged) {
		return domain.Instance{}, fmt.Errorf("instance %s: %w", id, fleet.ErrNotFound)
	}
	return in, err
}

func (s *Inventory) describe(ctx context.Context, id string) (domain.Instance, error) {
	got, err := s.fleet.Describe(ctx, id)
	if err != nil {
		return domain.Instance{}, fmt.Errorf("describe %s: %w", id, err)
	}
	if len(got) != 1 {
		return domain.Instance{}, fmt.Errorf("describe %s: %w", id, fleet.ErrNotFound)
	}
	if !s.selector.Managed(got[0]) {
		return domain.Instance{}, fmt.Errorf("instance %s: %w", id, ErrNotManaged)
	}
	return got[0], nil
}

// Group returns the managed instances of a group.
func (s *Inventory) Group(ctx context.Context, name string) ([]domain.Instance, error) {
	tags := s.managedTags()
	tags[s.selector.GroupKey] = name
	out, err := s.fleet.List(ctx, tags)
	if err != nil {
		return nil, fmt.Errorf("list group %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("group %s: %w", name, ErrGroupNotFound)
	}
	return out, nil
}

// Grants says what each caller may do. Its contract is tested with its
// adapter (package grants).
type Grants interface {
	// Of returns the caller's grant; a caller nothing grants anything to
	// gets the zero Grant.
	Of(ctx context.Context, caller ports.Caller) (domain.Grant, error)
}

// Power starts and stops managed instances: the use cases of startInstance
// and stopInstance. A caller acts only on the groups its grant covers;
// every request is recorded in the audit log before anything is done, and
// completed with its result. A start may come with a lease, which stops
// the instance when it ends; a stop ends the lease. What changes is
// published as events.
type Power struct {
	*Inventory
	audit  AuditLog
	grants Grants
	clock  ports.Clock
	cfg    Config
	logger *slog.Logger
	fx     Effects
}

// NewPower returns the power use cases over the inventory's fleet.
func NewPower(inv *Inventory, audit AuditLog, grants Grants, clock ports.Clock, cfg Config, logger *slog.Logger, fx Effects) *Power {
	return &Power{Inventory: inv, audit: audit, grants: grants, clock: clock, cfg: cfg, logger: logger, fx: fx}
}

// LeaseLimits returns the stage's lease limits.
func (s *Power) LeaseLimits() domain.LeaseLimits { return s.cfg.Leases }

// permit refuses, before anything is done or recorded, an action on an
// instance or group outside the caller's grant.
func (s *Power) permit(ctx context.Context, who Who, group string, instances []domain.Instance) error {
	g, err := s.grants.Of(ctx, who.Caller)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGrantsUnavailable, err)
	}
	if group != "" && !g.Controls(group) {
		return fmt.Errorf("group %s: %w", group, ErrNotPermitted)
	}
	for _, in := range instances {
		if ig := s.selector.Group(in); !g.Controls(ig) {
			return fmt.Errorf("instance %s (group %q): %w", in.ID, ig, ErrNotPermitted)
		}
	}
	return nil
}

// ActOptions modify an action.
type ActOptions struct {
	Wait      bool
	Timeout   time.Duration // 0: DefaultWait
	DryRun    bool
	Hibernate bool
	// Lease, on a start, stops the instance that long after (0: no lease).
	Lease time.Duration

	// trigger is what caused the action (TriggerAPI when empty).
	trigger string
	// endReason is why a stop ends the instance's lease (LeaseStopped
	// when empty).
	endReason string
	// schedule is the lease expiry the action serves: its stop ends no
	// lease (the expiry ends its own).
	schedule string
	// system marks an action no caller asked for (a lease's expiry, a
	// schedule's window): no grant applies.
	system bool
	// scheduleName is the schedule whose window caused the action.
	scheduleName string
}

func (o ActOptions) triggerName() string {
	if o.trigger == "" {
		return TriggerAPI
	}
	return o.trigger
}

// controlled returns a managed instance the caller's grant covers: one
// that is not managed is ErrNotManaged, one outside the grant
// ErrNotPermitted.
func (s *Power) controlled(ctx context.Context, id string, who Who) (domain.Instance, error) {
	in, err := s.describe(ctx, id)
	if err != nil {
		return domain.Instance{}, err
	}
	if err := s.permit(ctx, who, "", []domain.Instance{in}); err != nil {
		return domain.Instance{}, err
	}
	return in, nil
}

// ActOnInstance starts or stops one managed instance. An unmanaged instance
// is refused with ErrNotManaged before any state-changing call.
func (s *Power) ActOnInstance(ctx context.Context, action domain.Action, id string, opts ActOptions, who Who) (domain.Result, error) {
	in, err := s.describe(ctx, id)
	if err != nil {
		return domain.Result{}, err
	}
	results, err := s.act(ctx, action, []domain.Instance{in}, "", opts, who)
	if err != nil {
		return domain.Result{}, err
	}
	return results[0], nil
}

// ActOnGroup starts or stops every managed instance of a group.
func (s *Power) ActOnGroup(ctx context.Context, action domain.Action, group string, opts ActOptions, who Who) ([]domain.Result, error) {
	members, err := s.Group(ctx, group)
	if err != nil {
		return nil, err
	}
	return s.act(ctx, action, members, group, opts, who)
}

// DefaultTarget returns the legacy routes' target.
func (s *Power) DefaultTarget() (Target, error) {
	t := s.cfg.DefaultTarget
	if t.Group == "" && len(t.InstanceIDs) == 0 {
		return Target{}, ErrNoDefaultTarget
	}
	return t, nil
}

// ActOnInstances acts on a list of instance ids (the legacy default
// target): all must be managed.
func (s *Power) ActOnInstances(ctx context.Context, action domain.Action, ids []string, opts ActOptions, who Who) ([]domain.Result, error) {
	got, err := s.fleet.Describe(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("describe default target: %w", err)
	}
	for _, in := range got {
		if !s.selector.Managed(in) {
			return nil, fmt.Errorf("instance %s: %w", in.ID, ErrNotManaged)
		}
	}
	return s.act(ctx, action, got, "", opts, who)
}

// act runs an action on instances the caller may control: it records each
// request, leaves alone the instances already where the action leads,
// refuses those in the wrong state, calls the provider in one batch for the
// rest (splitting the batch to isolate failures), and waits when asked.
func (s *Power) act(ctx context.Context, action domain.Action, instances []domain.Instance, group string, opts ActOptions, who Who) ([]domain.Result, error) {
	if !opts.system {
		if err := s.permit(ctx, who, group, instances); err != nil {
			return nil, err
		}
	}
	leasing := action == domain.Start && opts.Lease > 0 && !opts.DryRun
	if action == domain.Start && opts.Lease > 0 {
		if err := s.cfg.Leases.Check(opts.Lease); err != nil {
			return nil, s.leaseLimit(err)
		}
		if s.fx.Leases == nil || s.fx.Scheduler == nil {
			return nil, fmt.Errorf("%w: this function keeps no leases", ErrLeasesUnavailable)
		}
	}
	entries := make([]AuditEntry, len(instances))
	now := s.clock.Now().UTC()
	for i, in := range instances {
		e := AuditEntry{
			InstanceID: in.ID, Action: action, DryRun: opts.DryRun, Group: group,
			RequestID: who.RequestID, APIKeyID: who.APIKeyID, Principal: who.Principal, SourceIP: who.SourceIP,
			RequestedAt: now, Result: ResultRequested, Trigger: opts.trigger,
		}
		if leasing {
			e.LeaseExpiresAt = secondUp(now.Add(opts.Lease))
		}
		if err := s.audit.Open(ctx, e); err != nil {
			// The entries opened so far are closed, freeing their
			// instances: the request did nothing.
			if errors.Is(err, ErrInstanceBusy) {
				s.close(ctx, entries[:i], domain.CodeInstanceBusy)
				return nil, fmt.Errorf("instance %s: %w", in.ID, ErrInstanceBusy)
			}
			s.close(ctx, entries[:i], domain.CodeUnavailable)
			return nil, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
		}
		entries[i] = e
	}
	// The instances are this request's now: it decides on their state as
	// read from here on, not as read before another action may have
	// changed it.
	ids := make([]string, len(instances))
	for i, in := range instances {
		ids[i] = in.ID
	}
	fresh, err := s.fleet.Describe(ctx, ids...)
	if err != nil {
		s.close(ctx, entries, failureCode(err))
		return nil, fmt.Errorf("describe: %w", err)
	}
	current := make(map[string]domain.Instance, len(fresh))
	for _, in := range fresh {
		current[in.ID] = in
	}
	instances = slices.Clone(instances)
	for i, in := range instances {
		c, ok := current[in.ID]
		if !ok {
			s.close(ctx, entries, domain.CodeNotFound)
			return nil, fmt.Errorf("describe %s: %w", in.ID, fleet.ErrNotFound)
		}
		if !s.selector.Managed(c) {
			s.close(ctx, entries, domain.CodeNotFound)
			return nil, fmt.Errorf("instance %s: %w", in.ID, ErrNotManaged)
		}
		instances[i] = c
	}
	// The leases are recorded, with their expiries, before anything
	// starts: no instance runs on a lease that nothing will end.
	leases := make([]domain.Lease, len(instances))
	for i, in := range instances {
		if !leasing || domain.Classify(action, in.State) == domain.Never {
			continue
		}
		l, err := s.grantLease(ctx, in.ID, opts.Lease, who)
		if err != nil {
			s.abandon(ctx, entries, leases, err)
			return nil, err
		}
		leases[i] = l
		entries[i].LeaseExpiresAt = l.ExpiresAt
	}

	results := make([]domain.Result, len(instances))
	index := make(map[string]int, len(instances))
	var plain, hibernate []string
	for i, in := range instances {
		index[in.ID] = i
		r := domain.Result{InstanceID: in.ID, Name: in.Tags["Name"], Previous: in.State, State: in.State, StateReason: in.StateReason}
		switch domain.Classify(action, in.State) {
		case domain.Never:
			r.Outcome, r.Code, r.Message = domain.Failed, domain.CodeIncorrectState, "the instance is "+string(in.State)+"; it can no longer be started or stopped"
		case domain.RetryLater:
			r.Outcome, r.Code = domain.Failed, domain.CodeIncorrectState
			r.Message = fmt.Sprintf("the instance is %s; retry when it has settled", in.State)
		case domain.AlreadyThere:
			r.Outcome = domain.Unchanged
		case domain.Act:
			switch {
			case action == domain.Stop && opts.Hibernate && in.HibernationConfigured:
				hibernate = append(hibernate, in.ID)
			case action == domain.Stop && opts.Hibernate:
				no := false
				r.Hibernated, r.Message = &no, "the instance does not support hibernation; it was stopped normally"
				plain = append(plain, in.ID)
			default:
				plain = append(plain, in.ID)
			}
		}
		results[i] = r
	}

	apply := func(ids []string, o fleet.ActionOptions) {
		if len(ids) == 0 {
			return
		}
		changes, failures := s.bisect(ctx, action, ids, o)
		for id, c := range changes {
			r := &results[index[id]]
			r.Previous, r.State = c.Previous, c.Current
			switch {
			case opts.DryRun:
				r.Outcome = domain.WouldSucceed
			case c.Current == action.Target() && c.Previous == action.Target():
				r.Outcome = domain.Unchanged
			default:
				r.Outcome = domain.Accepted
			}
			if o.Hibernate {
				yes := true
				r.Hibernated = &yes
			}
		}
		for id, err := range failures {
			r := &results[index[id]]
			r.Outcome = domain.Failed
			if opts.DryRun && errors.Is(err, fleet.ErrDenied) {
				r.Code = domain.CodeDryRunDenied
			} else {
				r.Code = failureCode(err)
			}
			r.Message = domain.Message(r.Code)
			s.logger.WarnContext(ctx, "instance action failed", slog.String("instance", id), slog.String("action", string(action)), slog.String("error", err.Error()))
		}
	}
	apply(plain, fleet.ActionOptions{DryRun: opts.DryRun})
	apply(hibernate, fleet.ActionOptions{DryRun: opts.DryRun, Hibernate: true})

	if opts.Wait && !opts.DryRun {
		s.wait(ctx, action, results, opts.Timeout)
	}

	for i := range results {
		if leases[i].Version > 0 && results[i].OK() {
			results[i].LeaseExpiresAt = leases[i].ExpiresAt
		}
	}
	events := s.settleLeases(ctx, action, instances, group, results, leases, opts, who)
	for i := range results {
		e := entries[i]
		e.Result, e.Code, e.State = string(results[i].Outcome), results[i].Code, results[i].State
		e.FinishedAt = s.clock.Now().UTC()
		if err := s.audit.Complete(context.WithoutCancel(ctx), e); err != nil {
			s.logger.ErrorContext(ctx, "audit entry not completed", slog.String("instance", results[i].InstanceID), slog.String("error", err.Error()))
		}
	}
	s.publish(ctx, events...)
	return results, nil
}

// settleLeases ends the leases an action ends: a start's lease when the
// start failed, the instance's lease when a stop (not an expiry's) left it
// stopped or stopping. It returns the events of the action.
func (s *Power) settleLeases(ctx context.Context, action domain.Action, instances []domain.Instance, group string, results []domain.Result, leases []domain.Lease, opts ActOptions, who Who) []Event {
	var events []Event
	for i, r := range results {
		if ev, ok := resultEvent(action, instances[i], group, r, opts, who); ok {
			events = append(events, ev)
		}
		detail := EventDetail{InstanceID: r.InstanceID, Name: r.Name, Group: group, Trigger: opts.triggerName(), RequestID: who.RequestID}
		switch {
		case leases[i].Version > 0 && !r.OK():
			if _, _, err := s.endLease(context.WithoutCancel(ctx), r.InstanceID, domain.LeaseStartFailed, leases[i].Schedule); err != nil {
				s.logger.ErrorContext(ctx, "lease of a failed start not ended", slog.String("instance", r.InstanceID), slog.String("error", err.Error()))
			}
		case leases[i].Version > 0:
			detail.Lease = &LeaseDetail{ExpiresAt: stamp(leases[i].ExpiresAt)}
			events = append(events, Event{DetailType: EventLeaseGranted, Detail: detail})
		case action == domain.Stop && !opts.DryRun && opts.schedule == "" && r.OK() && s.fx.Leases != nil:
			reason := opts.endReason
			if reason == "" {
				reason = domain.LeaseStopped
			}
			ended, ok, err := s.endLease(context.WithoutCancel(ctx), r.InstanceID, reason, "")
			if err != nil {
				s.logger.ErrorContext(ctx, "lease of a stopped instance not ended", slog.String("instance", r.InstanceID), slog.String("error", err.Error()))
			} else if ok {
				detail.Lease = &LeaseDetail{ExpiresAt: stamp(ended.ExpiresAt), EndReason: reason}
				events = append(events, Event{DetailType: EventLeaseReleased, Detail: detail})
			}
		}
	}
	return events
}

// abandon completes the entries of a request that failed before anything
// was done, and ends the leases it had granted.
func (s *Power) abandon(ctx context.Context, entries []AuditEntry, leases []domain.Lease, cause error) {
	ctx = context.WithoutCancel(ctx)
	for i, e := range entries {
		if leases[i].Version > 0 {
			if _, _, err := s.endLease(ctx, e.InstanceID, domain.LeaseStartFailed, leases[i].Schedule); err != nil {
				s.logger.ErrorContext(ctx, "lease of an abandoned start not ended", slog.String("instance", e.InstanceID), slog.String("error", err.Error()))
			}
		}
	}
	s.close(ctx, entries, domain.CodeLeaseUnavailable)
	s.logger.ErrorContext(ctx, "start abandoned: lease not granted", slog.String("error", cause.Error()))
}

// close completes the entries of a request that did nothing, failed with
// code, freeing their instances.
func (s *Power) close(ctx context.Context, entries []AuditEntry, code string) {
	ctx = context.WithoutCancel(ctx)
	for _, e := range entries {
		e.Result, e.Code, e.FinishedAt = string(domain.Failed), code, s.clock.Now().UTC()
		if err := s.audit.Complete(ctx, e); err != nil {
			s.logger.ErrorContext(ctx, "audit entry not completed", slog.String("instance", e.InstanceID), slog.String("error", err.Error()))
		}
	}
}

// bisect calls the provider for ids and, when the batch fails, splits it in
// halves until the failing instances are isolated, so the others still act.
// Failures that concern the whole call (throttling, a cancelled request)
// are not split: retrying them piecemeal would only add load.
func (s *Power) bisect(ctx context.Context, action domain.Action, ids []string, o fleet.ActionOptions) (map[string]fleet.StateChange, map[string]error) {
	changes := map[string]fleet.StateChange{}
	failures := map[string]error{}
	var call func(ids []string, o fleet.ActionOptions)
	call = func(ids []string, o fleet.ActionOptions) {
		var got []fleet.StateChange
		var err error
		if action == domain.Start {
			got, err = s.fleet.Start(ctx, ids, o)
		} else {
			got, err = s.fleet.Stop(ctx, ids, o)
		}
		switch {
		case err == nil:
			for _, c := range got {
				changes[c.ID] = c
			}
		case errors.Is(err, fleet.ErrDryRunSucceeded):
			for _, id := range ids {
				changes[id] = fleet.StateChange{ID: id}
			}
		case len(ids) == 1 && o.Hibernate && errors.Is(err, fleet.ErrHibernationUnsupported):
			o.Hibernate = false
			call(ids, o)
		case len(ids) == 1, errors.Is(err, fleet.ErrThrottled), ctx.Err() != nil:
			for _, id := range ids {
				failures[id] = err
			}
		default:
			half := len(ids) / 2
			call(ids[:half], o)
			call(ids[half:], o)
		}
	}
	call(ids, o)
	if o.DryRun {
		for id, c := range changes {
			c.Previous, c.Current = "", ""
			changes[id] = c
		}
	}
	return changes, failures
}

// wait polls the instances that are on their way until each reaches the
// action's target state, fails, or the time is up.
func (s *Power) wait(ctx context.Context, action domain.Action, results []domain.Result, timeout time.Duration) {
	if timeout <= 0 {
		timeout = s.cfg.DefaultWait
	}
	if s.cfg.WaitLimit > 0 && timeout > s.cfg.WaitLimit {
		timeout = s.cfg.WaitLimit
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Add(-2*time.Second).Before(deadline) {
		deadline = d.Add(-2 * time.Second)
	}
	pending := func() []string {
		var ids []string
		for _, r := range results {
			if (r.Outcome == domain.Accepted || r.Outcome == domain.Unchanged) && r.State != action.Target() {
				ids = append(ids, r.InstanceID)
			}
		}
		return ids
	}
	for ids := pending(); len(ids) > 0; ids = pending() {
		if !time.Now().Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(s.cfg.PollInterval, time.Until(deadline))):
		}
		got, err := s.fleet.Describe(ctx, ids...)
		if err != nil {
			s.logger.WarnContext(ctx, "describe while waiting failed", slog.String("error", err.Error()))
			continue
		}
		for _, in := range got {
			for i := range results {
				if results[i].InstanceID != in.ID {
					continue
				}
				r := &results[i]
				r.State, r.StateReason = in.State, in.StateReason
				if action == domain.Start && (in.State == domain.StateStopped || in.State == domain.StateTerminated || in.State == domain.StateShuttingDown) {
					r.Outcome, r.Code, r.Message = domain.Failed, domain.CodeStartFailed, domain.Message(domain.CodeStartFailed)
				} else if in.State == action.Target() && r.Outcome == domain.Accepted {
					r.Outcome = domain.Succeeded
				}
			}
		}
	}
	for i := range results {
		if results[i].Outcome == domain.Accepted {
			results[i].Outcome = domain.TimedOut
		}
	}
}

// failureCode names a fleet error as the code of a failed result.
func failureCode(err error) string {
	switch {
	case errors.Is(err, fleet.ErrIncorrectState):
		return domain.CodeIncorrectState
	case errors.Is(err, fleet.ErrInsufficientCapacity):
		return domain.CodeInsufficientCapacity
	case errors.Is(err, fleet.ErrThrottled):
		return domain.CodeThrottled
	case errors.Is(err, fleet.ErrUnavailable):
		return domain.CodeUnavailable
	case errors.Is(err, fleet.ErrDenied):
		return domain.CodeUpstreamDenied
	case errors.Is(err, fleet.ErrNotFound):
		return domain.CodeNotFound
	default:
		return domain.CodeUpstreamError
	}
}
