package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/metrics"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// checkEMF validates a line against the EMF specification: a _aws object
// with a millisecond Timestamp and CloudWatchMetrics directives whose
// dimension sets and metric names all resolve to members of the document.
func checkEMF(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(line, &doc), "%s", line)
	meta, ok := doc["_aws"].(map[string]any)
	require.True(t, ok, "no _aws member")
	ts, ok := meta["Timestamp"].(float64)
	require.True(t, ok)
	assert.InDelta(t, float64(time.Now().UnixMilli()), ts, 60_000, "Timestamp is epoch milliseconds")
	directives, ok := meta["CloudWatchMetrics"].([]any)
	require.True(t, ok)
	require.NotEmpty(t, directives)
	for _, d := range directives {
		dir := d.(map[string]any)
		assert.Equal(t, "hexlambda", dir["Namespace"])
		dims := dir["Dimensions"].([]any)
		require.NotEmpty(t, dims)
		for _, set := range dims {
			require.LessOrEqual(t, len(set.([]any)), 30)
			for _, name := range set.([]any) {
				_, isString := doc[name.(string)].(string)
				assert.True(t, isString, "dimension %s must be a string member", name)
			}
		}
		for _, m := range dir["Metrics"].([]any) {
			mm := m.(map[string]any)
			assert.Contains(t, []string{"Count", "Milliseconds"}, mm["Unit"])
			_, isNumber := doc[mm["Name"].(string)].(float64)
			assert.True(t, isNumber, "metric %s must be a number member", mm["Name"])
		}
	}
	return doc
}

func TestRequestMetrics(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := metrics.NewEMF(&buf, "orders", "getOrder")
	ctx := logging.WithRequestID(context.Background(), "req-1")
	m.Observe(ctx, httpapi.Observation{Route: "GET /x", Status: 200, Duration: 1500 * time.Microsecond, Cold: true})
	m.Observe(ctx, httpapi.Observation{Route: "GET /x", Status: 404, Code: "order_not_found", Duration: time.Millisecond})
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	require.Len(t, lines, 2)

	first := checkEMF(t, lines[0])
	assert.Equal(t, "orders", first["Service"])
	assert.Equal(t, "getOrder", first["Function"])
	assert.InDelta(t, 1.5, first["Latency"], 0.0001)
	assert.InDelta(t, 1, first["ColdStarts"], 0)
	assert.Equal(t, "req-1", first["requestId"])
	assert.NotContains(t, first, "Errors")

	second := checkEMF(t, lines[1])
	assert.InDelta(t, 0, second["ColdStarts"], 0)
	assert.InDelta(t, 1, second["Errors"], 0)
	assert.Equal(t, "order_not_found", second["ErrorCode"])
	assert.Len(t, second["_aws"].(map[string]any)["CloudWatchMetrics"], 2, "errors have their own dimension set")
}

func TestStringsAreEscaped(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := metrics.NewEMF(&buf, "or\"ders", "get\\Order")
	m.Observe(context.Background(), httpapi.Observation{Route: "GET /x\x00\n\u00e9\xff", Status: 500, Code: "internal_error"})
	doc := checkEMF(t, bytes.TrimSpace(buf.Bytes()))
	assert.Equal(t, "or\"ders", doc["Service"])
	assert.Equal(t, "get\\Order", doc["Function"])
	assert.Equal(t, "GET /x\x00\n\u00e9\ufffd", doc["route"])
}

func TestServeFeedsTheMetricsAndLogs(t *testing.T) {
	t.Parallel()
	var out, logs bytes.Buffer
	m := metrics.NewEMF(&out, "orders", "getOrder")
	router := httpapi.NewRouter(httpapi.Route{Method: "GET", Pattern: "/items/{id}", Handler: ports.HandlerFunc(
		func(context.Context, ports.Request) (ports.Response, error) {
			return ports.Response{}, httpapi.NewError(404, "item_not_found", "no")
		})})
	httpapi.ServeWith(context.Background(), httpapi.Options{Logger: logging.New(&logs, 0), Observer: m, Cold: true},
		router, ports.Request{Method: "GET", Path: "/items/7", RequestID: "r-9", Body: []byte(`{"secret":"s3cr3t"}`)})
	doc := checkEMF(t, bytes.TrimSpace(out.Bytes()))
	assert.Equal(t, "GET /items/{id}", doc["route"])
	assert.Equal(t, "item_not_found", doc["ErrorCode"])

	var access map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		if m["message"] == "request" {
			access = m
		}
		assert.NotContains(t, l, "s3cr3t", "bodies are never logged")
	}
	require.NotNil(t, access)
	for k, v := range map[string]any{"requestId": "r-9", "route": "GET /items/{id}", "status": float64(404), "code": "item_not_found", "cold_start": true, "method": "GET"} {
		assert.Equal(t, v, access[k], k)
	}
	assert.Contains(t, access, "durationMs")
}

func TestCountsAreMetricsOfTheFunction(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := metrics.NewEMF(&buf, "ec2power", "stopInstance")
	m.Count(context.Background(), "EventsNotPublished", 3)
	got := checkEMF(t, bytes.TrimSpace(buf.Bytes()))
	assert.InDelta(t, 3, got["EventsNotPublished"], 0)
	assert.Equal(t, "stopInstance", got["Function"])
	d := got["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	assert.Equal(t, []any{map[string]any{"Name": "EventsNotPublished", "Unit": "Count"}}, d["Metrics"])
}
