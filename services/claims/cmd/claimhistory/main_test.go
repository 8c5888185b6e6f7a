package main

import (
	"testing"

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
