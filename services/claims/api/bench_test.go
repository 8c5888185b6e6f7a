package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hexlambda/hexlambda/pkg/access"
	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/services/claims/providers"
)

// BenchmarkRoutes measures each route's whole handling through the API
// Gateway adapter, on the memory table: what a warm function does per
// request, minus the network.
func BenchmarkRoutes(b *testing.B) {
	logger := logging.New(io.Discard, 0)
	table := memory.NewTable()
	clock := lambdafn.SystemClock{}
	// The bench's caller is an intake caller, as on a stage's default map.
	a := providers.Local(providers.Config{DefaultCurrency: "USD", Roles: access.MustParse("intake=*")}, table, clock, providers.UUIDv7{}, logger)
	adapter := apigw.New(a.Router(), logger)
	ctx := context.Background()
	call := func(method, path, body string, headers map[string][]string) events.APIGatewayProxyResponse {
		u, _ := url.Parse(path)
		resp, err := adapter.Handle(ctx, events.APIGatewayProxyRequest{HTTPMethod: method, Path: u.Path, Body: body, MultiValueHeaders: headers,
			MultiValueQueryStringParameters: u.Query(), RequestContext: events.APIGatewayProxyRequestContext{
				RequestID: "bench", Identity: events.APIGatewayRequestIdentity{UserArn: "arn:aws:iam::123456789012:user/bench"},
			}})
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}
	created := call(http.MethodPost, "/members/M-bench/claims", validClaim, nil)
	if created.StatusCode != http.StatusCreated {
		b.Fatalf("setup: %d %s", created.StatusCode, created.Body)
	}
	id := created.MultiValueHeaders["Location"][0]
	for range 30 {
		call(http.MethodPost, "/members/M-bench/claims", validClaim, nil)
	}
	for _, c := range []struct {
		name, method, path, body string
		headers                  map[string][]string
		status                   int
	}{
		{"createClaim", http.MethodPost, "/members/M-create/claims", validClaim, nil, http.StatusCreated},
		{"getClaim", http.MethodGet, id, "", nil, http.StatusOK},
		{"listClaims", http.MethodGet, "/members/M-bench/claims?limit=20", "", nil, http.StatusOK},
		{"updateClaim-stale", http.MethodPatch, id, `{"description":"x"}`, map[string][]string{"If-Match": {`"99"`}}, http.StatusPreconditionFailed},
		{"legacyGetClaim", http.MethodGet, "/claim/" + id[len(id)-36:] + "?memberId=M-bench", "", nil, http.StatusOK},
		{"badInput", http.MethodPost, "/members/M-create/claims", `{"amount":"x"}`, nil, http.StatusBadRequest},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := call(c.method, c.path, c.body, c.headers); r.StatusCode != c.status {
					b.Fatalf("status %d: %s", r.StatusCode, r.Body)
				}
			}
		})
	}
}
