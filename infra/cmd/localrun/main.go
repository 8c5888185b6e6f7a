// Command localrun serves the services' HTTP APIs on one local server,
// through the same routes and handlers as the Lambda functions.
//
// By default everything runs in memory: no AWS account, no emulator. With
// AWS_ENDPOINT_URL set (an emulator such as moto_server or LocalStack), the
// claims API uses the DynamoDB table CLAIMS_TABLE there (default
// "claims-local", created when missing); region and credentials come from
// the usual AWS variables, defaulting to us-east-1 and dummy credentials.
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

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/adapters/nethttp"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	claimsapi "github.com/hexlambda/hexlambda/services/claims/api"
	claimsapp "github.com/hexlambda/hexlambda/services/claims/app"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
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
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	lvl, err := logging.ParseLevel(*level)
	if err != nil {
		return err
	}
	logger := logging.New(stdout, lvl)

	claimsTable, backend, err := claimsStore(ctx, getenv)
	if err != nil {
		return err
	}
	clock := claimsproviders.SystemClock{}
	claims := claimsapi.New(
		claimsapp.NewService(claimsTable, clock, claimsproviders.UUIDv7{}),
		idempotency.NewMiddleware(idempotency.NewTableStore(claimsTable), clock, logger),
		"USD",
	)
	router := httpapi.NewRouter(claims.Routes()...)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: nethttp.Handler(router, logger), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("serving", slog.String("url", url), slog.String("claimsStore", backend))
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

// claimsStore picks the claims table: DynamoDB on the emulator named by
// AWS_ENDPOINT_URL, else memory.
func claimsStore(ctx context.Context, getenv func(string) string) (ports.Table, string, error) {
	if getenv("AWS_ENDPOINT_URL") == "" {
		return memory.NewTable(), "memory", nil
	}
	name := getenv("CLAIMS_TABLE")
	if name == "" {
		name = "claims-local"
	}
	opts := []func(*config.LoadOptions) error{config.WithBaseEndpoint(getenv("AWS_ENDPOINT_URL"))}
	if getenv("AWS_REGION") == "" && getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion("us-east-1"))
	}
	if getenv("AWS_ACCESS_KEY_ID") == "" && getenv("AWS_PROFILE") == "" {
		// Emulators accept any credentials; do not go looking for real ones.
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("AWS configuration: %w", err)
	}
	client := awsdynamodb.NewFromConfig(cfg)
	if err := dynamodb.EnsureTable(ctx, client, name); err != nil {
		return nil, "", fmt.Errorf("claims table: %w", err)
	}
	return dynamodb.NewTable(client, name, pagecursor.NewRandom()), "dynamodb:" + name, nil
}
