package localgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// SchedulerAPI is the part of the EventBridge Scheduler client the gateway
// uses to fire schedules.
type SchedulerAPI interface {
	ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, opts ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error)
	GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

// Schedules fires the emulator's one-time schedules when they are due, as
// EventBridge Scheduler would (an emulator keeps schedules but fires
// none): it invokes the target function with the schedule's input,
// retries a failing invocation with back-off (at most MaxAttempts, or the
// schedule's own retry policy if lower), and deletes a schedule whose
// ActionAfterCompletion is DELETE once it ran. Recurring schedules are
// not fired.
type Schedules struct {
	api      SchedulerAPI
	invokers map[string]Invoker // by function ARN
	logger   *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	retries map[string]retry // by group/name
	ignored map[string]bool
}

type retry struct {
	attempts int
	next     time.Time
}

// MaxAttempts bounds the invocations of one schedule.
const MaxAttempts = 5

// NewSchedules returns the firer of the schedules whose targets are among
// invokers (by function ARN).
func NewSchedules(api SchedulerAPI, invokers map[string]Invoker, logger *slog.Logger) *Schedules {
	return &Schedules{api: api, invokers: invokers, logger: logger, now: time.Now, retries: map[string]retry{}, ignored: map[string]bool{}}
}

var atExpression = regexp.MustCompile(`^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$`)

// Run fires due schedules every interval until ctx ends.
func (s *Schedules) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("schedules not read", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick fires every schedule due now; it returns once they ran.
func (s *Schedules) Tick(ctx context.Context) error {
	var token *string
	var due []*scheduler.GetScheduleOutput
	for {
		page, err := s.api.ListSchedules(ctx, &scheduler.ListSchedulesInput{NextToken: token, State: types.ScheduleStateEnabled})
		if err != nil {
			return fmt.Errorf("list schedules: %w", err)
		}
		for _, sum := range page.Schedules {
			sc, err := s.api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: sum.Name, GroupName: sum.GroupName})
			var nf *types.ResourceNotFoundException
			if errors.As(err, &nf) {
				continue // deleted meanwhile
			}
			if err != nil {
				return fmt.Errorf("get schedule %s: %w", aws.ToString(sum.Name), err)
			}
			if s.due(sc) {
				due = append(due, sc)
			}
		}
		if token = page.NextToken; token == nil {
			break
		}
	}
	var wg sync.WaitGroup
	for _, sc := range due {
		wg.Go(func() { s.fire(ctx, sc) })
	}
	wg.Wait()
	return nil
}

func scheduleKey(sc *scheduler.GetScheduleOutput) string {
	return aws.ToString(sc.GroupName) + "/" + aws.ToString(sc.Name)
}

// due reports whether a one-time schedule's time has come (and its retry's).
func (s *Schedules) due(sc *scheduler.GetScheduleOutput) bool {
	key := scheduleKey(sc)
	m := atExpression.FindStringSubmatch(aws.ToString(sc.ScheduleExpression))
	if m == nil {
		return false
	}
	tz := aws.ToString(sc.ScheduleExpressionTimezone)
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		s.ignore(key, "unknown time zone "+tz)
		return false
	}
	at, err := time.ParseInLocation("2006-01-02T15:04:05", m[1], loc)
	if err != nil || s.now().Before(at) {
		return false
	}
	if sc.Target == nil || s.invokers[aws.ToString(sc.Target.Arn)] == nil {
		s.ignore(key, "its target is not a function this gateway runs")
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.retries[key]
	return !s.ignored[key] && !s.now().Before(r.next)
}

func (s *Schedules) ignore(key, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ignored[key] {
		s.ignored[key] = true
		s.logger.Warn("schedule not fired", slog.String("schedule", key), slog.String("reason", why))
	}
}

func (s *Schedules) fire(ctx context.Context, sc *scheduler.GetScheduleOutput) {
	key := scheduleKey(sc)
	inv := s.invokers[aws.ToString(sc.Target.Arn)]
	_, info, err := inv.Invoke(ctx, []byte(aws.ToString(sc.Target.Input)))
	if err == nil {
		s.logger.Info("schedule fired", slog.String("schedule", key), slog.String("function", aws.ToString(sc.Target.Arn)),
			slog.String("requestId", info.RequestID), slog.Duration("duration", info.Duration))
		s.done(ctx, sc)
		return
	}
	s.mu.Lock()
	r := s.retries[key]
	r.attempts++
	limit := MaxAttempts
	if p := sc.Target.RetryPolicy; p != nil && p.MaximumRetryAttempts != nil && int(*p.MaximumRetryAttempts)+1 < limit {
		limit = int(*p.MaximumRetryAttempts) + 1
	}
	r.next = s.now().Add(time.Duration(1<<min(r.attempts-1, 6)) * time.Second)
	s.retries[key] = r
	s.mu.Unlock()
	if r.attempts < limit {
		s.logger.Warn("scheduled invocation failed; retrying", slog.String("schedule", key), slog.Int("attempt", r.attempts), slog.String("error", err.Error()))
		return
	}
	s.logger.Error("scheduled invocation dropped after its retries", slog.String("schedule", key), slog.Int("attempts", r.attempts), slog.String("error", err.Error()))
	s.done(ctx, sc)
}

// done completes a schedule that ran (or gave up): deleted when it says so,
// and never fired again either way.
func (s *Schedules) done(ctx context.Context, sc *scheduler.GetScheduleOutput) {
	key := scheduleKey(sc)
	s.mu.Lock()
	delete(s.retries, key)
	s.ignored[key] = true
	s.mu.Unlock()
	if sc.ActionAfterCompletion != types.ActionAfterCompletionDelete {
		return
	}
	_, err := s.api.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: sc.Name, GroupName: sc.GroupName})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		s.logger.Warn("fired schedule not deleted", slog.String("schedule", key), slog.String("error", err.Error()))
	}
}
