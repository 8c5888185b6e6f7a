package claimstore_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/app/claimstest"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestContractOnMemory(t *testing.T) {
	t.Parallel()
	claimstest.ClaimStoreContract(t, func(*testing.T) app.ClaimStore { return claimstore.New(memory.NewTable()) })
}

func TestContractOnDynamoDB(t *testing.T) {
	t.Parallel()
	claimstest.ClaimStoreContract(t, func(t *testing.T) app.ClaimStore {
		t.Helper()
		return claimstore.New(awstest.NewTable(t, nil))
	})
}

// The single-table layout is the data model other tools (exports, support
// queries) rely on: PK MEMBER#<memberId>, SK CLAIM#<claimId>, native types.
func TestItemsUseTheSingleTableLayout(t *testing.T) {
	t.Parallel()
	table := memory.NewTable()
	c, err := domain.New("0199aaaa-0000-7000-8000-000000000001", "M-layout", domain.Details{
		MemberName: "Ada", PolicyID: "P-1", PolicyType: "PPO", Amount: 12550, Currency: "USD",
	}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	require.NoError(t, err)
	_, err = claimstore.New(table).Create(t.Context(), c, app.HistoryEntry{ClaimID: c.ID, MemberID: c.MemberID, Version: 1, Event: app.EventCreated, At: c.CreatedAt})
	require.NoError(t, err)

	it, err := table.Get(t.Context(), claimstore.Key("M-layout", c.ID))
	require.NoError(t, err)
	assert.Equal(t, "MEMBER#M-layout", it.Key.Partition)
	assert.Equal(t, "CLAIM#"+c.ID, it.Key.Sort)
	assert.Equal(t, int64(12550), it.Attributes["amount"])
	assert.Equal(t, "USD", it.Attributes["currency"])
	assert.Equal(t, "pending", it.Attributes["status"])
	assert.Equal(t, "claim", it.Attributes["entity"])

	page, err := table.Query(t.Context(), ports.Query{Partition: "MEMBER#M-layout", SortPrefix: "HISTORY#", Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "HISTORY#"+c.ID+"#0000000001", page.Items[0].Key.Sort)
	assert.Equal(t, "created", page.Items[0].Attributes["event"])
}
