package access_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/access"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func TestRolesFollowTheMapping(t *testing.T) {
	t.Parallel()
	m, err := access.Parse("adjuster = arn:aws:iam::123456789012:role/adjusters-*, apikey:k-7 ; intake=*; public=anonymous")
	require.NoError(t, err)
	adjuster := ports.Caller{Principal: "arn:aws:iam::123456789012:role/adjusters-eu"}
	jenkins := ports.Caller{APIKeyID: "k-7"}
	other := ports.Caller{Principal: "arn:aws:iam::123456789012:role/intake"}
	nobody := ports.Caller{SourceIP: "192.0.2.1"}

	assert.Equal(t, []string{"adjuster", "intake"}, m.Roles(adjuster))
	assert.Equal(t, []string{"adjuster", "intake"}, m.Roles(jenkins))
	assert.Equal(t, []string{"intake"}, m.Roles(other))
	assert.Equal(t, []string{"public"}, m.Roles(nobody), "anonymous is only the caller without an identity")
	assert.False(t, m.Has(ports.Caller{Principal: "arn:aws:iam::999999999999:role/adjusters-eu"}, "adjuster"), "the account is part of the pattern")
	assert.False(t, m.Has(ports.Caller{Principal: "xarn:aws:iam::123456789012:role/adjusters-eu"}, "adjuster"), "patterns are anchored")
	assert.False(t, m.Has(ports.Caller{APIKeyID: "k-77"}, "adjuster"))
	assert.True(t, m.AnyOf(other, "adjuster", "intake"))
	assert.False(t, m.AnyOf(other, "adjuster"))
	assert.Equal(t, "adjuster=arn:aws:iam::123456789012:role/adjusters-*,apikey:k-7;intake=*;public=anonymous", m.String())
}

func TestBadMappingsAreRefused(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"adjuster", "Adjuster=*", "adjuster=", "adjuster=a,,b", "=*"} {
		_, err := access.Parse(spec)
		require.Error(t, err, spec)
	}
	m, err := access.Parse("")
	require.NoError(t, err)
	assert.Empty(t, m.Roles(ports.Caller{Principal: "x"}))
}
