// Command memfn is a Lambda function for benchmarks: one operation of a
// service (BENCH_SERVICE, BENCH_OPERATION), with the same routes, handlers
// and API Gateway adapter as the deployed function but on the in-memory
// adapters, seeded with the data the benchmark's events use. It measures
// what a function costs apart from its store.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/metrics"
	"github.com/hexlambda/hexlambda/pkg/ports"
	claimsapi "github.com/hexlambda/hexlambda/services/claims/api"
	claimsapp "github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
	powerapi "github.com/hexlambda/hexlambda/services/ec2power/api"
	powerapp "github.com/hexlambda/hexlambda/services/ec2power/app"
)

// Seeds the benchmark events refer to.
const (
	SeedMember = "M-bench"
	SeedClaim  = "01a20090-0000-7000-8000-00000000beef"
)

type fixedID struct{ id string }

func (f fixedID) NewID() string { return f.id }

func main() {
	service, op := os.Getenv("BENCH_SERVICE"), os.Getenv("BENCH_OPERATION")
	logger := logging.New(io.Discard, slog.LevelInfo)
	if os.Getenv("BENCH_LOGS") != "" {
		logger = logging.New(os.Stdout, slog.LevelInfo)
	}
	var router *httpapi.Router
	switch service {
	case "claims":
		table := memory.NewTable()
		clock := lambdafn.SystemClock{}
		seed := claimsapp.NewService(table, clock, fixedID{SeedClaim})
		if _, err := seed.Create(context.Background(), SeedMember, domain.Details{
			MemberName: "Bench", PolicyID: "P-1", PolicyType: "PPO", Amount: 100, Currency: "USD",
		}); err != nil {
			panic(err)
		}
		svc := claimsapp.NewService(table, clock, claimsproviders.UUIDv7{})
		router = claimsapi.New(svc, idempotency.NewMiddleware(idempotency.NewTableStore(table), clock, logger), "USD").Router(op)
	case "ec2power":
		fleet := memory.NewFleet(memory.WithTransitionDelays(0, 0))
		id := fleet.Launch(memory.InstanceSpec{Tags: map[string]string{"ec2power:managed": "true", "ec2power:group": "bench"}})
		_ = id
		svc := powerapp.NewService(fleet, memory.NewTable(), systemClock{}, powerapp.DefaultConfig(), logger)
		router = powerapi.New(svc).Router(op)
	default:
		fmt.Fprintln(os.Stderr, "BENCH_SERVICE must be claims or ec2power")
		os.Exit(1)
	}
	lambda.Start(apigw.New(router, logger, apigw.WithObserver(metrics.NewEMF(io.Discard, service, op))).Handle)
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

var _ ports.Clock = systemClock{}
