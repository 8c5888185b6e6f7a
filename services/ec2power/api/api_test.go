package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	validator.CheckRoutes(t, h.router.Routes())
	seen := map[string]bool{}
	for _, r := range h.router.Routes() {
		assert.Contains(t, api.Operations, r.Operation)
		seen[r.Operation] = true
	}
	assert.Len(t, seen, len(api.Operations)-len(api.Internal))
	for _, op := range api.Internal {
		assert.False(t, seen[op], "%s is invoked by a schedule, never by a route", op)
	}
}

func TestReadsSeeOnlyManagedInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	web := h.launch(domain.StateRunning, managed("Name", "web-1", "ec2power:group", "web"))
	h.launch(domain.StateStopped, managed("ec2power:group", "db"))
	other := h.launch(domain.StateRunning, map[string]string{"Name": "prod-db", "ec2power:group": "web"})
	falsy := h.launch(domain.StateRunning, map[string]string{"ec2power:managed": "false"})

	r := h.do(http.MethodGet, "/instances")
	require.Equal(t, http.StatusOK, r.Status)
	items := r.json()["items"].([]any)
	require.Len(t, items, 2)
	first := items[0].(map[string]any)
	assert.Equal(t, web, first["instanceId"])
	assert.Equal(t, "web-1", first["name"])
	assert.Equal(t, "web", first["group"])
	assert.Equal(t, "running", first["state"])
	assert.Equal(t, "t3.micro", first["type"])
	assert.NotEmpty(t, first["launchTime"])

	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/instances/"+web).Status)
	for _, id := range []string{other, falsy, "i-0123456789abcdef0"} {
		r := h.do(http.MethodGet, "/instances/"+id)
		assert.Equal(t, http.StatusNotFound, r.Status, id)
		assert.Equal(t, api.CodeInstanceNotFound, r.code())
	}
	g := h.do(http.MethodGet, "/groups/web")
	require.Equal(t, http.StatusOK, g.Status)
	assert.Len(t, g.json()["items"], 1, "the unmanaged member of the group is invisible")
	assert.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/groups/none").Status)
}

func TestUnmanagedInstancesAreNeverActedOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	stopped := h.launch(domain.StateStopped, map[string]string{"Name": "not-ours"})
	running := h.launch(domain.StateRunning, map[string]string{"ec2power:managed": "yes"})
	for _, target := range []string{
		"/instances/" + stopped + "/start", "/instances/" + stopped + "/start?dryRun=true",
		"/instances/" + running + "/stop", "/instances/" + running + "/stop?hibernate=true&wait=true",
	} {
		r := h.do(http.MethodPost, target)
		assert.Equal(t, http.StatusForbidden, r.Status, target)
		assert.Equal(t, api.CodeNotManaged, r.code())
	}
	assert.Empty(t, h.fleet.Calls(), "no state-changing call was made")
	got, err := h.fleet.Describe(context.Background(), stopped, running)
	require.NoError(t, err)
	assert.Equal(t, domain.StateStopped, got[0].State)
	assert.Equal(t, domain.StateRunning, got[1].State)
	assert.Equal(t, http.StatusNotFound, h.do(http.MethodGet, "/instances/"+stopped+"/history").Status)
}

func TestStartAndStopAreIdempotent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed("Name", "ci-box"))

	r := h.do(http.MethodPost, "/instances/"+id+"/start")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	body := r.json()
	assert.Equal(t, "accepted", body["result"])
	assert.Equal(t, true, body["changed"])
	assert.Equal(t, "stopped", body["previousState"])
	assert.Equal(t, "pending", body["state"])

	r = h.do(http.MethodPost, "/instances/"+id+"/start?wait=true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "unchanged", r.json()["result"])
	assert.Equal(t, false, r.json()["changed"])
	assert.Equal(t, "running", r.json()["state"], "waiting for a pending instance ends when it runs")

	r = h.do(http.MethodPost, "/instances/"+id+"/start")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, false, r.json()["changed"])

	r = h.do(http.MethodPost, "/instances/"+id+"/stop?wait=true&timeout=30s")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "succeeded", r.json()["result"])
	assert.Equal(t, "stopped", r.json()["state"])
	assert.Equal(t, []string{"start [" + id + "]", "stop [" + id + "]"}, h.fleet.Calls())
}

func TestWrongStatesAnswer409(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{delay: time.Hour})
	stopping := h.launch(domain.StateRunning, managed())
	require.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/instances/"+stopping+"/stop").Status)
	r := h.do(http.MethodPost, "/instances/"+stopping+"/start")
	assert.Equal(t, http.StatusConflict, r.Status)
	assert.Equal(t, "incorrect_state", r.code())
	assert.Equal(t, "5", r.Header.Get("Retry-After"))

	gone := h.launch(domain.StateRunning, managed())
	h.fleet.Terminate(gone)
	for _, action := range []string{"start", "stop"} {
		r := h.do(http.MethodPost, "/instances/"+gone+"/"+action)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "incorrect_state", r.code())
	}
	assert.Len(t, h.fleet.Calls(), 1, "only the first stop reached the fleet")
}

