package eventbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/eventbridge"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// subscribe routes the service's events on bus to a new queue, as a team
// would, and returns a function reading what arrived.
func subscribe(t *testing.T, cfg aws.Config, bus string) func() []map[string]any {
	t.Helper()
	ctx := t.Context()
	eb := awseventbridge.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	name := fmt.Sprintf("ec2power-events-%d", time.Now().UnixNano())
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	require.NoError(t, err)
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	_, err = eb.PutRule(ctx, &awseventbridge.PutRuleInput{
		Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(`{"source":["hexlambda.ec2power"]}`),
	})
	require.NoError(t, err)
	_, err = eb.PutTargets(ctx, &awseventbridge.PutTargetsInput{
		Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}},
	})
	require.NoError(t, err)
	return func() []map[string]any {
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, MaxNumberOfMessages: 10})
		require.NoError(t, err)
		var got []map[string]any
		for _, m := range out.Messages {
			var e map[string]any
			require.NoError(t, json.Unmarshal([]byte(aws.ToString(m.Body)), &e))
			got = append(got, e)
		}
		return got
	}
}

func TestEventsReachTheBusRulesOfTheirSubscribers(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	read := subscribe(t, cfg, "default")
	bus := eventbridge.New(awseventbridge.NewFromConfig(cfg), "", nil)
	require.NoError(t, bus.Publish(t.Context(), app.Event{
		DetailType: app.EventLeaseExpired,
		Detail:     app.EventDetail{InstanceID: "i-0123456789abcdef0", Trigger: app.TriggerLease, Lease: &app.LeaseDetail{ExpiresAt: "2026-11-23T10:00:00Z", EndReason: "expired"}},
	}))
	got := read()
	require.Len(t, got, 1)
	assert.Equal(t, "hexlambda.ec2power", got[0]["source"])
	assert.Equal(t, "Lease Expired", got[0]["detail-type"])
	detail := got[0]["detail"].(map[string]any)
	assert.Equal(t, "i-0123456789abcdef0", detail["instanceId"])
	assert.Equal(t, "lease", detail["trigger"])
}

func TestManyEventsGoTenToACall(t *testing.T) {
	fake := &fakeAPI{}
	events := make([]app.Event, 23)
	for i := range events {
		events[i] = app.Event{DetailType: app.EventInstanceStarted, Detail: app.EventDetail{InstanceID: fmt.Sprintf("i-%08d", i)}}
	}
	require.NoError(t, eventbridge.New(fake, "team-bus", nil).Publish(t.Context(), events...))
	require.Len(t, fake.calls, 3)
	assert.Equal(t, []int{10, 10, 3}, []int{len(fake.calls[0].Entries), len(fake.calls[1].Entries), len(fake.calls[2].Entries)})
	assert.Equal(t, "team-bus", aws.ToString(fake.calls[0].Entries[0].EventBusName))
}

func TestRefusedEventsAreAnErrorAndCounted(t *testing.T) {
	fake := &fakeAPI{refuse: 1}
	counter := &counter{}
	err := eventbridge.New(fake, "", counter).Publish(t.Context(),
		app.Event{DetailType: app.EventInstanceStarted, Detail: app.EventDetail{InstanceID: "i-00000001"}},
		app.Event{DetailType: app.EventInstanceStopped, Detail: app.EventDetail{InstanceID: "i-00000002"}})
	require.ErrorContains(t, err, "1 of 2 events refused by default: ThrottlingException")
	assert.Equal(t, map[string]int{eventbridge.MetricNotPublished: 1}, counter.n)
}

type fakeAPI struct {
	calls  []*awseventbridge.PutEventsInput
	refuse int32
}

func (f *fakeAPI) PutEvents(_ context.Context, in *awseventbridge.PutEventsInput, _ ...func(*awseventbridge.Options)) (*awseventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, in)
	out := &awseventbridge.PutEventsOutput{FailedEntryCount: f.refuse}
	for i := range in.Entries {
		r := ebtypes.PutEventsResultEntry{EventId: aws.String("id")}
		if int32(i) < f.refuse {
			r = ebtypes.PutEventsResultEntry{ErrorCode: aws.String("ThrottlingException"), ErrorMessage: aws.String("slow down")}
		}
		out.Entries = append(out.Entries, r)
	}
	return out, nil
}

type counter struct{ n map[string]int }

func (c *counter) Count(_ context.Context, name string, n int) {
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name] += n
}
