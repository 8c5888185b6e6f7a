package api_test

import (
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var tables atomic.Int64

// dynamoTable creates a fresh claims table on the emulator.
func dynamoTable(t *testing.T) (*awsdynamodb.Client, string) {
	t.Helper()
	client := awsdynamodb.NewFromConfig(awstest.Config(t, awstest.Endpoint(t)))
	name := fmt.Sprintf("claims-api-test-%d", tables.Add(1))
	require.NoError(t, dynamodb.EnsureTable(t.Context(), client, name))
	return client, name
}

func newDynamoHarness(t *testing.T) (*harness, *awsdynamodb.Client, string) {
	t.Helper()
	client, name := dynamoTable(t)
	codec, err := pagecursor.New([]byte("claims-api-test-signing-key"))
	require.NoError(t, err)
	h := newHarness(t, func(clock ports.Clock) ports.Table {
		return dynamodb.NewTable(client, name, dynamodb.WithCursors(codec), dynamodb.WithClock(clock))
	})
	return h, client, name
}

// backends runs f against the memory table and DynamoDB on the emulator.
func backends(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		f(t, newHarness(t, func(clock ports.Clock) ports.Table { return memory.NewTable(memory.WithClock(clock)) }))
	})
	t.Run("dynamodb", func(t *testing.T) {
		t.Parallel()
		h, _, _ := newDynamoHarness(t)
		f(t, h)
	})
}

func TestConcurrentPatchesHaveOneWinnerOnDynamoDB(t *testing.T) {
	t.Parallel()
	h, _, _ := newDynamoHarness(t)
	c := h.create("M-race")
	id := c["claimId"].(string)

	const n = 50
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for i := range n {
		wg.Go(func() {
			r := h.do(http.MethodPatch, "/members/M-race/claims/"+id,
				fmt.Sprintf(`{"description":"writer %d"}`, i), "If-Match", `"1"`)
			statuses <- r.Status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusPreconditionFailed: n - 1}, count)

	got := h.do(http.MethodGet, "/members/M-race/claims/"+id, "")
	require.Equal(t, http.StatusOK, got.Status)
	assert.Equal(t, `"2"`, got.Header.Get("ETag"), "the version advanced by exactly one")
}
