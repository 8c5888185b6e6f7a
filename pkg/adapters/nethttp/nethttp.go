// Package nethttp serves a transport-neutral handler over net/http, for the
// local run and for tests: the same routes and handlers as the Lambda
// functions, without API Gateway.
package nethttp

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/google/uuid"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// MaxRequestBytes mirrors API Gateway's payload limit (10 MB): larger
// requests are refused before they reach a handler.
const MaxRequestBytes = 10 << 20

// LocalPrincipal is the identity of every caller of a local server.
const LocalPrincipal = "local"

// Handler returns an http.Handler that serves h.
func Handler(h ports.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := ports.Request{
			Method:    r.Method,
			Path:      r.URL.Path,
			Query:     r.URL.Query(),
			Header:    r.Header.Clone(),
			RequestID: uuid.NewString(),
			// Nothing here verifies who is calling: every caller is
			// "local", and credentials a client sends (an X-Api-Key) are
			// never taken for an identity or recorded.
			Caller: ports.Caller{
				Principal: LocalPrincipal,
				SourceIP:  sourceIP(r.RemoteAddr),
			},
		}
		var serveErr error
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			serveErr = httpapi.NewError(http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge, "the request is too large")
		case err != nil:
			serveErr = httpapi.NewError(http.StatusBadRequest, "invalid_body", "the request body could not be read")
		}
		req.Body = body
		handler := h
		if serveErr != nil {
			handler = httpapi.Fail(serveErr)
		}
		resp := httpapi.Serve(r.Context(), logger, handler, req)
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
}

func sourceIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
