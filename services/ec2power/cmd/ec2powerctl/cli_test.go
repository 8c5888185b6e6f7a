package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/adapters/nethttp"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memevents"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

type server struct {
	url   string
	fleet *memfleet.Fleet
}

// newServer serves the real ec2power API over a memory fleet. The server's
// own wait is capped at 30 ms, so --wait exercises the CLI's polling.
func newServer(t *testing.T, delay time.Duration, wrap func(http.Handler) http.Handler) *server {
	t.Helper()
	fleet := memfleet.NewFleet(memfleet.WithTransitionDelays(delay, delay))
	cfg := app.DefaultConfig()
	cfg.PollInterval, cfg.WaitLimit = 5*time.Millisecond, 30*time.Millisecond
	logger := logging.New(io.Discard, 0)
	sched := memsched.New(nil, logger)
	t.Cleanup(sched.Close)
	a, scheduled, err := providers.Local(providers.Config{App: cfg, Grants: "*=*", Auditors: "*"}, fleet, memory.NewTable(), clock{}, logger, sched, memevents.New(nil))
	sched.SetTarget(scheduled)
	require.NoError(t, err)
	h := nethttp.Handler(a.Router(), logger)
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, fleet: fleet}
}

type clock struct{}

func (clock) Now() time.Time { return time.Now() }

func managed(group string) map[string]string {
	return map[string]string{"ec2power:managed": "true", "ec2power:group": group, "Name": "box"}
}

func ctl(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"--poll", "10ms"}, args...)
	code := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr, nil)
	return code, stdout.String(), stderr.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	env := map[string]string{"EC2POWER_URL": "http://127.0.0.1:1"}
	for _, args := range [][]string{
		{}, {"reboot", "i-0123456789abcdef0"}, {"start"}, {"start", "a", "b"},
		{"--group", "g", "start", "i-0123456789abcdef0"}, {"history"}, {"--group", "g", "history"},
		{"list", "extra"}, {"--hibernate", "start", "i-0123456789abcdef0"}, {"--no-such-flag"},
		{"--timeout", "0s", "start", "i-0123456789abcdef0"},
	} {
		code, _, stderr := ctl(t, env, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}
	code, _, stderr := ctl(t, nil, "list")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "EC2POWER_URL")
	code, _, _ = ctl(t, map[string]string{"EC2POWER_URL": "ftp://x"}, "list")
	assert.Equal(t, exitUsage, code)
}

func TestStartWaitStopAndStatus(t *testing.T) {
	t.Parallel()
	s := newServer(t, 100*time.Millisecond, nil)
	id := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	env := map[string]string{"EC2POWER_URL": s.url + "/"}

	code, stdout, stderr := ctl(t, env, "--wait", "--timeout", "30s", "start", id)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "state=running")
	assert.Contains(t, stderr, "waiting for running", "progress goes to stderr")

	code, stdout, _ = ctl(t, env, "--json", "status", id)
	require.Equal(t, exitOK, code)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &m))
	assert.Equal(t, "running", m["state"])

	code, stdout, _ = ctl(t, env, "stop", id)
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "result=accepted")

	code, stdout, _ = ctl(t, env, "list")
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, id)

	code, stdout, _ = ctl(t, env, "history", id)
	require.Equal(t, exitOK, code)
	assert.Equal(t, 2, strings.Count(stdout, "instanceId="+id))
}

func TestGroups(t *testing.T) {
	t.Parallel()
	s := newServer(t, 20*time.Millisecond, nil)
	a := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("web")})
	s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("web")})
	env := map[string]string{"EC2POWER_URL": s.url}

	code, stdout, stderr := ctl(t, env, "--group", "web", "--wait", "start")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 2, strings.Count(stdout, "state=running"))

	s.fleet.Fail("stop", a, fleet.ErrInsufficientCapacity)
	code, stdout, _ = ctl(t, env, "--group", "web", "stop")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stdout, "code=insufficient_capacity")

	code, _, _ = ctl(t, env, "--group", "nope", "status")
	assert.Equal(t, exitFailed, code)
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	s := newServer(t, time.Hour, nil)
	env := map[string]string{"EC2POWER_URL": s.url}
	slow := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("a")})
	unmanaged := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped})

	code, _, stderr := ctl(t, env, "--wait", "--timeout", "1s", "start", slow)
	assert.Equal(t, exitTimedOut, code, stderr)
	assert.Contains(t, stderr, "timed out")

	code, _, stderr = ctl(t, env, "start", unmanaged)
	assert.Equal(t, exitDenied, code, stderr)
	assert.Contains(t, stderr, "not_managed")

	code, _, _ = ctl(t, env, "status", "i-0123456789abcdef0")
	assert.Equal(t, exitFailed, code)

	code, _, _ = ctl(t, env, "start", "not-an-id")
	assert.Equal(t, exitUsage, code)

	running := s.fleet.Launch(memfleet.InstanceSpec{Tags: managed("c")})
	s.fleet.Deny("stop")
	code, _, stderr = ctl(t, env, "--dry-run", "stop", running)
	assert.Equal(t, exitDenied, code, stderr)

	fast := newServer(t, 10*time.Millisecond, nil)
	kms := fast.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("b"), StartFailure: "Client.InternalError: Client error on launch"})
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": fast.url}, "--wait", "start", kms)
	assert.Equal(t, exitFailed, code, stderr)
	assert.Contains(t, stderr, "Client.InternalError")

	// Slower than the server's own wait: the CLI sees the fallback itself.
	slower := newServer(t, 100*time.Millisecond, nil)
	kms2 := slower.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("b"), StartFailure: "Client.InternalError: Client error on launch"})
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": slower.url}, "--wait", "start", kms2)
	assert.Equal(t, exitFailed, code, stderr)
	assert.Contains(t, stderr, "fell back to stopped: Client.InternalError")

	code, _, _ = ctl(t, map[string]string{"EC2POWER_URL": "http://127.0.0.1:1"}, "list")
	assert.Equal(t, exitFailed, code, "an unreachable API is a failure")
}

