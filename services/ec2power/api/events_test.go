package api_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// documentedEvents reads events.md: the detail's schema (its first JSON
// block) and the example events (the others).
func documentedEvents(t *testing.T) (*openapi3.Schema, []map[string]any) {
	t.Helper()
	doc, err := os.ReadFile("events.md")
	require.NoError(t, err)
	blocks := jsonBlock.FindAllSubmatch(doc, -1)
	require.NotEmpty(t, blocks)
	var schema openapi3.Schema
	require.NoError(t, json.Unmarshal(blocks[0][1], &schema), "the detail schema")
	var examples []map[string]any
	for _, b := range blocks[1:] {
		var e map[string]any
		require.NoError(t, json.Unmarshal(b[1], &e), "example: %s", b[1])
		examples = append(examples, e)
	}
	return &schema, examples
}

func checkDetail(t *testing.T, schema *openapi3.Schema, kind string, detail any) {
	t.Helper()
	var generic any
	b, err := json.Marshal(detail)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &generic))
	assert.NoError(t, schema.VisitJSON(generic), "%s: %s", kind, b)
}

func TestEveryKindOfEventIsDocumentedWithAnExampleThatFollowsTheSchema(t *testing.T) {
	t.Parallel()
	schema, examples := documentedEvents(t)
	var kinds []string
	for _, e := range examples {
		assert.Equal(t, app.EventSource, e["source"])
		kind, _ := e["detail-type"].(string)
		kinds = append(kinds, kind)
		checkDetail(t, schema, kind, e["detail"])
	}
	assert.ElementsMatch(t, app.EventKinds, kinds)
}

func TestTheEventsEmittedFollowTheDocumentedSchema(t *testing.T) {
	t.Parallel()
	schema, _ := documentedEvents(t)
	h := newHarness(t, setup{})
	leased := h.launch(domain.StateStopped, managed("Name", "ci-1", "ec2power:group", "ci"))
	busy := h.launch(domain.StateStopping, managed("ec2power:group", "ci"))
	starting := h.launch(domain.StatePending, managed("ec2power:group", "ci"))
	h.do(http.MethodPost, "/instances/"+leased+"/start?lease=1s&wait=true")
	h.do(http.MethodPost, "/instances/"+busy+"/start")
	eventually(t, 10*time.Second, func() bool { return h.state(leased) == "stopped" }, "the lease did not expire")
	h.do(http.MethodPost, "/instances/"+leased+"/start?lease=1h&wait=true")
	h.do(http.MethodPost, "/instances/"+leased+"/lease?extend=10m")
	h.do(http.MethodDelete, "/instances/"+leased+"/lease")
	h.do(http.MethodPost, "/instances/"+starting+"/stop")
	held := h.launch(domain.StateStopped, managed("ec2power:schedule", "office"))
	h.send(http.MethodPut, "/schedules/office", officeHours, nil)
	h.do(http.MethodPost, "/instances/"+held+"/hold?until=1h")
	h.window("office", 0, domain.Start)

	seen := map[string]bool{}
	for _, e := range h.events.Events() {
		seen[e.DetailType] = true
		assert.Contains(t, app.EventKinds, e.DetailType)
		checkDetail(t, schema, e.DetailType, e.Detail)
	}
	for _, k := range []string{
		app.EventInstanceStarted, app.EventInstanceStopped, app.EventInstanceStartFailed, app.EventInstanceStopFailed,
		app.EventLeaseGranted, app.EventLeaseExtended, app.EventLeaseReleased, app.EventLeaseExpired, app.EventScheduleActionSkipped,
	} {
		assert.True(t, seen[k], "the scenario emits %s", k)
	}
}
