// Package providers holds the ec2power service's Wire providers: how the
// Lambda functions (and the local run) build their dependencies from
// environment variables.
package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/adapters/ec2"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Environment variables read by the functions.
const (
	EnvManagedTag    = "MANAGED_TAG"
	EnvGroupTagKey   = "GROUP_TAG_KEY"
	EnvAuditTable    = "AUDIT_TABLE"
	EnvDefaultTarget = "DEFAULT_TARGET"
	EnvWaitLimit     = "WAIT_LIMIT"
	EnvPollInterval  = "POLL_INTERVAL"
	EnvLogLevel      = "LOG_LEVEL"
	EnvCursorKey     = "CURSOR_SIGNING_KEY"
)

// Config is the functions' configuration.
type Config struct {
	App          app.Config
	AuditTable   string
	LogLevel     slog.Level
	CursorKey    []byte
	FunctionName string
}

// Getenv reads one environment variable.
type Getenv func(string) string

// LoadConfig reads the configuration, failing with a message that names
// the variable when one is invalid.
func LoadConfig(getenv Getenv) (Config, error) {
	cfg := Config{
		App: app.DefaultConfig(), AuditTable: getenv(EnvAuditTable),
		CursorKey: []byte(getenv(EnvCursorKey)), FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"),
	}
	var err error
	if cfg.LogLevel, err = logging.ParseLevel(getenv(EnvLogLevel)); err != nil {
		return Config{}, fmt.Errorf("environment variable %s: %w", EnvLogLevel, err)
	}
	if v := getenv(EnvManagedTag); v != "" {
		if cfg.App.Selector.ManagedKey, cfg.App.Selector.ManagedValue, err = domain.ParseManagedTag(v); err != nil {
			return Config{}, fmt.Errorf("environment variable %s: %w", EnvManagedTag, err)
		}
	}
	if v := getenv(EnvGroupTagKey); v != "" {
		cfg.App.Selector.GroupKey = v
	}
	if cfg.App.DefaultTarget, err = app.ParseTarget(getenv(EnvDefaultTarget)); err != nil {
		return Config{}, fmt.Errorf("environment variable %s: %w", EnvDefaultTarget, err)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{EnvWaitLimit, &cfg.App.WaitLimit}, {EnvPollInterval, &cfg.App.PollInterval}} {
		if v := getenv(d.name); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return Config{}, fmt.Errorf("environment variable %s: %q is not a positive duration such as 25s", d.name, v)
			}
			*d.dst = parsed
		}
	}
	return cfg, nil
}

// ConfigFromEnv reads the configuration from the process environment.
func ConfigFromEnv() (Config, error) { return LoadConfig(os.Getenv) }

// NewLogger returns the JSON logger.
func NewLogger(cfg Config) *slog.Logger { return lambdafn.Logger(cfg.LogLevel, cfg.FunctionName) }

// NewAWSConfig loads the SDK configuration from the environment; it makes
// no network call.
func NewAWSConfig(ctx context.Context) (aws.Config, error) { return lambdafn.AWSConfig(ctx) }

// NewFleet returns the EC2 fleet adapter.
func NewFleet(cfg aws.Config) *ec2.Fleet { return ec2.NewFleet(awsec2.NewFromConfig(cfg)) }

// AuditTable returns the DynamoDB audit table; AUDIT_TABLE is required for
// the functions that act or read history.
func AuditTable(awsCfg aws.Config, cfg Config, codec *pagecursor.Codec) (ports.Table, error) {
	if cfg.AuditTable == "" {
		return nil, fmt.Errorf("environment variable %s is required (the DynamoDB table of the audit trail)", EnvAuditTable)
	}
	return dynamodb.NewTable(awsdynamodb.NewFromConfig(awsCfg), cfg.AuditTable, codec), nil
}

// NoAudit is the audit table of the functions that only read instances:
// they never touch it.
func NoAudit() ports.Table { return noAudit{} }

type noAudit struct{}

var errNoAudit = errors.New("this function has no audit table")

func (noAudit) Get(context.Context, ports.Key) (ports.Item, error) { return ports.Item{}, errNoAudit }
func (noAudit) Create(context.Context, ports.Item) (ports.Item, error) {
	return ports.Item{}, errNoAudit
}
func (noAudit) Update(context.Context, ports.Item, int64) (ports.Item, error) {
	return ports.Item{}, errNoAudit
}
func (noAudit) Patch(context.Context, ports.Key, ports.Attributes, int64, ...ports.Condition) (ports.Item, error) {
	return ports.Item{}, errNoAudit
}
func (noAudit) Delete(context.Context, ports.Key, int64) error { return errNoAudit }
func (noAudit) Query(context.Context, ports.Query) (ports.Page, error) {
	return ports.Page{}, errNoAudit
}

// RequiredCursors returns the codec for the history function:
// CURSOR_SIGNING_KEY must be set (at least 16 bytes).
func RequiredCursors(cfg Config) (*pagecursor.Codec, error) {
	return lambdafn.RequiredCursors(cfg.CursorKey, "history")
}

// EphemeralCursors returns a codec for functions that never hand out
// cursors.
func EphemeralCursors() *pagecursor.Codec { return lambdafn.EphemeralCursors() }

// NewService returns the use cases.
func NewService(fleet ports.Fleet, audit ports.Table, cfg Config, logger *slog.Logger) *app.Service {
	return app.NewService(fleet, audit, lambdafn.SystemClock{}, cfg.App, logger)
}

// Operation names the one operation a function serves.
type Operation string

// NewLambdaHandler returns the API Gateway adapter serving one operation,
// writing request metrics (EMF) to stdout.
func NewLambdaHandler(svc *app.Service, op Operation, logger *slog.Logger) *apigw.Adapter {
	return lambdafn.Handler(api.New(svc).Router(string(op)), logger, "ec2power", string(op))
}

// Lambda builds a function's handler on EC2; add an audit table provider
// (AuditTable with a cursor codec, or NoAudit) and the Operation.
var Lambda = wire.NewSet(
	ConfigFromEnv, NewLogger, NewAWSConfig, NewFleet,
	wire.Bind(new(ports.Fleet), new(*ec2.Fleet)),
	NewService, NewLambdaHandler,
)

// Start builds a function with its injector and serves it; a failure to
// build is one JSON log line naming the cause, and the process exits.
func Start(initialize func(context.Context) (*apigw.Adapter, error)) { lambdafn.Start(initialize) }