// gateway answers like API Gateway with a required API key.
func gateway(key string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Api-Key") != key {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"message":"Forbidden"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, 10*time.Millisecond, gateway("s3cret"))
	code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": s.url}, "list")
	assert.Equal(t, exitDenied, code)
	assert.Contains(t, stderr, "Forbidden")
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": s.url, "EC2POWER_API_KEY": "s3cret"}, "list")
	assert.Equal(t, exitOK, code, stderr)
}

func TestSigV4(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	var auth string
	s := newServer(t, 10*time.Millisecond, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth = r.Header.Get("Authorization")
			next.ServeHTTP(w, r)
		})
	})
	code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": s.url, "EC2POWER_AUTH": "sigv4"}, "list")
	require.Equal(t, exitOK, code, stderr)
	assert.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), auth)
	assert.Contains(t, auth, "/eu-west-1/execute-api/aws4_request")

	code, _, _ = ctl(t, map[string]string{"EC2POWER_URL": s.url}, "--sigv4", "--region", "us-west-2", "list")
	require.Equal(t, exitOK, code)
	assert.Contains(t, auth, "/us-west-2/execute-api/aws4_request")
}

func TestTheAPIKeyNeverLeavesTheAPIsHost(t *testing.T) {
	t.Parallel()
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "" {
			leaked.Add(1)
		}
		_, _ = io.WriteString(w, `{"items":[]}`)
	}))
	t.Cleanup(elsewhere.Close)
	// localhost is this machine too, but another host as far as URLs go.
	other := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(api.Close)
	code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": api.URL, "EC2POWER_API_KEY": "s3cret"}, "list")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "refused a redirect")
	assert.Zero(t, leaked.Load(), "the key was not sent to the other host")
}

func TestPlainHTTPIsForLoopbackOnly(t *testing.T) {
	t.Parallel()
	code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": "http://ec2power.example.com", "EC2POWER_API_KEY": "k"}, "list")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "use https")
	for _, u := range []string{"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"} {
		code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": u}, "list")
		assert.Equal(t, exitFailed, code, "%s is allowed (and unreachable): %s", u, stderr)
	}
}

