package audittable_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/audittable"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/app/audittest"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestContractOnMemory(t *testing.T) {
	t.Parallel()
	audittest.AuditLogContract(t, func(*testing.T) app.AuditLog {
		return audittable.New(memory.NewTable(), 0)
	})
}

func TestContractOnDynamoDB(t *testing.T) {
	t.Parallel()
	audittest.AuditLogContract(t, func(t *testing.T) app.AuditLog {
		t.Helper()
		return audittable.New(awstest.NewTable(t, nil), 0)
	})
}

// fixedClock is a table clock for the retention test.
type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

var _ ports.Clock = (*fixedClock)(nil)

func TestEntriesExpireAfterTheRetention(t *testing.T) {
	t.Parallel()
	requested := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fixedClock{now: requested}
	log := audittable.New(memory.NewTable(memory.WithClock(clock)), 48*time.Hour)
	require.NoError(t, log.Open(t.Context(), app.AuditEntry{
		InstanceID: "i-00000001", Action: domain.Stop, RequestID: "r", RequestedAt: requested, Result: app.ResultRequested,
	}))
	clock.now = requested.Add(47 * time.Hour)
	page, err := log.History(t.Context(), "i-00000001", 10, "")
	require.NoError(t, err)
	assert.Len(t, page.Entries, 1)
	clock.now = requested.Add(49 * time.Hour)
	page, err = log.History(t.Context(), "i-00000001", 10, "")
	require.NoError(t, err)
	assert.Empty(t, page.Entries)
}
