// Package claimstest is the contract suite of the claims service's claim
// store (app.ClaimStore): every implementation must pass it.
package claimstest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// NewStore returns an empty claim store for one test.
type NewStore func(t *testing.T) app.ClaimStore

var filed = time.Date(2026, 3, 4, 5, 6, 7, 800, time.UTC)

func claim(t *testing.T, member string, n int) domain.Claim {
	t.Helper()
	c, err := domain.New(fmt.Sprintf("0199aaaa-0000-7000-8000-%012d", n), member, domain.Details{
		MemberName: "Ada Lovelace", PolicyID: "POL-1", PolicyType: "PPO",
		Amount: int64(1000 + n), Currency: "EUR", Description: "visit\nfollow-up",
	}, filed.Add(time.Duration(n)*time.Second))
	require.NoError(t, err)
	return c
}

var actor = app.Actor{Principal: "arn:aws:iam::123456789012:role/intake", APIKeyID: "key-1", SourceIP: "192.0.2.1", RequestID: "req-1"}

func entry(c domain.Claim, version int64, ev app.Event, changes map[string]any) app.HistoryEntry {
	return app.HistoryEntry{ClaimID: c.ID, MemberID: c.MemberID, Version: version, Event: ev, At: filed.Add(time.Duration(version) * time.Minute), Actor: actor, Changes: changes}
}

func create(t *testing.T, s app.ClaimStore, c domain.Claim) domain.Claim {
	t.Helper()
	created, err := s.Create(t.Context(), c, entry(c, 1, app.EventCreated, map[string]any{"amount": c.Amount}))
	require.NoError(t, err)
	return created
}

