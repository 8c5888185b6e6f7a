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

	"github.com/hexlambda/hexlambda/pkg/access"
	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// Environment variables read by the functions.
const (
	EnvTableName = "TABLE_NAME"
	EnvLogLevel  = "LOG_LEVEL"
	EnvCursorKey = lambdafn.EnvCursorKey
	// EnvCursorKeyParameter names the SSM parameter holding the cursor
	// key (deployed functions); EnvCursorKey holds the key itself (local).
	EnvCursorKeyParameter = lambdafn.EnvCursorKeyParameter
	EnvDefaultCurrency    = "DEFAULT_CURRENCY"
	// EnvRoleMap maps callers to roles (see package access), the
	// functions' own check behind the gateway's; api.DefaultRoleMap when
	// unset.
	EnvRoleMap = "ROLE_MAP"
)

// Config is the functions' configuration.
type Config struct {
	TableName       string
	LogLevel        slog.Level
	DefaultCurrency string
	// CursorKey signs list cursors, or CursorKeyParameter names the SSM
	// parameter that holds it; empty when not configured.
	CursorKey          []byte
	CursorKeyParameter string
	// FunctionName is the Lambda function's name, for logs.
	FunctionName string
	// Roles says which callers hold which role.
	Roles access.Map
}

// Getenv reads one environment variable.
type Getenv func(string) string

// LoadConfig reads the configuration, failing with a message that names
// the variable when one is missing or invalid.
func LoadConfig(getenv Getenv) (Config, error) {
	cfg := Config{
		TableName:          getenv(EnvTableName),
		DefaultCurrency:    getenv(EnvDefaultCurrency),
		CursorKey:          []byte(getenv(EnvCursorKey)),
		CursorKeyParameter: getenv(EnvCursorKeyParameter),
		FunctionName:       getenv("AWS_LAMBDA_FUNCTION_NAME"),
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
	roles := getenv(EnvRoleMap)
	if roles == "" {
		roles = api.DefaultRoleMap
	}
	if cfg.Roles, err = access.Parse(roles); err != nil {
		return Config{}, fmt.Errorf("environment variable %s: %w", EnvRoleMap, err)
	}
	return cfg, nil
}

// ConfigFromEnv reads the configuration from the process environment.
func ConfigFromEnv() (Config, error) { return LoadConfig(os.Getenv) }

// NewLogger returns the JSON logger.
func NewLogger(cfg Config) *slog.Logger {
	return lambdafn.Logger(cfg.LogLevel, Service, cfg.FunctionName)
}

// NewAWSConfig loads the SDK configuration from the environment (region,
// credentials, AWS_ENDPOINT_URL). It makes no network call.
func NewAWSConfig(ctx context.Context) (aws.Config, error) { return lambdafn.AWSConfig(ctx) }

// NewDynamoClient returns the DynamoDB client.
func NewDynamoClient(cfg aws.Config) *awsdynamodb.Client {
	return awsdynamodb.NewFromConfig(cfg)
}

// NewTable returns the DynamoDB table of the functions that never page
// through it: no cursor key.
func NewTable(client *awsdynamodb.Client, cfg Config) *dynamodb.Table {
	return dynamodb.NewTable(client, cfg.TableName)
}

// PagedTable returns the DynamoDB table of the functions that page
// (listClaims, claimHistory): their cursor key, read from the SSM parameter
// CURSOR_KEY_PARAMETER names (or CURSOR_SIGNING_KEY), must be at least 16
// bytes and the same in every process, or cursors would not survive a cold
// start.
func PagedTable(ctx context.Context, awsCfg aws.Config, client *awsdynamodb.Client, cfg Config) (*dynamodb.Table, error) {
	codec, err := lambdafn.RequiredCursors(ctx, awsCfg, cfg.CursorKey, cfg.CursorKeyParameter, "list")
	if err != nil {
		return nil, err
	}
	return dynamodb.NewTable(client, cfg.TableName, dynamodb.WithCursors(codec)), nil
}

// NewClaimStore returns the claim store kept in table.
func NewClaimStore(table ports.Table) *claimstore.Store { return claimstore.New(table) }

// UUIDv7 generates time-ordered UUIDs, so a member's claims list in filing
// order.
type UUIDv7 struct{}

// NewID implements ports.IDGenerator.
func (UUIDv7) NewID() string { return uuid.Must(uuid.NewV7()).String() }

// NewService returns the use cases.
func NewService(store app.ClaimStore, clock ports.Clock, ids ports.IDGenerator) *app.Service {
	return app.NewService(store, clock, ids)
}

// NewIdempotency returns the middleware keeping records in the claims table.
func NewIdempotency(table ports.Table, clock ports.Clock, logger *slog.Logger) *idempotency.Middleware {
	return idempotency.NewMiddleware(idempotency.NewTableStore(table), clock, logger)
}

// NewAPI returns the HTTP API of a function that creates nothing.
func NewAPI(svc *app.Service, cfg Config) *api.API {
	return api.New(svc, nil, cfg.DefaultCurrency, cfg.Roles)
}

// NewCreateAPI returns the HTTP API of the function that creates claims:
// its creates are idempotent.
func NewCreateAPI(svc *app.Service, idem *idempotency.Middleware, cfg Config) *api.API {
	return api.New(svc, idem, cfg.DefaultCurrency, cfg.Roles)
}

// Operation names the one operation a function serves.
type Operation string

// Service is the service's name in metrics and stacks.
const Service = "claims"

// NewLambdaHandler returns the API Gateway adapter serving one operation,
// writing request metrics (EMF) to stdout.
func NewLambdaHandler(a *api.API, op Operation, logger *slog.Logger) *apigw.Adapter {
	return lambdafn.Handler(a.Router(string(op)), logger, Service, string(op))
}

var (
	base = wire.NewSet(
		ConfigFromEnv, NewLogger, NewAWSConfig, NewDynamoClient, NewClaimStore,
		wire.Bind(new(app.ClaimStore), new(*claimstore.Store)),
		wire.Value(lambdafn.SystemClock{}), wire.Bind(new(ports.Clock), new(lambdafn.SystemClock)),
		wire.Value(UUIDv7{}), wire.Bind(new(ports.IDGenerator), new(UUIDv7)),
		NewService, NewLambdaHandler,
	)
)

// onTable serves the ports.Table on DynamoDB.
var onTable = wire.Bind(new(ports.Table), new(*dynamodb.Table))

// Create builds createClaim: the table (never paged) and idempotency.
var Create = wire.NewSet(base, NewTable, onTable, NewIdempotency, NewCreateAPI)

// Single builds the functions that act on one claim (getClaim,
// updateClaim, deleteClaim and the decisions): the table, never paged.
var Single = wire.NewSet(base, NewTable, onTable, NewAPI)

// List builds listClaims and claimHistory: the table with its cursor key.
var List = wire.NewSet(base, PagedTable, onTable, NewAPI)

// Local builds every operation in one API over table, from the same
// providers as the functions: the local run and the bench use it with the
// configuration LoadConfig reads.
func Local(cfg Config, table ports.Table, clock ports.Clock, ids ports.IDGenerator, logger *slog.Logger) *api.API {
	svc := NewService(NewClaimStore(table), clock, ids)
	return NewCreateAPI(svc, NewIdempotency(table, clock, logger), cfg)
}

// Start builds a function with its injector and serves it. A failure to
// build is reported as one JSON log line naming the cause, and the process
// exits, so the Lambda init fails visibly.
func Start(initialize func(context.Context) (*apigw.Adapter, error)) { lambdafn.Start(initialize) }
