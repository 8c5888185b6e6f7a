package idempotency_test

import (
	"context"
	"fmt"
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

// countingTable counts the calls made on a table.
type countingTable struct {
	ports.Table
	calls []string
}

func (c *countingTable) Create(ctx context.Context, it ports.Item) (ports.Item, error) {
	c.calls = append(c.calls, "Create")
	return c.Table.Create(ctx, it)
}

func (c *countingTable) Update(ctx context.Context, it ports.Item, v int64) (ports.Item, error) {
	c.calls = append(c.calls, "Update")
	return c.Table.Update(ctx, it, v)
}

func (c *countingTable) Transact(ctx context.Context, writes ...ports.Write) error {
	c.calls = append(c.calls, "Transact")
	return c.Table.Transact(ctx, writes...)
}

// A handler whose store joins the completion to its own transaction:
// the action and its record commit together, in two calls in all.
func TestTheRecordCompletesInTheActionsOwnTransaction(t *testing.T) {
	t.Parallel()
	clock := porttest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	table := &countingTable{Table: memory.NewTable(memory.WithClock(clock))}
	m := idempotency.NewMiddleware(idempotency.NewTableStore(table), clock, logging.New(io.Discard, 0))
	runs := 0
	thing := ports.Key{Partition: "THING#1", Sort: "THING"}
	h := m.Wrap("create", ports.HandlerFunc(func(ctx context.Context, _ ports.Request) (ports.Response, error) {
		runs++
		resp := httpapi.JSON(http.StatusCreated, map[string]string{"id": "1"})
		w, ok, err := idempotency.Completion(ctx, resp)
		require.NoError(t, err)
		require.True(t, ok)
		if err := table.Transact(ctx, ports.Write{Create: &ports.Item{Key: thing, Attributes: ports.Attributes{"n": int64(runs)}}}, w); err != nil {
			return ports.Response{}, fmt.Errorf("%w: %w", ports.ErrJoinedWrite, err)
		}
		return resp, nil
	}))
	req := ports.Request{Method: http.MethodPost, Path: "/things", Body: []byte(`{"a":1}`), Header: http.Header{"Idempotency-Key": {"k-1"}}}
	resp, err := h.Handle(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.Status)
	assert.Equal(t, []string{"Create", "Transact"}, table.calls, "the record's creation and one transaction")

	clock.Advance(10 * time.Minute) // past the in-progress expiry: the record lives on, completed
	replayed, err := h.Handle(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, "true", replayed.Header.Get(idempotency.ReplayedHeader))
	assert.JSONEq(t, `{"id":"1"}`, string(replayed.Body))
	assert.Equal(t, 1, runs)
}

// When the record expired before the action could commit with it, nothing
// is done and the client is told to retry.
func TestAnActionThatOutlivedItsRecordCommitsNothing(t *testing.T) {
	t.Parallel()
	clock := porttest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	table := memory.NewTable(memory.WithClock(clock))
	m := idempotency.NewMiddleware(idempotency.NewTableStore(table), clock, logging.New(io.Discard, 0))
	thing := ports.Key{Partition: "THING#1", Sort: "THING"}
	h := m.Wrap("create", ports.HandlerFunc(func(ctx context.Context, _ ports.Request) (ports.Response, error) {
		clock.Advance(2 * time.Minute) // slower than the in-progress record lives
		w, _, err := idempotency.Completion(ctx, httpapi.JSON(http.StatusCreated, nil))
		require.NoError(t, err)
		if err := table.Transact(ctx, ports.Write{Create: &ports.Item{Key: thing, Attributes: ports.Attributes{"n": int64(1)}}}, w); err != nil {
			return ports.Response{}, fmt.Errorf("%w: %w", ports.ErrJoinedWrite, err)
		}
		return httpapi.JSON(http.StatusCreated, nil), nil
	}))
	_, err := h.Handle(t.Context(), ports.Request{Method: http.MethodPost, Path: "/things", Header: http.Header{"Idempotency-Key": {"k-1"}}})
	var apiErr *httpapi.Error
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, idempotency.CodeInProgress, apiErr.Code)
	assert.Equal(t, http.StatusConflict, apiErr.Status)
	_, err = table.Get(t.Context(), thing)
	require.ErrorIs(t, err, ports.ErrNotFound, "the action was not applied")
}
