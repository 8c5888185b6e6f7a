package api_test

import (
	"encoding/json"
	"io"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/services/claims/providers"
)

// FuzzAPIGatewayEvent drives arbitrary API Gateway proxy events through the
// inbound adapter into every claims route. Whatever a client sends, the
// adapter must not panic, must not fail the invocation (API Gateway would
// answer 502), and must answer a 2xx or a 4xx with a JSON body: with the
// in-memory store nothing can fail on the server side, so a 5xx is a bug.
// The committed seed corpus is in testdata/fuzz/FuzzAPIGatewayEvent.
func FuzzAPIGatewayEvent(f *testing.F) {
	f.Add("POST", "/members/M-1/claims", "", validClaim, false, "application/json", "", "k1")
	f.Add("PATCH", "/members/M-1/claims/01a20090-0000-7000-8000-000000000000", "", `{"status":"paid"}`, false, "", `"1"`, "")
	f.Add("GET", "/members/M-1/claims", "limit=2&status=pending&cursor=abc.def", "", false, "", "", "")
	f.Add("POST", "/claim", "memberId=M&policyId=P&memberName=N", `{"policyType":"T","claimAmount":1.5}`, false, "", "", "")
	f.Add("PUT", "/claim/01a20090-0000-7000-8000-000000000000", "memberId=M", "eyJwb2xpY3lUeXBlIjoiVCJ9", true, "application/json", "", "")
	f.Add("DELETE", "/members/%zz/claims/x", "a=%zz", "\x00\xff", true, "text/plain", "W/\"x\"", "\x01")
	// Text that is not Unicode: a lone UTF-16 surrogate, a byte that is not UTF-8.
	f.Add("POST", "/members/M-1/claims", "", `{"memberName":"Ada \ud800","policyId":"P","policyType":"PPO","claimAmount":1}`, false, "application/json", "", "")
	f.Add("POST", "/claim", "memberId=M&policyId=P&memberName=%ff", `{"policyType":"T\udc00","claimAmount":1}`, false, "", "", "")

	logger := logging.New(io.Discard, 0)
	table := memory.NewTable()
	clock := lambdafn.SystemClock{}
	a := providers.Local(providers.Config{DefaultCurrency: "USD"}, table, clock, providers.UUIDv7{}, logger)
	adapter := apigw.New(a.Router(), logger)

	f.Fuzz(func(t *testing.T, method, path, rawQuery, body string, b64 bool, contentType, ifMatch, idemKey string) {
		q, _ := url.ParseQuery(rawQuery)
		ev := events.APIGatewayProxyRequest{
			HTTPMethod:                      method,
			Path:                            path,
			MultiValueQueryStringParameters: q,
			MultiValueHeaders: map[string][]string{
				"Content-Type":    {contentType},
				"If-Match":        {ifMatch},
				"Idempotency-Key": {idemKey},
			},
			Body:            body,
			IsBase64Encoded: b64,
			RequestContext:  events.APIGatewayProxyRequestContext{RequestID: "fuzz"},
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
		if got := resp.MultiValueHeaders["X-Request-Id"]; len(got) != 1 || got[0] != "fuzz" {
			t.Fatalf("X-Request-Id = %v", got)
		}
	})
}
