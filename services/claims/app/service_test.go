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

var (
	intake   = app.Actor{Principal: "arn:aws:iam::123456789012:role/intake", RequestID: "r-intake"}
	adjuster = app.Actor{Principal: "arn:aws:iam::123456789012:role/adjuster", RequestID: "r-adjuster"}
)

func TestAClaimIsFiledPendingAndReadBack(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details(), intake)
	require.NoError(t, err)
	assert.Equal(t, domain.StatusPending, c.Status)
	assert.Equal(t, int64(1), c.Version)
	got, err := svc.Get(t.Context(), "M-1", c.ID)
	require.NoError(t, err)
	assert.Equal(t, c.Amount, got.Amount)

	_, err = svc.Create(t.Context(), "M-1", domain.Details{MemberName: "Ada"}, intake)
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve, "invalid details are refused before anything is stored")
	page, err := svc.List(t.Context(), "M-1", app.ListOptions{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, page.Claims, 1)
}

func TestEditsChangeOnlyPendingDetails(t *testing.T) {
	t.Parallel()
	svc, clock := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details(), intake)
	require.NoError(t, err)

	clock.Advance(time.Minute)
	edited, err := svc.Edit(t.Context(), "M-1", c.ID, domain.Edit{Amount: ptr(int64(900))}, 1, intake)
	require.NoError(t, err)
	assert.Equal(t, int64(900), edited.Amount)
	assert.Equal(t, int64(2), edited.Version)
	assert.True(t, edited.UpdatedAt.After(edited.CreatedAt))

	_, err = svc.Edit(t.Context(), "M-1", c.ID, domain.Edit{Amount: ptr(int64(1))}, 1, intake)
	require.ErrorIs(t, err, app.ErrVersionMismatch, "a stale version is refused")

	approved, err := svc.Decide(t.Context(), "M-1", c.ID, domain.Decision{To: domain.StatusApproved}, 2, adjuster)
	require.NoError(t, err)
	_, err = svc.Edit(t.Context(), "M-1", c.ID, domain.Edit{Description: ptr("late edit")}, approved.Version, intake)
	require.ErrorIs(t, err, domain.ErrClaimLocked, "a decided claim keeps its details")

	_, err = svc.Replace(t.Context(), "M-1", c.ID, domain.Edit{Description: ptr("x")}, domain.StatusPaid, intake)
	require.ErrorIs(t, err, app.ErrDecisionRequired, "the replaced API's PUT cannot decide")

	got, err := svc.Get(t.Context(), "M-1", c.ID)
	require.NoError(t, err)
	assert.Equal(t, approved.Version, got.Version, "refused changes wrote nothing")
}

func TestDecisionsAreRecordedWithWhoAndWhat(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details(), intake)
	require.NoError(t, err)
	_, err = svc.Decide(t.Context(), "M-1", c.ID, domain.Decision{To: domain.StatusApproved}, 0, adjuster)
	require.ErrorIs(t, err, app.ErrVersionMismatch, "a decision names the version it decides")
	_, err = svc.Decide(t.Context(), "M-1", c.ID, domain.Decision{To: domain.StatusPaid, PaymentReference: "PAY-1"}, 1, adjuster)
	require.ErrorIs(t, err, domain.ErrInvalidTransition)

	rejected, err := svc.Decide(t.Context(), "M-1", c.ID, domain.Decision{To: domain.StatusRejected, Reason: "not covered"}, 1, adjuster)
	require.NoError(t, err)
	assert.Equal(t, "not covered", rejected.Reason)

	h, err := svc.History(t.Context(), "M-1", c.ID, 10, "")
	require.NoError(t, err)
	require.Len(t, h.Entries, 2)
	assert.Equal(t, app.EventCreated, h.Entries[0].Event)
	assert.Equal(t, intake, h.Entries[0].Actor)
	assert.Equal(t, app.EventRejected, h.Entries[1].Event)
	assert.Equal(t, adjuster, h.Entries[1].Actor)
	assert.Equal(t, map[string]any{"status": "rejected", "reason": "not covered"}, h.Entries[1].Changes)
}

func TestOnlyPendingClaimsAreDeleted(t *testing.T) {
	t.Parallel()
	svc, _ := newService(t)
	c, err := svc.Create(t.Context(), "M-1", details(), intake)
	require.NoError(t, err)
	paid, err := svc.Create(t.Context(), "M-1", details(), intake)
	require.NoError(t, err)
	_, err = svc.Decide(t.Context(), "M-1", paid.ID, domain.Decision{To: domain.StatusApproved}, 1, adjuster)
	require.NoError(t, err)
	_, err = svc.Decide(t.Context(), "M-1", paid.ID, domain.Decision{To: domain.StatusPaid, PaymentReference: "PAY-1"}, 2, adjuster)
	require.NoError(t, err)

	require.ErrorIs(t, svc.Delete(t.Context(), "M-1", paid.ID, 0, intake), domain.ErrClaimDecided)
	_, err = svc.Get(t.Context(), "M-1", paid.ID)
	require.NoError(t, err, "a paid claim is kept")

	require.ErrorIs(t, svc.Delete(t.Context(), "M-1", c.ID, 7, intake), app.ErrVersionMismatch)
	require.NoError(t, svc.Delete(t.Context(), "M-1", c.ID, 1, intake))
	_, err = svc.Get(t.Context(), "M-1", c.ID)
	require.ErrorIs(t, err, app.ErrClaimNotFound)
	h, err := svc.History(t.Context(), "M-1", c.ID, 10, "")
	require.NoError(t, err)
	assert.Equal(t, app.EventDeleted, h.Entries[len(h.Entries)-1].Event)
}