func TestWaitReportsTimeouts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{delay: time.Hour})
	id := h.launch(domain.StateStopped, managed())
	r := h.do(http.MethodPost, "/instances/"+id+"/start?wait=1&timeout=1")
	require.Equal(t, http.StatusAccepted, r.Status)
	assert.Equal(t, "timed_out", r.json()["result"])
	assert.Equal(t, "pending", r.json()["state"])
}

func TestWaitIsCappedByTheLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{delay: time.Hour, limit: 50 * time.Millisecond})
	id := h.launch(domain.StateStopped, managed())
	start := time.Now()
	r := h.do(http.MethodPost, "/instances/"+id+"/start?wait=true&timeout=10m")
	require.Equal(t, http.StatusAccepted, r.Status)
	assert.Equal(t, "timed_out", r.json()["result"])
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestStartThatFallsBackToStoppedIsAFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	reason := "Client.InternalError: Client error on launch"
	id := h.launch(domain.StateStopped, managed(), func(s *memfleet.InstanceSpec) { s.StartFailure = reason })
	r := h.do(http.MethodPost, "/instances/"+id+"/start?wait=true")
	require.Equal(t, http.StatusBadGateway, r.Status, "%s", r.Body)
	assert.Equal(t, "start_failed", r.code())
	details := r.json()["error"].(map[string]any)["details"].(map[string]any)
	assert.Equal(t, reason, details["stateReason"])
	assert.Equal(t, "stopped", details["state"])

	hist := h.do(http.MethodGet, "/instances/"+id+"/history").json()["items"].([]any)
	assert.Equal(t, "failed", hist[0].(map[string]any)["result"])
	assert.Equal(t, "start_failed", hist[0].(map[string]any)["code"])
}

func TestHibernation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	can := h.launch(domain.StateRunning, managed(), func(s *memfleet.InstanceSpec) { s.Hibernation = true })
	cannot := h.launch(domain.StateRunning, managed())

	r := h.do(http.MethodPost, "/instances/"+can+"/stop?hibernate=true&wait=true")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, true, r.json()["hibernated"])

	r = h.do(http.MethodPost, "/instances/"+cannot+"/stop?hibernate=true&wait=true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, false, r.json()["hibernated"])
	assert.Contains(t, r.json()["message"], "does not support hibernation")
	assert.Equal(t, "stopped", r.json()["state"])

	assert.Equal(t, http.StatusBadRequest, h.do(http.MethodPost, "/instances/"+can+"/start?hibernate=true").Status)
}

func TestHibernationRefusedByTheProviderFallsBackToAStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateRunning, managed(), func(s *memfleet.InstanceSpec) { s.Hibernation, s.HibernationRefused = true, true })
	r := h.do(http.MethodPost, "/instances/"+id+"/stop?hibernate=true")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	assert.Equal(t, "stopping", r.json()["state"])
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed())
	r := h.do(http.MethodPost, "/instances/"+id+"/start?dryRun=true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "would_succeed", r.json()["result"])
	assert.Equal(t, true, r.json()["dryRun"])

	h.fleet.Deny("start")
	r = h.do(http.MethodPost, "/instances/"+id+"/start?dryRun=true")
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, "dry_run_denied", r.code())
	assert.Empty(t, h.fleet.Calls())
	got, err := h.fleet.Describe(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, domain.StateStopped, got[0].State)
}

func TestProviderErrorsMapToCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		status int
		code   string
		retry  bool
	}{
		{fleet.ErrInsufficientCapacity, 503, "insufficient_capacity", true},
		{fleet.ErrThrottled, 503, "throttled", true},
		{fleet.ErrDenied, 502, "upstream_denied", false},
		{fleet.ErrNotFound, 404, "not_found", false},
		{fleet.ErrIncorrectState, 409, "incorrect_state", true},
		{errors.New("connection reset"), 502, "upstream_error", false},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{})
			id := h.launch(domain.StateStopped, managed())
			h.fleet.Fail("start", id, c.err)
			r := h.do(http.MethodPost, "/instances/"+id+"/start")
			require.Equal(t, c.status, r.Status, "%s", r.Body)
			assert.Equal(t, c.code, r.code())
			assert.Equal(t, c.retry, r.Header.Get("Retry-After") != "")
			assert.NotContains(t, string(r.Body), "connection reset")
		})
	}
}

func TestGroupActionsBatchAndIsolateFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	var ids []string
	for i := range 5 {
		ids = append(ids, h.launch(domain.StateStopped, managed("ec2power:group", "ci", "Name", fmt.Sprintf("ci-%d", i))))
	}
	running := h.launch(domain.StateRunning, managed("ec2power:group", "ci"))
	h.launch(domain.StateStopped, map[string]string{"ec2power:group": "ci"})
	h.fleet.Fail("start", ids[3], fleet.ErrInsufficientCapacity)

	r := h.do(http.MethodPost, "/groups/ci/start?wait=true")
	require.Equal(t, http.StatusMultiStatus, r.Status, "%s", r.Body)
	body := r.json()
	summary := body["summary"].(map[string]any)
	assert.InDelta(t, 6, summary["total"], 0)
	assert.InDelta(t, 4, summary["succeeded"], 0)
	assert.InDelta(t, 1, summary["unchanged"], 0)
	assert.InDelta(t, 1, summary["failed"], 0)
	for _, res := range body["results"].([]any) {
		m := res.(map[string]any)
		switch m["instanceId"] {
		case ids[3]:
			assert.Equal(t, "failed", m["result"])
			assert.Equal(t, "insufficient_capacity", m["code"])
		case running:
			assert.Equal(t, "unchanged", m["result"])
		default:
			assert.Equal(t, "succeeded", m["result"])
			assert.Equal(t, "running", m["state"])
		}
	}
	// The batch of 5 failed; halving isolated ids[3] and the other four
	// started in the successful halves: [0 1], [2], [4].
	calls := h.fleet.Calls()
	started := 0
	for _, c := range calls {
		assert.NotContains(t, c, ids[3])
		started += len(strings.Fields(strings.Trim(strings.TrimPrefix(c, "start "), "[]")))
	}
	assert.Equal(t, 4, started)
	assert.Len(t, calls, 3)

	r = h.do(http.MethodPost, "/groups/ci/stop")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	assert.Equal(t, []string{"stop"}, strings.Fields(h.fleet.Calls()[len(h.fleet.Calls())-1])[:1])
	assert.Len(t, strings.Fields(h.fleet.Calls()[len(h.fleet.Calls())-1]), 6, "one call stops the whole group")

	assert.Equal(t, http.StatusNotFound, h.do(http.MethodPost, "/groups/nobody/start").Status)
}

func TestAuditHistory(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed())
	h.do(http.MethodPost, "/instances/"+id+"/start?wait=true")
	h.do(http.MethodPost, "/instances/"+id+"/stop?dryRun=true")
	h.do(http.MethodPost, "/instances/"+id+"/stop")

	r := h.do(http.MethodGet, "/instances/"+id+"/history?limit=2")
	require.Equal(t, http.StatusOK, r.Status)
	body := r.json()
	items := body["items"].([]any)
	require.Len(t, items, 2)
	newest := items[0].(map[string]any)
	assert.Equal(t, "stop", newest["action"])
	assert.Equal(t, false, newest["dryRun"])
	assert.Equal(t, "accepted", newest["result"])
	assert.Equal(t, "key-ci", newest["apiKeyId"])
	assert.Equal(t, "198.51.100.7", newest["sourceIp"])
	assert.NotEmpty(t, newest["requestId"])
	assert.Equal(t, true, items[1].(map[string]any)["dryRun"])

	r = h.do(http.MethodGet, "/instances/"+id+"/history?limit=2&cursor="+body["nextCursor"].(string))
	require.Equal(t, http.StatusOK, r.Status)
	last := r.json()["items"].([]any)
	require.Len(t, last, 1)
	assert.Equal(t, "succeeded", last[0].(map[string]any)["result"])
	assert.Nil(t, r.json()["nextCursor"])

	page, err := h.audit.Query(context.Background(), ports.Query{Partition: "INSTANCE#" + id, Limit: 10})
	require.NoError(t, err)
	require.Len(t, page.Items, 3)
	ttl := time.Until(page.Items[0].ExpiresAt)
	assert.InDelta(t, (90 * 24 * time.Hour).Hours(), ttl.Hours(), 1, "entries expire after 90 days")
}

// failingTable refuses every write, like an unavailable audit table.
type failingTable struct{ ports.Table }

func (failingTable) Create(context.Context, ports.Item) (ports.Item, error) {
	return ports.Item{}, ports.ErrThrottled
}

func (failingTable) Transact(context.Context, ...ports.Write) error { return ports.ErrThrottled }

func TestNothingHappensWhenTheAuditCannotBeWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{audit: failingTable{memory.NewTable()}})
	id := h.launch(domain.StateStopped, managed())
	r := h.do(http.MethodPost, "/instances/"+id+"/start")
	assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.Equal(t, api.CodeAuditUnavailable, r.code())
	assert.Empty(t, h.fleet.Calls())
}

