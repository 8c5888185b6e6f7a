// Package openapitest checks real responses against a service's published
// OpenAPI document (with kin-openapi), and the route table in code against
// the document's operations, so the contract and the code cannot drift.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Validator validates responses against one OpenAPI document.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool // operationId -> statuses validated
}

// New loads and validates the document.
func New(t testing.TB, spec []byte) *Validator {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("OpenAPI router: %v", err)
	}
	return &Validator{doc: doc, router: router, seen: map[string]map[int]bool{}}
}

// Check validates resp, the answer to req, against the document. A request
// the document has no operation for must have been answered with an error
// body.
func (v *Validator) Check(t testing.TB, req ports.Request, resp ports.Response) {
	t.Helper()
	target := (&url.URL{Path: req.Path, RawQuery: req.Query.Encode()}).String()
	hreq := httptest.NewRequestWithContext(context.Background(), req.Method, "http://localhost"+target, bytes.NewReader(req.Body))
	for k, vs := range req.Header {
		hreq.Header[k] = vs
	}
	route, params, err := v.router.FindRoute(hreq)
	if err != nil {
		CheckErrorBody(t, resp)
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: hreq, PathParams: params, Route: route},
		Status:                 resp.Status,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(resp.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("%s %s -> %d does not match the OpenAPI document: %v\nbody: %s", req.Method, target, resp.Status, err, resp.Body)
	}
	if resp.Status >= 400 {
		CheckErrorBody(t, resp)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[route.Operation.OperationID] == nil {
		v.seen[route.Operation.OperationID] = map[int]bool{}
	}
	v.seen[route.Operation.OperationID][resp.Status] = true
}

// CheckErrorBody asserts the JSON error body shape and the request id.
func CheckErrorBody(t testing.TB, resp ports.Response) {
	t.Helper()
	if resp.Status < 400 {
		return
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
		t.Errorf("status %d without a JSON error body: %s", resp.Status, resp.Body)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("error answer with Content-Type %q", resp.Header.Get("Content-Type"))
	}
}

// Operations returns "METHOD /path" for every operation of the document.
func (v *Validator) Operations() []string {
	var out []string
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// CheckRoutes asserts that the routes in code and the document's operations
// are the same set.
func (v *Validator) CheckRoutes(t testing.TB, routes []httpapi.Route) {
	t.Helper()
	var code []string
	for _, r := range routes {
		code = append(code, r.Method+" "+r.Pattern)
	}
	sort.Strings(code)
	doc := v.Operations()
	if strings.Join(code, "\n") != strings.Join(doc, "\n") {
		t.Errorf("routes in code and in the OpenAPI document differ:\ncode:\n  %s\ndocument:\n  %s",
			strings.Join(code, "\n  "), strings.Join(doc, "\n  "))
	}
}

// Unexercised returns the operations no checked response has exercised.
func (v *Validator) Unexercised() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, item := range v.doc.Paths.Map() {
		for _, op := range item.Operations() {
			if len(v.seen[op.OperationID]) == 0 {
				out = append(out, op.OperationID)
			}
		}
	}
	sort.Strings(out)
	return out
}
