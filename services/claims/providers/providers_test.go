package providers_test

import (
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/claims/providers"
)

func env(m map[string]string) providers.Getenv { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := providers.LoadConfig(env(map[string]string{"TABLE_NAME": "claims", "LOG_LEVEL": "debug"}))
	require.NoError(t, err)
	assert.Equal(t, "claims", cfg.TableName)
	assert.Equal(t, slog.LevelDebug, cfg.LogLevel)
	assert.Equal(t, "USD", cfg.DefaultCurrency)
	assert.Equal(t, "adjuster=arn:*;auditor=arn:*;intake=*,anonymous;payments=arn:*", cfg.Roles.String(), "the default role map")

	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"missing table": {map[string]string{}, "TABLE_NAME is required"},
		"bad log level": {map[string]string{"TABLE_NAME": "t", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		"bad currency":  {map[string]string{"TABLE_NAME": "t", "DEFAULT_CURRENCY": "ABC"}, "DEFAULT_CURRENCY"},
		"bad role map":  {map[string]string{"TABLE_NAME": "t", "ROLE_MAP": "Adjuster=*"}, "ROLE_MAP"},
	} {
		_, err := providers.LoadConfig(env(c.env))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}

func TestCursorKeyIsRequiredForListing(t *testing.T) {
	t.Parallel()
	client := awsdynamodb.New(awsdynamodb.Options{Region: "us-east-1"})
	_, err := providers.PagedTable(t.Context(), aws.Config{}, client, providers.Config{TableName: "claims"})
	require.ErrorContains(t, err, "CURSOR_KEY_PARAMETER or CURSOR_SIGNING_KEY is required")
	_, err = providers.PagedTable(t.Context(), aws.Config{}, client, providers.Config{TableName: "claims", CursorKey: []byte("short")})
	require.ErrorContains(t, err, "at least 16 bytes")
	_, err = providers.PagedTable(t.Context(), aws.Config{}, client, providers.Config{TableName: "claims", CursorKey: []byte("0123456789abcdef")})
	require.NoError(t, err)
}
