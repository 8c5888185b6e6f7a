package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
)

// event is one ec2power event as a subscriber's queue receives it.
type event struct {
	Source     string         `json:"source"`
	DetailType string         `json:"detail-type"`
	Detail     map[string]any `json:"detail"`
}

// subscribe routes ec2power's events on the default bus to a new queue, as
// a team routes them to its chat, and returns a reader of what arrived.
func (e *env) subscribe(t *testing.T) func() []event {
	t.Helper()
	ctx := t.Context()
	eb, q := eventbridge.NewFromConfig(e.cfg), sqs.NewFromConfig(e.cfg)
	name := fmt.Sprintf("e2e-ec2power-events-%d", time.Now().UnixNano())
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	require.NoError(t, err)
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	_, err = eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventPattern: aws.String(`{"source":["hexlambda.ec2power"]}`)})
	require.NoError(t, err)
	_, err = eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(attrs.Attributes["QueueArn"])}}})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), Ids: []string{"q"}})
		_, _ = eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(name)})
		_, _ = q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: created.QueueUrl})
	})
	var got []event
	return func() []event {
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MaxNumberOfMessages: 10})
		require.NoError(t, err)
		for _, m := range out.Messages {
			var ev event
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &ev))
			got = append(got, ev)
			_, _ = q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: created.QueueUrl, ReceiptHandle: m.ReceiptHandle})
		}
		return got
	}
}

// of keeps the events of one instance, as "detail-type/trigger".
func of(events []event, id string) []string {
	var out []string
	for _, ev := range events {
		if ev.Detail["instanceId"] == id {
			out = append(out, ev.DetailType+"/"+fmt.Sprint(ev.Detail["trigger"]))
		}
	}
	return out
}

// A pipeline starts a box with a lease and dies: the lease's schedule,
// fired through the deployed expireLease function, stops the box anyway.
func TestALeaseStopsTheBoxWhenNobodyComesBack(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	events := e.subscribe(t)
	client := ec2.NewFromConfig(e.cfg)
	id, err := ec2test.RunInstance(t.Context(), client, map[string]string{"Name": "e2e-lease", "ec2power:managed": "true"}, false)
	require.NoError(t, err)
	_, err = client.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return e.state(t, id) == "stopped" }, defaultWait, pollEvery)

	c := e.powerClient()
	r := c.do(t, http.MethodPost, "/instances/"+id+"/start?lease=8s&wait=true&timeout=20s", "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	lease, _ := r.body["lease"].(map[string]any)
	require.NotNil(t, lease, r.raw)
	expires, err := time.Parse(time.RFC3339, lease["expiresAt"].(string))
	require.NoError(t, err)
	r = c.do(t, http.MethodGet, "/instances/"+id, "")
	shown, _ := r.body["lease"].(map[string]any)
	require.NotNil(t, shown, "GET /instances/{id} shows the lease: %s", r.raw)
	assert.Equal(t, lease["expiresAt"], shown["expiresAt"])
	pending, err := scheduler.NewFromConfig(e.cfg).ListSchedules(t.Context(), &scheduler.ListSchedulesInput{NamePrefix: aws.String("lease-" + id)})
	require.NoError(t, err)
	require.Len(t, pending.Schedules, 1, "the lease's expiry is a schedule in the emulator")
	assert.Equal(t, e.power["ScheduleGroupName"], aws.ToString(pending.Schedules[0].GroupName))

	// Nobody calls stop.
	require.Eventually(t, func() bool { return e.state(t, id) == "stopped" }, 30*time.Second, pollEvery, "the lease did not stop the box")
	assert.False(t, time.Now().Before(expires), "stopped before its lease ended")
	require.Eventually(t, func() bool {
		_, has := c.do(t, http.MethodGet, "/instances/"+id, "").body["lease"]
		return !has
	}, defaultWait, pollEvery, "the expired lease is still shown")
	pending, err = scheduler.NewFromConfig(e.cfg).ListSchedules(t.Context(), &scheduler.ListSchedulesInput{NamePrefix: aws.String("lease-" + id)})
	require.NoError(t, err)
	assert.Empty(t, pending.Schedules, "the fired expiry deleted itself")

	items := c.do(t, http.MethodGet, "/instances/"+id+"/history", "").body["items"].([]any)
	require.NotEmpty(t, items)
	last := items[0].(map[string]any)
	assert.Equal(t, "stop", last["action"])
	assert.Equal(t, "lease", last["trigger"])

	want := []string{"Instance Started/api", "Lease Granted/api", "Instance Stopped/lease", "Lease Expired/lease"}
	require.Eventually(t, func() bool { return len(of(events(), id)) >= len(want) }, defaultWait, pollEvery, "events: %v", of(events(), id))
	assert.Equal(t, want, of(events(), id), "what a team subscribed to the bus saw")
	for _, ev := range events() {
		assert.Equal(t, "hexlambda.ec2power", ev.Source)
	}
}

