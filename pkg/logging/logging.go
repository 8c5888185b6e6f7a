// Package logging builds the services' JSON loggers: log/slog with the
// request id (and any other attributes placed in the context) added to every
// line.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

type ctxKey struct{}

// WithAttrs returns a context whose log lines carry attrs in addition to
// those already there (for example the request id).
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	all := make([]slog.Attr, 0, len(prev)+len(attrs))
	all = append(all, prev...)
	all = append(all, attrs...)
	return context.WithValue(ctx, ctxKey{}, all)
}

// WithRequestID returns a context whose log lines carry the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return WithAttrs(ctx, slog.String("requestId", id))
}

// RequestID returns the request id stored by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	attrs, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	for i := len(attrs) - 1; i >= 0; i-- {
		if attrs[i].Key == "requestId" {
			return attrs[i].Value.String()
		}
	}
	return ""
}

// ParseLevel reads a level name (debug, info, warn, error; any case). The
// empty string is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
	}
}

// Field names shared with Powertools for AWS Lambda, so the queries its
// users write find our lines too: level (INFO, ...), message, timestamp,
// service, cold_start, function_name, function_request_id, xray_trace_id.
const (
	FieldMessage           = "message"
	FieldTimestamp         = "timestamp"
	FieldService           = "service"
	FieldColdStart         = "cold_start"
	FieldFunctionName      = "function_name"
	FieldFunctionRequestID = "function_request_id"
	FieldTraceID           = "xray_trace_id"
)

// New returns a JSON logger writing to w at level, whose lines carry the
// context's attributes. Each line is one JSON object with "level",
// "message" and "timestamp", which Lambda's JSON log format reads to
// filter by its application log level.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(contextHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: powertoolsNames})})
}

func powertoolsNames(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.MessageKey:
		a.Key = FieldMessage
	case slog.TimeKey:
		a.Key = FieldTimestamp
	}
	return a
}

type contextHandler struct {
	slog.Handler
}

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, ok := ctx.Value(ctxKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r) //nolint:wrapcheck // a decorator passes the inner handler's error through
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{Handler: h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{Handler: h.Handler.WithGroup(name)}
}
