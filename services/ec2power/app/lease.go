package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Errors of the lease use cases.
var (
	// ErrLeaseTooLong: the lease asked for is outside the stage's limits.
	ErrLeaseTooLong = errors.New("lease outside the stage's limits")
	// ErrNoLease: the instance holds no live lease.
	ErrNoLease = errors.New("the instance holds no lease")
	// ErrLeaseExpiring: the lease's time is up and its instance is being
	// stopped; it can no longer be extended.
	ErrLeaseExpiring = errors.New("the lease is expiring")
	// ErrLeaseChanged: another write changed the lease first.
	ErrLeaseChanged = errors.New("lease changed meanwhile")
	// ErrLeasesUnavailable: the lease could not be recorded or scheduled,
	// so nothing was done.
	ErrLeasesUnavailable = errors.New("leases unavailable")
)

// LeaseLimitError refuses a lease outside the stage's limits, saying
// which; it matches ErrLeaseTooLong.
type LeaseLimitError struct {
	Reason string
	Max    time.Duration
}

func (e *LeaseLimitError) Error() string { return e.Reason }

// Unwrap makes errors.Is(err, ErrLeaseTooLong) true.
func (e *LeaseLimitError) Unwrap() error { return ErrLeaseTooLong }

func (s *Power) leaseLimit(err error) error {
	return &LeaseLimitError{Reason: err.Error(), Max: s.cfg.Leases.Max}
}

// LeaseStore keeps one lease per instance. Its contract is tested with its
// adapter (package audittable).
type LeaseStore interface {
	// Lease returns the instance's lease; the zero Lease (Version 0) when
	// it never had one.
	Lease(ctx context.Context, instanceID string) (domain.Lease, error)
	// PutLease writes l when the stored lease is at version expected (0:
	// none stored) and returns it with its new version; ErrLeaseChanged
	// when another write came first.
	PutLease(ctx context.Context, l domain.Lease, expected int64) (domain.Lease, error)
}

// Scheduler calls the lease expiry at a set time, once, and the schedule
// actions each week. Its contract suite
// is package schedtest.
type Scheduler interface {
	// At arranges for the expiry to be called with input at t under name
	// (unique; scheduling a name that exists again fails).
	At(ctx context.Context, name string, t time.Time, input []byte) error
	// Every arranges for the schedule actions to be called with input at
	// each instant of w under name, creating the schedule or replacing
	// the one of that name.
	Every(ctx context.Context, name string, w domain.Weekly, input []byte) error
	// Cancel removes the named schedule; one that does not exist (fired
	// already, or never made) is not an error.
	Cancel(ctx context.Context, name string) error
}

// Effects are what the power use cases need beside the fleet and the
// audit: where leases are kept, what expires them, and where events go.
type Effects struct {
	Leases    LeaseStore
	Scheduler Scheduler
	Events    Publisher
	Holds     HoldStore
}

// LeaseReader shows an instance's lease: the use case behind GET
// /instances/{id}. Who owns it is shown only to auditors.
type LeaseReader struct {
	store  LeaseStore
	holds  HoldStore
	grants Grants
}

// NewLeaseReader returns the lease reader.
func NewLeaseReader(store LeaseStore, holds HoldStore, grants Grants) *LeaseReader {
	return &LeaseReader{store: store, holds: holds, grants: grants}
}

// HoldOf returns the instance's hold; false when it has none.
func (r *LeaseReader) HoldOf(ctx context.Context, id string) (domain.Hold, bool, error) {
	h, ok, err := r.holds.Hold(ctx, id)
	if err != nil {
		return domain.Hold{}, false, fmt.Errorf("read the hold of %s: %w", id, err)
	}
	return h, ok, nil
}

// Of returns the instance's live lease; false when it holds none.
func (r *LeaseReader) Of(ctx context.Context, id string, who Who) (domain.Lease, bool, error) {
	l, err := r.store.Lease(ctx, id)
	if err != nil {
		return domain.Lease{}, false, fmt.Errorf("read lease of %s: %w", id, err)
	}
	if !l.Live() {
		return domain.Lease{}, false, nil
	}
	g, err := r.grants.Of(ctx, who.Caller)
	if err != nil {
		return domain.Lease{}, false, fmt.Errorf("%w: %w", ErrGrantsUnavailable, err)
	}
	if !g.Audit {
		l.APIKeyID, l.Principal = "", ""
	}
	return l, true, nil
}

func nonce() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// grantLease gives the instance a lease of d from now, replacing the one
// it holds: the expiry is scheduled first, so no lease is ever recorded
// without its expiry; a schedule whose lease lost a race is cancelled, and
// would find itself stale if it fired.
func (s *Power) grantLease(ctx context.Context, id string, d time.Duration, who Who) (domain.Lease, error) {
	return s.changeLease(ctx, id, func(_ domain.Lease, now time.Time) (domain.Lease, error) {
		return domain.Lease{
			InstanceID: id, State: domain.LeaseActive, ExpiresAt: secondUp(now.Add(d)),
			GrantedAt: now, APIKeyID: who.APIKeyID, Principal: who.Principal, RequestID: who.RequestID,
		}, nil
	})
}

