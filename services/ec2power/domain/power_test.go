package domain_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	want := map[domain.Action]map[domain.InstanceState]domain.Disposition{
		domain.Start: {
			domain.StateStopped: domain.Act, domain.StateRunning: domain.AlreadyThere, domain.StatePending: domain.AlreadyThere,
			domain.StateStopping: domain.RetryLater, domain.StateShuttingDown: domain.Never, domain.StateTerminated: domain.Never,
		},
		domain.Stop: {
			domain.StateRunning: domain.Act, domain.StateStopped: domain.AlreadyThere, domain.StateStopping: domain.AlreadyThere,
			domain.StatePending: domain.RetryLater, domain.StateShuttingDown: domain.Never, domain.StateTerminated: domain.Never,
		},
	}
	for action, states := range want {
		for state, d := range states {
			assert.Equal(t, d, domain.Classify(action, state), "%s in %s", action, state)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	t.Parallel()
	for id, ok := range map[string]bool{
		"i-0123456789abcdef0": true, "i-01234567": true, "i-0123456789ABCDEF0": false, "i-012": false, "x-01234567": false, "": false,
	} {
		assert.Equal(t, ok, domain.ValidInstanceID(id), id)
	}
	for g, ok := range map[string]bool{"web": true, "ci:nightly": true, "a.b_c-d": true, "-x": false, "": false, "a b": false} {
		assert.Equal(t, ok, domain.ValidGroup(g), g)
	}
	k, v, err := domain.ParseManagedTag("a=b=c")
	require.NoError(t, err)
	assert.Equal(t, "a", k)
	assert.Equal(t, "b=c", v)
}