func TestTextFromTheServerIsPrintedHarmlessly(t *testing.T) {
	t.Parallel()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/start") {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":{"code":"incorrect_state","message":"boom\u001b[2J\u001b]0;pwned\u0007\u202e"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"items":[{"instanceId":"i-0123456789abcdef0","name":"web\u001b[31m\r\nFAKE LINE","state":"running"}]}`)
	}))
	t.Cleanup(evil.Close)
	code, stdout, _ := ctl(t, map[string]string{"EC2POWER_URL": evil.URL}, "list")
	require.Equal(t, exitOK, code)
	assert.NotContains(t, stdout, "\x1b")
	assert.NotContains(t, stdout, "\r")
	assert.Equal(t, 1, strings.Count(stdout, "\n"), "one line per instance, whatever the name holds: %q", stdout)
	assert.Contains(t, stdout, `web\x1b[31m\r\nFAKE LINE`)

	code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": evil.URL}, "start", "i-0123456789abcdef0")
	assert.Equal(t, exitFailed, code)
	assert.NotContains(t, stderr, "\x1b")
	assert.NotContains(t, stderr, "\u202e")
	assert.Contains(t, stderr, `boom\x1b[2J`)

	code, stdout, _ = ctl(t, map[string]string{"EC2POWER_URL": evil.URL}, "--json", "list")
	require.Equal(t, exitOK, code)
	assert.NotContains(t, stdout, "\x1b", "--json output is JSON with escapes")
}

func TestVersionIsStampedByTheReleaseBuild(t *testing.T) {
	t.Parallel()
	code, stdout, _ := ctl(t, nil, "--version")
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `^ec2powerctl dev \(commit [0-9a-f]{12}|unknown\)\n$`, stdout)

	bin := filepath.Join(t.TempDir(), "ec2powerctl")
	build := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=9.8.7 -X main.commit=abc1234def56", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := exec.CommandContext(t.Context(), bin, "--version").Output()
	require.NoError(t, err)
	assert.Equal(t, "ec2powerctl 9.8.7 (commit abc1234def56)\n", string(got))
}

// Through a VPC endpoint's own DNS name the private API is named by the
// x-apigw-api-id header; a denial by resource policy is reported with its
// message and exit code.
func TestAPrivateAPIThroughAnEndpointName(t *testing.T) {
	t.Parallel()
	var apiIDs []string
	var mu sync.Mutex
	s := newServer(t, 10*time.Millisecond, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			apiIDs = append(apiIDs, r.Header.Get("X-Apigw-Api-Id"))
			mu.Unlock()
			if r.Header.Get("X-Apigw-Api-Id") != "abc123" {
				w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, `{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********9012:x/dev/GET/instances with an explicit deny"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	code, _, stderr := ctl(t, map[string]string{"EC2POWER_URL": s.url}, "--api-id", "abc123", "list")
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": s.url, "EC2POWER_API_ID": "abc123"}, "list")
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": s.url}, "list")
	assert.Equal(t, exitDenied, code)
	assert.Contains(t, stderr, "not authorized to perform: execute-api:Invoke")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"abc123", "abc123", ""}, apiIDs)
	assert.Equal(t, []string{"us-east-1"}, executeAPIHost.FindStringSubmatch("vpce-0a1b-c2d3.execute-api.us-east-1.vpce.amazonaws.com")[1:])
}

// Flags go anywhere on the line, as in the tools people know.
func TestFlagsGoAnywhere(t *testing.T) {
	t.Parallel()
	s := newServer(t, 20*time.Millisecond, nil)
	id := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	code, stdout, stderr := ctl(t, nil, "start", id, "--wait", "--timeout", "30s", "--url", s.url)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "state=running")
	code, stdout, stderr = ctl(t, nil, "--url", s.url, "status", "--json", id)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"state":"running"`)
	code, stdout, stderr = ctl(t, nil, "--url="+s.url, "stop", "--group", "ci", "--wait")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "state=stopped")
}

// help and -h exit 0 and say what people look for: the environment and
// the exit codes; each command has its own help and flags; a usage error
// exits 2 with the usage line; completion scripts are generated.
func TestHelpVersionAndCompletion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, stdout, stderr := ctl(t, nil, args...)
		assert.Equal(t, exitOK, code, "%v: %s", args, stderr)
		for _, want := range []string{"EC2POWER_URL", "EC2POWER_API_KEY", "EC2POWER_AUTH", "EC2POWER_API_ID", "Exit codes", "3 timed out", "4 denied", "completion"} {
			assert.Contains(t, stdout, want, "%v", args)
		}
	}
	code, stdout, _ := ctl(t, nil, "help", "stop")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "--hibernate")
	assert.Contains(t, stdout, "--wait")
	code, stdout, _ = ctl(t, nil, "history", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "--limit")
	assert.NotContains(t, stdout, "--hibernate", "each command lists its own flags")

	code, _, stderr := ctl(t, nil, "stop", "--limit", "3", "i-0123456789abcdef0")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "unknown flag: --limit")
	assert.Contains(t, stderr, "usage: ec2powerctl stop [INSTANCE_ID] [flags]")

	code, stdout, _ = ctl(t, nil, "--version")
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `^ec2powerctl \S+ \(commit \S+\)\n$`, stdout)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, stdout, stderr := ctl(t, nil, "completion", shell)
		assert.Equal(t, exitOK, code, "%s: %s", shell, stderr)
		assert.Contains(t, stdout, "ec2powerctl", shell)
	}
}

// While waiting, what may pass by itself is retried with backoff: network
// errors, the gateway's 502/503/504 and 429; each retry is said on stderr.
// Without --wait, or for an API error that will not change, it is not.
func TestWaitRetriesTransientFailures(t *testing.T) {
	retryBase = 5 * time.Millisecond
	t.Cleanup(func() { retryBase = 500 * time.Millisecond })
	var calls atomic.Int32
	flaky := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch calls.Add(1) {
			case 1: // the connection drops
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					_ = conn.Close()
				}
			case 2:
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, `{"message":"Internal server error"}`)
			case 3:
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, `{"message":"Too Many Requests"}`)
			case 5: // while polling
				w.WriteHeader(http.StatusGatewayTimeout)
				_, _ = io.WriteString(w, `{"message":"Endpoint request timed out"}`)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
	s := newServer(t, 50*time.Millisecond, flaky)
	id := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	code, stdout, stderr := ctl(t, map[string]string{"EC2POWER_URL": s.url}, "start", id, "--wait", "--timeout", "30s")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "state=running")
	for _, want := range []string{"retry 1 in", "retry 2 in", "502 Internal server error", "retry 3 in", "429 Too Many Requests", "504 Endpoint request timed out"} {
		assert.Contains(t, stderr, want)
	}

	calls.Store(1) // the next call answers 502
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": s.url}, "stop", id)
	assert.Equal(t, exitFailed, code, "without --wait a failure is the answer: %s", stderr)
	assert.NotContains(t, stderr, "retry")

	// An API error that will not change is not retried, even while waiting.
	failing := newServer(t, 10*time.Millisecond, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"error":{"code":"start_failed","message":"the instance fell back to stopped"}}`)
		})
	})
	code, _, stderr = ctl(t, map[string]string{"EC2POWER_URL": failing.url}, "--wait", "start", id)
	assert.Equal(t, exitFailed, code)
	assert.NotContains(t, stderr, "retry")
	assert.Contains(t, stderr, "start_failed")
}

