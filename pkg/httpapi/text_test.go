package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func TestTextThatIsNotUnicodeIsRefusedNamingItsField(t *testing.T) {
	t.Parallel()
	type dst struct {
		Name  string `json:"name"`
		Tags  []string
		Inner struct {
			Note string `json:"note"`
		} `json:"inner"`
	}
	for body, field := range map[string]string{
		`{"name":"a\ud800b"}`:                    "name",
		`{"name":"\udc00"}`:                      "name",
		`{"name":"ok","Tags":["x","\ud83d"]}`:    "Tags[1]",
		`{"inner":{"note":"\ud83d\u0041"}}`:      "inner.note",
		"{\"name\":\"caf\xe9\"}":                 "name",
		`{"na\ud800me":"x"}`:                     "na\uFFFDme",
		`{"Tags":[],"inner":{"note":"x\udfff"}}`: "inner.note",
	} {
		var d dst
		err := httpapi.DecodeJSON(ports.Request{Body: []byte(body)}, &d)
		require.Error(t, err, body)
		e := httpapi.AsError(err)
		assert.Equal(t, http.StatusBadRequest, e.Status, body)
		assert.Equal(t, httpapi.CodeInvalidText, e.Code, body)
		assert.Equal(t, field, e.Details["field"], body)
	}
	for _, body := range []string{`{"name":"\ud83d\ude00 caf\u00e9, and \\ud800 as text"}`, `{"name":"日本語 ✓"}`} {
		var d dst
		assert.NoError(t, httpapi.DecodeJSON(ports.Request{Body: []byte(body)}, &d), body)
	}
}

func TestParametersThatAreNotUTF8AreRefused(t *testing.T) {
	t.Parallel()
	called := false
	r := httpapi.NewRouter(httpapi.Route{Operation: "op", Method: http.MethodGet, Pattern: "/claim/{id}", Handler: ports.HandlerFunc(
		func(context.Context, ports.Request) (ports.Response, error) {
			called = true
			return httpapi.NoContent(), nil
		})})
	serve := func(path, query string) ports.Response {
		q, err := url.ParseQuery(query)
		require.NoError(t, err)
		return httpapi.Serve(t.Context(), logging.New(io.Discard, 0), r, ports.Request{Method: http.MethodGet, Path: path, Query: q, RequestID: "r"})
	}
	resp := serve("/claim/1", "memberId=%ff")
	assert.Equal(t, http.StatusBadRequest, resp.Status)
	assert.Contains(t, string(resp.Body), `"parameter":"memberId"`)
	assert.Contains(t, string(resp.Body), `"code":"invalid_text"`)
	resp = serve("/claim/\xff", "")
	assert.Equal(t, http.StatusBadRequest, resp.Status)
	assert.Contains(t, string(resp.Body), `"parameter":"id"`)
	assert.False(t, called, "the handler never sees them")
	assert.Equal(t, http.StatusNoContent, serve("/claim/1", "memberId=M-%C3%A9").Status)
}
