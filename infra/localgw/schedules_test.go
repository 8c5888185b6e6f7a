package localgw

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fakeScheduler struct {
	mu        sync.Mutex
	schedules map[string]*scheduler.GetScheduleOutput
	deleted   []string
}

func (f *fakeScheduler) add(name, expr, target, input string, after types.ActionAfterCompletion) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.schedules == nil {
		f.schedules = map[string]*scheduler.GetScheduleOutput{}
	}
	f.schedules[name] = &scheduler.GetScheduleOutput{
		Name: aws.String(name), GroupName: aws.String("g"), ScheduleExpression: aws.String(expr), ScheduleExpressionTimezone: aws.String("UTC"),
		ActionAfterCompletion: after, Target: &types.Target{Arn: aws.String(target), Input: aws.String(input)},
	}
}

func (f *fakeScheduler) ListSchedules(_ context.Context, _ *scheduler.ListSchedulesInput, _ ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &scheduler.ListSchedulesOutput{}
	for name := range f.schedules {
		out.Schedules = append(out.Schedules, types.ScheduleSummary{Name: aws.String(name), GroupName: aws.String("g")})
	}
	return out, nil
}

func (f *fakeScheduler) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sc, ok := f.schedules[aws.ToString(in.Name)]
	if !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("gone")}
	}
	return sc, nil
}

func (f *fakeScheduler) DeleteSchedule(_ context.Context, in *scheduler.DeleteScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.schedules, aws.ToString(in.Name))
	f.deleted = append(f.deleted, aws.ToString(in.Name))
	return &scheduler.DeleteScheduleOutput{}, nil
}

type recordingInvoker struct {
	mu     sync.Mutex
	events []string
	fail   int
}

func (r *recordingInvoker) Invoke(_ context.Context, event []byte) ([]byte, Invocation, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, string(event))
	if r.fail > 0 {
		r.fail--
		return nil, Invocation{}, &FunctionError{Type: "errorString", Message: "dependency down"}
	}
	return []byte("null"), Invocation{RequestID: "r"}, nil
}

func at(t time.Time) string { return "at(" + t.UTC().Format("2006-01-02T15:04:05") + ")" }

