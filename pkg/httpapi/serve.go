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

// Observation describes one served request, for metrics.
type Observation struct {
	// Route is the matched route pattern ("" when none matched).
	Route    string
	Method   string
	Status   int
	Code     string // the error code, for error answers
	Duration time.Duration
	Cold     bool // the first request of this process
}

// Observer receives an Observation per request (for example the EMF
// metrics writer).
type Observer interface {
	Observe(ctx context.Context, o Observation)
}

// Options tune Serve.
type Options struct {
	Logger   *slog.Logger
	Observer Observer
	// Cold marks the first request a process serves.
	Cold bool
	// Attrs are added to every log line of the request (e.g. xray_trace_id).
	Attrs []slog.Attr
}

type routeKey struct{}

// Serve runs h for req the same way for every transport: the request id goes
// into the context (for logs) and the X-Request-Id response header, a
// returned error or a panic becomes the JSON error body, and one access log
// line is written. It never returns a response without a status.
func Serve(ctx context.Context, logger *slog.Logger, h ports.Handler, req ports.Request) ports.Response {
	return ServeWith(ctx, Options{Logger: logger}, h, req)
}

// ServeWith is Serve with options: metrics, the cold-start flag and extra
// log attributes. The access log line carries the request id, route,
// method, status, error code, duration and cold flag; never bodies.
func ServeWith(ctx context.Context, o Options, h ports.Handler, req ports.Request) ports.Response {
	start := time.Now()
	ctx = logging.WithRequestID(ctx, req.RequestID)
	if len(o.Attrs) > 0 {
		ctx = logging.WithAttrs(ctx, o.Attrs...)
	}
	route := new(string)
	ctx = context.WithValue(ctx, routeKey{}, route)
	resp, err := safeHandle(ctx, h, req)
	code := ""
	if err != nil {
		apiErr := AsError(err)
		code = apiErr.Code
		level := slog.LevelInfo
		if apiErr.Status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		o.Logger.LogAttrs(ctx, level, "request failed",
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
	d := time.Since(start)
	o.Logger.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", req.Method),
		slog.String("route", *route),
		slog.Int("status", resp.Status),
		slog.String("code", code),
		slog.Float64("durationMs", float64(d.Microseconds())/1000),
		slog.Bool(logging.FieldColdStart, o.Cold),
	)
	if o.Observer != nil {
		o.Observer.Observe(ctx, Observation{Route: *route, Method: req.Method, Status: resp.Status, Code: code, Duration: d, Cold: o.Cold})
	}
	return resp
}

// setRoute records the matched route pattern for the access log.
func setRoute(ctx context.Context, pattern string) {
	if r, ok := ctx.Value(routeKey{}).(*string); ok {
		*r = pattern
	}
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