// A pipeline that dies after `start --lease` still gets its box stopped.
func TestStartWithALeaseExtendAndRelease(t *testing.T) {
	t.Parallel()
	s := newServer(t, 20*time.Millisecond, nil)
	id := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	other := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci2")})
	env := map[string]string{"EC2POWER_URL": s.url}

	code, stdout, stderr := ctl(t, env, "start", id, "--lease", "1s", "--wait", "--timeout", "10s")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "leaseExpiresAt=")
	assert.Eventually(t, func() bool {
		_, out, _ := ctl(t, env, "status", id)
		return strings.Contains(out, "state=stopped")
	}, 10*time.Second, 50*time.Millisecond, "the lease stopped the instance")
	_, stdout, _ = ctl(t, env, "history", id)
	assert.Contains(t, stdout, "trigger=lease")

	code, _, stderr = ctl(t, env, "start", other, "--lease", "1h", "--wait", "--timeout", "10s")
	require.Equal(t, exitOK, code, stderr)
	code, stdout, stderr = ctl(t, env, "extend", other, "--by", "30m")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "leaseExpiresAt=")
	code, _, stderr = ctl(t, env, "extend", other, "--by", "24h")
	assert.Equal(t, exitUsage, code, "a lease past the maximum is refused")
	assert.Contains(t, stderr, "lease_too_long")
	code, _, stderr = ctl(t, env, "extend", other)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--by")
	code, _, stderr = ctl(t, env, "release", other)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = ctl(t, env, "release", other)
	assert.Equal(t, exitFailed, code, "no lease left to release")
	assert.Contains(t, stderr, "no_lease")
}

func TestSchedulesAndHolds(t *testing.T) {
	t.Parallel()
	s := newServer(t, 20*time.Millisecond, nil)
	id := s.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	env := map[string]string{"EC2POWER_URL": s.url}

	code, stdout, stderr := ctl(t, env, "schedule", "put", "office", "--tz", "Europe/Paris", "--window", "mon-fri=08:00-19:00", "--window", "sat=22:00-02:00")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "name=office timeZone=Europe/Paris version=1 windows=mon,tue,wed,thu,fri=08:00-19:00 sat=22:00-02:00\n", stdout)
	code, stdout, _ = ctl(t, env, "schedule", "list")
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "name=office")
	for _, args := range [][]string{
		{"schedule", "put", "office", "--window", "mon=08:00-09:00"},
		{"schedule", "put", "office", "--tz", "UTC", "--window", "mon 08:00"},
		{"schedule", "put", "office", "--tz", "UTC"},
		{"schedule", "put", "office", "--tz", "Mars/Olympus", "--window", "mon=08:00-09:00"},
		{"schedule"}, {"hold", id},
	} {
		code, _, stderr := ctl(t, env, args...)
		assert.Equal(t, exitUsage, code, "%v: %s", args, stderr)
	}
	code, _, stderr = ctl(t, env, "schedule", "get", "nope")
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "schedule_not_found")

	code, stdout, stderr = ctl(t, env, "hold", id, "--until", "8h")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "until=")
	code, _, stderr = ctl(t, env, "unhold", id)
	require.Equal(t, exitOK, code, stderr)
	code, _, stderr = ctl(t, env, "unhold", id)
	assert.Equal(t, exitFailed, code)
	assert.Contains(t, stderr, "no_hold")
	code, _, stderr = ctl(t, env, "schedule", "delete", "office")
	require.Equal(t, exitOK, code, stderr)
}
