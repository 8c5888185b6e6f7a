// Package memsched is an in-memory app.Scheduler with real timers: the
// local run's leases expire, and its schedules' windows open and close, as
// deployed ones do. A one-time schedule fires once,
// calling the target with its input, and is then deleted (as EventBridge
// Scheduler's ActionAfterCompletion DELETE does); a target that fails is
// called again a few times, then the schedule is dropped and logged.
package memsched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Target is what a schedule calls when it fires.
type Target func(ctx context.Context, input []byte) error

// Retries of a failing target, and the first wait between two (doubled
// each time).
const (
	Retries    = 4
	RetryAfter = time.Second
)

type schedule struct {
	at     time.Time
	input  []byte
	timer  *time.Timer
	weekly *domain.Weekly // recurring: re-armed after each firing
}

// Scheduler keeps schedules in memory.
type Scheduler struct {
	mu        sync.Mutex
	schedules map[string]*schedule
	target    Target
	logger    *slog.Logger
	wg        sync.WaitGroup
	closed    bool
}

var _ app.Scheduler = (*Scheduler)(nil)

// ErrExists means a schedule of that name exists.
var ErrExists = errors.New("schedule exists")

// New returns a scheduler calling target (which SetTarget may set later,
// once what it calls is built).
func New(target Target, logger *slog.Logger) *Scheduler {
	return &Scheduler{schedules: map[string]*schedule{}, target: target, logger: logger}
}

// SetTarget sets what schedules call.
func (s *Scheduler) SetTarget(t Target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.target = t
}

// At implements app.Scheduler.
func (s *Scheduler) At(_ context.Context, name string, t time.Time, input []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("scheduler closed")
	}
	if _, ok := s.schedules[name]; ok {
		return fmt.Errorf("schedule %s: %w", name, ErrExists)
	}
	sc := &schedule{at: t.Truncate(time.Second), input: append([]byte(nil), input...)}
	sc.timer = time.AfterFunc(time.Until(sc.at), func() { s.fire(name, sc) })
	s.schedules[name] = sc
	return nil
}

// Every implements app.Scheduler: the schedule fires at each instant of w,
// replacing one of the same name.
func (s *Scheduler) Every(_ context.Context, name string, w domain.Weekly, input []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("scheduler closed")
	}
	if old, ok := s.schedules[name]; ok {
		old.timer.Stop()
	}
	s.arm(name, &schedule{input: append([]byte(nil), input...), weekly: &w}, time.Now())
	return nil
}

// arm sets a recurring schedule's timer to its next instant after t.
func (s *Scheduler) arm(name string, sc *schedule, t time.Time) {
	sc.at = sc.weekly.Next(t)
	sc.timer = time.AfterFunc(time.Until(sc.at), func() { s.fire(name, sc) })
	s.schedules[name] = sc
}

// Cancel implements app.Scheduler.
func (s *Scheduler) Cancel(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc, ok := s.schedules[name]; ok {
		sc.timer.Stop()
		delete(s.schedules, name)
	}
	return nil
}

// Scheduled returns a pending schedule's time and input.
func (s *Scheduler) Scheduled(_ context.Context, name string) (time.Time, []byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[name]
	if !ok {
		return time.Time{}, nil, false, nil
	}
	return sc.at, sc.input, true, nil
}

// Pending returns the names of the schedules that have not fired, sorted.
func (s *Scheduler) Pending() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.schedules))
}

func (s *Scheduler) fire(name string, sc *schedule) {
	s.mu.Lock()
	if s.schedules[name] != sc || s.closed {
		s.mu.Unlock()
		return
	}
	delete(s.schedules, name)
	if sc.weekly != nil {
		s.arm(name, &schedule{input: sc.input, weekly: sc.weekly}, sc.at)
	}
	target := s.target
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	if target == nil {
		s.logger.Error("schedule fired with no target", slog.String("schedule", name))
		return
	}
	wait := RetryAfter
	for attempt := 0; ; attempt++ {
		err := target(context.Background(), sc.input)
		if err == nil {
			return
		}
		if attempt == Retries {
			s.logger.Error("schedule dropped: its target kept failing", slog.String("schedule", name), slog.String("error", err.Error()))
			return
		}
		s.logger.Warn("schedule target failed; retrying", slog.String("schedule", name), slog.String("error", err.Error()), slog.Duration("in", wait))
		time.Sleep(wait)
		wait *= 2
	}
}

// Close stops every pending schedule and waits for those firing.
func (s *Scheduler) Close() {
	s.mu.Lock()
	s.closed = true
	for name, sc := range s.schedules {
		sc.timer.Stop()
		delete(s.schedules, name)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
