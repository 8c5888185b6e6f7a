package providers_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

func env(m map[string]string) providers.Getenv { return func(k string) string { return m[k] } }

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := providers.LoadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, "ec2power:managed", cfg.App.Selector.ManagedKey)
	assert.Equal(t, "true", cfg.App.Selector.ManagedValue)
	assert.Equal(t, "ec2power:group", cfg.App.Selector.GroupKey)
	assert.Equal(t, 5*time.Minute, cfg.App.DefaultWait)
	assert.Zero(t, cfg.App.WaitLimit)
}

func TestLoadConfigReadsEverything(t *testing.T) {
	t.Parallel()
	cfg, err := providers.LoadConfig(env(map[string]string{
		"MANAGED_TAG": "team:power=on", "GROUP_TAG_KEY": "team:group", "DEFAULT_TARGET": "group:nightly",
		"WAIT_LIMIT": "25s", "POLL_INTERVAL": "500ms", "AUDIT_TABLE": "audit",
	}))
	require.NoError(t, err)
	assert.Equal(t, "team:power", cfg.App.Selector.ManagedKey)
	assert.Equal(t, "on", cfg.App.Selector.ManagedValue)
	assert.Equal(t, "team:group", cfg.App.Selector.GroupKey)
	assert.Equal(t, "nightly", cfg.App.DefaultTarget.Group)
	assert.Equal(t, 25*time.Second, cfg.App.WaitLimit)
	assert.Equal(t, 500*time.Millisecond, cfg.App.PollInterval)
	assert.Equal(t, "audit", cfg.AuditTable)
}

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	t.Parallel()
	for name, value := range map[string]string{
		"MANAGED_TAG": "=x", "DEFAULT_TARGET": "i-bad,xyz", "WAIT_LIMIT": "soon", "POLL_INTERVAL": "-1s", "LOG_LEVEL": "chatty",
		"GRANTS": "ci", "AUDITORS": "a,,b",
	} {
		_, err := providers.LoadConfig(env(map[string]string{name: value}))
		require.ErrorContains(t, err, name)
	}
}
