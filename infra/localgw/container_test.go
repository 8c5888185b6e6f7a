package localgw_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// containers returns the container runtime, or skips saying why: these
// tests need a Docker engine (CI starts one).
func containers(t *testing.T) *localgw.ContainerRuntime {
	t.Helper()
	r, err := localgw.NewContainerRuntime(t.Context())
	if errors.Is(err, localgw.ErrNoEngine) {
		t.Skipf("the container runtime needs a Docker engine (or podman's Docker API): %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		r.Close()
		assert.Zero(t, r.Running(), "no container is left")
	})
	return r
}

func containerPool(t *testing.T, r *localgw.ContainerRuntime, maxProcs, memoryMB int) *localgw.Pool {
	t.Helper()
	p := localgw.NewPool(localgw.Function{Name: "fake", ARN: fakeARN, Dir: fakeDir, Timeout: 10 * time.Second, Memory: memoryMB},
		maxProcs, []string{"GREETING=hello"}, nil, slog.New(slog.NewJSONHandler(io.Discard, nil))).InContainers(r)
	t.Cleanup(p.Close)
	return p
}

func TestAContainerIsReusedWarmAndSeesOnlyItsEnvironment(t *testing.T) {
	t.Parallel()
	p := containerPool(t, containers(t), 1, 128)
	first, info, err := invoke(t, p, `{"httpMethod":"GET","path":"/"}`)
	require.NoError(t, err)
	assert.True(t, info.Cold)
	second, info, err := invoke(t, p, `{"httpMethod":"GET","path":"/"}`)
	require.NoError(t, err)
	assert.False(t, info.Cold, "the warm container serves the next invocation")
	assert.Equal(t, first["body"], second["body"])
	assert.Contains(t, second["body"], `"env":"hello"`)
	assert.Contains(t, second["body"], `"pid":1`, "bootstrap is the container's first process")
}

func TestAContainerWritesOnlyUnderTmp(t *testing.T) {
	t.Parallel()
	p := containerPool(t, containers(t), 1, 128)
	out, _, err := invoke(t, p, `{"action":"write","path":"/tmp/scratch"}`)
	require.NoError(t, err)
	assert.Equal(t, true, out["written"])
	out, _, err = invoke(t, p, `{"action":"write","path":"/var/task/scratch"}`)
	require.NoError(t, err)
	assert.Equal(t, false, out["written"], "the root file system is read-only")
	assert.Contains(t, out["error"], "read-only file system")
}

func TestAContainerPastItsMemoryIsKilledAndReportedAndReplaced(t *testing.T) {
	t.Parallel()
	p := containerPool(t, containers(t), 1, 128)
	_, _, err := invoke(t, p, `{"action":"allocate","mb":16}`)
	require.NoError(t, err, "well within 128 MB")
	_, _, err = invoke(t, p, `{"action":"allocate","mb":256}`)
	require.ErrorIs(t, err, localgw.ErrCrashed)
	assert.Contains(t, err.Error(), "Runtime.OutOfMemory")
	_, info, err := invoke(t, p, `{"action":"allocate","mb":1}`)
	require.NoError(t, err)
	assert.True(t, info.Cold, "a fresh container replaces the killed one")
}

func TestContainersServeConcurrentInvocationsUpToTheLimit(t *testing.T) {
	t.Parallel()
	r := containers(t)
	p := containerPool(t, r, 2, 128)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, _, err := p.Invoke(context.Background(), []byte(`{"action":"sleep","ms":300}`))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	assert.Equal(t, 2, p.Processes(), "two containers, each reused")
	assert.Equal(t, 2, r.Running())
}

func TestKilledContainersAreReplaced(t *testing.T) {
	t.Parallel()
	p := containerPool(t, containers(t), 2, 128)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, _, err := p.Invoke(context.Background(), []byte(`{"action":"sleep","ms":200}`))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	p.Kill()
	_, info, err := invoke(t, p, `{"action":"sleep","ms":1}`)
	require.NoError(t, err)
	assert.True(t, info.Cold)
}

// TestReportContainerAgainstProcessTimes prints the cold (init) and warm
// invocation times of the same function as a process and in a container,
// measured in the same run; it reports, it judges nothing.
func TestReportContainerAgainstProcessTimes(t *testing.T) {
	r := containers(t)
	p50 := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	for _, rt := range []string{"process", "container"} {
		var cold, warm []time.Duration
		for range 5 {
			p := localgw.NewPool(localgw.Function{Name: "fake", ARN: fakeARN, Dir: fakeDir, Timeout: 10 * time.Second, Memory: 128},
				1, nil, nil, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			if rt == "container" {
				p.InContainers(r)
			}
			_, info, err := invoke(t, p, `{"action":"sleep","ms":0}`)
			require.NoError(t, err)
			cold = append(cold, info.Init+info.Duration)
			for range 10 {
				_, info, err := invoke(t, p, `{"action":"sleep","ms":0}`)
				require.NoError(t, err)
				warm = append(warm, info.Duration)
			}
			p.Close()
		}
		t.Logf("%-9s cold p50 %v (init + first invocation, 5 starts), warm p50 %v (50 invocations)", rt, p50(cold), p50(warm))
	}
}
