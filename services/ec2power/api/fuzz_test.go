package api_test

import (
	"encoding/json"
	"io"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memevents"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

// FuzzAPIGatewayEvent drives arbitrary API Gateway proxy events through the
// inbound adapter into every ec2power route, the compatibility routes'
// query parameters included. Whatever a client sends, the adapter must not
// panic or fail the invocation, and must answer a 2xx or a 4xx with a JSON
// body: on the memory fleet nothing fails on the server side, so a 5xx is
// a bug.
func FuzzAPIGatewayEvent(f *testing.F) {
	f.Add("POST", "/instances/i-00000001/start", "lease=2h&wait=true&timeout=1s", "", false, "", "")
	f.Add("GET", "/start", "lease=%ff&dryRun=yes", "", false, "", "")
	f.Add("GET", "/stop", "hibernate=true&timeout=90", "", false, "", "")
	f.Add("POST", "/groups/ci/stop", "dryRun=1", "", false, "", "")
	f.Add("POST", "/instances/i-00000001/lease", "extend=-1h", "", false, "", "")
	f.Add("POST", "/instances/i-00000001/hold", "until=2026-13-40T99:00:00Z", "", false, "", "")
	f.Add("PUT", "/schedules/office", "", `{"timeZone":"Europe/Paris","windows":[{"days":["mon-fri"],"start":"08:00","stop":"19:00"}]}`, false, "application/json", `"1"`)
	f.Add("PUT", "/schedules/office", "", `{"timeZone":"UTC\ud800","windows":[{"days":["mon"],"start":"8","stop":"x"}]}`, false, "application/json", "W/x")
	f.Add("GET", "/instances/i-00000001/history", "limit=0&cursor=%zz", "", false, "", "")
	f.Add("DELETE", "/schedules/%ff", "", "\x00\xff", true, "text/plain", "")

	logger := logging.New(io.Discard, 0)
	fleet := memfleet.NewFleet(memfleet.WithTransitionDelays(0, 0))
	sched := memsched.New(nil, logger)
	f.Cleanup(sched.Close)
	a, scheduled, err := providers.Local(providers.Config{App: app.DefaultConfig(), Grants: "*=*", Auditors: "*"}, fleet, memory.NewTable(), systemClock{}, logger, sched, memevents.New(nil))
	if err != nil {
		f.Fatal(err)
	}
	sched.SetTarget(scheduled)
	adapter := apigw.New(a.Router(), logger)

	f.Fuzz(func(t *testing.T, method, path, rawQuery, body string, b64 bool, contentType, ifMatch string) {
		q, _ := url.ParseQuery(rawQuery)
		ev := events.APIGatewayProxyRequest{
			HTTPMethod: method, Path: path, MultiValueQueryStringParameters: q,
			MultiValueHeaders: map[string][]string{"Content-Type": {contentType}, "If-Match": {ifMatch}},
			Body:              body, IsBase64Encoded: b64,
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "fuzz", Identity: events.APIGatewayRequestIdentity{APIKeyID: "fuzz"}},
		}
		resp, err := adapter.Handle(t.Context(), ev)
		if err != nil {
			t.Fatalf("invocation failed: %v", err)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 499 {
			t.Fatalf("status %d for a client request: %s", resp.StatusCode, resp.Body)
		}
		if resp.Body != "" && !json.Valid([]byte(resp.Body)) {
			t.Fatalf("body is not JSON: %q", resp.Body)
		}
	})
}
