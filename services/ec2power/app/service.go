// Package app holds the ec2power use cases: reading the managed fleet,
// starting and stopping instances and groups safely, and the audit trail.
// It depends only on the ports.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
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
	// AuditTTL is how long audit entries are kept.
	AuditTTL time.Duration
	// DefaultTarget is what GET /start and GET /stop act on.
	DefaultTarget Target
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Selector: domain.DefaultSelector, DefaultWait: 5 * time.Minute,
		PollInterval: 2 * time.Second, AuditTTL: 90 * 24 * time.Hour,
	}
}

// Service runs the ec2power use cases.
type Service struct {
	fleet  ports.Fleet
	audit  auditLog
	cfg    Config
	logger *slog.Logger
}

// NewService returns the service.
func NewService(fleet ports.Fleet, auditTable ports.Table, clock ports.Clock, cfg Config, logger *slog.Logger) *Service {
	return &Service{fleet: fleet, audit: auditLog{table: auditTable, clock: clock, ttl: cfg.AuditTTL}, cfg: cfg, logger: logger}
}

// Selector returns the tags the service works with.
func (s *Service) Selector() domain.Selector { return s.cfg.Selector }

func (s *Service) managedTags() map[string]string {
	return map[string]string{s.cfg.Selector.ManagedKey: s.cfg.Selector.ManagedValue}
}

