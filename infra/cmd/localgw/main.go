// Command localgw runs API Gateway REST APIs deployed to an AWS emulator
// that does not execute Lambda code (moto_server), on loopback: it reads the
// deployed APIs and functions from the emulator and runs each function's
// deployed bootstrap under a local Lambda Runtime API.
//
//	AWS_ENDPOINT_URL=http://127.0.0.1:5000 localgw --stack claims-dev --stack ec2power-dev
//
// With --network network-dev it also stands in for that network's
// execute-api VPC endpoint, on a listener of its own: a private API answers
// there and denies every other source, as its resource policy says.
//
// It prints each API's base URL (http://127.0.0.1:PORT/STAGE). Functions
// must have been deployed for this machine's architecture
// (go tool task deploy ... ARCH=host). API keys are checked against the
// emulator's keys and usage plans; AWS_IAM methods need SigV4 requests
// signed with the same credentials as localgw's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/hexlambda/hexlambda/infra/localgw"
	"github.com/hexlambda/hexlambda/infra/stacks"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "localgw:", err)
		os.Exit(1)
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("localgw", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var stackNames, apis, buckets, networks, vpces multi
	fs.Var(&stackNames, "stack", "stack deployed by the deploy tool, e.g. claims-dev (repeatable)")
	fs.Var(&apis, "api", "REST API as ID:STAGE (repeatable)")
	fs.Var(&buckets, "code-bucket", "bucket holding function code (default: the bootstrap stack's artifact bucket)")
	fs.Var(&networks, "network", "network stack (network-STAGE) whose execute-api endpoint to stand in for, so its private APIs answer (repeatable)")
	fs.Var(&vpces, "vpc-endpoint", "another execute-api endpoint to stand in for, as VPCE_ID[:VPC_ID] (repeatable)")
	port := fs.Int("port", 0, "port of the first API (the next ones follow); 0 picks free ports")
	maxProcs := fs.Int("max-processes", 4, "concurrent processes per function")
	functionLogs := fs.Bool("function-logs", true, "copy the functions' logs to stderr")
	runtime := fs.String("runtime", envOr(localgw.EnvRuntime, localgw.RuntimeProcess), "how functions run: process (on this host) or container (Lambda-like containers through a Docker engine; $"+localgw.EnvRuntime+")")
	schedules := fs.Duration("schedules", time.Second, "fire the emulator's due one-time schedules that target the stacks' functions, checking this often (0: never)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	cf := cloudformation.NewFromConfig(cfg)
	var targets []localgw.Target
	for _, s := range stackNames {
		t, err := localgw.TargetFromStack(ctx, cf, s)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	for _, a := range apis {
		id, stage, ok := strings.Cut(a, ":")
		if !ok {
			return fmt.Errorf("--api wants ID:STAGE, got %q", a)
		}
		targets = append(targets, localgw.Target{APIID: id, Stage: stage})
	}
	if len(targets) == 0 {
		return errors.New("nothing to serve: give --stack or --api")
	}
	for i := range targets {
		if *port > 0 {
			targets[i].Addr = "127.0.0.1:" + strconv.Itoa(*port+i)
		}
	}
	if len(buckets) == 0 {
		if bucket, err := localgw.StackResource(ctx, cf, stacks.BootstrapStackName, "ArtifactBucket"); err == nil {
			buckets = append(buckets, bucket)
		}
	}
	var endpoints []localgw.VpcEndpoint
	for _, n := range networks {
		ep, err := localgw.StackResource(ctx, cf, n, "ApiEndpoint")
		if err != nil {
			return err
		}
		vpc, err := localgw.StackResource(ctx, cf, n, "Vpc")
		if err != nil {
			return err
		}
		endpoints = append(endpoints, localgw.VpcEndpoint{ID: ep, VpcID: vpc})
	}
	for _, v := range vpces {
		id, vpc, _ := strings.Cut(v, ":")
		endpoints = append(endpoints, localgw.VpcEndpoint{ID: id, VpcID: vpc})
	}
	var fnOut io.Writer
	if *functionLogs {
		fnOut = stderr
	}
	var containers *localgw.ContainerRuntime
	switch *runtime {
	case localgw.RuntimeProcess:
	case localgw.RuntimeContainer:
		if containers, err = localgw.NewContainerRuntime(ctx); err != nil {
			return err
		}
		defer containers.Close()
	default:
		return fmt.Errorf("--runtime is process or container, not %q", *runtime)
	}
	srv, err := localgw.Start(ctx, localgw.Config{
		AWS: cfg, Endpoint: endpoint, Targets: targets, CodeBuckets: buckets, MaxProcesses: *maxProcs,
		Logger: slog.New(slog.NewJSONHandler(stderr, nil)), FunctionOutput: fnOut, Endpoints: endpoints,
		ScheduleInterval: *schedules, Containers: containers,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, t := range targets {
		_, _ = fmt.Fprintln(stdout, srv.URLs[t.APIID])
	}
	for _, ep := range endpoints {
		_, _ = fmt.Fprintf(stdout, "%s %s (name a private API by x-apigw-api-id or Host API_ID.execute-api.REGION.amazonaws.com)\n", ep.ID, srv.EndpointURLs[ep.ID])
	}
	<-ctx.Done()
	return nil
}
