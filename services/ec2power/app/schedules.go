package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Errors of the schedule and hold use cases.
var (
	// ErrScheduleNotFound: no schedule of that name.
	ErrScheduleNotFound = errors.New("no such schedule")
	// ErrScheduleChanged: the schedule changed since the version the
	// caller read (If-Match).
	ErrScheduleChanged = errors.New("schedule changed meanwhile")
	// ErrSchedulesUnavailable: the schedule or its EventBridge schedules
	// could not be written; retry.
	ErrSchedulesUnavailable = errors.New("schedules unavailable")
	// ErrNoHold: the instance holds no hold.
	ErrNoHold = errors.New("the instance is not on hold")
	// ErrInvalidHold: a hold in the past or too far away.
	ErrInvalidHold = errors.New("invalid hold")
)

// TriggerSchedule is the trigger of an action a schedule's window opening
// or closing caused.
const TriggerSchedule = "schedule"

// ScheduleStore keeps the schedules. Its contract is tested with its
// adapter (package audittable).
type ScheduleStore interface {
	// Schedule returns the named schedule, or ErrScheduleNotFound.
	Schedule(ctx context.Context, name string) (domain.Schedule, error)
	// PutSchedule writes s when the stored one is at version expected (0:
	// none stored) and returns it with its new version; ErrScheduleChanged
	// when it is not.
	PutSchedule(ctx context.Context, s domain.Schedule, expected int64) (domain.Schedule, error)
	// DeleteSchedule removes the schedule at version expected (0: any).
	DeleteSchedule(ctx context.Context, name string, expected int64) error
	// Schedules lists every schedule, by name.
	Schedules(ctx context.Context) ([]domain.Schedule, error)
}

// HoldStore keeps one hold per instance; a hold past its Until is gone.
type HoldStore interface {
	// Hold returns the instance's hold; false when it has none.
	Hold(ctx context.Context, instanceID string) (domain.Hold, bool, error)
	PutHold(ctx context.Context, h domain.Hold) error
	// DeleteHold removes the hold; false when there was none.
	DeleteHold(ctx context.Context, instanceID string) (bool, error)
}

// WindowAction is what a schedule's EventBridge schedule delivers when a
// window opens or closes.
type WindowAction struct {
	Schedule string        `json:"schedule"`
	Window   int           `json:"window"`
	Action   domain.Action `json:"action"`
}

// windowSchedule names the EventBridge schedule of one edge of a window.
func windowSchedule(schedule string, window int, action domain.Action) string {
	return fmt.Sprintf("window-%s-%d-%s", schedule, window, action)
}

// Schedules manages the named schedules (readSchedules, writeSchedules)
// and runs their actions (applySchedule). Only callers whose grant covers
// every group manage them: a schedule acts on any instance tagged with it.
type Schedules struct {
	store  ScheduleStore
	sched  Scheduler
	grants Grants
	clock  ports.Clock
	power  *Power
	logger *slog.Logger
}

// NewSchedules returns the schedule use cases; power runs their actions
// (nil for the functions that only read or write schedules).
func NewSchedules(store ScheduleStore, sched Scheduler, grants Grants, clock ports.Clock, power *Power, logger *slog.Logger) *Schedules {
	return &Schedules{store: store, sched: sched, grants: grants, clock: clock, power: power, logger: logger}
}

func (s *Schedules) permit(ctx context.Context, who Who) error {
	g, err := s.grants.Of(ctx, who.Caller)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrGrantsUnavailable, err)
	}
	if !g.AllGroups {
		return fmt.Errorf("managing schedules needs a grant of every group: %w", ErrNotPermitted)
	}
	return nil
}

