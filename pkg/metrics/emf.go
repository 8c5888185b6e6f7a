// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON line per request on the function's output, which CloudWatch Logs
// turns into metrics without any API call from the function.
package metrics

import (
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
)

// Namespace is the CloudWatch namespace of the project's metrics.
const Namespace = "hexlambda"

// EMF writes request metrics per service and function: Requests, Latency
// (ms) and ColdStarts by Service and Function; Errors by Service, Function
// and ErrorCode.
type EMF struct {
	mu       sync.Mutex
	buf      []byte
	w        io.Writer
	service  string
	function string
	now      func() time.Time
}

// NewEMF returns a writer of service's function's metrics to w.
func NewEMF(w io.Writer, service, function string) *EMF {
	return &EMF{w: w, service: service, function: function, now: time.Now}
}

type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []metric   `json:"Metrics"`
}

// The directives never change: they are encoded once.
var (
	requestDirective = mustJSON(directive{
		Namespace:  Namespace,
		Dimensions: [][]string{{"Service", "Function"}},
		Metrics:    []metric{{"Requests", "Count"}, {"Latency", "Milliseconds"}, {"ColdStarts", "Count"}},
	})
	errorDirective = mustJSON(directive{
		Namespace:  Namespace,
		Dimensions: [][]string{{"Service", "Function", "ErrorCode"}},
		Metrics:    []metric{{"Errors", "Count"}},
	})
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Observe implements httpapi.Observer. The line is assembled by hand, with
// the constant parts encoded once, to keep the per-request cost low.
func (m *EMF) Observe(ctx context.Context, o httpapi.Observation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buf[:0]
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, m.now().UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[`...)
	b = append(b, requestDirective...)
	if o.Code != "" {
		b = append(b, ',')
		b = append(b, errorDirective...)
	}
	b = append(b, `]},"Service":`...)
	b = appendString(b, m.service)
	b = append(b, `,"Function":`...)
	b = appendString(b, m.function)
	b = append(b, `,"Requests":1,"Latency":`...)
	b = strconv.AppendFloat(b, float64(o.Duration.Microseconds())/1000, 'f', -1, 64)
	if o.Cold {
		b = append(b, `,"ColdStarts":1`...)
	} else {
		b = append(b, `,"ColdStarts":0`...)
	}
	if o.Code != "" {
		b = append(b, `,"Errors":1,"ErrorCode":`...)
		b = appendString(b, o.Code)
	}
	b = append(b, `,"route":`...)
	b = appendString(b, o.Route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(o.Status), 10)
	if id := logging.RequestID(ctx); id != "" {
		b = append(b, `,"requestId":`...)
		b = appendString(b, id)
	}
	b = append(b, '}', '\n')
	m.buf = b
	_, _ = m.w.Write(b)
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xf])
		case r == utf8.RuneError:
			b = append(b, `\ufffd`...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// Count writes one count metric of the function (by Service and
// Function): n occurrences of name, such as events that could not be
// published.
func (m *EMF) Count(_ context.Context, name string, n int) {
	line := map[string]any{
		"_aws": map[string]any{
			"Timestamp": m.now().UnixMilli(),
			"CloudWatchMetrics": []directive{{
				Namespace: Namespace, Dimensions: [][]string{{"Service", "Function"}}, Metrics: []metric{{name, "Count"}},
			}},
		},
		"Service": m.service, "Function": m.function, name: n,
	}
	b := append(mustJSON(line), '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(b)
}