// secondUp is t rounded up to a whole second: a lease is kept in whole
// seconds and never ends before the time it was asked for.
func secondUp(t time.Time) time.Time {
	if w := t.Truncate(time.Second); w.Before(t) {
		return w.Add(time.Second)
	}
	return t
}

// changeLease writes the lease next makes of the current one, with its
// own expiry, retrying when another write came first; the previous
// expiry is cancelled once the new lease holds.
func (s *Power) changeLease(ctx context.Context, id string, next func(cur domain.Lease, now time.Time) (domain.Lease, error)) (domain.Lease, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.fx.Leases.Lease(ctx, id)
		if err != nil {
			return domain.Lease{}, fmt.Errorf("%w: read lease of %s: %w", ErrLeasesUnavailable, id, err)
		}
		l, err := next(cur, s.clock.Now().UTC())
		if err != nil {
			return domain.Lease{}, err
		}
		l.Version = cur.Version + 1
		l.Schedule = domain.ScheduleName(id, l.Version, nonce())
		input, err := json.Marshal(domain.LeaseExpiry{InstanceID: id, Schedule: l.Schedule, ExpiresAt: l.ExpiresAt})
		if err != nil {
			return domain.Lease{}, fmt.Errorf("lease expiry of %s: %w", id, err)
		}
		if err := s.fx.Scheduler.At(ctx, l.Schedule, l.ExpiresAt, input); err != nil {
			return domain.Lease{}, fmt.Errorf("%w: schedule the lease expiry of %s: %w", ErrLeasesUnavailable, id, err)
		}
		written, err := s.fx.Leases.PutLease(ctx, l, cur.Version)
		if err == nil {
			if cur.Live() {
				s.cancel(ctx, cur.Schedule)
			}
			return written, nil
		}
		s.cancel(ctx, l.Schedule)
		if !errors.Is(err, ErrLeaseChanged) {
			return domain.Lease{}, fmt.Errorf("%w: record the lease of %s: %w", ErrLeasesUnavailable, id, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return domain.Lease{}, fmt.Errorf("%w: lease of %s: %w", ErrLeasesUnavailable, id, err)
		}
	}
}

// cancel removes a schedule that no longer matters; one left behind fires,
// finds itself stale and does nothing, so a failure is only logged.
func (s *Power) cancel(ctx context.Context, schedule string) {
	if schedule == "" {
		return
	}
	if err := s.fx.Scheduler.Cancel(context.WithoutCancel(ctx), schedule); err != nil {
		s.logger.WarnContext(ctx, "stale lease schedule not cancelled", slog.String("schedule", schedule), slog.String("error", err.Error()))
	}
}

// backoff waits a little longer after each lost race, with jitter, so
// concurrent writers of one lease all get through.
func backoff(ctx context.Context, attempt int) error {
	if attempt >= 50 {
		return ErrLeaseChanged
	}
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	d := time.Duration(min(attempt+1, 10))*5*time.Millisecond + time.Duration(b[0])*50*time.Microsecond
	select {
	case <-ctx.Done():
		return fmt.Errorf("wait to write the lease again: %w", ctx.Err())
	case <-time.After(d):
		return nil
	}
}

// endLease ends the instance's live lease for reason. With schedule set,
// only the lease of that schedule is ended (an expiry ends its own lease,
// never a newer one). It reports the lease as it was when it ended.
func (s *Power) endLease(ctx context.Context, id, reason, schedule string) (domain.Lease, bool, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.fx.Leases.Lease(ctx, id)
		if err != nil {
			return domain.Lease{}, false, fmt.Errorf("%w: read lease of %s: %w", ErrLeasesUnavailable, id, err)
		}
		if !cur.Live() || (schedule != "" && cur.Schedule != schedule) {
			return domain.Lease{}, false, nil
		}
		ended := cur
		ended.State, ended.EndReason = domain.LeaseEnded, reason
		_, err = s.fx.Leases.PutLease(ctx, ended, cur.Version)
		if err == nil {
			s.cancel(ctx, cur.Schedule)
			return cur, true, nil
		}
		if !errors.Is(err, ErrLeaseChanged) {
			return domain.Lease{}, false, fmt.Errorf("%w: end the lease of %s: %w", ErrLeasesUnavailable, id, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return domain.Lease{}, false, fmt.Errorf("%w: lease of %s: %w", ErrLeasesUnavailable, id, err)
		}
	}
}

