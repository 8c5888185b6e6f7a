package api_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) state(id string) string {
	h.t.Helper()
	return h.do(http.MethodGet, "/instances/"+id).json()["state"].(string)
}

func (h *harness) lease(id string) map[string]any {
	h.t.Helper()
	l, _ := h.do(http.MethodGet, "/instances/"+id).json()["lease"].(map[string]any)
	return l
}

func kinds(events []app.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.DetailType
	}
	return out
}

func TestALeaseStopsTheInstanceWhenItEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))

	// Two seconds, so the lease is still active when read back on a busy
	// machine (the start waits first).
	asked := time.Now()
	r := h.do(http.MethodPost, "/instances/"+id+"/start?lease=2s&wait=true")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	expires, err := time.Parse(time.RFC3339, r.json()["lease"].(map[string]any)["expiresAt"].(string))
	require.NoError(t, err)
	assert.False(t, expires.Before(asked.Add(2*time.Second)), "a lease never ends before the time asked (%s)", expires)
	assert.WithinDuration(t, asked.Add(2*time.Second), expires, 2*time.Second)

	l := h.lease(id)
	require.NotNil(t, l, "GET /instances/{id} shows the lease")
	assert.Equal(t, "active", l["state"])
	assert.Equal(t, "apikey:key-ci", l["owner"], "auditors see who holds it")

	eventually(t, 10*time.Second, func() bool { return h.state(id) == "stopped" }, "the lease never stopped the instance")
	eventually(t, 5*time.Second, func() bool { return h.lease(id) == nil }, "the expired lease is still shown")
	assert.False(t, time.Now().Before(expires), "stopped before the lease ended")

	items := h.do(http.MethodGet, "/instances/"+id+"/history").json()["items"].([]any)
	require.Len(t, items, 2)
	stop, start := items[0].(map[string]any), items[1].(map[string]any)
	assert.Equal(t, "stop", stop["action"])
	assert.Equal(t, "lease", stop["trigger"], "the history says the lease stopped it")
	assert.Equal(t, "start", start["action"])
	assert.Equal(t, expires.UTC().Format(time.RFC3339), start["leaseExpiresAt"])

	assert.Equal(t, []string{app.EventInstanceStarted, app.EventLeaseGranted, app.EventInstanceStopped, app.EventLeaseExpired}, kinds(h.events.Events()))
	assert.Equal(t, app.TriggerLease, h.events.Events()[2].Detail.Trigger)
	assert.Empty(t, h.sched.Pending(), "a fired expiry is deleted")
}

func TestAnExpiryForALeaseThatChangedDoesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+id+"/start?lease=1h&wait=true").Status)
	first := h.sched.Pending()
	require.Len(t, first, 1)
	_, stale, ok, err := h.sched.Scheduled(t.Context(), first[0])
	require.NoError(t, err)
	require.True(t, ok)

	r := h.do(http.MethodPost, "/instances/"+id+"/lease?extend=30m")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.NotEqual(t, first, h.sched.Pending(), "the extension has its own expiry; the old one is cancelled")
	require.Len(t, h.sched.Pending(), 1)

	// The old expiry arrives anyway (a schedule that could not be
	// cancelled, or one already on its way): it finds itself stale.
	require.NoError(t, h.expire(t.Context(), stale))
	assert.Equal(t, "running", h.state(id))
	assert.Equal(t, "active", h.lease(id)["state"])

	// So does one for a lease replaced by a stop and a new start.
	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+id+"/stop?wait=true").Status)
	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+id+"/start?lease=2h&wait=true").Status)
	require.NoError(t, h.expire(t.Context(), stale))
	assert.Equal(t, "running", h.state(id), "an instance restarted under a new lease is not stopped by the old one")
}

func TestExtendingAddsToTheLeaseWithinTheStagesMaximum(t *testing.T) {
	t.Parallel()
	limits := domain.LeaseLimits{Max: 2 * time.Hour}
	h := newHarness(t, setup{leases: &limits})
	id := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))

	r := h.do(http.MethodPost, "/instances/"+id+"/start?lease=3h")
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "lease_too_long", r.code())
	assert.Contains(t, r.json()["error"].(map[string]any)["message"], "at most 2h0m0s")
	assert.Equal(t, "stopped", h.state(id), "nothing was started")

	r = h.do(http.MethodPost, "/instances/"+id+"/start?lease=1h&wait=true")
	require.Equal(t, http.StatusOK, r.Status)
	before, _ := time.Parse(time.RFC3339, h.lease(id)["expiresAt"].(string))
	r = h.do(http.MethodPost, "/instances/"+id+"/lease?extend=30m")
	require.Equal(t, http.StatusOK, r.Status)
	after, _ := time.Parse(time.RFC3339, r.json()["lease"].(map[string]any)["expiresAt"].(string))
	assert.Equal(t, 30*time.Minute, after.Sub(before))

	r = h.do(http.MethodPost, "/instances/"+id+"/lease?extend=1h")
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "lease_too_long", r.code())
	assert.Equal(t, "2h0m0s", r.json()["error"].(map[string]any)["details"].(map[string]any)["maxLease"])
}

