package dynamodb_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
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

// A DynamoDB that cannot be reached (connection refused, after the SDK's
// retries) or that fails on its side is ErrUnavailable to callers, which
// answer 503 with a Retry-After, not a 500.
func TestAnUnreachableStoreIsUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := awstest.Config(t, closed)
	cfg.RetryMaxAttempts = 2
	table := dynamodb.NewTable(awsdynamodb.NewFromConfig(cfg), "claims", dynamodb.WithClock(porttest.NewClock(time.Now())))
	key := ports.Key{Partition: "MEMBER#m", Sort: "CLAIM#c"}
	_, err = table.Get(t.Context(), key)
	require.ErrorIs(t, err, ports.ErrUnavailable)
	_, err = table.Create(t.Context(), ports.Item{Key: key, Attributes: ports.Attributes{"a": "b"}})
	require.ErrorIs(t, err, ports.ErrUnavailable)
	err = table.Transact(t.Context(), ports.Write{Create: &ports.Item{Key: key, Attributes: ports.Attributes{"a": "b"}}})
	require.ErrorIs(t, err, ports.ErrUnavailable)
	assert.Equal(t, 503, httpapi.AsError(err).Status)
	assert.Equal(t, httpapi.CodeUnavailable, httpapi.AsError(err).Code)

	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"com.amazon.coral.service#InternalServerError","message":"boom"}`))
	}))
	t.Cleanup(failing.Close)
	cfg = awstest.Config(t, failing.URL)
	cfg.RetryMaxAttempts = 1
	_, err = dynamodb.NewTable(awsdynamodb.NewFromConfig(cfg), "claims").Get(t.Context(), key)
	require.ErrorIs(t, err, ports.ErrUnavailable)
}
