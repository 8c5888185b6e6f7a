package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func echo(name string) ports.Handler {
	return ports.HandlerFunc(func(_ context.Context, req ports.Request) (ports.Response, error) {
		return httpapi.JSON(http.StatusOK, map[string]any{"route": name, "params": req.PathParams}), nil
	})
}

func TestRouterMatchesPatterns(t *testing.T) {
	t.Parallel()
	r := httpapi.NewRouter(
		httpapi.Route{Method: "GET", Pattern: "/items", Handler: echo("list")},
		httpapi.Route{Method: "POST", Pattern: "/items", Handler: echo("create")},
		httpapi.Route{Method: "GET", Pattern: "/items/{id}", Handler: echo("get")},
		httpapi.Route{Method: "GET", Pattern: "/files/{path+}", Handler: echo("file")},
	)
	cases := []struct {
		method, path string
		status       int
		route        string
		params       map[string]any
		allow        []string
	}{
		{"GET", "/items", 200, "list", nil, nil},
		{"GET", "/items/", 200, "list", nil, nil},
		{"POST", "/items", 200, "create", nil, nil},
		{"GET", "/items/42", 200, "get", map[string]any{"id": "42"}, nil},
		{"GET", "/files/a/b/c.txt", 200, "file", map[string]any{"path": "a/b/c.txt"}, nil},
		{"GET", "/files", 404, "", nil, nil},
		{"GET", "/items/42/more", 404, "", nil, nil},
		{"GET", "/", 404, "", nil, nil},
		{"DELETE", "/items", 405, "", nil, []string{"GET", "POST"}},
		{"PUT", "/items/1", 405, "", nil, []string{"GET"}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			t.Parallel()
			resp := httpapi.Serve(t.Context(), logging.New(&bytes.Buffer{}, 0), r, ports.Request{Method: c.method, Path: c.path, RequestID: "r1"})
			require.Equal(t, c.status, resp.Status, "%s", resp.Body)
			var body map[string]any
			require.NoError(t, json.Unmarshal(resp.Body, &body))
			if c.status == 200 {
				assert.Equal(t, c.route, body["route"])
				if c.params != nil {
					assert.Equal(t, c.params, body["params"])
				}
			}
			assert.Equal(t, c.allow, resp.Header.Values("Allow"))
		})
	}
}

func TestRouterRejectsMalformedPatterns(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { httpapi.NewRouter(httpapi.Route{Method: "GET", Pattern: "items"}) })
	assert.Panics(t, func() { httpapi.NewRouter(httpapi.Route{Method: "GET", Pattern: "/{rest+}/x"}) })
}

func TestServeMapsErrorsWithoutLeakingThem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		status int
		code   string
		retry  string
	}{
		{fmt.Errorf("get: %w", ports.ErrNotFound), 404, "not_found", ""},
		{fmt.Errorf("put: %w", ports.ErrConflict), 409, "conflict", ""},
		{fmt.Errorf("dynamodb: %w: ProvisionedThroughputExceeded", ports.ErrThrottled), 503, "throttled", "1"},
		{fmt.Errorf("q: %w", ports.ErrInvalidCursor), 400, "invalid_cursor", ""},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), 504, "timeout", ""},
		{errors.New("secret connection string in db://user:pw@host"), 500, "internal_error", ""},
		{fmt.Errorf("wrapped: %w", httpapi.NewError(418, "teapot", "short and stout").WithRetryAfter(7)), 418, "teapot", "7"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			resp := httpapi.Serve(t.Context(), logging.New(&logs, 0), httpapi.Fail(c.err), ports.Request{Method: "GET", Path: "/x", RequestID: "req-1"})
			assert.Equal(t, c.status, resp.Status)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			assert.Equal(t, "req-1", resp.Header.Get("X-Request-Id"))
			assert.Equal(t, c.retry, resp.Header.Get("Retry-After"))
			var body struct {
				Error struct{ Code, Message, RequestID string }
			}
			require.NoError(t, json.Unmarshal(resp.Body, &body))
			assert.Equal(t, c.code, body.Error.Code)
			assert.Equal(t, "req-1", body.Error.RequestID)
			assert.NotContains(t, string(resp.Body), "secret")
			assert.NotContains(t, string(resp.Body), "dynamodb")
			assert.Contains(t, logs.String(), `"requestId":"req-1"`, "every log line names the request")
		})
	}
}

