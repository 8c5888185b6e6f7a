// Package eventbridge is app.Publisher on an EventBridge bus: each event is
// an entry with source hexlambda.ec2power, its detail-type and its JSON
// detail, sent ten to a PutEvents call. Entries the bus refuses are an
// error, counted in the function's metrics.
package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
)

// API is the part of the EventBridge client the adapter uses.
type API interface {
	PutEvents(ctx context.Context, in *awseventbridge.PutEventsInput, opts ...func(*awseventbridge.Options)) (*awseventbridge.PutEventsOutput, error)
}

// Counter counts what could not be published.
type Counter interface {
	Count(ctx context.Context, metric string, n int)
}

// MetricNotPublished counts events the bus did not take.
const MetricNotPublished = "EventsNotPublished"

// maxEntries is PutEvents' limit per call.
const maxEntries = 10

// Bus publishes to one event bus.
type Bus struct {
	api     API
	bus     string
	counter Counter
}

var _ app.Publisher = (*Bus)(nil)

// New returns the publisher to bus (a name or ARN; "default" for the
// account's default bus), counting failures with counter (may be nil).
func New(api API, bus string, counter Counter) *Bus {
	if bus == "" {
		bus = "default"
	}
	return &Bus{api: api, bus: bus, counter: counter}
}

// Publish implements app.Publisher.
func (b *Bus) Publish(ctx context.Context, events ...app.Event) error {
	var errs []error
	for start := 0; start < len(events); start += maxEntries {
		batch := events[start:min(start+maxEntries, len(events))]
		failed, err := b.put(ctx, batch)
		if err != nil {
			errs = append(errs, err)
		}
		if failed > 0 && b.counter != nil {
			b.counter.Count(ctx, MetricNotPublished, failed)
		}
	}
	return errors.Join(errs...)
}

func (b *Bus) put(ctx context.Context, batch []app.Event) (int, error) {
	entries := make([]types.PutEventsRequestEntry, len(batch))
	for i, e := range batch {
		detail, err := json.Marshal(e.Detail)
		if err != nil {
			return len(batch), fmt.Errorf("event %s: %w", e.DetailType, err)
		}
		entries[i] = types.PutEventsRequestEntry{
			EventBusName: aws.String(b.bus), Source: aws.String(app.EventSource),
			DetailType: aws.String(e.DetailType), Detail: aws.String(string(detail)),
			Resources: []string{},
		}
	}
	out, err := b.api.PutEvents(ctx, &awseventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return len(batch), fmt.Errorf("put %d events on %s: %w", len(batch), b.bus, err)
	}
	if out.FailedEntryCount == 0 {
		return 0, nil
	}
	for _, r := range out.Entries {
		if r.ErrorCode != nil {
			return int(out.FailedEntryCount), fmt.Errorf("%d of %d events refused by %s: %s: %s",
				out.FailedEntryCount, len(batch), b.bus, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		}
	}
	return int(out.FailedEntryCount), fmt.Errorf("%d of %d events refused by %s", out.FailedEntryCount, len(batch), b.bus)
}
