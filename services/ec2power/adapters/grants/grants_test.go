package grants_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/grants"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestTheMappingGrantsGroupsByCaller(t *testing.T) {
	t.Parallel()
	s, err := grants.Parse(nil, "ci integration=arn:aws:iam::1:role/jenkins-*,apikey:k1; *=arn:aws:iam::1:role/ops; web=apikey:k1", "arn:aws:iam::1:role/ops")
	require.NoError(t, err)
	jenkins, err := s.Of(t.Context(), ports.Caller{Principal: "arn:aws:iam::1:role/jenkins-a"})
	require.NoError(t, err)
	assert.Equal(t, domain.Grant{Groups: []string{"ci", "integration"}}, jenkins)
	assert.True(t, jenkins.Controls("ci"))
	assert.False(t, jenkins.Controls("web"))
	assert.False(t, jenkins.Controls(""), "an instance in no group needs a grant of every group")

	key, err := s.Of(t.Context(), ports.Caller{APIKeyID: "k1"})
	require.NoError(t, err)
	assert.Equal(t, []string{"ci", "integration", "web"}, key.Groups, "grants add up")

	ops, err := s.Of(t.Context(), ports.Caller{Principal: "arn:aws:iam::1:role/ops"})
	require.NoError(t, err)
	assert.True(t, ops.AllGroups && ops.Audit && ops.Controls(""))

	nobody, err := s.Of(t.Context(), ports.Caller{SourceIP: "192.0.2.1"})
	require.NoError(t, err)
	assert.Equal(t, domain.Grant{}, nobody)

	for _, bad := range []string{"ci", "=arn:x", "ci=", "bad group!=arn:x"} {
		_, err := grants.Parse(nil, bad, "")
		require.Error(t, err, bad)
	}
}

func recorded(t *testing.T, table ports.Table) {
	t.Helper()
	s, err := grants.Parse(table, grants.DefaultGrants, grants.DefaultAuditors)
	require.NoError(t, err)
	none, err := s.Of(t.Context(), ports.Caller{APIKeyID: "key-1"})
	require.NoError(t, err)
	assert.Equal(t, domain.Grant{}, none, "a key issued without a grant controls nothing")

	require.NoError(t, s.Record(t.Context(), "key-1", "jenkins-team-a", domain.Grant{Groups: []string{"ci", "integration"}}))
	g, err := s.Of(t.Context(), ports.Caller{APIKeyID: "key-1"})
	require.NoError(t, err)
	assert.Equal(t, domain.Grant{Groups: []string{"ci", "integration"}}, g)

	require.NoError(t, s.Record(t.Context(), "key-1", "jenkins-team-a", domain.Grant{AllGroups: true, Audit: true}), "a grant is replaced")
	g, err = s.Of(t.Context(), ports.Caller{APIKeyID: "key-1"})
	require.NoError(t, err)
	assert.True(t, g.AllGroups && g.Audit)

	require.Error(t, s.Record(t.Context(), "key-2", "x", domain.Grant{}), "a grant names a group")
	require.NoError(t, s.Revoke(t.Context(), "key-1"))
	require.NoError(t, s.Revoke(t.Context(), "key-1"), "revoking twice is fine")
	g, err = s.Of(t.Context(), ports.Caller{APIKeyID: "key-1"})
	require.NoError(t, err)
	assert.Equal(t, domain.Grant{}, g)

	admin, err := s.Of(t.Context(), ports.Caller{Principal: "arn:aws:iam::123456789012:role/admin"})
	require.NoError(t, err)
	assert.True(t, admin.AllGroups && admin.Audit, "by default an IAM principal controls and audits everything")
}

func TestKeyGrantsOnMemory(t *testing.T) {
	t.Parallel()
	recorded(t, memory.NewTable())
}

func TestKeyGrantsOnDynamoDB(t *testing.T) {
	t.Parallel()
	recorded(t, awstest.NewTable(t, nil))
}
