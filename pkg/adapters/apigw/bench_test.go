package apigw_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/metrics"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// BenchmarkInboundAdapter measures the inbound path alone: event to
// request, routing, serving (logging, metrics), response to event.
func BenchmarkInboundAdapter(b *testing.B) {
	router := httpapi.NewRouter(httpapi.Route{Method: http.MethodGet, Pattern: "/members/{memberId}/orders/{orderId}", Handler: ports.HandlerFunc(
		func(context.Context, ports.Request) (ports.Response, error) {
			return httpapi.JSON(http.StatusOK, map[string]string{"ok": "yes"}), nil
		})})
	for _, c := range []struct {
		name     string
		observer httpapi.Observer
	}{{"logs", nil}, {"logs+metrics", metrics.NewEMF(io.Discard, "orders", "getOrder")}} {
		b.Run(c.name, func(b *testing.B) {
			var opts []apigw.Option
			if c.observer != nil {
				opts = append(opts, apigw.WithObserver(c.observer))
			}
			a := apigw.New(router, logging.New(io.Discard, 0), opts...)
			ev := events.APIGatewayProxyRequest{
				HTTPMethod: "GET", Path: "/members/M-1/orders/01a20090-0000-7000-8000-000000000000",
				MultiValueHeaders: map[string][]string{"Accept": {"application/json"}, "User-Agent": {"bench"}},
				RequestContext:    events.APIGatewayProxyRequestContext{RequestID: "req"},
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Handle(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
