package scheduler_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/scheduler"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/app/schedtest"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func newScheduler(t *testing.T) (*scheduler.Scheduler, *awsscheduler.Client) {
	t.Helper()
	client := awsscheduler.NewFromConfig(awstest.Config(t, awstest.Endpoint(t)))
	group := fmt.Sprintf("ec2power-test-%d", time.Now().UnixNano())
	_, err := client.CreateScheduleGroup(t.Context(), &awsscheduler.CreateScheduleGroupInput{Name: aws.String(group)})
	require.NoError(t, err)
	return scheduler.New(client, scheduler.Target{
		Group:             group,
		FunctionARN:       "arn:aws:lambda:us-east-1:123456789012:function:ec2power-test-expireLease",
		RoleARN:           "arn:aws:iam::123456789012:role/ec2power-test-scheduler",
		WindowFunctionARN: "arn:aws:lambda:us-east-1:123456789012:function:ec2power-test-applySchedule",
	}), client
}

func TestContract(t *testing.T) {
	schedtest.Run(t, func(t *testing.T) (app.Scheduler, schedtest.Observer) {
		s, _ := newScheduler(t)
		return s, s
	})
}

func TestAnExpiryIsAOneTimeScheduleThatDeletesItselfAndInvokesTheFunction(t *testing.T) {
	s, client := newScheduler(t)
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	require.NoError(t, s.At(t.Context(), "lease-i-1", at, []byte(`{"instanceId":"i-1"}`)))
	var group string
	out, err := client.ListSchedules(t.Context(), &awsscheduler.ListSchedulesInput{})
	require.NoError(t, err)
	for _, sc := range out.Schedules {
		if aws.ToString(sc.Name) == "lease-i-1" {
			group = aws.ToString(sc.GroupName)
		}
	}
	require.NotEmpty(t, group)
	got, err := client.GetSchedule(t.Context(), &awsscheduler.GetScheduleInput{Name: aws.String("lease-i-1"), GroupName: aws.String(group)})
	require.NoError(t, err)
	assert.Equal(t, "at(2031-05-06T07:08:09)", aws.ToString(got.ScheduleExpression))
	assert.Equal(t, "UTC", aws.ToString(got.ScheduleExpressionTimezone))
	assert.Equal(t, "DELETE", string(got.ActionAfterCompletion))
	assert.Equal(t, "OFF", string(got.FlexibleTimeWindow.Mode))
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:ec2power-test-expireLease", aws.ToString(got.Target.Arn))
	assert.Equal(t, "arn:aws:iam::123456789012:role/ec2power-test-scheduler", aws.ToString(got.Target.RoleArn))
	assert.JSONEq(t, `{"instanceId":"i-1"}`, aws.ToString(got.Target.Input))
}

func TestASchedulerOutOfReachIsUnavailable(t *testing.T) {
	cfg := awstest.Config(t, "http://127.0.0.1:1")
	cfg.RetryMaxAttempts = 1
	s := scheduler.New(awsscheduler.NewFromConfig(cfg), scheduler.Target{Group: "g", FunctionARN: "arn", RoleARN: "arn"})
	err := s.At(t.Context(), "x", time.Now(), nil)
	require.ErrorIs(t, err, app.ErrLeasesUnavailable)
}

func TestAWindowIsARecurringScheduleInItsTimeZone(t *testing.T) {
	s, client := newScheduler(t)
	w := domain.Weekly{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Hour: 19, Minute: 5, TimeZone: "Europe/Paris"}
	require.NoError(t, s.Every(t.Context(), "window-office-0-stop", w, []byte(`{"schedule":"office"}`)))
	out, err := client.ListSchedules(t.Context(), &awsscheduler.ListSchedulesInput{NamePrefix: aws.String("window-office-0-stop")})
	require.NoError(t, err)
	require.Len(t, out.Schedules, 1)
	got, err := client.GetSchedule(t.Context(), &awsscheduler.GetScheduleInput{Name: aws.String("window-office-0-stop"), GroupName: out.Schedules[0].GroupName})
	require.NoError(t, err)
	assert.Equal(t, "cron(5 19 ? * MON,TUE,WED,THU,FRI *)", aws.ToString(got.ScheduleExpression))
	assert.Equal(t, "Europe/Paris", aws.ToString(got.ScheduleExpressionTimezone))
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:ec2power-test-applySchedule", aws.ToString(got.Target.Arn))
	assert.NotEqual(t, "DELETE", string(got.ActionAfterCompletion), "a recurring schedule stays")
}