// List returns the managed instances.
func (s *Service) List(ctx context.Context) ([]ports.Instance, error) {
	out, err := s.fleet.List(ctx, s.managedTags())
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// Get returns one managed instance; an unmanaged one is not found.
func (s *Service) Get(ctx context.Context, id string) (ports.Instance, error) {
	in, err := s.describe(ctx, id)
	if errors.Is(err, ErrNotManaged) {
		return ports.Instance{}, fmt.Errorf("instance %s: %w", id, ports.ErrNotFound)
	}
	return in, err
}

func (s *Service) describe(ctx context.Context, id string) (ports.Instance, error) {
	got, err := s.fleet.Describe(ctx, id)
	if err != nil {
		return ports.Instance{}, fmt.Errorf("describe %s: %w", id, err)
	}
	if len(got) != 1 {
		return ports.Instance{}, fmt.Errorf("describe %s: %w", id, ports.ErrNotFound)
	}
	if !s.cfg.Selector.Managed(got[0]) {
		return ports.Instance{}, fmt.Errorf("instance %s: %w", id, ErrNotManaged)
	}
	return got[0], nil
}

// Group returns the managed instances of a group.
func (s *Service) Group(ctx context.Context, name string) ([]ports.Instance, error) {
	tags := s.managedTags()
	tags[s.cfg.Selector.GroupKey] = name
	out, err := s.fleet.List(ctx, tags)
	if err != nil {
		return nil, fmt.Errorf("list group %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("group %s: %w", name, ErrGroupNotFound)
	}
	return out, nil
}

// ActOptions modify an action.
type ActOptions struct {
	Wait      bool
	Timeout   time.Duration // 0: DefaultWait
	DryRun    bool
	Hibernate bool
}

// ActOnInstance starts or stops one managed instance. An unmanaged instance
// is refused with ErrNotManaged before any state-changing call.
func (s *Service) ActOnInstance(ctx context.Context, action domain.Action, id string, opts ActOptions, who Who) (domain.Result, error) {
	in, err := s.describe(ctx, id)
	if err != nil {
		return domain.Result{}, err
	}
	results, err := s.act(ctx, action, []ports.Instance{in}, "", opts, who)
	if err != nil {
		return domain.Result{}, err
	}
	return results[0], nil
}

// ActOnGroup starts or stops every managed instance of a group.
func (s *Service) ActOnGroup(ctx context.Context, action domain.Action, group string, opts ActOptions, who Who) ([]domain.Result, error) {
	members, err := s.Group(ctx, group)
	if err != nil {
		return nil, err
	}
	return s.act(ctx, action, members, group, opts, who)
}

// DefaultTarget returns the legacy routes' target.
func (s *Service) DefaultTarget() (Target, error) {
	t := s.cfg.DefaultTarget
	if t.Group == "" && len(t.InstanceIDs) == 0 {
		return Target{}, ErrNoDefaultTarget
	}
	return t, nil
}

// ActOnInstances acts on a list of instance ids (the legacy default
// target): all must be managed.
func (s *Service) ActOnInstances(ctx context.Context, action domain.Action, ids []string, opts ActOptions, who Who) ([]domain.Result, error) {
	got, err := s.fleet.Describe(ctx, ids...)
	if err != nil {
		return nil, fmt.Errorf("describe default target: %w", err)
	}
	for _, in := range got {
		if !s.cfg.Selector.Managed(in) {
			return nil, fmt.Errorf("instance %s: %w", in.ID, ErrNotManaged)
		}
	}
	return s.act(ctx, action, got, "", opts, who)
}

// History returns a page of an instance's audit entries, newest first.
func (s *Service) History(ctx context.Context, id string, limit int, cursor string) (HistoryPage, error) {
	page, err := s.audit.history(ctx, id, limit, cursor)
	if err != nil {
		return HistoryPage{}, err
	}
	if cursor == "" && len(page.Entries) == 0 {
		return HistoryPage{}, fmt.Errorf("instance %s: %w", id, ErrHistoryNotFound)
	}
	return page, nil
}

// act runs an action on instances the caller may control: it records each
// request, leaves alone the instances already where the action leads,
// refuses those in the wrong state, calls the provider in one batch for the
// rest (splitting the batch to isolate failures), and waits when asked.
func (s *Service) act(ctx context.Context, action domain.Action, instances []ports.Instance, group string, opts ActOptions, who Who) ([]domain.Result, error) {
	entries := make([]openEntry, len(instances))
	for i, in := range instances {
		e, err := s.audit.begin(ctx, in.ID, action, opts.DryRun, group, who)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
		}
		entries[i] = e
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
			r.Outcome, r.Code, r.RetryAfter = domain.Failed, domain.CodeIncorrectState, 5
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

	apply := func(ids []string, o ports.ActionOptions) {
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
			if opts.DryRun && errors.Is(err, ports.ErrDenied) {
				r.Code = domain.CodeDryRunDenied
			} else {
				r.Code, r.RetryAfter = domain.FailureFromError(err)
			}
			r.Message = domain.Message(r.Code)
			s.logger.WarnContext(ctx, "instance action failed", slog.String("instance", id), slog.String("action", string(action)), slog.String("error", err.Error()))
		}
	}
	apply(plain, ports.ActionOptions{DryRun: opts.DryRun})
	apply(hibernate, ports.ActionOptions{DryRun: opts.DryRun, Hibernate: true})

	if opts.Wait && !opts.DryRun {
		s.wait(ctx, action, results, opts.Timeout)
	}

	for i := range results {
		if err := s.audit.finish(context.WithoutCancel(ctx), entries[i], results[i]); err != nil {
			s.logger.ErrorContext(ctx, "audit entry not completed", slog.String("instance", results[i].InstanceID), slog.String("error", err.Error()))
		}
	}
	return results, nil
}

// bisect calls the provider for ids and, when the batch fails, splits it in
// halves until the failing instances are isolated, so the others still act.
// Failures that concern the whole call (throttling, a cancelled request)
// are not split: retrying them piecemeal would only add load.
func (s *Service) bisect(ctx context.Context, action domain.Action, ids []string, o ports.ActionOptions) (map[string]ports.StateChange, map[string]error) {
	changes := map[string]ports.StateChange{}
	failures := map[string]error{}
	var call func(ids []string, o ports.ActionOptions)
	call = func(ids []string, o ports.ActionOptions) {
		var got []ports.StateChange
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
		case errors.Is(err, ports.ErrDryRunSucceeded):
			for _, id := range ids {
				changes[id] = ports.StateChange{ID: id}
			}
		case len(ids) == 1 && o.Hibernate && errors.Is(err, ports.ErrHibernationUnsupported):
			o.Hibernate = false
			call(ids, o)
		case len(ids) == 1, errors.Is(err, ports.ErrThrottled), ctx.Err() != nil:
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
func (s *Service) wait(ctx context.Context, action domain.Action, results []domain.Result, timeout time.Duration) {
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
				if action == domain.Start && (in.State == ports.StateStopped || in.State == ports.StateTerminated || in.State == ports.StateShuttingDown) {
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
