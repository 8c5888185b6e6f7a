package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// When DynamoDB cannot be reached, the deployed functions answer 503 with a
// Retry-After (never a 500) and write nothing; once it is back they answer
// as before. A toxiproxy proxy between the functions and the emulator is
// the network that fails.
func TestClaimsAnswer503WhileTheStoreIsDown(t *testing.T) {
	e := suite(t)
	if e.gateway == nil {
		t.Skipf("E2E_TARGET=%s: the faults are injected between the local gateway's functions and the emulator", e.target)
	}
	upstream, err := url.Parse(e.endpoint)
	require.NoError(t, err)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(server, "emulator", "127.0.0.1:0", upstream.Host)
	require.NoError(t, proxy.Start())
	t.Cleanup(proxy.Stop)

	gw, targets, err := e.startGateway([]string{"claims-" + Stage}, localgw.Config{
		MaxProcesses: 1, Endpoint: "http://" + proxy.Listen, Callers: []aws.Credentials{*e.adjuster},
	})
	require.NoError(t, err)
	t.Cleanup(gw.Close)
	c := caller{e: e, base: gw.URLs[targets[0].APIID], sign: true}
	member := "/members/M-faults/claims"
	// Both functions warm, through the proxy. (A function starting cold
	// during the outage fails its init, reading its cursor key, and is
	// answered 502 as Lambda's init failures are.)
	r := c.do(t, http.MethodPost, member, newClaim)
	require.Equal(t, http.StatusCreated, r.status, "warm, through the proxy: %s", r.raw)
	r = c.do(t, http.MethodGet, member, "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	before := itemCount(t, e, e.claims["ClaimsTableName"])

	proxy.Stop() // connections refused from now on
	for _, call := range []struct{ method, path, body string }{
		{http.MethodGet, member, ""},
		{http.MethodPost, member, newClaim},
	} {
		r := c.do(t, call.method, call.path, call.body)
		assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s %s: %s", call.method, call.path, r.raw)
		assert.Equal(t, "dependency_unavailable", r.errorCode(), "%s", r.raw)
		assert.NotEmpty(t, r.header.Get("Retry-After"), "the client is told when to retry")
	}
	assert.Equal(t, before, itemCount(t, e, e.claims["ClaimsTableName"]), "nothing was written")

	require.NoError(t, proxy.Start())
	r = c.do(t, http.MethodGet, member, "")
	assert.Equal(t, http.StatusOK, r.status, "back once the store is: %s", r.raw)
}
