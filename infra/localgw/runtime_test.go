package localgw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
	"github.com/hexlambda/hexlambda/pkg/awstest"
)

var fakeDir string

func TestMain(m *testing.M) {
	// testcontainers' reaper image cannot be pulled where no registry is
	// reachable; the container tests remove their containers themselves.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	dir, err := os.MkdirTemp("", "fakefn-")
	if err != nil {
		panic(err)
	}
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", filepath.Join(dir, "bootstrap"), "./testdata/fakefn")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build fake function: %v\n%s", err, out)
		os.Exit(1)
	}
	fakeDir = dir
	code := m.Run()
	awstest.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const fakeARN = "arn:aws:lambda:us-east-1:123456789012:function:fake"

func pool(t *testing.T, timeout time.Duration, maxProcs int, env map[string]string) *localgw.Pool {
	t.Helper()
	p := localgw.NewPool(localgw.Function{Name: "fake", ARN: fakeARN, Dir: fakeDir, Env: env, Timeout: timeout, Memory: 128},
		maxProcs, []string{"GREETING=hello"}, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	t.Cleanup(p.Close)
	return p
}

func invoke(t *testing.T, p *localgw.Pool, event string) (map[string]any, localgw.Invocation, error) {
	t.Helper()
	out, info, err := p.Invoke(context.Background(), []byte(event))
	if err != nil {
		return nil, info, err
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m), "%s", out)
	return m, info, nil
}

func TestWarmProcessesAreReused(t *testing.T) {
	t.Parallel()
	p := pool(t, 5*time.Second, 2, nil)
	first, info, err := invoke(t, p, `{"action":"echo"}`)
	require.NoError(t, err)
	assert.True(t, info.Cold)
	assert.Positive(t, info.Init)
	assert.Equal(t, "fake", first["function"])
	assert.Equal(t, "hello", first["greeting"], "the pool's environment reaches the function")
	assert.Equal(t, info.RequestID, first["requestId"], "the request id header reaches the handler")
	assert.Greater(t, first["deadlineIn"], float64(4000), "the deadline header is the timeout from now")

	second, info2, err := invoke(t, p, `{"action":"echo"}`)
	require.NoError(t, err)
	assert.False(t, info2.Cold)
	assert.Equal(t, first["pid"], second["pid"], "the same warm process answers")
	assert.Equal(t, 1, p.Processes())
	assert.Len(t, p.InitDurations(), 1)
}

func TestConcurrentInvocationsUseSeparateProcessesUpToTheLimit(t *testing.T) {
	t.Parallel()
	p := pool(t, 5*time.Second, 3, nil)
	var mu sync.Mutex
	pids := map[any]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			out, _, err := invoke(t, p, `{"action":"sleep","ms":200}`)
			if assert.NoError(t, err) {
				mu.Lock()
				pids[out["pid"]]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(t, pids, 3, "three processes, never more")
	assert.Equal(t, 3, p.Processes())
}

func TestFunctionErrorsCrashesAndTimeouts(t *testing.T) {
	t.Parallel()
	p := pool(t, time.Second, 1, nil)
	_, _, err := invoke(t, p, `{"action":"error"}`)
	var fe *localgw.FunctionError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "boom", fe.Message)

	first, _, err := invoke(t, p, `{"action":"echo"}`)
	require.NoError(t, err, "a function error leaves the process usable")

	_, _, err = invoke(t, p, `{"action":"crash"}`)
	require.ErrorIs(t, err, localgw.ErrCrashed)
	after, info, err := invoke(t, p, `{"action":"echo"}`)
	require.NoError(t, err, "a crashed process is replaced")
	assert.True(t, info.Cold)
	assert.NotEqual(t, first["pid"], after["pid"])

	_, _, err = invoke(t, p, `{"action":"sleep","ms":3000}`)
	require.ErrorIs(t, err, localgw.ErrTimeout)
	_, info, err = invoke(t, p, `{"action":"echo"}`)
	require.NoError(t, err, "a timed-out process is replaced")
	assert.True(t, info.Cold)
}

func TestInitErrorsAreReported(t *testing.T) {
	t.Parallel()
	p := pool(t, time.Second, 1, map[string]string{"FAKE_INIT": "exit"})
	_, _, err := invoke(t, p, `{}`)
	var ie *localgw.InitError
	require.ErrorAs(t, err, &ie)
	assert.Contains(t, ie.Reason, "exit status 3")
	assert.Contains(t, ie.Output, "cannot read configuration")
	assert.Equal(t, 0, p.Processes())
	assert.NotErrorIs(t, err, localgw.ErrTimeout)
}

func TestPeakRSSIsMeasured(t *testing.T) {
	t.Parallel()
	p := pool(t, 5*time.Second, 1, nil)
	_, _, err := invoke(t, p, `{"action":"echo"}`)
	require.NoError(t, err)
	rss := p.PeakRSS()
	assert.Greater(t, rss, int64(1<<20), "a Go process has more than 1 MiB resident")
	assert.Less(t, rss, int64(1<<30))
}