func TestLegacyRoutesActOnTheDefaultTarget(t *testing.T) {
	t.Parallel()
	t.Run("one instance", func(t *testing.T) {
		t.Parallel()
		h0 := newHarness(t, setup{})
		id := h0.launch(domain.StateStopped, managed())
		h := newHarness(t, setup{target: id, fleet: h0.fleet})
		h.fleet = h0.fleet
		r := h.do(http.MethodGet, "/start?wait=true")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, id, r.json()["instanceId"])
		assert.Equal(t, "succeeded", r.json()["result"])
		r = h.do(http.MethodGet, "/stop")
		require.Equal(t, http.StatusAccepted, r.Status)
		assert.Equal(t, "stop", r.json()["action"])
	})
	t.Run("a group", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{target: "group:nightly"})
		h2 := newHarness(t, setup{target: "group:nightly", fleet: h.fleet})
		h.launch(domain.StateRunning, managed("ec2power:group", "nightly"))
		h.launch(domain.StateRunning, managed("ec2power:group", "nightly"))
		r := h2.do(http.MethodGet, "/stop?wait=true")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "nightly", r.json()["group"])
		assert.InDelta(t, 2, r.json()["summary"].(map[string]any)["succeeded"], 0)
	})
	t.Run("several instances, one unmanaged", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{})
		a := h.launch(domain.StateStopped, managed())
		b := h.launch(domain.StateStopped, nil)
		h2 := newHarness(t, setup{target: a + "," + b, fleet: h.fleet})
		r := h2.do(http.MethodGet, "/start")
		assert.Equal(t, http.StatusForbidden, r.Status)
		assert.Empty(t, h.fleet.Calls())
	})
	t.Run("none configured", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, setup{})
		r := h.do(http.MethodGet, "/start")
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Equal(t, api.CodeNoDefaultTarget, r.code())
	})
}

func TestBadParameters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed())
	for _, c := range []struct {
		method, target string
		status         int
		code           string
	}{
		{"GET", "/instances/not-an-id", 400, "invalid_parameter"},
		{"GET", "/instances/i-XYZ", 400, "invalid_parameter"},
		{"POST", "/instances/i-123/start", 400, "invalid_parameter"},
		{"POST", "/instances/" + id + "/start?wait=maybe", 400, "invalid_parameter"},
		{"POST", "/instances/" + id + "/start?timeout=0s", 400, "invalid_parameter"},
		{"POST", "/instances/" + id + "/start?timeout=2h", 400, "invalid_parameter"},
		{"POST", "/instances/" + id + "/start?timeout=soon", 400, "invalid_parameter"},
		{"POST", "/instances/" + id + "/start?dryRun=2", 400, "invalid_parameter"},
		{"GET", "/groups/-bad", 400, "invalid_parameter"},
		{"GET", "/instances/" + id + "/history?limit=0", 400, "invalid_parameter"},
		{"GET", "/instances/" + id + "/history?limit=x", 400, "invalid_parameter"},
		{"DELETE", "/instances/" + id, 405, "method_not_allowed"},
		{"GET", "/instances/" + id + "/start", 405, "method_not_allowed"},
		{"GET", "/nowhere", 404, "route_not_found"},
	} {
		r := h.do(c.method, c.target)
		assert.Equal(t, c.status, r.Status, "%s %s: %s", c.method, c.target, r.Body)
		assert.Equal(t, c.code, r.code(), "%s %s", c.method, c.target)
	}
	assert.Empty(t, h.fleet.Calls())
}

func TestActionsOutsideTheCallersGrantAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{grants: "ci=apikey:key-ci", auditors: "apikey:key-auditor"})
	ci := h.launch(domain.StateStopped, managed("ec2power:group", "ci"))
	db := h.launch(domain.StateStopped, managed("ec2power:group", "databases"))

	r := h.do(http.MethodPost, "/instances/"+db+"/start")
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, api.CodeNotPermitted, r.code())
	r = h.do(http.MethodPost, "/groups/databases/stop")
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, api.CodeNotPermitted, r.code())
	assert.Empty(t, h.fleet.Calls(), "nothing was done")

	r = h.do(http.MethodPost, "/instances/"+ci+"/start")
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	r = h.do(http.MethodGet, "/instances/"+ci+"/history")
	require.Equal(t, http.StatusOK, r.Status)
	entry := r.json()["items"].([]any)[0].(map[string]any)
	assert.NotContains(t, entry, "apiKeyId", "who asked is for auditors")
	assert.NotContains(t, entry, "sourceIp")
	assert.Equal(t, "start", entry["action"])
}
