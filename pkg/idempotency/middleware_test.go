package idempotency_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
)

// An execution blocks its key no longer than its request may run: a
// request whose function timed out can be retried as soon as it is over,
// not only once a fixed lock expires.
func TestTheInProgressRecordEndsWithTheRequestsDeadline(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		deadline time.Duration
		free     bool // whether the key is free 1.2 s later (expiries are whole seconds)
	}{
		{"a request with 100 ms left", 100 * time.Millisecond, true},
		{"a request with 10 minutes left", 10 * time.Minute, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clock := porttest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			m := idempotency.NewMiddleware(idempotency.NewTableStore(memory.NewTable(memory.WithClock(clock))), clock, logging.New(io.Discard, 0))
			m.Wait = 0
			entered, release := make(chan struct{}), make(chan struct{})
			t.Cleanup(func() { close(release) })
			runs := 0
			h := m.Wrap("create", ports.HandlerFunc(func(context.Context, ports.Request) (ports.Response, error) {
				runs++
				if runs == 1 {
					close(entered)
					<-release // the first execution hangs, as one that timed out
				}
				return httpapi.JSON(http.StatusCreated, map[string]int{"run": runs}), nil
			}))
			req := ports.Request{Method: http.MethodPost, Path: "/things", Body: []byte(`{"a":1}`), Header: http.Header{"Idempotency-Key": {"k-1"}}}
			first, cancel := context.WithTimeout(context.Background(), c.deadline)
			t.Cleanup(cancel)
			go func() { _, _ = h.Handle(first, req) }()
			<-entered

			_, err := h.Handle(context.Background(), req)
			var apiErr *httpapi.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, idempotency.CodeInProgress, apiErr.Code, "while the first may still run")

			clock.Advance(1200 * time.Millisecond)
			resp, err := h.Handle(context.Background(), req)
			if c.free {
				require.NoError(t, err)
				assert.Equal(t, http.StatusCreated, resp.Status, "the retry runs: the first request's time is over")
			} else {
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, idempotency.CodeInProgress, apiErr.Code, "the first request may still be running")
			}
		})
	}
}
