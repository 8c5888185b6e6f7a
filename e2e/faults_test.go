package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
	proxy, _, base := e.faultProxy(t, "claims-"+Stage)
	c := caller{e: e, base: base, sign: true}
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

// faultProxy is a toxiproxy proxy to the emulator, and a local gateway
// serving stack whose functions reach AWS through it.
func (e *env) faultProxy(t *testing.T, stack string) (*toxiproxy.Proxy, *localgw.Server, string) {
	t.Helper()
	if e.gateway == nil {
		t.Skipf("E2E_TARGET=%s: the faults are injected between the local gateway's functions and the emulator", e.target)
	}
	upstream, err := url.Parse(e.endpoint)
	require.NoError(t, err)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(server, stack, "127.0.0.1:0", upstream.Host)
	require.NoError(t, proxy.Start())
	t.Cleanup(proxy.Stop)
	gw, targets, err := e.startGateway([]string{stack}, localgw.Config{
		MaxProcesses: 1, Endpoint: "http://" + proxy.Listen, Callers: []aws.Credentials{*e.adjuster},
	})
	require.NoError(t, err)
	t.Cleanup(gw.Close)
	return proxy, gw, gw.URLs[targets[0].APIID]
}

// When EC2 (and the audit table) cannot be reached, ec2power answers 503
// with a Retry-After, records nothing and starts nothing.
func TestEC2PowerAnswers503WhileAWSIsDown(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	proxy, _, base := e.faultProxy(t, "ec2power-"+Stage)
	c := caller{e: e, base: base, apiKey: e.apiKey}
	id := e.instances["solo"]
	r := c.do(t, http.MethodGet, "/instances/"+id, "")
	require.Equal(t, http.StatusOK, r.status, "warm, through the proxy: %s", r.raw)
	r = c.do(t, http.MethodPost, "/instances/"+id+"/start?dryRun=true", "")
	require.Equal(t, http.StatusOK, r.status, "warm, through the proxy: %s", r.raw)
	before := itemCount(t, e, e.power["AuditTableName"])

	proxy.Stop()
	for _, call := range []struct{ method, path string }{
		{http.MethodGet, "/instances/" + id},
		{http.MethodPost, "/instances/" + id + "/start?dryRun=true"},
	} {
		r := c.do(t, call.method, call.path, "")
		assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s %s: %s", call.method, call.path, r.raw)
		assert.Contains(t, []string{"upstream_unavailable", "grants_unavailable", "audit_unavailable"}, r.errorCode(), "%s", r.raw)
		assert.NotEmpty(t, r.header.Get("Retry-After"), "the client is told when to retry")
	}
	assert.Equal(t, before, itemCount(t, e, e.power["AuditTableName"]), "nothing was recorded")
	require.NoError(t, proxy.Start())
	assert.Equal(t, http.StatusOK, c.do(t, http.MethodGet, "/instances/"+id, "").status, "back once AWS is")
}

// A store slower than the function's timeout: the client gets the
// gateway's 502 or 504, or a 503, within about the function's timeout;
// never a 500, never a hang, and a claim is written whole or not at all.
func TestASlowStoreIsAnsweredWithinTheFunctionsTimeout(t *testing.T) {
	e := suite(t)
	proxy, _, base := e.faultProxy(t, "claims-"+Stage)
	c := caller{e: e, base: base, sign: true}
	member := "/members/M-slow/claims"
	r := c.do(t, http.MethodPost, member, newClaim)
	require.Equal(t, http.StatusCreated, r.status, "warm, through the proxy: %s", r.raw)
	before := itemCount(t, e, e.claims["ClaimsTableName"])

	_, err := proxy.Toxics.AddToxicJson(strings.NewReader(`{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":15000}}`))
	require.NoError(t, err)
	start := time.Now()
	r = c.do(t, http.MethodPost, member, newClaim)
	took := time.Since(start)
	assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}, r.status, "%s", r.raw)
	assert.Less(t, took, 14*time.Second, "answered within the function's 10 s timeout and a margin")
	proxy.Toxics.ResetToxics(t.Context())
	// The transaction either landed whole (claim and history) or not at all.
	assert.Eventually(t, func() bool {
		n := itemCount(t, e, e.claims["ClaimsTableName"])
		return n == before || n == before+2
	}, defaultWait, pollEvery, "a claim and its history, or nothing")
}
