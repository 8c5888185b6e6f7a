package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInitNeedsNoAuditTable(t *testing.T) {
	t.Setenv("AUDIT_TABLE", "")
	t.Setenv("AWS_REGION", "us-east-1")
	h, err := initialize(t.Context())
	require.NoError(t, err)
	assert.NotNil(t, h)
}

func TestInitFailsClearlyOnABadManagedTag(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("MANAGED_TAG", "no-equals-sign")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "MANAGED_TAG")
}
