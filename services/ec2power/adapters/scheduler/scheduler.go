// Package scheduler is app.Scheduler on EventBridge Scheduler: each lease
// expiry is a one-time schedule (at(...), UTC) in the service's schedule
// group, invoking the expireLease function through a role that may only do
// that, and deleted by the Scheduler once it ran.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/hexlambda/hexlambda/pkg/netfail"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
)

// API is the part of the EventBridge Scheduler client the adapter uses.
type API interface {
	CreateSchedule(ctx context.Context, in *awsscheduler.CreateScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.CreateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *awsscheduler.DeleteScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.DeleteScheduleOutput, error)
	GetSchedule(ctx context.Context, in *awsscheduler.GetScheduleInput, opts ...func(*awsscheduler.Options)) (*awsscheduler.GetScheduleOutput, error)
}

// Target is what the schedules invoke, and as whom.
type Target struct {
	// Group is the schedule group (the IAM policies are scoped to it).
	Group string
	// FunctionARN is the function a schedule invokes.
	FunctionARN string
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

// Scheduled returns a pending schedule's time and input.
func (s *Scheduler) Scheduled(ctx context.Context, name string) (time.Time, []byte, bool, error) {
	out, err := s.api.GetSchedule(ctx, &awsscheduler.GetScheduleInput{Name: aws.String(name), GroupName: aws.String(s.target.Group)})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return time.Time{}, nil, false, nil
	}
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("get schedule %s: %w", name, classify(err))
	}
	m := atExpression.FindStringSubmatch(aws.ToString(out.ScheduleExpression))
	if m == nil {
		return time.Time{}, nil, false, fmt.Errorf("schedule %s: %q is not a one-time expression", name, aws.ToString(out.ScheduleExpression))
	}
	loc, err := time.LoadLocation(aws.ToString(out.ScheduleExpressionTimezone))
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("schedule %s: time zone: %w", name, err)
	}
	at, err := time.ParseInLocation(atLayout, m[1], loc)
	if err != nil {
		return time.Time{}, nil, false, fmt.Errorf("schedule %s: %w", name, err)
	}
	var input []byte
	if out.Target != nil {
		input = []byte(aws.ToString(out.Target.Input))
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