func TestServeRecoversPanics(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := ports.HandlerFunc(func(context.Context, ports.Request) (ports.Response, error) { panic("boom") })
	resp := httpapi.Serve(t.Context(), logging.New(&logs, 0), h, ports.Request{Method: "GET", Path: "/", RequestID: "r"})
	assert.Equal(t, 500, resp.Status)
	assert.NotContains(t, string(resp.Body), "boom")
	assert.Contains(t, logs.String(), "boom")
}

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	type target struct {
		Name  string `json:"name"`
		Count int64  `json:"count"`
		Tags  []string
	}
	cases := []struct {
		body, contentType string
		status            int
		code              string
	}{
		{`{"name":"a","count":2}`, "application/json; charset=utf-8", 0, ""},
		{`{"name":"a"}`, "application/vnd.api+json", 0, ""},
		{`{"name":"a"}`, "", 0, ""},
		{``, "", 400, "empty_body"},
		{`{"name":`, "", 400, "invalid_json"},
		{`{"name":"a"}}`, "", 400, "invalid_json"},
		{`{"name":"a"} {"name":"b"}`, "", 400, "invalid_json"},
		{`[1]`, "", 400, "invalid_json"},
		{`{"count":"2"}`, "", 400, "invalid_type"},
		{`{"count":1.5}`, "", 400, "invalid_type"},
		{`{"name":{}}`, "", 400, "invalid_type"},
		{`{"other":1}`, "", 400, "unknown_field"},
		{`{"Secret":1}`, "", 400, "read_only_field"},
		{`{"secret":1}`, "", 400, "read_only_field"},
		{`{"name":"a"}`, "text/plain", 415, "unsupported_media_type"},
		{`{"name":"a","count":1,"name":"b"}`, "", 400, "duplicate_field"},
		{`{"name":"a","Tags":["x","x"],"count":1,"count":2}`, "", 400, "duplicate_field"},
		{`{"name":"a","Tags":[],"count":1}`, "", 0, ""},
		{`{"name":"` + string(bytes.Repeat([]byte("x"), httpapi.MaxBodyBytes)) + `"}`, "", 413, "body_too_large"},
	}
	for _, c := range cases {
		name := c.body
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			req := ports.Request{Body: []byte(c.body), Header: http.Header{}}
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			var v target
			err := httpapi.DecodeJSON(req, &v, "secret")
			if c.status == 0 {
				require.NoError(t, err)
				assert.Equal(t, "a", v.Name)
				return
			}
			var apiErr *httpapi.Error
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, c.status, apiErr.Status)
			assert.Equal(t, c.code, apiErr.Code)
		})
	}
}

// FuzzDecodeJSON: any body either decodes or fails with a 4xx API error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"count":1e400}`, `{"name":"\ud800"}`, "\xff", `{"a":[`, `{"name":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v struct {
			Name  *string `json:"name"`
			Count int64   `json:"count"`
		}
		err := httpapi.DecodeJSON(ports.Request{Body: body, Header: http.Header{}}, &v)
		if err == nil {
			return
		}
		var apiErr *httpapi.Error
		if !errors.As(err, &apiErr) || apiErr.Status < 400 || apiErr.Status > 499 {
			t.Fatalf("decode error is not a 4xx API error: %v", err)
		}
	})
}

func TestDuplicateKeysAreFoundAtAnyDepth(t *testing.T) {
	t.Parallel()
	type inner struct {
		A map[string]any `json:"a"`
		B []any          `json:"b"`
	}
	for body, dup := range map[string]bool{
		`{"a":{"x":1,"y":{"x":2}},"b":[{"x":1},{"x":1}]}`: false,
		`{"a":{"x":1,"x":2}}`:                             true,
		`{"b":[{"x":1,"x":1}]}`:                           true,
		`{"a":{"x":[1,{"k":1}],"k":2},"b":[]}`:            false,
	} {
		var v inner
		err := httpapi.DecodeJSON(ports.Request{Body: []byte(body), Header: http.Header{}}, &v)
		if dup {
			var apiErr *httpapi.Error
			require.ErrorAs(t, err, &apiErr, body)
			assert.Equal(t, "duplicate_field", apiErr.Code, body)
		} else {
			require.NoError(t, err, body)
		}
	}
}
