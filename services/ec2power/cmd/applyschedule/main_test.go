package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(t *testing.T) {
	t.Setenv("AUDIT_TABLE", "audit")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("SCHEDULE_GROUP", "ec2power-test")
}

func TestInitFailsClearlyWithoutTheAuditTable(t *testing.T) {
	env(t)
	t.Setenv("AUDIT_TABLE", "")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "AUDIT_TABLE is required")
}

func TestInitBuildsTheHandler(t *testing.T) {
	env(t)
	h, err := initialize(t.Context())
	require.NoError(t, err)
	assert.NotNil(t, h)
}

func TestInitFailsClearlyWithoutTheScheduleGroup(t *testing.T) {
	env(t)
	t.Setenv("SCHEDULE_GROUP", "")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "SCHEDULE_GROUP is required")
}
