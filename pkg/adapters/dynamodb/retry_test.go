package dynamodb_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// lossyDynamoDB stores the first write it gets, then drops the connection
// without answering; the SDK retries, and the retry meets the item the first
// attempt stored (DynamoDB answers ConditionalCheckFailed with ALL_OLD).
type lossyDynamoDB struct {
	mu     sync.Mutex
	stored json.RawMessage
	calls  int
}

func (l *lossyDynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Item          json.RawMessage
		TransactItems []struct {
			Put struct{ Item json.RawMessage }
		}
	}
	_ = json.Unmarshal(body, &in)
	transact := len(in.TransactItems) > 0
	if transact {
		in.Item = in.TransactItems[0].Put.Item
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls == 1 {
		l.stored = in.Item
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	if transact {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"__type":              "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
			"message":             "Transaction cancelled",
			"CancellationReasons": []any{map[string]any{"Code": "ConditionalCheckFailed", "Item": l.stored}},
		})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"__type":  "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
		"message": "The conditional request failed",
		"Item":    l.stored,
	})
}

func lossyTable(t *testing.T, l *lossyDynamoDB) *dynamodb.Table {
	t.Helper()
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	client := awsdynamodb.New(awsdynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	return dynamodb.NewTable(client, "t")
}

func TestARetriedCreateThatHadSucceededIsNoConflict(t *testing.T) {
	t.Parallel()
	l := &lossyDynamoDB{}
	item := ports.Item{Key: ports.Key{Partition: "P", Sort: "S"}, Attributes: ports.Attributes{"a": "1", "n": int64(2)}}
	got, err := lossyTable(t, l).Create(context.Background(), item)
	require.NoError(t, err)
	assert.Equal(t, 2, l.calls, "the SDK retried after the lost answer")
	assert.Equal(t, int64(1), got.Version)
}

func TestARetriedTransactionThatHadSucceededIsNoConflict(t *testing.T) {
	t.Parallel()
	l := &lossyDynamoDB{}
	item := ports.Item{Key: ports.Key{Partition: "P", Sort: "S"}, Attributes: ports.Attributes{"a": "1"}}
	require.NoError(t, lossyTable(t, l).Transact(context.Background(), ports.Write{Create: &item}))
	assert.Equal(t, 2, l.calls, "the SDK retried after the lost answer")

	other := &lossyDynamoDB{}
	tbl := lossyTable(t, other)
	require.NoError(t, tbl.Transact(context.Background(), ports.Write{Create: &item}))
	err := tbl.Transact(context.Background(), ports.Write{Create: &item})
	var te *ports.TransactionError
	require.ErrorAs(t, err, &te, "another transaction meeting the item is a conflict")
}

func TestARetriedCreateOfAnotherItemIsAConflict(t *testing.T) {
	t.Parallel()
	l := &lossyDynamoDB{}
	tbl := lossyTable(t, l)
	_, err := tbl.Create(context.Background(), ports.Item{Key: ports.Key{Partition: "P", Sort: "S"}, Attributes: ports.Attributes{"a": "1"}})
	require.NoError(t, err)
	_, err = tbl.Create(context.Background(), ports.Item{Key: ports.Key{Partition: "P", Sort: "S"}, Attributes: ports.Attributes{"a": "other"}})
	require.ErrorIs(t, err, ports.ErrConflict, "someone else's item is a conflict")
}

// A table built without a cursor key serves single items but refuses to
// page, before any request: only functions that list hold a signing key.
func TestQueryNeedsACursorKey(t *testing.T) {
	t.Parallel()
	l := &lossyDynamoDB{}
	_, err := lossyTable(t, l).Query(t.Context(), ports.Query{Partition: "P", Limit: 10})
	require.ErrorIs(t, err, dynamodb.ErrNoCursors)
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.Zero(t, l.calls, "no request was sent")
}
