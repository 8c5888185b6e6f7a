package nethttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/nethttp"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func TestServesTransportNeutralHandlers(t *testing.T) {
	t.Parallel()
	var got ports.Request
	router := httpapi.NewRouter(httpapi.Route{Method: "POST", Pattern: "/things/{id}", Handler: ports.HandlerFunc(
		func(_ context.Context, req ports.Request) (ports.Response, error) {
			got = req
			return httpapi.JSON(http.StatusAccepted, map[string]string{"id": req.PathParams["id"]}), nil
		})})
	srv := httptest.NewServer(nethttp.Handler(router, logging.New(io.Discard, 0)))
	defer srv.Close()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/things/7?a=1&a=2", strings.NewReader(`{"x":1}`))
	require.NoError(t, err)
	req.Header.Set("X-Api-Key", "k")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	var body map[string]string
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "7", body["id"])
	assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	assert.Equal(t, resp.Header.Get("X-Request-Id"), got.RequestID)
	assert.Equal(t, []string{"1", "2"}, got.Query["a"])
	assert.JSONEq(t, `{"x":1}`, string(got.Body))
	assert.Equal(t, "127.0.0.1", got.Caller.SourceIP)
	assert.Empty(t, got.Caller.APIKeyID, "a key the client sends is never taken for an identity")
	assert.Equal(t, nethttp.LocalPrincipal, got.Caller.Principal)

	resp2, err := http.Get(srv.URL + "/things/7")
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp2.StatusCode)
	assert.Equal(t, "POST", resp2.Header.Get("Allow"))
}

func TestRefusesOversizedRequests(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(nethttp.Handler(httpapi.NewRouter(), logging.New(io.Discard, 0)))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/", "application/json", bytes.NewReader(make([]byte, nethttp.MaxRequestBytes+1)))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}