// ClaimStoreContract runs the suite against the stores newStore returns.
func ClaimStoreContract(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("a created claim reads back whole at version 1", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		created := create(t, s, c)
		assert.Equal(t, int64(1), created.Version)
		got, err := s.Get(t.Context(), "M-1", c.ID)
		require.NoError(t, err)
		c.Version = 1
		assert.Equal(t, c.ID, got.ID)
		assert.Equal(t, c.MemberName, got.MemberName)
		assert.Equal(t, c.PolicyID, got.PolicyID)
		assert.Equal(t, c.PolicyType, got.PolicyType)
		assert.Equal(t, c.Amount, got.Amount)
		assert.Equal(t, c.Currency, got.Currency)
		assert.Equal(t, c.Description, got.Description)
		assert.Equal(t, domain.StatusPending, got.Status)
		assert.Equal(t, int64(1), got.Version)
		assert.True(t, c.CreatedAt.Equal(got.CreatedAt), "createdAt keeps sub-second precision")
		assert.True(t, c.UpdatedAt.Equal(got.UpdatedAt))
	})

	t.Run("an id is created once, with one history entry", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		create(t, s, c)
		other := c
		other.MemberName = "Someone Else"
		_, err := s.Create(t.Context(), other, entry(other, 1, app.EventCreated, nil))
		require.ErrorIs(t, err, app.ErrClaimExists)
		got, err := s.Get(t.Context(), "M-1", c.ID)
		require.NoError(t, err)
		assert.Equal(t, "Ada Lovelace", got.MemberName)
		h, err := s.History(t.Context(), "M-1", c.ID, 10, "")
		require.NoError(t, err)
		require.Len(t, h.Entries, 1)
		assert.Equal(t, app.EventCreated, h.Entries[0].Event)
		assert.Equal(t, actor, h.Entries[0].Actor)
		assert.Equal(t, map[string]any{"amount": c.Amount}, h.Entries[0].Changes)
		assert.True(t, filed.Add(time.Minute).Equal(h.Entries[0].At))
	})

	t.Run("claims belong to their member", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := create(t, s, claim(t, "M-1", 1))
		_, err := s.Get(t.Context(), "M-2", c.ID)
		require.ErrorIs(t, err, app.ErrClaimNotFound)
		page, err := s.List(t.Context(), "M-2", app.ListOptions{Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page.Claims)
		h, err := s.History(t.Context(), "M-2", c.ID, 10, "")
		require.NoError(t, err)
		assert.Empty(t, h.Entries)
	})

	t.Run("listing pages in id order, filters by status and skips history", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var want []string
		for n := range 7 {
			c := create(t, s, claim(t, "M-list", n))
			want = append(want, c.ID)
		}
		third, err := s.Get(t.Context(), "M-list", want[3])
		require.NoError(t, err)
		approved, err := third.Decide(domain.Decision{To: domain.StatusApproved}, filed.Add(time.Hour))
		require.NoError(t, err)
		_, err = s.Save(t.Context(), approved, entry(third, 2, app.EventApproved, nil))
		require.NoError(t, err)

		var ids []string
		cursor := ""
		for range 10 {
			page, err := s.List(t.Context(), "M-list", app.ListOptions{Limit: 3, Cursor: cursor})
			require.NoError(t, err)
			assert.LessOrEqual(t, len(page.Claims), 3)
			for _, c := range page.Claims {
				ids = append(ids, c.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		assert.Equal(t, want, ids)

		page, err := s.List(t.Context(), "M-list", app.ListOptions{Limit: 10, Status: domain.StatusApproved})
		require.NoError(t, err)
		require.Len(t, page.Claims, 1)
		assert.Equal(t, want[3], page.Claims[0].ID)
	})

	t.Run("a save writes the claim and its history entry once per version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := create(t, s, claim(t, "M-1", 1))
		rejected, err := c.Decide(domain.Decision{To: domain.StatusRejected, Reason: "not covered"}, filed.Add(time.Hour))
		require.NoError(t, err)
		saved, err := s.Save(t.Context(), rejected, entry(c, 2, app.EventRejected, map[string]any{"status": "rejected", "reason": "not covered"}))
		require.NoError(t, err)
		assert.Equal(t, int64(2), saved.Version)
		got, err := s.Get(t.Context(), "M-1", c.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.StatusRejected, got.Status)
		assert.Equal(t, "not covered", got.Reason)
		assert.Equal(t, int64(2), got.Version)
		assert.True(t, filed.Add(time.Hour).Equal(got.UpdatedAt))
		assert.True(t, c.CreatedAt.Equal(got.CreatedAt))

		_, err = s.Save(t.Context(), rejected, entry(c, 2, app.EventRejected, nil))
		require.ErrorIs(t, err, app.ErrChangedConcurrently, "a save from a stale read is refused")

		h, err := s.History(t.Context(), "M-1", c.ID, 10, "")
		require.NoError(t, err)
		require.Len(t, h.Entries, 2)
		assert.Equal(t, []app.Event{app.EventCreated, app.EventRejected}, []app.Event{h.Entries[0].Event, h.Entries[1].Event})
		assert.Equal(t, int64(2), h.Entries[1].Version)
		assert.Equal(t, map[string]any{"status": "rejected", "reason": "not covered"}, h.Entries[1].Changes)
	})

	t.Run("saving a missing claim is not found", func(t *testing.T) {
		t.Parallel()
		c := claim(t, "M-1", 9)
		c.Version = 1
		_, err := newStore(t).Save(t.Context(), c, entry(c, 2, app.EventDetailsChanged, nil))
		require.ErrorIs(t, err, app.ErrClaimNotFound)
	})

	t.Run("concurrent saves of one version: exactly one wins, one entry", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := create(t, s, claim(t, "M-race", 1))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for n := range 10 {
			wg.Go(func() {
				d := fmt.Sprintf("writer %d", n)
				next, _, err := c.Apply(domain.Edit{Description: &d}, filed)
				if err != nil {
					return
				}
				if _, err := s.Save(t.Context(), next, entry(c, 2, app.EventDetailsChanged, map[string]any{"description": d})); err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		got, err := s.Get(t.Context(), "M-race", c.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		h, err := s.History(t.Context(), "M-race", c.ID, 20, "")
		require.NoError(t, err)
		require.Len(t, h.Entries, 2)
		assert.Equal(t, got.Description, h.Entries[1].Changes["description"], "the entry is the winner's")
	})

	t.Run("delete removes a pending claim at its version and keeps its history", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := create(t, s, claim(t, "M-1", 1))
		stale := c
		stale.Version = 5
		require.ErrorIs(t, s.Delete(t.Context(), stale, entry(c, 6, app.EventDeleted, nil)), app.ErrChangedConcurrently)

		other := create(t, s, claim(t, "M-1", 2))
		approved, err := other.Decide(domain.Decision{To: domain.StatusApproved}, filed)
		require.NoError(t, err)
		saved, err := s.Save(t.Context(), approved, entry(other, 2, app.EventApproved, nil))
		require.NoError(t, err)
		require.ErrorIs(t, s.Delete(t.Context(), saved, entry(other, 3, app.EventDeleted, nil)), app.ErrChangedConcurrently,
			"a claim that is no longer pending is never deleted")

		require.NoError(t, s.Delete(t.Context(), c, entry(c, 2, app.EventDeleted, nil)))
		_, err = s.Get(t.Context(), "M-1", c.ID)
		require.ErrorIs(t, err, app.ErrClaimNotFound)
		require.ErrorIs(t, s.Delete(t.Context(), c, entry(c, 2, app.EventDeleted, nil)), app.ErrClaimNotFound)
		h, err := s.History(t.Context(), "M-1", c.ID, 10, "")
		require.NoError(t, err)
		require.Len(t, h.Entries, 2, "the history outlives the claim")
		assert.Equal(t, app.EventDeleted, h.Entries[1].Event)
	})

	t.Run("history pages oldest first", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := create(t, s, claim(t, "M-h", 1))
		for v := int64(1); v < 6; v++ {
			d := fmt.Sprintf("edit %d", v)
			next, _, err := c.Apply(domain.Edit{Description: &d}, filed)
			require.NoError(t, err)
			c, err = s.Save(t.Context(), next, entry(c, v+1, app.EventDetailsChanged, map[string]any{"description": d}))
			require.NoError(t, err)
		}
		var versions []int64
		cursor := ""
		for range 10 {
			page, err := s.History(t.Context(), "M-h", c.ID, 4, cursor)
			require.NoError(t, err)
			for _, e := range page.Entries {
				versions = append(versions, e.Version)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		assert.Equal(t, []int64{1, 2, 3, 4, 5, 6}, versions)
	})
}