func TestConcurrentExtensionsAllCount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+id+"/start?lease=1h&wait=true").Status)
	before, _ := time.Parse(time.RFC3339, h.lease(id)["expiresAt"].(string))

	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() { statuses[i] = h.do(http.MethodPost, "/instances/"+id+"/lease?extend=1m").Status })
	}
	wg.Wait()
	for _, s := range statuses {
		assert.Equal(t, http.StatusOK, s)
	}
	after, _ := time.Parse(time.RFC3339, h.lease(id)["expiresAt"].(string))
	assert.Equal(t, 20*time.Minute, after.Sub(before), "every extension counted once")
	pending := h.sched.Pending()
	require.Len(t, pending, 1, "one expiry stands: the lease's")
	at, _, _, err := h.sched.Scheduled(t.Context(), pending[0])
	require.NoError(t, err)
	assert.True(t, at.Equal(after), "the expiry is the lease's end")
}

func TestAStopOrAReleaseEndsTheLease(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	a := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	b := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	r := h.do(http.MethodPost, "/groups/ci/start?lease=1h&wait=true")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	for _, res := range r.json()["results"].([]any) {
		assert.NotNil(t, res.(map[string]any)["lease"], "every instance of the group is leased")
	}
	require.Len(t, h.sched.Pending(), 2)

	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+a+"/stop?wait=true").Status)
	assert.Nil(t, h.lease(a), "a stop ends the lease")

	r = h.do(http.MethodDelete, "/instances/"+b+"/lease")
	require.Contains(t, []int{http.StatusOK, http.StatusAccepted}, r.Status, string(r.Body))
	assert.Equal(t, "stop", r.json()["action"])
	eventually(t, 5*time.Second, func() bool { return h.state(b) == "stopped" }, "release did not stop the instance")
	assert.Nil(t, h.lease(b))
	assert.Empty(t, h.sched.Pending(), "ended leases leave no expiry behind")

	var reasons []string
	for _, e := range h.events.Events() {
		if e.DetailType == app.EventLeaseReleased {
			reasons = append(reasons, e.Detail.Lease.EndReason)
		}
	}
	assert.Equal(t, []string{domain.LeaseStopped, domain.LeaseReleased}, reasons)

	r = h.do(http.MethodDelete, "/instances/"+b+"/lease")
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, "no_lease", r.code())
	r = h.do(http.MethodPost, "/instances/"+b+"/lease?extend=1m")
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, "no_lease", r.code())
}

func TestAFailedStartKeepsNoLease(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopping, managed("ec2power:group", "ci"))
	r := h.do(http.MethodPost, "/instances/"+id+"/start?lease=1h")
	require.Equal(t, http.StatusConflict, r.Status, string(r.Body))
	assert.Nil(t, h.lease(id))
	assert.Empty(t, h.sched.Pending())
}

func TestTheDefaultLeaseAppliesToTheLegacyStart(t *testing.T) {
	t.Parallel()
	limits := domain.LeaseLimits{Max: 12 * time.Hour, Default: 4 * time.Hour}
	h := newHarness(t, setup{leases: &limits, target: "group:ci"})
	id := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	r := h.do(http.MethodGet, "/start?wait=true")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	expires, err := time.Parse(time.RFC3339, h.lease(id)["expiresAt"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(4*time.Hour), expires, 5*time.Second)

	require.Equal(t, http.StatusOK, h.do(http.MethodGet, "/stop?wait=true").Status)
	r = h.do(http.MethodGet, "/start?lease=30m&wait=true")
	require.Equal(t, http.StatusOK, r.Status)
	expires, _ = time.Parse(time.RFC3339, h.lease(id)["expiresAt"].(string))
	assert.WithinDuration(t, time.Now().Add(30*time.Minute), expires, 5*time.Second, "an explicit lease wins")
}

func TestBadLeaseParameters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	for target, param := range map[string]string{
		"/instances/" + id + "/start?lease=soon": "lease",
		"/instances/" + id + "/start?lease=0s":   "lease",
		"/instances/" + id + "/stop?lease=1h":    "lease",
		"/instances/" + id + "/lease":            "extend",
		"/instances/" + id + "/lease?extend=-5m": "extend",
	} {
		r := h.do(http.MethodPost, target)
		assert.Equal(t, http.StatusBadRequest, r.Status, target)
		assert.Equal(t, "invalid_parameter", r.code(), target)
		assert.Equal(t, param, r.json()["error"].(map[string]any)["details"].(map[string]any)["parameter"], target)
	}
}
