// Package memevents is an in-memory app.Publisher: it keeps what was
// published (tests read it back) and logs each event (the local run shows
// them).
package memevents

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
)

// Bus keeps and logs events.
type Bus struct {
	mu     sync.Mutex
	events []app.Event
	logger *slog.Logger
}

var _ app.Publisher = (*Bus)(nil)

// New returns a bus logging to logger (nil: keeping only).
func New(logger *slog.Logger) *Bus { return &Bus{logger: logger} }

// Publish implements app.Publisher.
func (b *Bus) Publish(ctx context.Context, events ...app.Event) error {
	b.mu.Lock()
	b.events = append(b.events, events...)
	b.mu.Unlock()
	if b.logger != nil {
		for _, e := range events {
			b.logger.InfoContext(ctx, "event", slog.String("source", app.EventSource), slog.String("detailType", e.DetailType), slog.Any("detail", e.Detail))
		}
	}
	return nil
}

// Events returns what was published, in order.
func (b *Bus) Events() []app.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]app.Event(nil), b.events...)
}
