// Package audittest is the contract suite of ec2power's audit log
// (app.AuditLog): every implementation must pass it.
package audittest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// NewLog returns an empty audit log for one test.
type NewLog func(t *testing.T) app.AuditLog

var base = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

func entry(instance string, n int) app.AuditEntry {
	return app.AuditEntry{
		InstanceID: instance, Action: domain.Start, Group: "ci",
		RequestID: fmt.Sprintf("req-%03d", n), APIKeyID: "key-1", SourceIP: "192.0.2.1",
		RequestedAt: base.Add(time.Duration(n) * time.Second), Result: app.ResultRequested,
	}
}

// AuditLogContract runs the suite against the logs newLog returns.
func AuditLogContract(t *testing.T, newLog NewLog) {
	t.Helper()
	t.Run("an opened entry reads back as requested", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		e := entry("i-00000001", 1)
		e.Principal = "arn:aws:iam::123456789012:role/ci"
		require.NoError(t, log.Open(t.Context(), e))
		page, err := log.History(t.Context(), e.InstanceID, 10, "")
		require.NoError(t, err)
		require.Len(t, page.Entries, 1)
		got := page.Entries[0]
		assert.Equal(t, e.InstanceID, got.InstanceID)
		assert.Equal(t, domain.Start, got.Action)
		assert.Equal(t, "ci", got.Group)
		assert.Equal(t, "req-001", got.RequestID)
		assert.Equal(t, "key-1", got.APIKeyID)
		assert.Equal(t, e.Principal, got.Principal)
		assert.Equal(t, "192.0.2.1", got.SourceIP)
		assert.True(t, e.RequestedAt.Equal(got.RequestedAt))
		assert.Equal(t, app.ResultRequested, got.Result)
		assert.True(t, got.FinishedAt.IsZero())
		assert.Empty(t, page.NextCursor)
	})

	t.Run("completing records the result once", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		e := entry("i-00000002", 1)
		require.NoError(t, log.Open(t.Context(), e))
		e.Result, e.Code, e.State, e.FinishedAt = "failed", domain.CodeIncorrectState, domain.StateStopping, base.Add(time.Minute)
		require.NoError(t, log.Complete(t.Context(), e))

		again := e
		again.Result = "succeeded"
		require.ErrorIs(t, log.Complete(t.Context(), again), app.ErrAuditEntryNotOpen, "a completed entry is final")

		page, err := log.History(t.Context(), e.InstanceID, 10, "")
		require.NoError(t, err)
		require.Len(t, page.Entries, 1)
		got := page.Entries[0]
		assert.Equal(t, "failed", got.Result)
		assert.Equal(t, domain.CodeIncorrectState, got.Code)
		assert.Equal(t, domain.StateStopping, got.State)
		assert.True(t, e.FinishedAt.Equal(got.FinishedAt))
		assert.Equal(t, "req-001", got.RequestID, "completing keeps what was opened")
	})

	t.Run("an entry is never overwritten", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		e := entry("i-00000003", 1)
		require.NoError(t, log.Open(t.Context(), e))
		e.APIKeyID = "someone-else"
		require.Error(t, log.Open(t.Context(), e))
		page, err := log.History(t.Context(), e.InstanceID, 10, "")
		require.NoError(t, err)
		require.Len(t, page.Entries, 1)
		assert.Equal(t, "key-1", page.Entries[0].APIKeyID)
	})

	t.Run("an instance is busy while an entry of it is open", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		now := time.Now().UTC()
		first, second := entry("i-00000010", 1), entry("i-00000010", 2)
		first.RequestedAt, second.RequestedAt = now, now.Add(time.Millisecond)
		require.NoError(t, log.Open(t.Context(), first))
		require.ErrorIs(t, log.Open(t.Context(), second), app.ErrInstanceBusy)
		other := entry("i-00000011", 3)
		other.RequestedAt = now
		require.NoError(t, log.Open(t.Context(), other), "another instance is not busy")
		page, err := log.History(t.Context(), "i-00000010", 10, "")
		require.NoError(t, err)
		require.Len(t, page.Entries, 1, "a refused open records nothing")

		first.Result, first.FinishedAt = "succeeded", now.Add(time.Second)
		require.NoError(t, log.Complete(t.Context(), first))
		require.NoError(t, log.Open(t.Context(), second), "completing frees the instance")
	})

	t.Run("a busy instance is freed when the opener's deadline passes", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		now := time.Now().UTC()
		ctx, cancel := context.WithDeadline(t.Context(), now.Add(2*time.Second))
		defer cancel()
		stuck, next, last := entry("i-00000012", 1), entry("i-00000012", 2), entry("i-00000012", 3)
		stuck.RequestedAt, next.RequestedAt, last.RequestedAt = now, now.Add(time.Millisecond), now.Add(2*time.Millisecond)
		require.NoError(t, log.Open(ctx, stuck))
		require.ErrorIs(t, log.Open(t.Context(), next), app.ErrInstanceBusy)
		time.Sleep(3 * time.Second)
		require.NoError(t, log.Open(t.Context(), next), "the function that opened it is past its deadline")
		stuck.Result = "succeeded"
		require.NoError(t, log.Complete(t.Context(), stuck), "a late completion is still recorded")
		require.ErrorIs(t, log.Open(t.Context(), last), app.ErrInstanceBusy, "but it does not free the instance another action holds")
	})

	t.Run("concurrent opens on one instance: exactly one wins", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		now := time.Now().UTC()
		var wins, busy atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				e := entry("i-00000013", i)
				e.RequestedAt = now.Add(time.Duration(i) * time.Millisecond)
				err := log.Open(t.Context(), e)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, app.ErrInstanceBusy):
					busy.Add(1)
				default:
					t.Errorf("open: %v", err)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		assert.Equal(t, int32(7), busy.Load())
	})

	t.Run("completing an entry never opened fails", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		e := entry("i-00000004", 1)
		e.Result = "succeeded"
		require.ErrorIs(t, log.Complete(t.Context(), e), app.ErrAuditEntryNotOpen)
		page, err := log.History(t.Context(), e.InstanceID, 10, "")
		require.NoError(t, err)
		assert.Empty(t, page.Entries, "a failed completion creates nothing")
	})

	t.Run("history is newest first, per instance, in pages", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		for n := range 7 {
			require.NoError(t, log.Open(t.Context(), entry("i-00000005", n)))
		}
		require.NoError(t, log.Open(t.Context(), entry("i-00000006", 99)))

		var ids []string
		cursor := ""
		for range 10 {
			page, err := log.History(t.Context(), "i-00000005", 3, cursor)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(page.Entries), 3)
			for _, e := range page.Entries {
				assert.Equal(t, "i-00000005", e.InstanceID)
				ids = append(ids, e.RequestID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		assert.Equal(t, []string{"req-006", "req-005", "req-004", "req-003", "req-002", "req-001", "req-000"}, ids)
	})

	t.Run("an unknown instance has no history", func(t *testing.T) {
		t.Parallel()
		page, err := newLog(t).History(t.Context(), "i-0000000f", 10, "")
		require.NoError(t, err)
		assert.Empty(t, page.Entries)
		assert.Empty(t, page.NextCursor)
	})

	t.Run("concurrent completions: exactly one wins", func(t *testing.T) {
		t.Parallel()
		log := newLog(t)
		e := entry("i-00000007", 1)
		require.NoError(t, log.Open(t.Context(), e))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for n := range 8 {
			wg.Go(func() {
				c := e
				c.Result, c.Code = "failed", fmt.Sprintf("code-%d", n)
				if log.Complete(t.Context(), c) == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
	})
}