// List returns every schedule.
func (s *Schedules) List(ctx context.Context) ([]domain.Schedule, error) {
	out, err := s.store.Schedules(ctx)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// Get returns one schedule.
func (s *Schedules) Get(ctx context.Context, name string) (domain.Schedule, error) {
	out, err := s.store.Schedule(ctx, name)
	if err != nil {
		return domain.Schedule{}, fmt.Errorf("schedule %s: %w", name, err)
	}
	return out, nil
}

// Put creates or replaces a schedule (at version ifMatch when it is not
// 0), then makes its EventBridge schedules: one for each window's opening
// and one for its closing, replacing those of the version before and
// removing the ones it no longer has. A failure there is
// ErrSchedulesUnavailable: the schedule is stored, and putting it again
// finishes the job.
func (s *Schedules) Put(ctx context.Context, sc domain.Schedule, ifMatch int64, who Who) (domain.Schedule, error) {
	if err := sc.Check(); err != nil {
		return domain.Schedule{}, err
	}
	if err := s.permit(ctx, who); err != nil {
		return domain.Schedule{}, err
	}
	cur, err := s.store.Schedule(ctx, sc.Name)
	switch {
	case errors.Is(err, ErrScheduleNotFound):
	case err != nil:
		return domain.Schedule{}, fmt.Errorf("%w: read schedule %s: %w", ErrSchedulesUnavailable, sc.Name, err)
	}
	if ifMatch != 0 && cur.Version != ifMatch {
		return domain.Schedule{}, fmt.Errorf("schedule %s is at version %d: %w", sc.Name, cur.Version, ErrScheduleChanged)
	}
	sc.UpdatedAt = s.clock.Now().UTC()
	stored, err := s.store.PutSchedule(ctx, sc, cur.Version)
	if err != nil {
		return domain.Schedule{}, fmt.Errorf("schedule %s: %w", sc.Name, err)
	}
	for i, w := range stored.Windows {
		for _, edge := range []struct {
			action domain.Action
			at     domain.Weekly
		}{{domain.Start, stored.StartAt(w)}, {domain.Stop, stored.StopAt(w)}} {
			input, _ := json.Marshal(WindowAction{Schedule: stored.Name, Window: i, Action: edge.action})
			if err := s.sched.Every(ctx, windowSchedule(stored.Name, i, edge.action), edge.at, input); err != nil {
				return domain.Schedule{}, fmt.Errorf("%w: schedule %s, window %d: %w", ErrSchedulesUnavailable, stored.Name, i+1, err)
			}
		}
	}
	for i := len(stored.Windows); i < len(cur.Windows); i++ {
		if err := s.cancelWindow(ctx, stored.Name, i); err != nil {
			return domain.Schedule{}, err
		}
	}
	return stored, nil
}

func (s *Schedules) cancelWindow(ctx context.Context, name string, i int) error {
	for _, a := range []domain.Action{domain.Start, domain.Stop} {
		if err := s.sched.Cancel(ctx, windowSchedule(name, i, a)); err != nil {
			return fmt.Errorf("%w: schedule %s, window %d: %w", ErrSchedulesUnavailable, name, i+1, err)
		}
	}
	return nil
}

// Delete removes a schedule and its EventBridge schedules (those first:
// what is left on a failure is the schedule, and deleting again finishes).
func (s *Schedules) Delete(ctx context.Context, name string, ifMatch int64, who Who) error {
	if err := s.permit(ctx, who); err != nil {
		return err
	}
	cur, err := s.store.Schedule(ctx, name)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", name, err)
	}
	if ifMatch != 0 && cur.Version != ifMatch {
		return fmt.Errorf("schedule %s is at version %d: %w", name, cur.Version, ErrScheduleChanged)
	}
	for i := range cur.Windows {
		if err := s.cancelWindow(ctx, name, i); err != nil {
			return err
		}
	}
	if err := s.store.DeleteSchedule(ctx, name, cur.Version); err != nil {
		return fmt.Errorf("schedule %s: %w", name, err)
	}
	return nil
}

