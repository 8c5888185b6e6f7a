package e2e

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
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
	// createClaim warm, through the proxy; listClaims starts cold during
	// the outage: it reads its cursor key on first use, not at init, so
	// it answers 503 too, where a failed init would be the gateway's 502.
	r := c.do(t, http.MethodPost, member, newClaim)
	require.Equal(t, http.StatusCreated, r.status, "warm, through the proxy: %s", r.raw)
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

// recorder returns the suite gateway's call recorder, and the pool of a
// deployed function, or skips where there is none.
func (e *env) recorder(t *testing.T, function string) (*localgw.CallRecorder, *localgw.Pool) {
	t.Helper()
	if e.gateway == nil || e.gateway.Recorder == nil {
		t.Skipf("E2E_TARGET=%s: the faults are injected by the local gateway's call recorder", e.target)
	}
	pool := e.gateway.Pools[function]
	require.NotNil(t, pool, "the gateway runs %s", function)
	return e.gateway.Recorder, pool
}

// A create whose function dies after its write and before its answer
// (the process killed once DynamoDB has answered the transaction): the
// client sees the gateway's 502, and its retry with the same
// Idempotency-Key returns the claim that was written, leaving one item.
func TestAKilledCreateIsRetriedToTheSameClaim(t *testing.T) {
	e := suite(t)
	fn := "claims-" + Stage + "-createClaim"
	rec, pool := e.recorder(t, fn)
	kill := &localgw.Fault{Function: fn, Operation: "TransactWriteItems", Times: 1, After: pool.Kill}
	defer rec.Inject(kill)()
	member := "M-killed-" + strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36)
	c := e.claimsClient()

	r := c.do(t, http.MethodPost, "/members/"+member+"/claims", newClaim, "Idempotency-Key", "killed-1")
	require.Equal(t, 1, rec.Applied(kill), "the function was killed after its transaction")
	assert.Equal(t, http.StatusBadGateway, r.status, "%s", r.raw)
	again := c.do(t, http.MethodPost, "/members/"+member+"/claims", newClaim, "Idempotency-Key", "killed-1")
	require.Equal(t, http.StatusCreated, again.status, "%s", again.raw)
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"), "the claim was written before the kill")

	items, err := partition(t.Context(), e, e.claims["ClaimsTableName"], "MEMBER#"+member)
	require.NoError(t, err)
	var claims []string
	for _, it := range items {
		if sk := it["SK"].(*ddbtypes.AttributeValueMemberS).Value; strings.HasPrefix(sk, "CLAIM#") {
			claims = append(claims, strings.TrimPrefix(sk, "CLAIM#"))
		}
	}
	assert.Equal(t, []string{again.body["claimId"].(string)}, claims, "exactly one claim")
}

// A stop whose function dies after EC2 answered and before the audit entry
// was completed: the client sees 502; the instance stays busy until the
// function's deadline (409 instance_busy meanwhile), then the history says
// the entry was interrupted and a retry completes normally.
func TestAKilledStopIsShownInterruptedAndARetryCompletes(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	fn := "ec2power-" + Stage + "-stopInstance"
	rec, pool := e.recorder(t, fn)
	id, err := ec2test.RunInstance(t.Context(), ec2.NewFromConfig(e.cfg), map[string]string{"Name": "e2e-killed", "ec2power:managed": "true"}, false)
	require.NoError(t, err)
	kill := &localgw.Fault{Function: fn, Operation: "StopInstances", Times: 1, After: pool.Kill}
	defer rec.Inject(kill)()
	c := e.powerClient()

	r := c.do(t, http.MethodPost, "/instances/"+id+"/stop", "")
	require.Equal(t, 1, rec.Applied(kill))
	assert.Equal(t, http.StatusBadGateway, r.status, "%s", r.raw)
	busy := c.do(t, http.MethodPost, "/instances/"+id+"/stop", "")
	assert.Equal(t, "instance_busy", busy.errorCode(), "%s", busy.raw)
	assert.NotEmpty(t, busy.header.Get("Retry-After"))

	// The function's timeout (30 s) frees the instance.
	var done reply
	require.Eventually(t, func() bool {
		done = c.do(t, http.MethodPost, "/instances/"+id+"/stop", "")
		return done.errorCode() != "instance_busy"
	}, 45*time.Second, time.Second)
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	assert.Equal(t, false, done.body["changed"], "the killed stop had stopped it")

	entries := e.historySince(t, id, time.Time{})
	require.Len(t, entries, 2, "the killed stop and the retry; a busy answer records nothing")
	assert.Equal(t, "unchanged", entries[0]["result"])
	assert.Equal(t, "timed_out", entries[1]["result"])
	assert.Equal(t, "interrupted", entries[1]["code"])
}

// syncBuffer collects the functions' output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// DynamoDB and EC2 throttle every call of a function (after the SDK's own
// retries): the client gets 503 throttled with Retry-After, and the
// function's metrics count the error by its code.
func TestThrottlingIsAnswered503AndCounted(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	if e.gateway == nil {
		t.Skipf("E2E_TARGET=%s: throttling is injected by the local gateway's call recorder", e.target)
	}
	var out syncBuffer
	gw, targets, err := e.startGateway([]string{"claims-" + Stage, "ec2power-" + Stage}, localgw.Config{
		MaxProcesses: 1, FunctionOutput: &out, Callers: []aws.Credentials{*e.adjuster}, FunctionRoles: true, RecordCalls: true,
	})
	require.NoError(t, err)
	defer gw.Close()

	ddb := &localgw.Fault{
		Function: "claims-" + Stage + "-getClaim", Operation: "GetItem", Status: http.StatusBadRequest, ContentType: "application/x-amz-json-1.0",
		Body: `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`,
	}
	defer gw.Recorder.Inject(ddb)()
	claims := caller{e: e, base: gw.URLs[targets[0].APIID], sign: true}
	r := claims.do(t, http.MethodGet, "/members/M-throttled/claims/01a20090-0000-7000-8000-000000000001", "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.raw)
	assert.Equal(t, "throttled", r.errorCode())
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Greater(t, gw.Recorder.Applied(ddb), 1, "the SDK retried before giving up")

	ec2Throttle := &localgw.Fault{
		Function: "ec2power-" + Stage + "-describeInstances", Operation: "DescribeInstances", Status: http.StatusServiceUnavailable, ContentType: "text/xml",
		Body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>e2e</RequestID></Response>`,
	}
	defer gw.Recorder.Inject(ec2Throttle)()
	power := caller{e: e, base: gw.URLs[targets[1].APIID], apiKey: e.apiKey}
	r = power.do(t, http.MethodGet, "/instances/"+e.instances["solo"], "")
	assert.Equal(t, http.StatusServiceUnavailable, r.status, "%s", r.raw)
	assert.Equal(t, "throttled", r.errorCode())
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Greater(t, gw.Recorder.Applied(ec2Throttle), 1, "the SDK retried before giving up")

	logs := out.String()
	for _, fn := range []string{"getClaim", "describeInstances"} {
		assert.Regexp(t, `"Function":"`+fn+`"[^\n]*"Errors":1,"ErrorCode":"throttled"|"Errors":1,"ErrorCode":"throttled"[^\n]*"Function":"`+fn+`"`, logs, "the %s metric line counts the error", fn)
	}
}
