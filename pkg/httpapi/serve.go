package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Serve runs h for req the same way for every transport: the request id goes
// into the context (for logs) and the X-Request-Id response header, a
// returned error or a panic becomes the JSON error body, and one access log
// line is written. It never returns a response without a status.
func Serve(ctx context.Context, logger *slog.Logger, h ports.Handler, req ports.Request) ports.Response {
	start := time.Now()
	ctx = logging.WithRequestID(ctx, req.RequestID)
	resp, err := safeHandle(ctx, h, req)
	if err != nil {
		apiErr := AsError(err)
		level := slog.LevelInfo
		if apiErr.Status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		logger.LogAttrs(ctx, level, "request failed",
			slog.String("code", apiErr.Code), slog.String("error", err.Error()))
		resp = ErrorResponse(apiErr, req.RequestID)
	}
	if resp.Status == 0 {
		resp.Status = http.StatusOK
	}
	if resp.Header == nil {
		resp.Header = make(http.Header, 1)
	}
	resp.Header.Set("X-Request-Id", req.RequestID)
	logger.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", req.Method),
		slog.String("path", req.Path),
		slog.Int("status", resp.Status),
		slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
	)
	return resp
}

func safeHandle(ctx context.Context, h ports.Handler, req ports.Request) (resp ports.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h.Handle(ctx, req)
}

// Fail returns a handler that answers err; transports use it to report a
// request they could not even decode through the same Serve path.
func Fail(err error) ports.Handler {
	return ports.HandlerFunc(func(context.Context, ports.Request) (ports.Response, error) {
		return ports.Response{}, err
	})
}
