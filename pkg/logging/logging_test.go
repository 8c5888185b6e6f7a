package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/logging"
)

func TestLinesCarryTheContextAttributes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo).With(logging.FieldFunctionName, "getOrder")
	ctx := logging.WithRequestID(t.Context(), "req-1")
	assert.Equal(t, "req-1", logging.RequestID(ctx))
	log.InfoContext(ctx, "hello", "n", 1)
	log.DebugContext(ctx, "hidden")
	var m map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &m))
	assert.Equal(t, "hello", m["message"], "Powertools' field names")
	assert.Equal(t, "INFO", m["level"])
	assert.Contains(t, m, "timestamp")
	assert.Equal(t, "req-1", m["requestId"])
	assert.Equal(t, "getOrder", m["function_name"])
	assert.Equal(t, 1, bytes.Count(buf.Bytes(), []byte("\n")), "debug is below the level")
}

func TestParseLevel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "DEBUG": slog.LevelDebug, "warn": slog.LevelWarn, "Error": slog.LevelError} {
		got, err := logging.ParseLevel(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := logging.ParseLevel("loud")
	require.Error(t, err)
}
