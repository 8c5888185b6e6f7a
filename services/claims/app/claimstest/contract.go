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

func ptr[T any](v T) *T { return &v }

// ClaimStoreContract runs the suite against the stores newStore returns.
func ClaimStoreContract(t *testing.T, newStore NewStore) {
	t.Helper()
	t.Run("a created claim reads back whole at version 1", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		created, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		assert.Equal(t, int64(1), created.Version)
		got, err := s.Get(t.Context(), "M-1", c.ID)
		require.NoError(t, err)
		assert.Equal(t, c.ID, got.ID)
		assert.Equal(t, "M-1", got.MemberID)
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

	t.Run("an id is created once", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		_, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		c.MemberName = "Someone Else"
		_, err = s.Create(t.Context(), c)
		require.ErrorIs(t, err, app.ErrClaimExists)
		got, err := s.Get(t.Context(), "M-1", c.ID)
		require.NoError(t, err)
		assert.Equal(t, "Ada Lovelace", got.MemberName)
	})

	t.Run("claims belong to their member", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		_, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		_, err = s.Get(t.Context(), "M-2", c.ID)
		require.ErrorIs(t, err, app.ErrClaimNotFound)
		page, err := s.List(t.Context(), "M-2", app.ListOptions{Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page.Claims)
		require.ErrorIs(t, s.Delete(t.Context(), "M-2", c.ID, 0), app.ErrClaimNotFound)
	})

	t.Run("listing pages in id order and filters by status", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for n := range 7 {
			_, err := s.Create(t.Context(), claim(t, "M-list", n))
			require.NoError(t, err)
		}
		approved := claim(t, "M-list", 3).ID
		_, err := s.Update(t.Context(), "M-list", approved,
			app.Change{Patch: app.Patch{Status: ptr(domain.StatusApproved)}, UpdatedAt: filed.Add(time.Hour)}, 1,
			[]domain.Status{domain.StatusPending})
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
		want := make([]string, 0, 7)
		for n := range 7 {
			want = append(want, claim(t, "M-list", n).ID)
		}
		assert.Equal(t, want, ids)

		page, err := s.List(t.Context(), "M-list", app.ListOptions{Limit: 10, Status: domain.StatusApproved})
		require.NoError(t, err)
		require.Len(t, page.Claims, 1)
		assert.Equal(t, approved, page.Claims[0].ID)
		assert.Equal(t, domain.StatusApproved, page.Claims[0].Status)
	})

	t.Run("an update writes only what it sets, once per version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		_, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		later := filed.Add(time.Hour)
		got, err := s.Update(t.Context(), "M-1", c.ID,
			app.Change{Patch: app.Patch{Amount: ptr(int64(777)), Description: ptr("changed")}, UpdatedAt: later}, 1,
			[]domain.Status{domain.StatusPending})
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.Equal(t, int64(777), got.Amount)
		assert.Equal(t, "changed", got.Description)
		assert.Equal(t, c.MemberName, got.MemberName, "fields not set stay")
		assert.Equal(t, domain.StatusPending, got.Status)
		assert.True(t, later.Equal(got.UpdatedAt))
		assert.True(t, c.CreatedAt.Equal(got.CreatedAt))

		_, err = s.Update(t.Context(), "M-1", c.ID, app.Change{Patch: app.Patch{Amount: ptr(int64(1))}, UpdatedAt: later}, 1,
			[]domain.Status{domain.StatusPending})
		var refused *app.RefusedError
		require.ErrorAs(t, err, &refused, "a stale version is refused")
		assert.Equal(t, int64(2), refused.Current.Version)
		assert.Equal(t, int64(777), refused.Current.Amount, "and the claim is reported as it is")
	})

	t.Run("an update holds only from the allowed statuses", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		_, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		_, err = s.Update(t.Context(), "M-1", c.ID, app.Change{Patch: app.Patch{Status: ptr(domain.StatusPaid)}, UpdatedAt: filed}, 0,
			[]domain.Status{domain.StatusApproved})
		var refused *app.RefusedError
		require.ErrorAs(t, err, &refused)
		assert.Equal(t, domain.StatusPending, refused.Current.Status)
		got, err := s.Get(t.Context(), "M-1", c.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version, "nothing was written")
	})

	t.Run("updating a missing claim is not found", func(t *testing.T) {
		t.Parallel()
		_, err := newStore(t).Update(t.Context(), "M-1", claim(t, "M-1", 9).ID,
			app.Change{Patch: app.Patch{Amount: ptr(int64(5))}, UpdatedAt: filed}, 0, []domain.Status{domain.StatusPending})
		require.ErrorIs(t, err, app.ErrClaimNotFound)
	})

	t.Run("concurrent updates of one version: exactly one wins", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-race", 1)
		_, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for n := range 10 {
			wg.Go(func() {
				_, err := s.Update(t.Context(), "M-race", c.ID,
					app.Change{Patch: app.Patch{Description: ptr(fmt.Sprintf("writer %d", n))}, UpdatedAt: filed}, 1,
					[]domain.Status{domain.StatusPending})
				if err == nil {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load())
		got, err := s.Get(t.Context(), "M-race", c.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
	})

	t.Run("delete honours the version", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		c := claim(t, "M-1", 1)
		_, err := s.Create(t.Context(), c)
		require.NoError(t, err)
		require.ErrorIs(t, s.Delete(t.Context(), "M-1", c.ID, 5), app.ErrVersionMismatch)
		require.NoError(t, s.Delete(t.Context(), "M-1", c.ID, 1))
		_, err = s.Get(t.Context(), "M-1", c.ID)
		require.ErrorIs(t, err, app.ErrClaimNotFound)
		require.ErrorIs(t, s.Delete(t.Context(), "M-1", c.ID, 0), app.ErrClaimNotFound)
	})
}
