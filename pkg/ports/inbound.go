package ports

import (
	"context"
	"net/http"
	"net/url"
)

// Caller identifies who sent a request, as far as the transport knows.
type Caller struct {
	// APIKeyID is the id of the API key API Gateway validated, if any.
	APIKeyID string
	// Principal is the IAM principal (user or role ARN) for SigV4 requests.
	Principal string
	// SourceIP is the client address.
	SourceIP string
}

// Request is a transport-neutral HTTP request. Header keys are canonical
// (http.CanonicalHeaderKey); PathParams are filled by the router.
type Request struct {
	Method     string
	Path       string
	PathParams map[string]string
	Query      url.Values
	Header     http.Header
	Body       []byte
	RequestID  string
	Caller     Caller
}

// Response is a transport-neutral HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Handler serves transport-neutral requests. A returned error is turned into
// an error response by the transport adapter (see package apierror).
type Handler interface {
	Handle(ctx context.Context, req Request) (Response, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) (Response, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req Request) (Response, error) {
	return f(ctx, req)
}
