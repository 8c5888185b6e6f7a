// Command localrun serves the services' HTTP APIs on one local server,
// through the same routes and handlers as the Lambda functions.
//
// By default everything runs in memory: no AWS account, no emulator. The
// ec2power API drives a demo fleet (managed instances in the groups "web" and
// "ci", and an unmanaged "prod-db") whose starts and stops take
// -ec2-transition (default 5s); GET /start and GET /stop act on
// DEFAULT_TARGET (default group:ci).
//
// With AWS_ENDPOINT_URL set (an emulator such as moto_server or LocalStack),
// both use it instead: the claims table CLAIMS_TABLE (default
// "claims-local") and the audit table EC2POWER_AUDIT_TABLE (default
// "ec2power-audit-local"), created when missing, and the emulator's EC2
// instances. Region and credentials come from the usual AWS variables,
// defaulting to us-east-1 and dummy credentials.
//
//	go tool task run                    # http://127.0.0.1:8080
//	go run ./infra/cmd/localrun -addr 127.0.0.1:9090
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/adapters/nethttp"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memevents"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
	powerproviders "github.com/hexlambda/hexlambda/services/ec2power/providers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localrun:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, when set, receives the base URL once the
// server listens.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, ready func(url string)) error {
	fs := flag.NewFlagSet("localrun", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	level := fs.String("log-level", getenv("LOG_LEVEL"), "debug, info, warn or error")
	transition := fs.Duration("ec2-transition", 5*time.Second, "how long demo instances take to start or stop")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	lvl, err := logging.ParseLevel(*level)
	if err != nil {
		return err
	}
	logger := logging.New(stdout, lvl)

	// Both services read their configuration as their functions do, with
	// the local run's defaults where the environment says nothing.
	claimsCfg, err := claimsproviders.LoadConfig(withDefaults(getenv, map[string]string{
		claimsproviders.EnvTableName: orDefault(getenv("CLAIMS_TABLE"), "claims-local"),
		// Every local caller is "local" and, unless ROLE_MAP says
		// otherwise, holds every role: the local run is a developer's.
		claimsproviders.EnvRoleMap: "intake=*;adjuster=*;payments=*;auditor=*",
	}))
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	powerCfg, err := powerproviders.LoadConfig(withDefaults(getenv, map[string]string{
		powerproviders.EnvAuditTable:    orDefault(getenv("EC2POWER_AUDIT_TABLE"), "ec2power-audit-local"),
		powerproviders.EnvDefaultTarget: "group:ci",
		// As deployed: a wait ends within 25 s and clients poll on.
		powerproviders.EnvWaitLimit: "25s",
		// The developer's own server: every caller acts on every group
		// and audits, unless GRANTS or AUDITORS say otherwise.
		powerproviders.EnvGrants: "*=*", powerproviders.EnvAuditors: "*",
		powerproviders.EnvPollInterval: min(2*time.Second, *transition/4+time.Millisecond).String(),
	}))
	if err != nil {
		return fmt.Errorf("ec2power: %w", err)
	}

	awsCfg, err := awsConfig(ctx, getenv)
	if err != nil {
		return err
	}
	claimsTable, backend, err := store(ctx, awsCfg, claimsCfg.TableName)
	if err != nil {
		return err
	}
	auditTable, _, err := store(ctx, awsCfg, powerCfg.AuditTable)
	if err != nil {
		return err
	}
	var fleet fleet.Fleet
	fleetName := "memory (demo instances)"
	if awsCfg == nil {
		fleet = DemoFleet(*transition, powerCfg.App.Selector)
	} else {
		if fleet, err = emulatorFleet(*awsCfg); err != nil {
			return err
		}
		fleetName = "ec2 (audit in " + powerCfg.AuditTable + ")"
	}
	clock := lambdafn.SystemClock{}
	claims := claimsproviders.Local(claimsCfg, claimsTable, clock, claimsproviders.UUIDv7{}, logger)
	// Leases expire for real: schedules are timers calling the expiry,
	// and events are log lines.
	sched := memsched.New(nil, logger)
	defer sched.Close()
	power, scheduled, err := powerproviders.Local(powerCfg, fleet, auditTable, clock, logger, sched, memevents.New(logger))
	if err != nil {
		return fmt.Errorf("ec2power: %w", err)
	}
	sched.SetTarget(scheduled)
	router := httpapi.NewRouter(append(claims.Routes(), power.Routes()...)...)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	url := "http://" + ln.Addr().String()
	// Timeouts as a gateway's: a slow or idle client cannot hold the
	// server, and no request outlives WAIT_LIMIT by much.
	srv := &http.Server{
		Handler: nethttp.Handler(router, logger), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: powerCfg.App.WaitLimit + 30*time.Second, IdleTimeout: 2 * time.Minute,
	}
	logger.Info("serving", slog.String("url", url), slog.String("claimsStore", backend), slog.String("fleet", fleetName))
	if ready != nil {
		ready(url)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// awsConfig returns the SDK configuration for the emulator named by
// AWS_ENDPOINT_URL, or nil when none is set.
func awsConfig(ctx context.Context, getenv func(string) string) (*aws.Config, error) {
	ep := getenv("AWS_ENDPOINT_URL")
	if ep == "" {
		return nil, nil
	}
	opts := []func(*config.LoadOptions) error{config.WithBaseEndpoint(ep)}
	if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion("us-east-1"))
	}
	if getenv("AWS_ACCESS_KEY_ID") == "" && getenv("AWS_PROFILE") == "" {
		// Emulators accept any credentials; do not go looking for real ones.
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return &cfg, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// withDefaults reads getenv, falling back to defaults for unset variables.
func withDefaults(getenv func(string) string, defaults map[string]string) func(string) string {
	return func(k string) string { return orDefault(getenv(k), defaults[k]) }
}

// store returns the table name on the emulator (created when missing), or
// a table in memory when there is no emulator.
func store(ctx context.Context, cfg *aws.Config, name string) (ports.Table, string, error) {
	if cfg == nil {
		return memory.NewTable(), "memory", nil
	}
	client := awsdynamodb.NewFromConfig(*cfg)
	if err := dynamodb.EnsureTable(ctx, client, name); err != nil {
		return nil, "", fmt.Errorf("table %s: %w", name, err)
	}
	// Cursors need only survive this process.
	codec := pagecursor.NewRandom()
	return dynamodb.NewTable(client, name, dynamodb.WithCursors(codec)), "dynamodb:" + name, nil
}

// DemoFleet returns the local run's in-memory fleet: managed instances in
// two groups, and one unmanaged instance the API must never touch.
func DemoFleet(transition time.Duration, sel domain.Selector) *memfleet.Fleet {
	f := memfleet.NewFleet(memfleet.WithTransitionDelays(transition, transition))
	managed := func(name, group string) map[string]string {
		return map[string]string{"Name": name, sel.ManagedKey: sel.ManagedValue, sel.GroupKey: group}
	}
	f.Launch(memfleet.InstanceSpec{Type: "t3.small", Tags: managed("web-1", "web")})
	f.Launch(memfleet.InstanceSpec{Type: "t3.small", Tags: managed("web-2", "web")})
	f.Launch(memfleet.InstanceSpec{Type: "c6g.large", State: domain.StateStopped, Tags: managed("ci-runner-1", "ci"), Hibernation: true})
	f.Launch(memfleet.InstanceSpec{Type: "c6g.large", State: domain.StateStopped, Tags: managed("ci-runner-2", "ci")})
	f.Launch(memfleet.InstanceSpec{Type: "r6g.xlarge", Tags: map[string]string{"Name": "prod-db"}})
	return f
}