// Extending and releasing go through their own deployed functions.
func TestALeaseIsExtendedAndReleased(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	client := ec2.NewFromConfig(e.cfg)
	id, err := ec2test.RunInstance(t.Context(), client, map[string]string{"Name": "e2e-lease-2", "ec2power:managed": "true"}, false)
	require.NoError(t, err)
	c := e.powerClient()
	r := c.do(t, http.MethodPost, "/instances/"+id+"/start?lease=1h", "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	first, _ := time.Parse(time.RFC3339, r.body["lease"].(map[string]any)["expiresAt"].(string))

	r = c.do(t, http.MethodPost, "/instances/"+id+"/lease?extend=30m", "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	extended, _ := time.Parse(time.RFC3339, r.body["lease"].(map[string]any)["expiresAt"].(string))
	assert.Equal(t, 30*time.Minute, extended.Sub(first))

	r = c.do(t, http.MethodPost, "/instances/"+id+"/lease?extend=24h", "")
	assert.Equal(t, http.StatusBadRequest, r.status, r.raw)
	assert.Equal(t, "lease_too_long", r.errorCode())

	r = c.do(t, http.MethodDelete, "/instances/"+id+"/lease", "")
	require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, r.status, r.raw)
	require.Eventually(t, func() bool { return e.state(t, id) == "stopped" }, defaultWait, pollEvery)
	pending, err := scheduler.NewFromConfig(e.cfg).ListSchedules(t.Context(), &scheduler.ListSchedulesInput{NamePrefix: aws.String("lease-" + id)})
	require.NoError(t, err)
	assert.Empty(t, pending.Schedules, "a released lease leaves no expiry behind")
	assert.Equal(t, "no_lease", c.do(t, http.MethodDelete, "/instances/"+id+"/lease", "").errorCode())
}

// A schedule's windows are recurring EventBridge schedules invoking the
// deployed applySchedule: opening one starts the instances tagged with
// it, but not one on hold.
func TestAScheduleStartsItsInstancesButNotAHeldOne(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	if e.gateway == nil || e.gateway.Schedules == nil {
		t.Skip("the local gateway fires schedules; this target has none")
	}
	events := e.subscribe(t)
	client := ec2.NewFromConfig(e.cfg)
	name := fmt.Sprintf("e2e-office-%d", time.Now().UnixNano()%1_000_000)
	var ids []string
	for _, box := range []string{"e2e-office-1", "e2e-office-held"} {
		id, err := ec2test.RunInstance(t.Context(), client, map[string]string{"Name": box, "ec2power:managed": "true", "ec2power:schedule": name}, false)
		require.NoError(t, err)
		_, err = client.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	follower, held := ids[0], ids[1]
	require.Eventually(t, func() bool { return e.state(t, follower) == "stopped" && e.state(t, held) == "stopped" }, defaultWait, pollEvery)

	c := e.powerClient()
	r := c.do(t, http.MethodPut, "/schedules/"+name, `{"timeZone":"Europe/Paris","windows":[{"days":["mon","tue","wed","thu","fri"],"start":"08:00","stop":"19:00"}]}`)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	t.Cleanup(func() { c.do(t, http.MethodDelete, "/schedules/"+name, "") })
	r = c.do(t, http.MethodGet, "/schedules", "")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Contains(t, string(r.raw), `"name":"`+name+`"`, "the list shows the schedule")
	group := e.power["ScheduleGroupName"]
	sc, err := scheduler.NewFromConfig(e.cfg).GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String("window-" + name + "-0-start"), GroupName: aws.String(group)})
	require.NoError(t, err, "the window's opening is an EventBridge schedule")
	assert.Equal(t, "cron(0 8 ? * MON,TUE,WED,THU,FRI *)", aws.ToString(sc.ScheduleExpression))
	assert.Equal(t, "Europe/Paris", aws.ToString(sc.ScheduleExpressionTimezone))
	assert.Contains(t, aws.ToString(sc.Target.Arn), "applySchedule")

	r = c.do(t, http.MethodPost, "/instances/"+held+"/hold?until=2h", "")
	require.Equal(t, http.StatusOK, r.status, r.raw)

	// The window opens (fired now: the suite cannot wait for 08:00).
	require.NoError(t, e.gateway.Schedules.Fire(t.Context(), group, "window-"+name+"-0-start"))
	require.Eventually(t, func() bool { return e.state(t, follower) == "running" }, defaultWait, pollEvery, "the window did not start its instance")
	assert.Equal(t, "stopped", e.state(t, held), "the held instance is left alone")
	require.Eventually(t, func() bool { return len(of(events(), held)) > 0 }, defaultWait, pollEvery)
	assert.Equal(t, []string{"Schedule Action Skipped/schedule"}, of(events(), held))
	assert.Contains(t, of(events(), follower), "Instance Started/schedule")

	r = c.do(t, http.MethodDelete, "/schedules/"+name, "")
	require.Equal(t, http.StatusNoContent, r.status, r.raw)
	_, err = scheduler.NewFromConfig(e.cfg).GetSchedule(t.Context(), &scheduler.GetScheduleInput{Name: aws.String("window-" + name + "-0-start"), GroupName: aws.String(group)})
	assert.Error(t, err, "deleting a schedule deletes its windows")
}
