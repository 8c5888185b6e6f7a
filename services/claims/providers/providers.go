// Package providers holds the claims service's Wire providers: how the
// Lambda functions (and the local run) build their dependencies from
// environment variables.
package providers

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"
	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// Environment variables read by the functions.
const (
	EnvTableName       = "TABLE_NAME"
	EnvLogLevel        = "LOG_LEVEL"
	EnvCursorKey       = "CURSOR_SIGNING_KEY"
	EnvDefaultCurrency = "DEFAULT_CURRENCY"
)

// Config is the functions' configuration.
type Config struct {
	TableName       string
	LogLevel        slog.Level
	DefaultCurrency string
	// CursorKey signs list cursors; empty when not configured.
	CursorKey []byte
	// FunctionName is the Lambda function's name, for logs.
	FunctionName string
}

// Getenv reads one environment variable.
type Getenv func(string) string

// LoadConfig reads the configuration, failing with a message that names
// the variable when one is missing or invalid.
func LoadConfig(getenv Getenv) (Config, error) {
	cfg := Config{
		TableName:       getenv(EnvTableName),
		DefaultCurrency: getenv(EnvDefaultCurrency),
		CursorKey:       []byte(getenv(EnvCursorKey)),
		FunctionName:    getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
	if cfg.TableName == "" {
		return Config{}, fmt.Errorf("environment variable %s is required (the DynamoDB table of claims)", EnvTableName)
	}
	level, err := logging.ParseLevel(getenv(EnvLogLevel))
	if err != nil {
		return Config{}, fmt.Errorf("environment variable %s: %w", EnvLogLevel, err)
	}
	cfg.LogLevel = level
	if cfg.DefaultCurrency == "" {
		cfg.DefaultCurrency = "USD"
	}
	if err := domain.ValidateCurrency(cfg.DefaultCurrency); err != nil {
		return Config{}, fmt.Errorf("environment variable %s: %w", EnvDefaultCurrency, err)
	}
	return cfg, nil
}

// ConfigFromEnv reads the configuration from the process environment.
func ConfigFromEnv() (Config, error) { return LoadConfig(os.Getenv) }

// NewLogger returns the JSON logger.
func NewLogger(cfg Config) *slog.Logger { return lambdafn.Logger(cfg.LogLevel, cfg.FunctionName) }

// NewAWSConfig loads the SDK configuration from the environment (region,
// credentials, AWS_ENDPOINT_URL). It makes no network call.
func NewAWSConfig(ctx context.Context) (aws.Config, error) { return lambdafn.AWSConfig(ctx) }

// NewDynamoClient returns the DynamoDB client.
func NewDynamoClient(cfg aws.Config) *awsdynamodb.Client {
	return awsdynamodb.NewFromConfig(cfg)
}

// RequiredCursors returns the codec for the function that lists claims:
// CURSOR_SIGNING_KEY must be set (at least 16 bytes) and the same in every
// process, or cursors would not survive a cold start.
func RequiredCursors(cfg Config) (*pagecursor.Codec, error) {
	return lambdafn.RequiredCursors(cfg.CursorKey, "list")
}

// EphemeralCursors returns a codec for functions that never hand out
// cursors.
func EphemeralCursors() *pagecursor.Codec { return lambdafn.EphemeralCursors() }

// NewTable returns the DynamoDB table adapter.
func NewTable(client *awsdynamodb.Client, cfg Config, codec *pagecursor.Codec) *dynamodb.Table {
	return dynamodb.NewTable(client, cfg.TableName, codec)
}

// UUIDv7 generates time-ordered UUIDs, so a member's claims list in filing
// order.
type UUIDv7 struct{}

// NewID implements ports.IDGenerator.
func (UUIDv7) NewID() string { return uuid.Must(uuid.NewV7()).String() }

// NewIdempotency returns the middleware keeping records in the claims table.
func NewIdempotency(table ports.Table, clock ports.Clock, logger *slog.Logger) *idempotency.Middleware {
	return idempotency.NewMiddleware(idempotency.NewTableStore(table), clock, logger)
}

// NewAPI returns the HTTP API.
func NewAPI(svc *app.Service, idem *idempotency.Middleware, cfg Config) *api.API {
	return api.New(svc, idem, cfg.DefaultCurrency)
}

// Operation names the one operation a function serves.
type Operation string

// NewLambdaHandler returns the API Gateway adapter serving one operation,
// writing request metrics (EMF) to stdout.
func NewLambdaHandler(a *api.API, op Operation, logger *slog.Logger) *apigw.Adapter {
	return lambdafn.Handler(a.Router(string(op)), logger, "claims", string(op))
}

// Service builds everything but the storage and the transport.
var Service = wire.NewSet(
	wire.Value(lambdafn.SystemClock{}), wire.Bind(new(ports.Clock), new(lambdafn.SystemClock)),
	wire.Value(UUIDv7{}), wire.Bind(new(ports.IDGenerator), new(UUIDv7)),
	app.NewService, NewIdempotency, NewAPI,
)

// Lambda builds a function's handler on DynamoDB; add a cursor codec
// provider and the Operation.
var Lambda = wire.NewSet(
	ConfigFromEnv, NewLogger, NewAWSConfig, NewDynamoClient, NewTable,
	wire.Bind(new(ports.Table), new(*dynamodb.Table)),
	Service, NewLambdaHandler,
)

// Start builds a function with its injector and serves it. A failure to
// build is reported as one JSON log line naming the cause, and the process
// exits, so the Lambda init fails visibly.
func Start(initialize func(context.Context) (*apigw.Adapter, error)) { lambdafn.Start(initialize) }
