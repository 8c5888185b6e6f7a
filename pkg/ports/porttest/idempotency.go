package porttest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// NewIdempotencyStoreFunc returns a fresh store whose expiry follows clock.
type NewIdempotencyStoreFunc func(t *testing.T, clock ports.Clock) ports.IdempotencyStore

// IdempotencyContract runs the idempotency store port's contract.
func IdempotencyContract(t *testing.T, newStore NewIdempotencyStoreFunc) {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := func(key, hash string) ports.IdempotencyRecord {
		return ports.IdempotencyRecord{Key: key, PayloadHash: hash, Status: ports.IdempotencyInProgress, ExpiresAt: start.Add(time.Minute)}
	}

	t.Run("begin, duplicate, complete, replay", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t, NewClock(start)), t.Context()
		_, started, err := s.Begin(ctx, rec("k1", "h1"))
		require.NoError(t, err)
		require.True(t, started)

		existing, started, err := s.Begin(ctx, rec("k1", "h2"))
		require.NoError(t, err)
		require.False(t, started)
		assert.Equal(t, "h1", existing.PayloadHash)
		assert.Equal(t, ports.IdempotencyInProgress, existing.Status)

		done := rec("k1", "h1")
		done.Response, done.ExpiresAt = []byte(`{"status":201}`), start.Add(24*time.Hour)
		require.NoError(t, s.Complete(ctx, done))
		existing, started, err = s.Begin(ctx, rec("k1", "h1"))
		require.NoError(t, err)
		require.False(t, started)
		assert.Equal(t, ports.IdempotencyCompleted, existing.Status)
		assert.JSONEq(t, `{"status":201}`, string(existing.Response))
		assert.Equal(t, start.Add(24*time.Hour).Unix(), existing.ExpiresAt.Unix())
	})

	t.Run("complete only completes the execution that began", func(t *testing.T) {
		t.Parallel()
		clock := NewClock(start)
		s, ctx := newStore(t, clock), t.Context()
		_, started, err := s.Begin(ctx, rec("k5", "h"))
		require.NoError(t, err)
		require.True(t, started)
		require.NoError(t, s.Release(ctx, "k5"))
		done := rec("k5", "h")
		done.Response = []byte(`{"status":201}`)
		require.Error(t, s.Complete(ctx, done), "a released execution is not completed")

	})

	t.Run("release lets the key start again", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t, NewClock(start)), t.Context()
		_, started, err := s.Begin(ctx, rec("k2", "h"))
		require.NoError(t, err)
		require.True(t, started)
		require.NoError(t, s.Release(ctx, "k2"))
		require.NoError(t, s.Release(ctx, "k2"), "releasing twice is harmless")
		_, started, err = s.Begin(ctx, rec("k2", "other"))
		require.NoError(t, err)
		assert.True(t, started)
	})

	t.Run("an expired record no longer blocks its key", func(t *testing.T) {
		t.Parallel()
		clock := NewClock(start)
		s, ctx := newStore(t, clock), t.Context()
		_, started, err := s.Begin(ctx, rec("k3", "h"))
		require.NoError(t, err)
		require.True(t, started)
		clock.Advance(2 * time.Minute)
		r := rec("k3", "h")
		r.ExpiresAt = clock.Now().Add(time.Minute)
		_, started, err = s.Begin(ctx, r)
		require.NoError(t, err)
		assert.True(t, started)
	})

	t.Run("keys are independent", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t, NewClock(start)), t.Context()
		for _, k := range []string{"a", "b", "a-b", "A"} {
			_, started, err := s.Begin(ctx, rec(k, "h"))
			require.NoError(t, err)
			assert.True(t, started, k)
		}
	})

	t.Run("exactly one of concurrent duplicates starts", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t, NewClock(start)), t.Context()
		var started atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, ok, err := s.Begin(ctx, rec("race", "h"))
				if !assert.NoError(t, err) { //nolint:testifylint // require must not be called off the test goroutine
					return
				}
				if ok {
					started.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), started.Load())
	})
}