func TestDueOneTimeSchedulesFireOnceAndAreDeleted(t *testing.T) {
	api := &fakeScheduler{}
	fn := &recordingInvoker{}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	api.add("due", at(now.Add(-time.Second)), "arn:fn", `{"n":1}`, types.ActionAfterCompletionDelete)
	api.add("later", at(now.Add(time.Minute)), "arn:fn", `{"n":2}`, types.ActionAfterCompletionDelete)
	api.add("kept", at(now.Add(-time.Minute)), "arn:fn", `{"n":3}`, types.ActionAfterCompletionNone)
	api.add("recurring", "cron(0 8 * * ? *)", "arn:fn", `{"n":4}`, types.ActionAfterCompletionNone)
	api.add("elsewhere", at(now.Add(-time.Minute)), "arn:other", `{"n":5}`, types.ActionAfterCompletionDelete)
	s := NewSchedules(api, map[string]Invoker{"arn:fn": fn}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.now = func() time.Time { return now }

	require.NoError(t, s.Tick(t.Context()))
	require.NoError(t, s.Tick(t.Context()))
	assert.ElementsMatch(t, []string{`{"n":1}`, `{"n":3}`}, fn.events, "each due schedule ran once, with its input")
	assert.Equal(t, []string{"due"}, api.deleted, "only ActionAfterCompletion DELETE deletes")

	now = now.Add(2 * time.Minute)
	require.NoError(t, s.Tick(t.Context()))
	assert.Contains(t, fn.events, `{"n":2}`, "it fires when its time comes")
}

func TestAFailingInvocationIsRetriedThenDropped(t *testing.T) {
	api := &fakeScheduler{}
	fn := &recordingInvoker{fail: 1}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	api.add("x", at(now), "arn:fn", `{}`, types.ActionAfterCompletionDelete)
	s := NewSchedules(api, map[string]Invoker{"arn:fn": fn}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.now = func() time.Time { return now }

	require.NoError(t, s.Tick(t.Context()))
	assert.Len(t, fn.events, 1)
	assert.Empty(t, api.deleted, "kept for its retry")
	require.NoError(t, s.Tick(t.Context()))
	assert.Len(t, fn.events, 1, "not before its back-off")
	now = now.Add(2 * time.Second)
	require.NoError(t, s.Tick(t.Context()))
	assert.Len(t, fn.events, 2)
	assert.Equal(t, []string{"x"}, api.deleted, "deleted once it ran")

	fn.fail = 100
	api.add("y", at(now), "arn:fn", `{}`, types.ActionAfterCompletionDelete)
	for range MaxAttempts + 2 {
		require.NoError(t, s.Tick(t.Context()))
		now = now.Add(time.Minute)
	}
	assert.Len(t, fn.events, 2+MaxAttempts, "at most MaxAttempts invocations")
	assert.Equal(t, []string{"x", "y"}, api.deleted)
}

func TestAListingErrorIsReturned(t *testing.T) {
	s := NewSchedules(&failingList{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, s.Tick(t.Context()), "list schedules")
}

type failingList struct{ fakeScheduler }

func (*failingList) ListSchedules(context.Context, *scheduler.ListSchedulesInput, ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error) {
	return nil, errors.New("emulator down")
}

func TestRecurringSchedulesFireAtEachInstantInTheirTimeZone(t *testing.T) {
	api := &fakeScheduler{}
	fn := &recordingInvoker{}
	paris, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	// Monday 23 November 2026, 07:59 in Paris.
	now := time.Date(2026, 11, 23, 7, 59, 0, 0, paris)
	api.add("open", "cron(0 8 ? * MON-FRI *)", "arn:fn", `{"action":"start"}`, types.ActionAfterCompletionNone)
	api.schedules["open"].ScheduleExpressionTimezone = aws.String("Europe/Paris")
	api.add("weekend", "cron(0 8 ? * SAT,SUN *)", "arn:fn", `{"action":"weekend"}`, types.ActionAfterCompletionNone)
	api.schedules["weekend"].ScheduleExpressionTimezone = aws.String("Europe/Paris")
	s := NewSchedules(api, map[string]Invoker{"arn:fn": fn}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.now = func() time.Time { return now }

	require.NoError(t, s.Tick(t.Context()))
	assert.Empty(t, fn.events, "nothing before 08:00")
	now = now.Add(2 * time.Minute)
	require.NoError(t, s.Tick(t.Context()))
	assert.Equal(t, []string{`{"action":"start"}`}, fn.events, "08:00 on a Monday, Paris time")
	now = now.Add(time.Hour)
	require.NoError(t, s.Tick(t.Context()))
	assert.Len(t, fn.events, 1, "once per instant")
	now = now.Add(24 * time.Hour)
	fn.fail = 1
	require.NoError(t, s.Tick(t.Context()))
	assert.Len(t, fn.events, 2, "Tuesday 08:00, failed")
	now = now.Add(5 * time.Second)
	require.NoError(t, s.Tick(t.Context()))
	assert.Len(t, fn.events, 3, "and retried")
	assert.Empty(t, api.deleted, "recurring schedules stay")

	require.NoError(t, s.Fire(t.Context(), "g", "weekend"))
	assert.JSONEq(t, `{"action":"weekend"}`, fn.events[3], "Fire runs a schedule now")
}

func TestWeeklyCronExpressions(t *testing.T) {
	for expr, ok := range map[string]bool{
		"cron(0 8 ? * MON-FRI *)": true, "cron(30 22 ? * SAT,SUN *)": true, "cron(5 1 ? * * *)": true, "cron(0 8 ? * FRI-MON *)": true,
		"cron(0 8 * * ? *)": false, "cron(0/5 8 ? * MON *)": false, "rate(5 minutes)": false, "cron(0 24 ? * MON *)": false,
	} {
		_, got := parseWeeklyCron(expr)
		assert.Equal(t, ok, got, expr)
	}
	w, _ := parseWeeklyCron("cron(0 8 ? * FRI-MON *)")
	assert.Equal(t, map[time.Weekday]bool{time.Friday: true, time.Saturday: true, time.Sunday: true, time.Monday: true}, w.days, "a range wraps the week")
}
