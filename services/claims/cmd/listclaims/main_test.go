package main

import (
	"os"
	"testing"

	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInitFailsClearlyWithoutConfiguration(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "TABLE_NAME is required")
}

func TestInitBuildsTheHandler(t *testing.T) {
	t.Setenv("TABLE_NAME", "claims")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("CURSOR_SIGNING_KEY", "0123456789abcdef0123")
	h, err := initialize(t.Context())
	require.NoError(t, err)
	assert.NotNil(t, h)
}

func TestInitNeedsTheCursorKey(t *testing.T) {
	t.Setenv("TABLE_NAME", "claims")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("CURSOR_SIGNING_KEY", "")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "CURSOR_KEY_PARAMETER or CURSOR_SIGNING_KEY is required")
}

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// Deployed, the key is in Parameter Store, read once at init: it is in no
// function's configuration.
func TestInitReadsTheCursorKeyFromParameterStore(t *testing.T) {
	ep := awstest.Endpoint(t)
	awstest.PutSecureString(t, ep, "/hexlambda/claims-test/cursor-signing-key", "0123456789abcdef0123456789")
	t.Setenv("TABLE_NAME", "claims")
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ENDPOINT_URL", ep)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("CURSOR_SIGNING_KEY", "")
	t.Setenv("CURSOR_KEY_PARAMETER", "/hexlambda/claims-test/cursor-signing-key")
	h, err := initialize(t.Context())
	require.NoError(t, err)
	assert.NotNil(t, h)

	t.Setenv("CURSOR_KEY_PARAMETER", "/hexlambda/claims-test/missing")
	_, err = initialize(t.Context())
	require.ErrorContains(t, err, "CURSOR_KEY_PARAMETER")
	require.ErrorContains(t, err, "parameter not found")
}
