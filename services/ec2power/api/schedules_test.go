package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"io"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// send makes a request with a body and headers.
func (h *harness) send(method, target, body string, headers map[string]string) response {
	h.t.Helper()
	u, err := url.Parse(target)
	require.NoError(h.t, err)
	req := ports.Request{
		Method: method, Path: u.Path, Query: u.Query(), Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body),
		RequestID: "req-" + strconv.FormatInt(h.seq.Add(1), 10),
		Caller:    ports.Caller{APIKeyID: "key-ci", SourceIP: "198.51.100.7"},
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp := httpapi.Serve(h.t.Context(), logging.New(io.Discard, 0), h.router, req)
	validator.Check(h.t, req, resp)
	return response{Response: resp, t: h.t}
}

const officeHours = `{"description":"office hours","timeZone":"Europe/Paris","windows":[{"days":["mon","tue","wed","thu","fri"],"start":"08:00","stop":"19:00"}]}`

// window fires one edge of a schedule's window, as its EventBridge
// schedule would.
func (h *harness) window(schedule string, window int, action domain.Action) {
	h.t.Helper()
	input, err := json.Marshal(app.WindowAction{Schedule: schedule, Window: window, Action: action})
	require.NoError(h.t, err)
	require.NoError(h.t, h.expire(h.t.Context(), input))
}

func TestSchedulesAreManagedAndTheirWindowsScheduled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	r := h.send(http.MethodPut, "/schedules/office", officeHours, nil)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	assert.Equal(t, `"1"`, r.Header.Get("ETag"))
	assert.Equal(t, []string{"window-office-0-start", "window-office-0-stop"}, h.sched.Pending())
	at, input, ok, err := h.sched.Scheduled(t.Context(), "window-office-0-start")
	require.NoError(t, err)
	require.True(t, ok)
	paris, _ := time.LoadLocation("Europe/Paris")
	local := at.In(paris)
	assert.Equal(t, "08:00", local.Format("15:04"), "the window opens at 08:00 in its time zone")
	assert.NotContains(t, []time.Weekday{time.Saturday, time.Sunday}, local.Weekday())
	assert.JSONEq(t, `{"schedule":"office","window":0,"action":"start"}`, string(input))

	r = h.do(http.MethodGet, "/schedules/office")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "Europe/Paris", r.json()["timeZone"])
	list := h.do(http.MethodGet, "/schedules").json()["items"].([]any)
	assert.Len(t, list, 1)

	two := `{"timeZone":"UTC","windows":[{"days":["mon-fri"],"start":"08:00","stop":"19:00"},{"days":["sat"],"start":"22:00","stop":"02:00"}]}`
	r = h.send(http.MethodPut, "/schedules/office", two, map[string]string{"If-Match": `"1"`})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, `"2"`, r.Header.Get("ETag"))
	assert.Len(t, h.sched.Pending(), 4)
	at, _, _, _ = h.sched.Scheduled(t.Context(), "window-office-1-stop")
	assert.Equal(t, time.Sunday, at.Weekday(), "an overnight window closes the next day")

	r = h.send(http.MethodPut, "/schedules/office", officeHours, map[string]string{"If-Match": `"1"`})
	assert.Equal(t, http.StatusPreconditionFailed, r.Status)
	assert.Equal(t, "schedule_changed", r.code())

	r = h.send(http.MethodPut, "/schedules/office", officeHours, nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, []string{"window-office-0-start", "window-office-0-stop"}, h.sched.Pending(), "a window removed is no longer scheduled")

	r = h.send(http.MethodDelete, "/schedules/office", "", map[string]string{"If-Match": `"3"`})
	require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
	assert.Empty(t, h.sched.Pending())
	assert.Equal(t, "schedule_not_found", h.do(http.MethodGet, "/schedules/office").code())
	assert.Equal(t, "schedule_not_found", h.send(http.MethodDelete, "/schedules/office", "", nil).code())
}

func TestBadSchedulesAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	for body, code := range map[string]string{
		`{"timeZone":"Mars/Olympus","windows":[{"days":["mon"],"start":"08:00","stop":"19:00"}]}`: "invalid_schedule",
		`{"timeZone":"Local","windows":[{"days":["mon"],"start":"08:00","stop":"19:00"}]}`:        "invalid_schedule",
		`{"timeZone":"UTC","windows":[]}`: "invalid_schedule",
		`{"timeZone":"UTC","windows":[{"days":["funday"],"start":"08:00","stop":"19:00"}]}`:             "invalid_schedule",
		`{"timeZone":"UTC","windows":[{"days":[],"start":"08:00","stop":"19:00"}]}`:                     "invalid_schedule",
		`{"timeZone":"UTC","windows":[{"days":["mon"],"start":"08:00","stop":"08:00"}]}`:                "invalid_schedule",
		`{"timeZone":"UTC","windows":[{"days":["mon"],"start":"25:00","stop":"08:00"}]}`:                "invalid_schedule",
		`{"timeZone":"UTC","windows":[{"days":["mon"],"start":"08:00","stop":"09:00"}],"x":1}`:          "unknown_field",
		`{"name":"other","timeZone":"UTC","windows":[{"days":["mon"],"start":"08:00","stop":"09:00"}]}`: "read_only_field",
	} {
		r := h.send(http.MethodPut, "/schedules/office", body, nil)
		assert.Equal(t, http.StatusBadRequest, r.Status, body)
		assert.Equal(t, code, r.code(), "%s: %s", body, r.Body)
	}
	r := h.send(http.MethodPut, "/schedules/no%20spaces", officeHours, nil)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Empty(t, h.sched.Pending(), "nothing was scheduled")
}