// Apply runs one window's opening or closing on the instances tagged with
// the schedule: each is started or stopped, but for those on hold (and,
// when closing, those holding a lease: someone is using them), which are
// left alone and reported as an event. An instance stopped by hand
// during its window stays stopped: a window only acts when it opens and
// closes. An action for a schedule or window that no longer exists does
// nothing.
func (s *Schedules) Apply(ctx context.Context, a WindowAction, requestID string) error {
	sc, err := s.store.Schedule(ctx, a.Schedule)
	if errors.Is(err, ErrScheduleNotFound) || (err == nil && a.Window >= len(sc.Windows)) {
		s.logger.InfoContext(ctx, "stale schedule action ignored", slog.String("schedule", a.Schedule), slog.Int("window", a.Window))
		return nil
	}
	if err != nil {
		return fmt.Errorf("read schedule %s: %w", a.Schedule, err)
	}
	p := s.power
	tags := p.managedTags()
	tags[p.selector.ScheduleKey] = sc.Name
	instances, err := p.fleet.List(ctx, tags)
	if err != nil {
		return fmt.Errorf("list the instances of schedule %s: %w", sc.Name, err)
	}
	var act []domain.Instance
	var skipped []Event
	now := s.clock.Now()
	for _, in := range instances {
		reason, until := "", time.Time{}
		if h, ok, err := p.fx.Holds.Hold(ctx, in.ID); err != nil {
			return fmt.Errorf("read the hold of %s: %w", in.ID, err)
		} else if ok && now.Before(h.Until) {
			reason, until = "hold", h.Until
		}
		if reason == "" && a.Action == domain.Start {
			// A window opens once: an instance stopped since it opened
			// was stopped by someone, and a late or repeated delivery of
			// the opening does not start it again.
			opened := sc.StartAt(sc.Windows[a.Window]).Prev(now)
			stopped, err := p.stoppedSince(ctx, in.ID, opened)
			if err != nil {
				return err
			}
			if stopped {
				reason = "stopped"
			}
		}
		if reason == "" && a.Action == domain.Stop {
			l, err := p.fx.Leases.Lease(ctx, in.ID)
			if err != nil {
				return fmt.Errorf("read the lease of %s: %w", in.ID, err)
			}
			if l.Live() {
				reason, until = "lease", l.ExpiresAt
			}
		}
		if reason == "" {
			act = append(act, in)
			continue
		}
		skipped = append(skipped, Event{DetailType: EventScheduleActionSkipped, Detail: EventDetail{
			InstanceID: in.ID, Name: in.Tags["Name"], Action: string(a.Action), Trigger: TriggerSchedule, Schedule: sc.Name,
			RequestID: requestID, Reason: reason, Until: stamp(until),
		}})
	}
	p.publish(ctx, skipped...)
	if len(act) == 0 {
		return nil
	}
	results, err := p.act(ctx, a.Action, act, "", ActOptions{trigger: TriggerSchedule, system: true, scheduleName: sc.Name}, Who{RequestID: requestID})
	if err != nil {
		return err
	}
	var failed []string
	for _, r := range results {
		if !r.OK() && (r.Code == domain.CodeThrottled || r.Code == domain.CodeUnavailable) {
			failed = append(failed, r.InstanceID)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("schedule %s: %s %v failed for a passing reason; the scheduler retries", sc.Name, a.Action, failed)
	}
	return nil
}

// stoppedSince reports whether the instance's history has a stop that
// went through (or found it stopped) requested after t.
func (s *Power) stoppedSince(ctx context.Context, id string, t time.Time) (bool, error) {
	if t.IsZero() {
		return false, nil
	}
	page, err := s.audit.History(ctx, id, 10, "")
	if err != nil {
		return false, fmt.Errorf("read the history of %s: %w", id, err)
	}
	for _, e := range page.Entries {
		if !e.RequestedAt.After(t) {
			break
		}
		if e.Action == domain.Stop && !e.DryRun && e.Result != string(domain.Failed) {
			return true, nil
		}
	}
	return false, nil
}

// HoldInstance suspends the schedule actions on an instance until until.
func (s *Power) HoldInstance(ctx context.Context, id string, until time.Time, who Who) (domain.Hold, error) {
	if _, err := s.controlled(ctx, id, who); err != nil {
		return domain.Hold{}, err
	}
	now := s.clock.Now()
	if !until.After(now) || until.Sub(now) > domain.MaxHold {
		return domain.Hold{}, fmt.Errorf("%w: a hold ends in the future, within %s", ErrInvalidHold, domain.MaxHold)
	}
	h := domain.Hold{InstanceID: id, Until: until.UTC().Truncate(time.Second), APIKeyID: who.APIKeyID, Principal: who.Principal, RequestID: who.RequestID}
	if err := s.fx.Holds.PutHold(ctx, h); err != nil {
		return domain.Hold{}, fmt.Errorf("hold %s: %w", id, err)
	}
	return h, nil
}

// ReleaseHold ends an instance's hold.
func (s *Power) ReleaseHold(ctx context.Context, id string, who Who) error {
	if _, err := s.controlled(ctx, id, who); err != nil {
		return err
	}
	ok, err := s.fx.Holds.DeleteHold(ctx, id)
	if err != nil {
		return fmt.Errorf("release the hold of %s: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("instance %s: %w", id, ErrNoHold)
	}
	return nil
}
