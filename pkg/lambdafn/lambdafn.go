// Package lambdafn is what every service's Lambda functions share at start:
// the JSON logger, the SDK configuration, the cursor codecs, the wall clock,
// the API Gateway handler with its metrics, and Start, which fails the init
// visibly when the function cannot be built.
package lambdafn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/metrics"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/pkg/secrets"
)

// Variables naming the cursor signing key of the functions that page:
// deployed, the name of a SecureString parameter (read once, at init, so
// the key is in no function's configuration); locally, the key itself.
const (
	EnvCursorKeyParameter = "CURSOR_KEY_PARAMETER"
	EnvCursorKey          = "CURSOR_SIGNING_KEY"
)

// Logger returns the function's JSON logger on stdout; every line names the
// service, and the function when functionName is set
// (AWS_LAMBDA_FUNCTION_NAME).
func Logger(level slog.Level, service, functionName string) *slog.Logger {
	l := logging.New(os.Stdout, level).With(slog.String(logging.FieldService, service))
	if functionName != "" {
		l = l.With(slog.String(logging.FieldFunctionName, functionName))
	}
	return l
}

// AWSConfig loads the SDK configuration from the environment (region,
// credentials, AWS_ENDPOINT_URL). It makes no network call.
func AWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// RequiredCursors returns the codec of a function that hands out cursors.
// Its key is the SSM parameter named by CURSOR_KEY_PARAMETER (parameter),
// else CURSOR_SIGNING_KEY (key); it must be at least 16 bytes, and the same
// in every process, or cursors would not survive a cold start.
//
// The parameter is read on first use, not at init, and kept for the
// process's life: a function starting while SSM cannot be reached answers
// 503 (the load fails with ports.ErrUnavailable) and reads it again on its
// next request, where a failed init would have been a 502 and a new cold
// start. A parameter that does not exist or a key too short fails the same
// requests as a misconfiguration.
func RequiredCursors(ctx context.Context, cfg aws.Config, key []byte, parameter, purpose string) (*pagecursor.Lazy, error) {
	if parameter != "" {
		return pagecursor.NewLazy(func(ctx context.Context) ([]byte, error) {
			v, err := secrets.Parameter(ctx, cfg, parameter)
			switch {
			case errors.Is(err, secrets.ErrNotFound):
				return nil, fmt.Errorf("environment variable %s (%s): %w", EnvCursorKeyParameter, parameter, err)
			case err != nil:
				return nil, fmt.Errorf("%w: environment variable %s (%s): %w", ports.ErrUnavailable, EnvCursorKeyParameter, parameter, err)
			}
			if len(v) < pagecursor.MinKeyBytes {
				return nil, fmt.Errorf("environment variable %s (%s): the key must be at least %d bytes", EnvCursorKeyParameter, parameter, pagecursor.MinKeyBytes)
			}
			return []byte(v), nil
		}), nil
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("environment variable %s or %s is required (at least %d bytes; signs %s cursors)",
			EnvCursorKeyParameter, EnvCursorKey, pagecursor.MinKeyBytes, purpose)
	}
	c := pagecursor.NewLazy(func(context.Context) ([]byte, error) { return key, nil })
	if err := c.Ready(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvCursorKey, err)
	}
	return c, nil
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now implements ports.Clock.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Handler returns the API Gateway adapter serving router, writing request
// metrics (EMF) for service's operation to stdout.
func Handler(router *httpapi.Router, logger *slog.Logger, service, operation string) *apigw.Adapter {
	return apigw.New(router, logger, apigw.WithObserver(metrics.NewEMF(os.Stdout, service, operation)))
}

// Start builds a function with its injector and serves it. A failure to
// build is one JSON log line naming the cause, and the process exits, so
// the Lambda init fails visibly.
func Start(initialize func(context.Context) (*apigw.Adapter, error)) {
	h, err := initialize(context.Background())
	if err != nil {
		logging.New(os.Stderr, slog.LevelError).Error("function init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