func TestOnlyCallersOfEveryGroupManageSchedules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{grants: "ci=apikey:key-ci"})
	r := h.send(http.MethodPut, "/schedules/office", officeHours, nil)
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, "not_permitted", r.code())
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/schedules").Status, "reading is not managing")
}

func TestAWindowActsOnItsInstancesButNotOnHeldOrLeasedOnes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	require.Equal(t, http.StatusCreated, h.send(http.MethodPut, "/schedules/office", officeHours, nil).Status)
	follower := h.launch(domain.StateStopped, managed("ec2power:schedule", "office"))
	held := h.launch(domain.StateStopped, managed("ec2power:schedule", "office"))
	leased := h.launch(domain.StateStopped, managed("ec2power:schedule", "office"))
	other := h.launch(domain.StateStopped, managed())
	unmanaged := h.launch(domain.StateStopped, map[string]string{"ec2power:schedule": "office"})

	r := h.do(http.MethodPost, "/instances/"+held+"/hold?until=8h")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	in := h.do(http.MethodGet, "/instances/"+held).json()
	assert.NotEmpty(t, in["holdUntil"])
	assert.Equal(t, "office", in["schedule"])

	h.window("office", 0, domain.Start)
	eventually(t, 5*time.Second, func() bool { return h.state(follower) == "running" }, "the window did not start its instance")
	assert.Equal(t, "stopped", h.state(held), "a held instance is left alone")
	assert.Equal(t, "stopped", h.state(other))
	got, err := h.fleet.Describe(t.Context(), unmanaged)
	require.NoError(t, err)
	assert.Equal(t, domain.StateStopped, got[0].State, "the guard holds for schedules too")

	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+leased+"/start?lease=1h&wait=true").Status)
	h.window("office", 0, domain.Stop)
	eventually(t, 5*time.Second, func() bool { return h.state(follower) == "stopped" }, "the window did not stop its instance")
	assert.Equal(t, "running", h.state(leased), "an instance someone holds a lease on is not stopped under them")

	items := h.do(http.MethodGet, "/instances/"+follower+"/history").json()["items"].([]any)
	require.Len(t, items, 2)
	assert.Equal(t, "schedule", items[0].(map[string]any)["trigger"])

	var skipped []string
	for _, e := range h.events.Events() {
		if e.DetailType == app.EventScheduleActionSkipped {
			skipped = append(skipped, e.Detail.InstanceID+"/"+e.Detail.Action+"/"+e.Detail.Reason)
		}
	}
	assert.ElementsMatch(t, []string{held + "/start/hold", held + "/stop/hold", leased + "/stop/lease"}, skipped)

	// Opened again, then stopped by hand: a repeated delivery of the same
	// opening does not start it again.
	late := h.launch(domain.StateStopped, managed("ec2power:schedule", "office"))
	h.window("office", 0, domain.Start)
	eventually(t, 5*time.Second, func() bool { return h.state(late) == "running" }, "the window did not start its instance")
	require.Equal(t, http.StatusOK, h.do(http.MethodPost, "/instances/"+late+"/stop?wait=true").Status)
	h.window("office", 0, domain.Start)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, "stopped", h.state(late), "stopped by hand during its window, it stays stopped")
	var stoppedByHand []string
	for _, e := range h.events.Events() {
		if e.DetailType == app.EventScheduleActionSkipped && e.Detail.Reason == "stopped" {
			stoppedByHand = append(stoppedByHand, e.Detail.InstanceID)
		}
	}
	assert.Contains(t, stoppedByHand, late)

	// The schedule is gone: its windows' actions do nothing.
	require.Equal(t, http.StatusNoContent, h.send(http.MethodDelete, "/schedules/office", "", nil).Status)
	h.window("office", 0, domain.Start)
	assert.Equal(t, "stopped", h.state(follower))
}

func TestHolds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, setup{})
	id := h.launch(domain.StateStopped, managed())
	until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	r := h.do(http.MethodPost, "/instances/"+id+"/hold?until="+until.Format(time.RFC3339))
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, until.Format(time.RFC3339), r.json()["until"])
	assert.Equal(t, until.Format(time.RFC3339), h.do(http.MethodGet, "/instances/"+id).json()["holdUntil"])
	assert.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, "/instances/"+id+"/hold").Status)
	assert.Nil(t, h.do(http.MethodGet, "/instances/"+id).json()["holdUntil"])
	assert.Equal(t, "no_hold", h.do(http.MethodDelete, "/instances/"+id+"/hold").code())

	for q, code := range map[string]string{
		"until=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339): "invalid_hold",
		"until=900h": "invalid_hold",
		"until=soon": "invalid_parameter",
		"":           "invalid_parameter",
	} {
		r := h.do(http.MethodPost, "/instances/"+id+"/hold?"+q)
		assert.Equal(t, http.StatusBadRequest, r.Status, q)
		assert.Equal(t, code, r.code(), q)
	}
	unmanaged := h.launch(domain.StateStopped, map[string]string{})
	assert.Equal(t, http.StatusForbidden, h.do(http.MethodPost, "/instances/"+unmanaged+"/hold?until=1h").Status)
}
