package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

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

// serve starts run on a free port and returns its URL; the server stops
// when the test ends, and the test checks it stopped cleanly.
func serve(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-ec2-transition", "50ms"}, func(k string) string { return env[k] }, logs, func(u string) { urls <- u })
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
		assert.Contains(t, logs.String(), `"message":"stopped"`)
	})
	return url, logs
}

func exercise(t *testing.T, url string) {
	t.Helper()
	body := `{"memberName":"Ada","policyId":"P-1","policyType":"PPO","amount":100,"currency":"EUR"}`
	resp, err := http.Post(url+"/members/M-1/claims", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	loc := resp.Header.Get("Location")

	got, err := http.Get(url + loc)
	require.NoError(t, err)
	defer got.Body.Close()
	require.Equal(t, http.StatusOK, got.StatusCode)
	var c map[string]any
	require.NoError(t, json.NewDecoder(got.Body).Decode(&c))
	assert.Equal(t, "EUR", c["currency"])

	bad, err := http.Post(url+"/members/M-1/claims", "application/json", strings.NewReader(`{`))
	require.NoError(t, err)
	defer bad.Body.Close()
	assert.Equal(t, http.StatusBadRequest, bad.StatusCode)
}

func TestServesClaimsInMemory(t *testing.T) {
	t.Parallel()
	url, logs := serve(t, map[string]string{})
	exercise(t, url)
	assert.Contains(t, logs.String(), `"claimsStore":"memory"`)
	assert.Contains(t, logs.String(), `"requestId"`)
}

func TestServesBothServicesOnTheEmulator(t *testing.T) {
	t.Parallel()
	ep := awstest.Endpoint(t)
	url, logs := serve(t, map[string]string{"AWS_ENDPOINT_URL": ep, "CLAIMS_TABLE": "localrun-test", "EC2POWER_AUDIT_TABLE": "localrun-audit"})
	exercise(t, url)
	assert.Contains(t, logs.String(), `"claimsStore":"dynamodb:localrun-test"`)
	status, _ := getJSON(t, http.MethodGet, url+"/instances")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, logs.String(), `"fleet":"ec2 (audit in localrun-audit)"`)
}

func getJSON(t *testing.T, method, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func TestServesEC2PowerOnTheDemoFleet(t *testing.T) {
	t.Parallel()
	url, logs := serve(t, map[string]string{})
	status, list := getJSON(t, http.MethodGet, url+"/instances")
	require.Equal(t, http.StatusOK, status)
	items := list["items"].([]any)
	assert.Len(t, items, 4, "the unmanaged demo instance is invisible")

	status, group := getJSON(t, http.MethodGet, url+"/groups/ci")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, group["items"], 2)

	status, started := getJSON(t, http.MethodGet, url+"/start?wait=true")
	require.Equal(t, http.StatusOK, status, "%v", started)
	assert.Equal(t, "ci", started["group"])
	assert.InDelta(t, 2, started["summary"].(map[string]any)["succeeded"], 0)
	assert.Contains(t, logs.String(), `"fleet":"memory (demo instances)"`)
}

// The local run reads each service's configuration as its functions do:
// nothing is hard-coded in between.
func TestReadsTheServicesConfiguration(t *testing.T) {
	t.Parallel()
	url, _ := serve(t, map[string]string{"DEFAULT_CURRENCY": "JPY", "MANAGED_TAG": "team:power=on", "GROUP_TAG_KEY": "team:group"})
	resp, err := http.Post(url+"/claim?memberId=M-1&policyId=P-1&memberName=Ada", "application/json",
		strings.NewReader(`{"policyType":"PPO","claimAmount":1500}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var c map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	status, got := getJSON(t, http.MethodGet, url+"/members/M-1/claims/"+c["claimId"].(string))
	require.Equal(t, http.StatusOK, status, "%v", got)
	assert.Equal(t, "JPY", got["currency"], "DEFAULT_CURRENCY")

	status, list := getJSON(t, http.MethodGet, url+"/instances")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, list["items"], 4, "the demo fleet carries the configured tags")
	status, group := getJSON(t, http.MethodGet, url+"/groups/web")
	require.Equal(t, http.StatusOK, status)
	assert.Len(t, group["items"], 2)
}

// Leases expire for real in the local run: the in-memory scheduler's
// timers call the same expiry the deployed expireLease runs.
func TestALeaseExpiresInTheLocalRun(t *testing.T) {
	t.Parallel()
	url, logs := serve(t, map[string]string{})
	status, list := getJSON(t, http.MethodGet, url+"/groups/ci")
	require.Equal(t, http.StatusOK, status)
	id := list["items"].([]any)[0].(map[string]any)["instanceId"].(string)

	status, started := getJSON(t, http.MethodPost, url+"/instances/"+id+"/start?lease=1s&wait=true")
	require.Equal(t, http.StatusOK, status, "%v", started)
	require.NotNil(t, started["lease"])
	assert.Eventually(t, func() bool {
		_, in := getJSON(t, http.MethodGet, url+"/instances/"+id)
		return in["state"] == "stopped"
	}, 10*time.Second, 50*time.Millisecond, "the lease stopped the instance")
	assert.Eventually(t, func() bool { return strings.Contains(logs.String(), `"detailType":"Lease Expired"`) }, 5*time.Second, 50*time.Millisecond,
		"the events are log lines")
}
