// Package scheduler is app.Scheduler on EventBridge Scheduler, in the
// service's schedule group, through a role that may only invoke the
// service's scheduled functions: each lease expiry is a one-time schedule
// (at(...), UTC) invoking expireLease, deleted by the Scheduler once it
// ran; each opening or closing of a schedule's windows is a recurring one
// (cron, in the schedule's time zone) invoking applySchedule.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/hexlambda/hexlambda/pkg/netfail"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// API is the part of the EventBridge Scheduler client the adapter uses.
type API interface {
	CreateSchedule(ctx context.Context, in *awsscheduler.CreateScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.CreateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *awsscheduler.DeleteScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.DeleteScheduleOutput, error)
	GetSchedule(ctx context.Context, in *awsscheduler.GetScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.GetScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *awsscheduler.UpdateScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.UpdateScheduleOutput, error)
}

// Target is what the schedules invoke, and as whom.
type Target struct {
	// Group is the schedule group (the IAM policies are scoped to it).
	Group string
	// FunctionARN is the function a lease's schedule invokes.
	FunctionARN string
	// WindowFunctionARN is the function a window's schedule invokes.
	WindowFunctionARN string
	// RoleARN is the role the Scheduler assumes to invoke it.
	RoleARN string
}

// Scheduler is an app.Scheduler on EventBridge Scheduler.
type Scheduler struct {
	api    API
	target Target
}

var _ app.Scheduler = (*Scheduler)(nil)

// New returns the scheduler of target's group.
func New(api API, target Target) *Scheduler { return &Scheduler{api: api, target: target} }

// atLayout is the time of an at() expression.
const atLayout = "2006-01-02T15:04:05"

// Retries of an invocation that fails: the Scheduler tries again with
// back-off for up to a day.
const (
	retryAttempts = 185
	maxEventAge   = 24 * 60 * 60
	// A window's action that could not run within the hour is stale.
	windowEventAge = 60 * 60
)

// At implements app.Scheduler.
func (s *Scheduler) At(ctx context.Context, name string, t time.Time, input []byte) error {
	_, err := s.api.CreateSchedule(ctx, &awsscheduler.CreateScheduleInput{
		Name: aws.String(name), GroupName: aws.String(s.target.Group),
		ScheduleExpression:         aws.String("at(" + t.UTC().Format(atLayout) + ")"),
		ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		ActionAfterCompletion:      types.ActionAfterCompletionDelete,
		Target: &types.Target{
			Arn: aws.String(s.target.FunctionARN), RoleArn: aws.String(s.target.RoleARN), Input: aws.String(string(input)),
			RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(retryAttempts), MaximumEventAgeInSeconds: aws.Int32(maxEventAge)},
		},
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", name, classify(err))
	}
	return nil
}

// Every implements app.Scheduler: a recurring schedule, cron(M H ? * DAYS
// *) in the time zone, created or, when one of that name exists, updated.
func (s *Scheduler) Every(ctx context.Context, name string, w domain.Weekly, input []byte) error {
	expr := aws.String(Cron(w))
	target := &types.Target{
		Arn: aws.String(s.target.WindowFunctionARN), RoleArn: aws.String(s.target.RoleARN), Input: aws.String(string(input)),
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(retryAttempts), MaximumEventAgeInSeconds: aws.Int32(windowEventAge)},
	}
	window := &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff}
	_, err := s.api.CreateSchedule(ctx, &awsscheduler.CreateScheduleInput{
		Name: aws.String(name), GroupName: aws.String(s.target.Group), ScheduleExpression: expr,
		ScheduleExpressionTimezone: aws.String(w.TimeZone), FlexibleTimeWindow: window, Target: target,
	})
	var exists *types.ConflictException
	if errors.As(err, &exists) {
		_, err = s.api.UpdateSchedule(ctx, &awsscheduler.UpdateScheduleInput{
			Name: aws.String(name), GroupName: aws.String(s.target.Group), ScheduleExpression: expr,
			ScheduleExpressionTimezone: aws.String(w.TimeZone), FlexibleTimeWindow: window, Target: target,
		})
	}
	if err != nil {
		return fmt.Errorf("put schedule %s: %w", name, classify(err))
	}
	return nil
}

// Cron is the EventBridge Scheduler expression of a weekly instant.
func Cron(w domain.Weekly) string {
	days := make([]string, len(w.Days))
	for i, d := range w.Days {
		days[i] = strings.ToUpper(domain.DayName(d))
	}
	return fmt.Sprintf("cron(%d %d ? * %s *)", w.Minute, w.Hour, strings.Join(days, ","))
}

// Cancel implements app.Scheduler.
func (s *Scheduler) Cancel(ctx context.Context, name string) error {
	_, err := s.api.DeleteSchedule(ctx, &awsscheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: aws.String(s.target.Group)})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete schedule %s: %w", name, classify(err))
	}
	return nil
}

var atExpression = regexp.MustCompile(`^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$`)

// Scheduled returns a pending schedule's time (zero for a recurring one)
// and input.
func (s *Scheduler) Scheduled(ctx context.Context, name string) (time.Time, []byte, bool, error) {
	out, err := s.api.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(s.target.Group)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return time.Time{}, nil, false, nil
	}
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("get schedule %s: %w", name, classify(err))
	}
	var input []byte
	if out.Target != nil {
		input = []byte(aws.ToString(out.Target.Input))
	}
	m := atExpression.FindStringSubmatch(aws.ToString(out.ScheduleExpression))
	if m == nil {
		return time.Time{}, input, true, nil // recurring: no one time
	}
	loc, err := time.LoadLocation(aws.ToString(out.ScheduleExpressionTimezone))
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("schedule %s: time zone: %w", name, err)
	}
	at, err := time.ParseInLocation(atLayout, m[1], loc)
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("schedule %s: %w", name, err)
	}
	return at.UTC(), input, true, nil
}

// classify marks a Scheduler that cannot be reached as unavailable.
func classify(err error) error {
	if netfail.Unreachable(err) {
		return fmt.Errorf("%w: %w", app.ErrLeasesUnavailable, err)
	}
	return err
}
