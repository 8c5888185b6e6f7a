// Package apigw is the inbound adapter for API Gateway REST API proxy
// integrations (payload format 1.0): it turns an APIGatewayProxyRequest into
// a ports.Request, serves it with httpapi.Serve and turns the response back.
package apigw

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Adapter serves API Gateway proxy events with a transport-neutral handler.
type Adapter struct {
	handler  ports.Handler
	logger   *slog.Logger
	observer httpapi.Observer
	served   atomic.Bool
}

// Option configures an Adapter.
type Option func(*Adapter)

// WithObserver sends an observation of every request to o (metrics).
func WithObserver(o httpapi.Observer) Option {
	return func(a *Adapter) { a.observer = o }
}

// New returns an adapter for h that logs to logger.
func New(h ports.Handler, logger *slog.Logger, opts ...Option) *Adapter {
	a := &Adapter{handler: h, logger: logger}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Handle is the Lambda handler: pass it to lambda.Start. It never returns an
// error, so API Gateway never answers 502 for a function that ran.
func (a *Adapter) Handle(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	req, err := Request(ev)
	if req.RequestID == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			req.RequestID = lc.AwsRequestID
		}
	}
	handler := a.handler
	if err != nil {
		handler = httpapi.Fail(err)
	}
	opts := httpapi.Options{Logger: a.logger, Observer: a.observer, Cold: !a.served.Swap(true)}
	// The Lambda runtime client sets the invocation's X-Ray trace header
	// here; the SDK clients send it on (their recursion-detection step).
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		opts.Attrs = append(opts.Attrs, slog.String(logging.FieldFunctionRequestID, lc.AwsRequestID))
	}
	if trace := os.Getenv("_X_AMZN_TRACE_ID"); trace != "" {
		opts.Attrs = append(opts.Attrs, slog.String(logging.FieldTraceID, trace))
	}
	return Response(httpapi.ServeWith(ctx, opts, handler, req)), nil
}

// Request converts a proxy event to a ports.Request. A body flagged as base64
// that does not decode is reported as a 400 error (the request is still
// returned, without a body, so the error can be answered).
func Request(ev events.APIGatewayProxyRequest) (ports.Request, error) {
	req := ports.Request{
		Method:    ev.HTTPMethod,
		Path:      routedPath(ev),
		Query:     query(ev),
		Header:    header(ev),
		RequestID: ev.RequestContext.RequestID,
		Caller: ports.Caller{
			APIKeyID:  ev.RequestContext.Identity.APIKeyID,
			Principal: ev.RequestContext.Identity.UserArn,
			SourceIP:  ev.RequestContext.Identity.SourceIP,
		},
	}
	if req.Path == "" {
		req.Path = ev.RequestContext.ResourcePath
	}
	if ev.IsBase64Encoded {
		body, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return req, httpapi.NewError(http.StatusBadRequest, "invalid_body_encoding", "the request body is not valid base64")
		}
		req.Body = body
	} else if ev.Body != "" {
		req.Body = []byte(ev.Body)
	}
	return req, nil
}

// routedPath is the path to route on: the method's resource with its path
// parameters filled in. The event's own path is the one the client asked
// for, which under a custom domain holds the base path mapping's prefix
// (/v1/members/... for the resource /members/{memberId}/claims), so it
// is used only when the event names no resource (or lacks a parameter).
func routedPath(ev events.APIGatewayProxyRequest) string {
	if ev.Resource == "" || !strings.HasPrefix(ev.Resource, "/") {
		return ev.Path
	}
	segs := strings.Split(ev.Resource, "/")
	for i, seg := range segs {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "+")
		v, ok := ev.PathParameters[name]
		if !ok {
			return ev.Path
		}
		segs[i] = v
	}
	return strings.Join(segs, "/")
}

func query(ev events.APIGatewayProxyRequest) url.Values {
	q := make(url.Values, len(ev.MultiValueQueryStringParameters)+len(ev.QueryStringParameters))
	for k, vs := range ev.MultiValueQueryStringParameters {
		q[k] = append([]string(nil), vs...)
	}
	for k, v := range ev.QueryStringParameters {
		if _, ok := q[k]; !ok {
			q[k] = []string{v}
		}
	}
	return q
}

func header(ev events.APIGatewayProxyRequest) http.Header {
	h := make(http.Header, len(ev.MultiValueHeaders)+len(ev.Headers))
	for k, vs := range ev.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range ev.Headers {
		if _, ok := h[http.CanonicalHeaderKey(k)]; !ok {
			h.Set(k, v)
		}
	}
	return h
}

// Response converts a ports.Response to the proxy response. JSON and text
// bodies are sent as they are; anything else is base64-encoded.
func Response(resp ports.Response) events.APIGatewayProxyResponse {
	out := events.APIGatewayProxyResponse{
		StatusCode:        resp.Status,
		MultiValueHeaders: make(map[string][]string, len(resp.Header)),
	}
	for k, vs := range resp.Header {
		out.MultiValueHeaders[k] = append([]string(nil), vs...)
	}
	if len(resp.Body) > 0 {
		if isText(resp.Header.Get("Content-Type")) {
			out.Body = string(resp.Body)
		} else {
			out.Body = base64.StdEncoding.EncodeToString(resp.Body)
			out.IsBase64Encoded = true
		}
	}
	return out
}

func isText(contentType string) bool {
	switch {
	case contentType == "":
		return true
	case len(contentType) >= 5 && contentType[:5] == "text/":
		return true
	default:
		for _, t := range []string{"application/json", "application/problem+json", "application/yaml"} {
			if len(contentType) >= len(t) && contentType[:len(t)] == t {
				return true
			}
		}
		return false
	}
}
