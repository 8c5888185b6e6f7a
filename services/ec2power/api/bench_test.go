package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/audittable"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/grants"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
)

// BenchmarkRoutes measures each route's handling through the API Gateway
// adapter, on the memory fleet and audit table.
func BenchmarkRoutes(b *testing.B) {
	logger := logging.New(io.Discard, 0)
	fleet := memfleet.NewFleet(memfleet.WithTransitionDelays(0, 0))
	running := fleet.Launch(memfleet.InstanceSpec{Tags: map[string]string{"ec2power:managed": "true", "ec2power:group": "g"}})
	for range 9 {
		fleet.Launch(memfleet.InstanceSpec{Tags: map[string]string{"ec2power:managed": "true", "ec2power:group": "g"}})
	}
	audit := audittable.New(memory.NewTable(), 0)
	g, err := grants.Parse(nil, "*=*", "*")
	if err != nil {
		b.Fatal(err)
	}
	svc := app.NewPower(app.NewInventory(fleet, app.DefaultConfig()), audit, g, systemClock{}, app.DefaultConfig(), logger, app.Effects{})
	adapter := apigw.New(api.New(api.Deps{Power: svc, History: app.NewHistory(audit, g, systemClock{})}).Router(), logger)
	ctx := context.Background()
	setup := app.Who{Caller: ports.Caller{APIKeyID: "bench"}, RequestID: "setup"}
	if _, err := svc.ActOnInstance(ctx, "stop", running, app.ActOptions{}, setup); err != nil {
		b.Fatal(err)
	}
	setup.RequestID = "setup2"
	if _, err := svc.ActOnInstance(ctx, "start", running, app.ActOptions{}, setup); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, method, path string }{
		{"listInstances", http.MethodGet, "/instances"},
		{"getInstance", http.MethodGet, "/instances/" + running},
		{"startInstance-unchanged", http.MethodPost, "/instances/" + running + "/start"},
		{"getGroup", http.MethodGet, "/groups/g"},
		{"instanceHistory", http.MethodGet, "/instances/" + running + "/history?limit=20"},
	} {
		b.Run(c.name, func(b *testing.B) {
			u, _ := url.Parse(c.path)
			ev := events.APIGatewayProxyRequest{HTTPMethod: c.method, Path: u.Path, MultiValueQueryStringParameters: u.Query(),
				RequestContext: events.APIGatewayProxyRequestContext{RequestID: "bench", Identity: events.APIGatewayRequestIdentity{APIKeyID: "bench"}}}
			b.ReportAllocs()
			for b.Loop() {
				r, err := adapter.Handle(ctx, ev)
				if err != nil || r.StatusCode != http.StatusOK {
					b.Fatalf("%d %s %v", r.StatusCode, r.Body, err)
				}
			}
		})
	}
}
