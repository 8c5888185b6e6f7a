package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/claims/domain"
)

func TestTransitions(t *testing.T) {
	t.Parallel()
	allowed := map[[2]domain.Status]bool{
		{domain.StatusPending, domain.StatusApproved}:  true,
		{domain.StatusPending, domain.StatusRejected}:  true,
		{domain.StatusPending, domain.StatusWithdrawn}: true,
		{domain.StatusApproved, domain.StatusPaid}:     true,
	}
	for _, from := range domain.Statuses {
		for _, to := range domain.Statuses {
			want := from == to || allowed[[2]domain.Status{from, to}]
			assert.Equal(t, want, from.CanMoveTo(to), "%s -> %s", from, to)
		}
	}
}

func validDetails() domain.Details {
	return domain.Details{MemberName: "Ada", PolicyID: "P-1", PolicyType: "PPO", Amount: 100, Currency: "EUR"}
}

func TestDecisionsMoveTheStatusOnlyForward(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := domain.New("id", "M-1", validDetails(), now)
	require.NoError(t, err)

	_, err = c.Decide(domain.Decision{To: domain.StatusPaid, PaymentReference: "PAY-1"}, now)
	require.ErrorIs(t, err, domain.ErrInvalidTransition, "pending cannot be paid")
	_, err = c.Decide(domain.Decision{To: domain.StatusRejected}, now)
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve, "a rejection needs a reason")
	assert.Equal(t, "reason", ve.Field)

	approved, err := c.Decide(domain.Decision{To: domain.StatusApproved}, now.Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, domain.StatusApproved, approved.Status)
	assert.Equal(t, now.Add(time.Hour), approved.UpdatedAt)
	_, err = approved.Decide(domain.Decision{To: domain.StatusApproved}, now)
	require.ErrorIs(t, err, domain.ErrInvalidTransition, "deciding twice is not a move")
	_, err = approved.Decide(domain.Decision{To: domain.StatusWithdrawn}, now)
	require.ErrorIs(t, err, domain.ErrInvalidTransition, "a decided claim cannot be withdrawn")
	_, err = approved.Decide(domain.Decision{To: domain.StatusPaid, PaymentReference: "bad ref"}, now)
	require.ErrorAs(t, err, &ve)
	paid, err := approved.Decide(domain.Decision{To: domain.StatusPaid, PaymentReference: "PAY-1"}, now)
	require.NoError(t, err)
	assert.Equal(t, "PAY-1", paid.PaymentReference)
	require.ErrorIs(t, paid.CheckDeletable(), domain.ErrClaimDecided)

	rejected, err := c.Decide(domain.Decision{To: domain.StatusRejected, Reason: "not covered"}, now)
	require.NoError(t, err)
	assert.Equal(t, "not covered", rejected.Reason)
	require.NoError(t, c.CheckDeletable())
}

func TestOnlyPendingClaimsAreEdited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := domain.New("id", "M-1", validDetails(), now)
	require.NoError(t, err)
	amount, same := int64(500), "Ada"
	edited, changed, err := c.Apply(domain.Edit{Amount: &amount, MemberName: &same}, now.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(500), edited.Amount)
	assert.Equal(t, map[string]any{"amount": int64(500)}, changed, "only what differs is a change")

	bad := "x\x00"
	_, _, err = c.Apply(domain.Edit{Description: &bad}, now)
	var ve *domain.ValidationError
	require.ErrorAs(t, err, &ve)

	approved, err := c.Decide(domain.Decision{To: domain.StatusApproved}, now)
	require.NoError(t, err)
	_, _, err = approved.Apply(domain.Edit{Amount: &amount}, now)
	require.ErrorIs(t, err, domain.ErrClaimLocked)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	mut := map[string]func(*domain.Details){
		"memberName": func(d *domain.Details) { d.MemberName = "" },
		"policyId":   func(d *domain.Details) { d.PolicyID = "a b" },
		"policyType": func(d *domain.Details) { d.PolicyType = string(make([]byte, 65)) },
		"amount":     func(d *domain.Details) { d.Amount = domain.MaxAmount + 1 },
		"currency":   func(d *domain.Details) { d.Currency = "usd" },
		"description": func(d *domain.Details) {
			d.Description = "\x07bell"
		},
	}
	for field, m := range mut {
		d := validDetails()
		m(&d)
		_, err := domain.New("id", "M-1", d, time.Now())
		var ve *domain.ValidationError
		require.ErrorAs(t, err, &ve, field)
		assert.Equal(t, field, ve.Field)
	}
	_, err := domain.New("id", "", validDetails(), time.Now())
	require.Error(t, err)
}

func TestMajorUnits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"150", "USD", 15000, true},
		{"150.7", "USD", 15070, true},
		{"150.75", "USD", 15075, true},
		{"0.01", "USD", 1, true},
		{"1500", "JPY", 1500, true},
		{"1.5", "JPY", 0, false},
		{"1.234", "KWD", 1234, true},
		{"1.005", "USD", 0, false},
		{"-1", "USD", 0, false},
		{"1e3", "USD", 0, false},
		{"", "USD", 0, false},
		{".5", "USD", 0, false},
		{"5.", "USD", 0, false},
		{"99999999999999999", "USD", 0, false},
		{"1", "XXX", 0, false},
	} {
		got, err := domain.ParseMajor(c.in, c.currency)
		if !c.ok {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
	assert.Equal(t, "150.75", domain.FormatMajor(15075, "USD"))
	assert.Equal(t, "0.05", domain.FormatMajor(5, "USD"))
	assert.Equal(t, "1500", domain.FormatMajor(1500, "JPY"))
	assert.Equal(t, "1.234", domain.FormatMajor(1234, "KWD"))
}

func TestNamesRefuseInvisibleAndBidiCharacters(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"Ada\u202eecalovoL", "Ada\u200bLovelace", "\u2066Ada\u2069", "Ada\ufeff"} {
		d := validDetails()
		d.MemberName = name
		_, err := domain.New("id", "M-1", d, time.Now())
		var ve *domain.ValidationError
		require.ErrorAs(t, err, &ve, "%q", name)
		assert.Equal(t, "memberName", ve.Field)
	}
	d := validDetails()
	d.MemberName = "Zoë Ångström-Łukasiewicz 李"
	_, err := domain.New("id", "M-1", d, time.Now())
	require.NoError(t, err, "letters of every script are fine")
}
