package localgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
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

// Schedules fires the emulator's schedules when they are due, as
// EventBridge Scheduler would (an emulator keeps schedules but fires
// none): it invokes the target function with the schedule's input,
// retries a failing invocation with back-off (at most MaxAttempts, or the
// schedule's own retry policy if lower), and deletes a one-time schedule
// whose ActionAfterCompletion is DELETE once it ran. A recurring schedule
// fires for each of its instants that passed since the gateway first saw
// it; cron expressions are read as weekly ones (minute, hour and days of
// the week: what ec2power's windows use), others are left alone.
type Schedules struct {
	api      SchedulerAPI
	invokers map[string]Invoker // by function ARN
	logger   *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	retries map[string]retry // by group/name
	ignored map[string]bool
	seen    map[string]time.Time // recurring: the last instant considered
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
	return &Schedules{api: api, invokers: invokers, logger: logger, now: time.Now, retries: map[string]retry{}, ignored: map[string]bool{}, seen: map[string]time.Time{}}
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

// due reports whether a schedule's time has come (and its retry's).
func (s *Schedules) due(sc *scheduler.GetScheduleOutput) bool {
	key := scheduleKey(sc)
	tz := aws.ToString(sc.ScheduleExpressionTimezone)
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		s.ignore(key, "unknown time zone "+tz)
		return false
	}
	expr := aws.ToString(sc.ScheduleExpression)
	if m := atExpression.FindStringSubmatch(expr); m != nil {
		at, err := time.ParseInLocation("2006-01-02T15:04:05", m[1], loc)
		if err != nil || s.now().Before(at) {
			return false
		}
	} else if w, ok := parseWeeklyCron(expr); ok {
		now := s.now()
		s.mu.Lock()
		last, known := s.seen[key]
		retrying := s.retries[key].attempts > 0
		s.seen[key] = now
		s.mu.Unlock()
		if !retrying && (!known || !w.between(last, now, loc)) {
			return false
		}
	} else {
		s.ignore(key, "the gateway fires at(...) and weekly cron(...) expressions only: "+expr)
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

// done completes a schedule that ran (or gave up): a one-time one is
// deleted when it says so, and never fired again either way.
func (s *Schedules) done(ctx context.Context, sc *scheduler.GetScheduleOutput) {
	key := scheduleKey(sc)
	s.mu.Lock()
	delete(s.retries, key)
	recurring := !atExpression.MatchString(aws.ToString(sc.ScheduleExpression))
	s.ignored[key] = !recurring
	s.mu.Unlock()
	if recurring {
		return
	}
	if sc.ActionAfterCompletion != types.ActionAfterCompletionDelete {
		return
	}
	_, err := s.api.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: sc.Name, GroupName: sc.GroupName})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		s.logger.Warn("fired schedule not deleted", slog.String("schedule", key), slog.String("error", err.Error()))
	}
}

// Fire invokes a schedule's target now, whatever its time, as a run of it
// would: for tests and debugging, which cannot wait for a window.
func (s *Schedules) Fire(ctx context.Context, group, name string) error {
	sc, err := s.api.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(group)})
	if err != nil {
		return fmt.Errorf("get schedule %s/%s: %w", group, name, err)
	}
	inv := s.invokers[aws.ToString(sc.Target.Arn)]
	if inv == nil {
		return fmt.Errorf("schedule %s/%s: its target %s is not a function this gateway runs", group, name, aws.ToString(sc.Target.Arn))
	}
	if _, _, err := inv.Invoke(ctx, []byte(aws.ToString(sc.Target.Input))); err != nil {
		return fmt.Errorf("schedule %s/%s: %w", group, name, err)
	}
	return nil
}

// weeklyCron is cron(M H ? * DAYS *): at H:M on some days of the week.
type weeklyCron struct {
	minute, hour int
	days         map[time.Weekday]bool
}

var cronDays = map[string]time.Weekday{"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

// parseWeeklyCron reads the weekly cron expressions of EventBridge
// Scheduler: numeric minute and hour, any day of the month and month,
// days of the week by name (lists and ranges) or *, any year.
func parseWeeklyCron(expr string) (weeklyCron, bool) {
	inner, ok := strings.CutPrefix(expr, "cron(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return weeklyCron{}, false
	}
	f := strings.Fields(strings.TrimSuffix(inner, ")"))
	if len(f) != 6 || f[2] != "?" || f[3] != "*" || f[5] != "*" {
		return weeklyCron{}, false
	}
	m, err1 := strconv.Atoi(f[0])
	h, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || m < 0 || m > 59 || h < 0 || h > 23 {
		return weeklyCron{}, false
	}
	w := weeklyCron{minute: m, hour: h, days: map[time.Weekday]bool{}}
	for _, part := range strings.Split(f[4], ",") {
		if part == "*" {
			for d := range 7 {
				w.days[time.Weekday(d)] = true
			}
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		a, ok1 := cronDays[from]
		b, ok2 := a, true
		if isRange {
			b, ok2 = cronDays[to]
		}
		if !ok1 || !ok2 {
			return weeklyCron{}, false
		}
		for d := a; ; d = (d + 1) % 7 {
			w.days[d] = true
			if d == b {
				break
			}
		}
	}
	return w, true
}

// between reports whether an instant of w falls in (from, to].
func (w weeklyCron) between(from, to time.Time, loc *time.Location) bool {
	for day := from.In(loc); !day.After(to.In(loc).AddDate(0, 0, 1)); day = day.AddDate(0, 0, 1) {
		at := time.Date(day.Year(), day.Month(), day.Day(), w.hour, w.minute, 0, 0, loc)
		if w.days[at.Weekday()] && at.After(from) && !at.After(to) {
			return true
		}
	}
	return false
}
