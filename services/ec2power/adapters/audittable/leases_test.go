package audittable_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/audittable"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func leaseContract(t *testing.T, table ports.Table) {
	store := audittable.NewLeases(table)
	log := audittable.New(table, 0)
	ctx := t.Context()
	const id = "i-0123456789abcdef0"

	none, err := store.Lease(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, none.Version, "an instance that never had a lease")
	assert.False(t, none.Live())

	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := domain.Lease{
		InstanceID: id, State: domain.LeaseActive, ExpiresAt: at, GrantedAt: at.Add(-time.Hour),
		APIKeyID: "key-1", RequestID: "req-1", Schedule: "lease-" + id + "-1-abcd",
	}
	first, err := store.PutLease(ctx, l, 0)
	require.NoError(t, err)
	assert.EqualValues(t, 1, first.Version)
	_, err = store.PutLease(ctx, l, 0)
	require.ErrorIs(t, err, app.ErrLeaseChanged, "a second first lease loses")

	got, err := store.Lease(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, first, got)

	ended := got
	ended.State, ended.EndReason = domain.LeaseEnded, domain.LeaseStopped
	second, err := store.PutLease(ctx, ended, 1)
	require.NoError(t, err)
	assert.EqualValues(t, 2, second.Version)
	_, err = store.PutLease(ctx, l, 1)
	require.ErrorIs(t, err, app.ErrLeaseChanged, "a write from a stale read loses")

	got, err = store.Lease(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, domain.LeaseEnded, got.State)
	assert.Equal(t, domain.LeaseStopped, got.EndReason)

	require.NoError(t, log.Open(ctx, app.AuditEntry{InstanceID: id, Action: domain.Start, RequestID: "req-2", RequestedAt: at, Result: app.ResultRequested}))
	page, err := log.History(ctx, id, 10, "")
	require.NoError(t, err)
	assert.Len(t, page.Entries, 1, "the lease is not an audit entry")
}

func TestLeasesOnMemory(t *testing.T) {
	t.Parallel()
	leaseContract(t, memory.NewTable())
}

func TestLeasesOnDynamoDB(t *testing.T) {
	t.Parallel()
	leaseContract(t, awstest.NewTable(t, nil))
}
