// Command memfn is a Lambda function for benchmarks: one operation of a
// service (BENCH_SERVICE, BENCH_OPERATION), built by the service's own
// composition root (its providers, with the configuration its functions
// read) like the deployed function, but on the in-memory adapters, seeded
// with the data the benchmark's events use. It measures what a function
// costs apart from its store.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/metrics"
	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
	claimsapp "github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memevents"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	powerproviders "github.com/hexlambda/hexlambda/services/ec2power/providers"
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
	router, err := build(service, op, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memfn:", err)
		os.Exit(1)
	}
	lambda.Start(apigw.New(router, logger, apigw.WithObserver(metrics.NewEMF(io.Discard, service, op))).Handle)
}

func build(service, op string, logger *slog.Logger) (*httpapi.Router, error) {
	clock := lambdafn.SystemClock{}
	switch service {
	case claimsproviders.Service:
		cfg, err := claimsproviders.ConfigFromEnv()
		if err != nil {
			return nil, err
		}
		table := memory.NewTable()
		seed := claimsapp.NewService(claimstore.New(table), clock, fixedID{SeedClaim})
		if _, err := seed.Create(context.Background(), SeedMember, domain.Details{
			MemberName: "Bench", PolicyID: "P-1", PolicyType: "PPO", Amount: 100, Currency: "USD",
		}, claimsapp.Actor{RequestID: "seed"}); err != nil {
			return nil, fmt.Errorf("seed claim: %w", err)
		}
		return claimsproviders.Local(cfg, table, clock, claimsproviders.UUIDv7{}, logger).Router(op), nil
	case powerproviders.Service:
		cfg, err := powerproviders.ConfigFromEnv()
		if err != nil {
			return nil, err
		}
		sel := cfg.App.Selector
		fleet := memfleet.NewFleet(memfleet.WithTransitionDelays(0, 0))
		fleet.Launch(memfleet.InstanceSpec{Tags: map[string]string{sel.ManagedKey: sel.ManagedValue, sel.GroupKey: "bench"}})
		a, _, err := powerproviders.Local(cfg, fleet, memory.NewTable(), clock, logger, memsched.New(nil, logger), memevents.New(nil))
		if err != nil {
			return nil, err
		}
		return a.Router(op), nil
	default:
		return nil, fmt.Errorf("BENCH_SERVICE must be %s or %s", claimsproviders.Service, powerproviders.Service)
	}
}
