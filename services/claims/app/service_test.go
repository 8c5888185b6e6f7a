package app_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

type seqIDs struct{ n int }

func (s *seqIDs) NewID() string {
	s.n++
	return fmt.Sprintf("0199aaaa-0000-7000-8000-%012d", s.n)
}

func newService(t *testing.T) (*app.Service, *porttest.Clock) {
	t.Helper()
	clock := porttest.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	return app.NewService(claimstore.New(memory.NewTable(memory.WithClock(clock))), clock, &seqIDs{}), clock
}

func details() domain.Details {
	return domain.Details{MemberName: "Ada", PolicyID: "P-1", PolicyType: "PPO", Amount: 12550, Currency: "USD"}
}

func ptr[T any](v T) *T { return &v }

func TestAClaimIsFiledPendingAndReadBack(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details())
	require.NoError(t, err)
	assert.Equal(t, domain.StatusPending, c.Status)
	assert.Equal(t, int64(1), c.Version)
	got, err := svc.Get(t.Context(), "M-1", c.ID)
	require.NoError(t, err)
	assert.Equal(t, c.Amount, got.Amount)

	_, err = svc.Create(t.Context(), "M-1", domain.Details{MemberName: "Ada"})
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve, "invalid details are refused before anything is stored")
	page, err := svc.List(t.Context(), "M-1", app.ListOptions{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, page.Claims, 1)
}

func TestUpdatesFollowTheRules(t *testing.T) {
	t.Parallel()
	svc, clock := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details())
	require.NoError(t, err)

	clock.Advance(time.Minute)
	edited, err := svc.Update(t.Context(), "M-1", c.ID, app.Patch{Amount: ptr(int64(900))}, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(900), edited.Amount)
	assert.Equal(t, int64(2), edited.Version)
	assert.True(t, edited.UpdatedAt.After(edited.CreatedAt))

	_, err = svc.Update(t.Context(), "M-1", c.ID, app.Patch{Amount: ptr(int64(1))}, 1)
	require.ErrorIs(t, err, app.ErrVersionMismatch, "a stale version is refused")

	_, err = svc.Update(t.Context(), "M-1", c.ID, app.Patch{Status: ptr(domain.StatusPaid)}, 2)
	require.ErrorIs(t, err, domain.ErrInvalidTransition, "pending cannot be paid")

	approved, err := svc.Update(t.Context(), "M-1", c.ID, app.Patch{Status: ptr(domain.StatusApproved)}, 2)
	require.NoError(t, err)
	_, err = svc.Update(t.Context(), "M-1", c.ID, app.Patch{Description: ptr("late edit")}, approved.Version)
	require.ErrorIs(t, err, domain.ErrClaimLocked, "a decided claim keeps its details")

	_, err = svc.Update(t.Context(), "M-1", c.ID, app.Patch{Currency: ptr("usd")}, approved.Version)
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve)

	got, err := svc.Get(t.Context(), "M-1", c.ID)
	require.NoError(t, err)
	assert.Equal(t, approved.Version, got.Version, "refused updates wrote nothing")
}

func TestReplaceAppliesToTheLatestVersion(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details())
	require.NoError(t, err)
	_, err = svc.Update(t.Context(), "M-1", c.ID, app.Patch{Description: ptr("one")}, 1)
	require.NoError(t, err)
	got, err := svc.Replace(t.Context(), "M-1", c.ID, app.Patch{Description: ptr("two")})
	require.NoError(t, err)
	assert.Equal(t, "two", got.Description)
	assert.Equal(t, int64(3), got.Version)
}

func TestDeleteHonoursTheVersion(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details())
	require.NoError(t, err)
	require.ErrorIs(t, svc.Delete(t.Context(), "M-1", c.ID, 7), app.ErrVersionMismatch)
	require.NoError(t, svc.Delete(t.Context(), "M-1", c.ID, 1))
	_, err = svc.Get(t.Context(), "M-1", c.ID)
	require.ErrorIs(t, err, app.ErrClaimNotFound)
}
