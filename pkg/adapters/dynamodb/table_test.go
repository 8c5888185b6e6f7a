package dynamodb_test

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var tableSeq atomic.Int64

// newTable creates a fresh DynamoDB table on the emulator for one test.
func newTable(t *testing.T, clock ports.Clock) *dynamodb.Table {
	t.Helper()
	ep := awstest.Endpoint(t)
	client := awsdynamodb.NewFromConfig(awstest.Config(t, ep))
	name := fmt.Sprintf("contract-%d-%s", tableSeq.Add(1), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(name) > 200 {
		name = name[:200]
	}
	require.NoError(t, dynamodb.EnsureTable(t.Context(), client, name))
	codec, err := pagecursor.New([]byte("contract-test-cursor-key"))
	require.NoError(t, err)
	return dynamodb.NewTable(client, name, dynamodb.WithCursors(codec), dynamodb.WithClock(clock))
}

func TestTableContract(t *testing.T) {
	t.Parallel()
	porttest.TableContract(t, func(t *testing.T, clock ports.Clock) ports.Table {
		t.Helper()
		return newTable(t, clock)
	})
}

func TestIdempotencyContract(t *testing.T) {
	t.Parallel()
	porttest.IdempotencyContract(t, func(t *testing.T, clock ports.Clock) ports.IdempotencyStore {
		t.Helper()
		return idempotency.NewTableStore(newTable(t, clock))
	})
}