// ExtendLease adds d to the instance's live lease, within the stage's
// maximum from now.
func (s *Power) ExtendLease(ctx context.Context, id string, d time.Duration, who Who) (domain.Lease, error) {
	in, err := s.controlled(ctx, id, who)
	if err != nil {
		return domain.Lease{}, err
	}
	if d < domain.MinLease {
		return domain.Lease{}, s.leaseLimit(fmt.Errorf("an extension must be at least %s", domain.MinLease))
	}
	var before domain.Lease
	l, err := s.changeLease(ctx, id, func(cur domain.Lease, now time.Time) (domain.Lease, error) {
		switch cur.State {
		case domain.LeaseActive:
		case domain.LeaseExpiring:
			return domain.Lease{}, fmt.Errorf("instance %s: %w", id, ErrLeaseExpiring)
		default:
			return domain.Lease{}, fmt.Errorf("instance %s: %w", id, ErrNoLease)
		}
		next := cur
		next.ExpiresAt = cur.ExpiresAt.Add(d).Truncate(time.Second)
		if err := s.cfg.Leases.Check(next.ExpiresAt.Sub(now)); err != nil {
			return domain.Lease{}, s.leaseLimit(fmt.Errorf("extended, the lease would end %s from now: %w", next.ExpiresAt.Sub(now).Round(time.Second), err))
		}
		before = cur
		return next, nil
	})
	if err != nil {
		return domain.Lease{}, err
	}
	s.publish(ctx, Event{
		DetailType: EventLeaseExtended,
		Detail: EventDetail{
			InstanceID: id, Name: in.Tags["Name"], Group: s.selector.Group(in), Trigger: TriggerAPI, RequestID: who.RequestID,
			Lease: &LeaseDetail{ExpiresAt: stamp(l.ExpiresAt), PreviousExpiresAt: stamp(before.ExpiresAt)},
		},
	})
	return l, nil
}

// ReleaseLease ends the instance's live lease now: the instance is stopped
// as if its time were up.
func (s *Power) ReleaseLease(ctx context.Context, id string, who Who) (domain.Result, error) {
	in, err := s.controlled(ctx, id, who)
	if err != nil {
		return domain.Result{}, err
	}
	cur, err := s.fx.Leases.Lease(ctx, id)
	if err != nil {
		return domain.Result{}, fmt.Errorf("%w: read lease of %s: %w", ErrLeasesUnavailable, id, err)
	}
	if !cur.Live() {
		return domain.Result{}, fmt.Errorf("instance %s: %w", id, ErrNoLease)
	}
	results, err := s.act(ctx, domain.Stop, []domain.Instance{in}, "", ActOptions{endReason: domain.LeaseReleased}, who)
	if err != nil {
		return domain.Result{}, err
	}
	return results[0], nil
}

// ExpireLease is the expiry of one lease, called by its schedule: it
// stops the instance and ends the lease, unless the lease was extended,
// released or replaced since (the expiry is stale and does nothing). It is
// safe to call again: an error asks the scheduler to retry.
func (s *Power) ExpireLease(ctx context.Context, e domain.LeaseExpiry) error {
	for attempt := 0; ; attempt++ {
		cur, err := s.fx.Leases.Lease(ctx, e.InstanceID)
		if err != nil {
			return fmt.Errorf("%w: read lease of %s: %w", ErrLeasesUnavailable, e.InstanceID, err)
		}
		if cur.Schedule != e.Schedule || !cur.Live() {
			s.logger.InfoContext(ctx, "stale lease expiry ignored", slog.String("instance", e.InstanceID), slog.String("schedule", e.Schedule),
				slog.String("leaseSchedule", cur.Schedule), slog.String("leaseState", string(cur.State)))
			return nil
		}
		if cur.State == domain.LeaseExpiring {
			break
		}
		expiring := cur
		expiring.State = domain.LeaseExpiring
		_, err = s.fx.Leases.PutLease(ctx, expiring, cur.Version)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLeaseChanged) {
			return fmt.Errorf("%w: mark the lease of %s expiring: %w", ErrLeasesUnavailable, e.InstanceID, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
	system := Who{RequestID: e.Schedule}
	got, err := s.fleet.Describe(ctx, e.InstanceID)
	if err != nil {
		return fmt.Errorf("describe %s: %w", e.InstanceID, err)
	}
	if len(got) == 1 && s.selector.Managed(got[0]) {
		results, err := s.act(ctx, domain.Stop, got, "", ActOptions{trigger: TriggerLease, system: true, schedule: e.Schedule}, system)
		if err != nil {
			return err
		}
		if r := results[0]; !r.OK() && r.Code != domain.CodeNotFound && r.Code != domain.CodeIncorrectState {
			return fmt.Errorf("stop %s at the end of its lease: %s", e.InstanceID, r.Code)
		}
		if r := results[0]; r.Code == domain.CodeIncorrectState && domain.Classify(domain.Stop, r.State) == domain.RetryLater {
			return fmt.Errorf("stop %s at the end of its lease: the instance is %s", e.InstanceID, r.State)
		}
	}
	// The instance is stopped, gone or no longer managed: the lease ends.
	ended, ok, err := s.endLease(ctx, e.InstanceID, domain.LeaseExpired, e.Schedule)
	if err != nil {
		return err
	}
	if ok {
		s.publish(ctx, Event{
			DetailType: EventLeaseExpired,
			Detail: EventDetail{
				InstanceID: e.InstanceID, Trigger: TriggerLease, RequestID: e.Schedule,
				Lease: &LeaseDetail{ExpiresAt: stamp(ended.ExpiresAt), EndReason: domain.LeaseExpired},
			},
		})
	}
	return nil
}
