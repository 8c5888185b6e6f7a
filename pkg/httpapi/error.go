// Package httpapi provides the transport-neutral building blocks of the
// services' HTTP APIs: a router over ports.Request, JSON responses, strict
// JSON body decoding and the one mapping from errors to HTTP statuses and
// machine-readable codes.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Error is an error that knows how it is shown to a client: an HTTP status, a
// stable machine-readable code and a message safe to show. The cause, if any,
// is kept for logs and never sent.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int
	// Allow lists the methods of a 405 answer.
	Allow []string
	// Details are extra machine-readable fields of the error body.
	Details map[string]any
	cause   error
}

// NewError returns an Error with the given status, code and message.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Errorf returns an Error whose message is formatted.
func Errorf(status int, code, format string, args ...any) *Error {
	return NewError(status, code, fmt.Sprintf(format, args...))
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that wraps cause (kept for logs only).
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// WithRetryAfter returns a copy of e with a Retry-After in seconds.
func (e *Error) WithRetryAfter(seconds int) *Error {
	c := *e
	c.RetryAfter = seconds
	return &c
}

// WithDetail returns a copy of e with one more detail field.
func (e *Error) WithDetail(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Codes shared by every service.
const (
	CodeInternal         = "internal_error"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeThrottled        = "throttled"
	CodeUnavailable      = "dependency_unavailable"
	CodeInvalidCursor    = "invalid_cursor"
	CodeTimeout          = "timeout"
	CodeRouteNotFound    = "route_not_found"
	CodeMethodNotAllowed = "method_not_allowed"
)

// AsError maps any error to the Error shown to the client. It is the one
// place where errors become statuses: an *Error (anywhere in the chain) is
// used as is, port errors get their standard status, and anything else is an
// internal error whose text is never shown.
func AsError(err error) *Error {
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, ports.ErrNotFound):
		return NewError(http.StatusNotFound, CodeNotFound, "the resource does not exist").WithCause(err)
	case errors.Is(err, ports.ErrConflict):
		return NewError(http.StatusConflict, CodeConflict, "the resource was changed concurrently; retry").WithCause(err)
	case errors.Is(err, ports.ErrThrottled):
		return NewError(http.StatusServiceUnavailable, CodeThrottled, "the service is busy; retry later").WithRetryAfter(1).WithCause(err)
	case errors.Is(err, ports.ErrUnavailable):
		return NewError(http.StatusServiceUnavailable, CodeUnavailable, "a service this one depends on could not be reached; retry later").
			WithRetryAfter(2).WithCause(err)
	case errors.Is(err, ports.ErrInvalidCursor):
		return NewError(http.StatusBadRequest, CodeInvalidCursor, "the cursor is invalid or belongs to another query").WithCause(err)
	case errors.Is(err, context.DeadlineExceeded):
		return NewError(http.StatusGatewayTimeout, CodeTimeout, "the request took too long").WithCause(err)
	default:
		return NewError(http.StatusInternalServerError, CodeInternal, "internal error").WithCause(err)
	}
}

type errorBody struct {
	Error errorFields `json:"error"`
}

type errorFields struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	RequestID string         `json:"requestId,omitempty"`
	Details   map[string]any `json:"details,omitempty"`
}

// ErrorResponse renders err as the JSON error body
// {"error":{"code":"...","message":"...","requestId":"..."}}.
func ErrorResponse(err error, requestID string) ports.Response {
	e := AsError(err)
	resp := JSON(e.Status, errorBody{Error: errorFields{
		Code: e.Code, Message: e.Message, RequestID: requestID, Details: e.Details,
	}})
	if e.RetryAfter > 0 {
		resp.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if len(e.Allow) > 0 {
		allow := append([]string(nil), e.Allow...)
		sort.Strings(allow)
		for _, m := range allow {
			resp.Header.Add("Allow", m)
		}
	}
	return resp
}
