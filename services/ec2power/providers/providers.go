// Package providers holds the ec2power service's Wire providers: how the
// Lambda functions (and the local run) build their dependencies from
// environment variables.
package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awseventbridge "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awsscheduler "github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/metrics"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/audittable"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/eventbridge"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/grants"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/scheduler"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
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
	EnvCursorKey     = lambdafn.EnvCursorKey
	// EnvCursorKeyParameter names the SSM parameter holding the cursor
	// key (deployed functions); EnvCursorKey holds the key itself (local).
	EnvCursorKeyParameter = lambdafn.EnvCursorKeyParameter
	// EnvGrants says which callers may act on which groups (package
	// grants); grants.DefaultGrants when unset.
	EnvGrants = "GRANTS"
	// EnvAuditors lists the callers who see who asked in the history;
	// grants.DefaultAuditors when unset.
	EnvAuditors = "AUDITORS"
	// EnvMaxLease is the longest lease (a Go duration; 12h when unset).
	EnvMaxLease = "MAX_LEASE"
	// EnvDefaultLease is the lease of GET /start (empty: none).
	EnvDefaultLease = "DEFAULT_LEASE"
	// EnvEventBus is the EventBridge bus of the service's events
	// ("default" when unset).
	EnvEventBus = "EVENT_BUS"
	// EnvScheduleGroup is the EventBridge Scheduler group of the lease
	// expiries; EnvExpireLeaseARN the function they invoke, and
	// EnvSchedulerRoleARN the role they invoke it as (the functions that
	// grant leases need all three; those that only end them, the group).
	EnvScheduleGroup    = "SCHEDULE_GROUP"
	EnvExpireLeaseARN   = "EXPIRE_LEASE_ARN"
	EnvSchedulerRoleARN = "SCHEDULER_ROLE_ARN"
	// EnvApplyScheduleARN is the function a schedule's windows invoke
	// (the function that writes schedules needs it, with
	// SCHEDULER_ROLE_ARN).
	EnvApplyScheduleARN = "APPLY_SCHEDULE_ARN"
)

// Config is the functions' configuration.
type Config struct {
	App        app.Config
	AuditTable string
	LogLevel   slog.Level
	CursorKey  []byte
	// CursorKeyParameter names the SSM parameter holding the cursor key.
	CursorKeyParameter string
	FunctionName       string
	// Grants and Auditors are the GRANTS and AUDITORS mappings.
	Grants, Auditors string
	// EventBus receives the service's events.
	EventBus string
	// Schedules is where lease expiries are scheduled.
	Schedules scheduler.Target
}

// Getenv reads one environment variable.
type Getenv func(string) string

// LoadConfig reads the configuration, failing with a message that names
// the variable when one is invalid.
func LoadConfig(getenv Getenv) (Config, error) {
	cfg := Config{
		App: app.DefaultConfig(), AuditTable: getenv(EnvAuditTable),
		CursorKey: []byte(getenv(EnvCursorKey)), CursorKeyParameter: getenv(EnvCursorKeyParameter),
		FunctionName: getenv("AWS_LAMBDA_FUNCTION_NAME"),
		Grants:       getenv(EnvGrants), Auditors: getenv(EnvAuditors),
		EventBus: getenv(EnvEventBus),
		Schedules: scheduler.Target{
			Group: getenv(EnvScheduleGroup), FunctionARN: getenv(EnvExpireLeaseARN), RoleARN: getenv(EnvSchedulerRoleARN),
			WindowFunctionARN: getenv(EnvApplyScheduleARN),
		},
	}
	if cfg.Grants == "" {
		cfg.Grants = grants.DefaultGrants
	}
	if cfg.Auditors == "" {
		cfg.Auditors = grants.DefaultAuditors
	}
	if _, err := grants.Parse(nil, cfg.Grants, cfg.Auditors); err != nil {
		return Config{}, fmt.Errorf("environment variable %s or %s: %w", EnvGrants, EnvAuditors, err)
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
	}{
		{EnvWaitLimit, &cfg.App.WaitLimit}, {EnvPollInterval, &cfg.App.PollInterval},
		{EnvMaxLease, &cfg.App.Leases.Max}, {EnvDefaultLease, &cfg.App.Leases.Default},
	} {
		if v := getenv(d.name); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return Config{}, fmt.Errorf("environment variable %s: %q is not a positive duration such as 25s", d.name, v)
			}
			*d.dst = parsed
		}
	}
	if d := cfg.App.Leases.Default; d > 0 {
		if err := cfg.App.Leases.Check(d); err != nil {
			return Config{}, fmt.Errorf("environment variable %s: %w", EnvDefaultLease, err)
		}
	}
	return cfg, nil
}

// ConfigFromEnv reads the configuration from the process environment.
func ConfigFromEnv() (Config, error) { return LoadConfig(os.Getenv) }

// NewLogger returns the JSON logger.
func NewLogger(cfg Config) *slog.Logger {
	return lambdafn.Logger(cfg.LogLevel, Service, cfg.FunctionName)
}

// NewAWSConfig loads the SDK configuration from the environment; it makes
// no network call.
func NewAWSConfig(ctx context.Context) (aws.Config, error) { return lambdafn.AWSConfig(ctx) }

// NewDynamoClient returns the DynamoDB client.
func NewDynamoClient(cfg aws.Config) *awsdynamodb.Client { return awsdynamodb.NewFromConfig(cfg) }

// AuditTable returns the DynamoDB audit table of the functions that act:
// they write entries and never page through them, so it has no cursor key.
// AUDIT_TABLE is required.
func AuditTable(client *awsdynamodb.Client, cfg Config) (*dynamodb.Table, error) {
	if cfg.AuditTable == "" {
		return nil, fmt.Errorf("environment variable %s is required (the DynamoDB table of the audit trail)", EnvAuditTable)
	}
	return dynamodb.NewTable(client, cfg.AuditTable), nil
}

// PagedAuditTable returns the DynamoDB audit table of the history
// function, which pages through it: AUDIT_TABLE and CURSOR_SIGNING_KEY
// (at least 16 bytes, the same in every process) are required.
func PagedAuditTable(ctx context.Context, awsCfg aws.Config, client *awsdynamodb.Client, cfg Config) (*dynamodb.Table, error) {
	if cfg.AuditTable == "" {
		return nil, fmt.Errorf("environment variable %s is required (the DynamoDB table of the audit trail)", EnvAuditTable)
	}
	codec, err := lambdafn.RequiredCursors(ctx, awsCfg, cfg.CursorKey, cfg.CursorKeyParameter, "history")
	if err != nil {
		return nil, err
	}
	return dynamodb.NewTable(client, cfg.AuditTable, dynamodb.WithCursors(codec)), nil
}

// InProcessPagedAuditTable returns the DynamoDB audit table of a function
// that pages through it only within one request (readSchedules lists every
// schedule, applySchedule reads histories): its cursors never leave the
// process, so a key drawn at init signs them and no key is read.
func InProcessPagedAuditTable(client *awsdynamodb.Client, cfg Config) (*dynamodb.Table, error) {
	if cfg.AuditTable == "" {
		return nil, fmt.Errorf("environment variable %s is required (the DynamoDB table of the audit trail)", EnvAuditTable)
	}
	return dynamodb.NewTable(client, cfg.AuditTable, dynamodb.WithCursors(pagecursor.NewRandom())), nil
}

// NewAuditLog returns the audit log kept in table.
func NewAuditLog(table ports.Table) *audittable.Log { return audittable.New(table, 0) }

// NewGrants returns what callers may do: the stage's mapping, and the
// grants of API keys kept in table.
func NewGrants(table ports.Table, cfg Config) (*grants.Store, error) {
	return grants.Parse(table, cfg.Grants, cfg.Auditors)
}

// NewInventory returns the read use cases.
func NewInventory(f fleet.Fleet, cfg Config) *app.Inventory { return app.NewInventory(f, cfg.App) }

// NewPower returns the start and stop use cases.
func NewPower(inv *app.Inventory, audit app.AuditLog, g app.Grants, clock ports.Clock, cfg Config, logger *slog.Logger, fx app.Effects) *app.Power {
	return app.NewPower(inv, audit, g, clock, cfg.App, logger, fx)
}

// NewLeaseStore returns the leases, kept in the audit table.
func NewLeaseStore(table ports.Table) *audittable.Leases { return audittable.NewLeases(table) }

// NewLeaseReader returns what GET /instances/{id} shows of a lease and a
// hold.
func NewLeaseReader(store app.LeaseStore, holds app.HoldStore, g app.Grants) *app.LeaseReader {
	return app.NewLeaseReader(store, holds, g)
}

// NewScheduleStore returns the schedules and the holds, kept in the audit
// table.
func NewScheduleStore(table ports.Table) *audittable.Schedules { return audittable.NewSchedules(table) }

// NewScheduleReader returns the schedule use cases of readSchedules.
func NewScheduleReader(store app.ScheduleStore, g app.Grants, clock ports.Clock, logger *slog.Logger) *app.Schedules {
	return app.NewSchedules(store, nil, g, clock, nil, logger)
}

// NewScheduleAdmin returns the schedule use cases of writeSchedules.
func NewScheduleAdmin(store app.ScheduleStore, sched app.Scheduler, g app.Grants, clock ports.Clock, logger *slog.Logger) *app.Schedules {
	return app.NewSchedules(store, sched, g, clock, nil, logger)
}

// NewScheduleRunner returns the schedule use cases of applySchedule.
func NewScheduleRunner(store app.ScheduleStore, sched app.Scheduler, g app.Grants, clock ports.Clock, power *app.Power, logger *slog.Logger) *app.Schedules {
	return app.NewSchedules(store, sched, g, clock, power, logger)
}

// NewScheduler returns the lease expiries' scheduler: SCHEDULE_GROUP is
// required, and a function that grants leases also needs
// EXPIRE_LEASE_ARN and SCHEDULER_ROLE_ARN.
func NewScheduler(awsCfg aws.Config, cfg Config) (*scheduler.Scheduler, error) {
	if cfg.Schedules.Group == "" {
		return nil, fmt.Errorf("environment variable %s is required (the schedule group of the lease expiries)", EnvScheduleGroup)
	}
	return scheduler.New(awsscheduler.NewFromConfig(awsCfg), cfg.Schedules), nil
}

// NewEventBus returns the publisher of the service's events, counting
// those the bus does not take in the function's metrics.
func NewEventBus(awsCfg aws.Config, cfg Config) *eventbridge.Bus {
	return eventbridge.New(awseventbridge.NewFromConfig(awsCfg), cfg.EventBus, metrics.NewEMF(os.Stdout, Service, cfg.FunctionName))
}

// NewHistory returns the history use case.
func NewHistory(audit app.AuditLog, g app.Grants, clock ports.Clock) *app.History {
	return app.NewHistory(audit, g, clock)
}

// NewAPI returns the HTTP API over the use cases a function has.
func NewAPI(deps api.Deps) *api.API { return api.New(deps) }

// Operation names the one operation a function serves.
type Operation string

// NewLambdaHandler returns the API Gateway adapter serving one operation,
// writing request metrics (EMF) to stdout.
func NewLambdaHandler(a *api.API, op Operation, logger *slog.Logger) *apigw.Adapter {
	return lambdafn.Handler(a.Router(string(op)), logger, Service, string(op))
}

// Service is the service's name in metrics and stacks.
const Service = "ec2power"

// Base is what every function builds: configuration, logger, SDK
// configuration, and the transport for its Operation.
var Base = wire.NewSet(ConfigFromEnv, NewLogger, NewAWSConfig, NewAPI, NewLambdaHandler)

// Sets the functions combine (the EC2 fleet's are in ec2wiring, so what
// does not drive EC2 does not compile its client).
var (
	// Clock is the system clock.
	Clock = wire.NewSet(wire.Value(lambdafn.SystemClock{}), wire.Bind(new(ports.Clock), new(lambdafn.SystemClock)))
	// AuditLog is the audit log and the key grants, on the audit table.
	AuditLog = wire.NewSet(NewDynamoClient, NewAuditLog, wire.Bind(new(app.AuditLog), new(*audittable.Log)),
		NewGrants, wire.Bind(new(app.Grants), new(*grants.Store)))
	// OnTable serves ports.Table with the DynamoDB table.
	OnTable = wire.Bind(new(ports.Table), new(*dynamodb.Table))
	// Leases are the lease store on the audit table, and the schedule
	// store with the holds.
	Leases = wire.NewSet(NewLeaseStore, wire.Bind(new(app.LeaseStore), new(*audittable.Leases)),
		NewScheduleStore, wire.Bind(new(app.ScheduleStore), new(*audittable.Schedules)), wire.Bind(new(app.HoldStore), new(*audittable.Schedules)))
	// Scheduling is the EventBridge Scheduler.
	Scheduling = wire.NewSet(NewScheduler, wire.Bind(new(app.Scheduler), new(*scheduler.Scheduler)))
	// Effects are the leases, their EventBridge Scheduler expiries and
	// the EventBridge bus of the events.
	Effects = wire.NewSet(Leases, Scheduling,
		NewEventBus, wire.Bind(new(app.Publisher), new(*eventbridge.Bus)),
		wire.Struct(new(app.Effects), "*"))
)

// ReadHistory builds instanceHistory: the audit log, paged.
var ReadHistory = wire.NewSet(Base, Clock, AuditLog, PagedAuditTable, OnTable, NewHistory, wire.Struct(new(api.Deps), "History"))

// ReadSchedules builds readSchedules: the schedules, read.
var ReadSchedules = wire.NewSet(Base, Clock, AuditLog, InProcessPagedAuditTable, OnTable, NewScheduleStore,
	wire.Bind(new(app.ScheduleStore), new(*audittable.Schedules)), NewScheduleReader, wire.Struct(new(api.Deps), "Schedules"))

// WriteSchedules builds writeSchedules: the schedules and their
// EventBridge schedules.
var WriteSchedules = wire.NewSet(Base, Clock, AuditLog, AuditTable, OnTable, NewScheduleStore,
	wire.Bind(new(app.ScheduleStore), new(*audittable.Schedules)), Scheduling, NewScheduleAdmin, wire.Struct(new(api.Deps), "Schedules"))

// Start builds a function with its injector and serves it; a failure to
// build is one JSON log line naming the cause, and the process exits.
func Start(initialize func(context.Context) (*apigw.Adapter, error)) { lambdafn.Start(initialize) }

// Local builds every operation in one API over the given adapters, from the
// same providers as the functions: the local run and the bench use it with
// the configuration LoadConfig reads. It returns the power use cases too,
// whose lease expiry the local scheduler calls.
func Local(cfg Config, f fleet.Fleet, auditTable ports.Table, clock ports.Clock, logger *slog.Logger, sched app.Scheduler, events app.Publisher) (*api.API, func(context.Context, []byte) error, error) {
	audit := NewAuditLog(auditTable)
	g, err := NewGrants(auditTable, cfg)
	if err != nil {
		return nil, nil, err
	}
	inv := NewInventory(f, cfg)
	leases, schedules := NewLeaseStore(auditTable), NewScheduleStore(auditTable)
	power := NewPower(inv, audit, g, clock, cfg, logger, app.Effects{Leases: leases, Scheduler: sched, Events: events, Holds: schedules})
	runner := NewScheduleRunner(schedules, sched, g, clock, power, logger)
	a := NewAPI(api.Deps{
		Inventory: inv, Power: power, History: NewHistory(audit, g, clock), Leases: NewLeaseReader(leases, schedules, g), Schedules: runner,
	})
	expiry, windows := NewExpiry(power, logger), NewWindows(runner, logger)
	// One scheduler locally: its input says which function it stands for.
	scheduled := func(ctx context.Context, input []byte) error {
		var probe struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(input, &probe) == nil && probe.Action != "" {
			return windows.Handle(ctx, input)
		}
		return expiry.Handle(ctx, input)
	}
	return a, scheduled, nil
}

// Expiry is the expireLease function: what a lease's schedule invokes.
type Expiry struct {
	power  *app.Power
	logger *slog.Logger
}

// NewExpiry returns the lease expiry handler.
func NewExpiry(power *app.Power, logger *slog.Logger) *Expiry {
	return &Expiry{power: power, logger: logger}
}

// Handle is the function's handler: input is the schedule's (a
// domain.LeaseExpiry). Input that is not one is logged and dropped (a
// retry would not mend it); any other failure is returned, so the
// Scheduler retries.
func (e *Expiry) Handle(ctx context.Context, input []byte) error {
	var x domain.LeaseExpiry
	if err := json.Unmarshal(input, &x); err != nil || !domain.ValidInstanceID(x.InstanceID) || x.Schedule == "" {
		e.logger.ErrorContext(ctx, "lease expiry dropped: not an expiry", slog.String("input", string(input)))
		return nil
	}
	if err := e.power.ExpireLease(ctx, x); err != nil {
		e.logger.ErrorContext(ctx, "lease expiry failed; the scheduler retries", slog.String("instance", x.InstanceID), slog.String("schedule", x.Schedule), slog.String("error", err.Error()))
		return err
	}
	return nil
}

// Windows is the applySchedule function: what a schedule's windows invoke
// when they open and close.
type Windows struct {
	schedules *app.Schedules
	logger    *slog.Logger
}

// NewWindows returns the window action handler.
func NewWindows(s *app.Schedules, logger *slog.Logger) *Windows {
	return &Windows{schedules: s, logger: logger}
}

// Handle is the function's handler: input is the schedule's (an
// app.WindowAction). Input that is not one is logged and dropped; any
// other failure is returned, so the Scheduler retries.
func (w *Windows) Handle(ctx context.Context, input []byte) error {
	var a app.WindowAction
	if err := json.Unmarshal(input, &a); err != nil || !domain.ValidScheduleName(a.Schedule) || (a.Action != domain.Start && a.Action != domain.Stop) {
		w.logger.ErrorContext(ctx, "schedule action dropped: not one", slog.String("input", string(input)))
		return nil
	}
	requestID := "schedule-" + a.Schedule
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	if err := w.schedules.Apply(ctx, a, requestID); err != nil {
		w.logger.ErrorContext(ctx, "schedule action failed; the scheduler retries", slog.String("schedule", a.Schedule), slog.String("error", err.Error()))
		return err
	}
	return nil
}

// Handler is what a scheduled function runs on its input.
type Handler interface {
	Handle(ctx context.Context, input []byte) error
}

// StartScheduled builds a function a schedule invokes (expireLease,
// applySchedule) and serves it; a failure to build is one JSON log line
// naming the cause, and the process exits.
func StartScheduled[H Handler](initialize func(context.Context) (H, error)) {
	h, err := initialize(context.Background())
	if err != nil {
		logging.New(os.Stderr, slog.LevelError).Error("function init failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, input json.RawMessage) error { return h.Handle(ctx, input) })
}

// KeyGrants keeps the grants of a stage's API keys in its audit table: the
// deploy tool records one when it issues a key (--groups) and forgets it
// when it revokes the key.
type KeyGrants struct {
	store *grants.Store
}

// NewKeyGrants returns the grants of the stage whose audit table is table.
func NewKeyGrants(cfg aws.Config, table string) (*KeyGrants, error) {
	if table == "" {
		return nil, errors.New("the stack has no AuditTableName output")
	}
	store, err := grants.Parse(dynamodb.NewTable(awsdynamodb.NewFromConfig(cfg), table), "", "")
	if err != nil {
		return nil, err
	}
	return &KeyGrants{store: store}, nil
}

// Grant records that keyID may start and stop the instances of groups
// (comma-separated, "*" for all) and, with audit, see who asked.
func (k *KeyGrants) Grant(ctx context.Context, keyID, consumer, groups string, audit bool) error {
	g, err := grants.ParseGroups(groups)
	if err != nil {
		return fmt.Errorf("--groups: %w", err)
	}
	g.Audit = audit
	return k.store.Record(ctx, keyID, consumer, g)
}

// Revoke forgets the grant of keyID.
func (k *KeyGrants) Revoke(ctx context.Context, keyID string) error {
	return k.store.Revoke(ctx, keyID)
}

// Show describes the grant of keyID.
func (k *KeyGrants) Show(ctx context.Context, keyID string) (string, error) {
	g, found, err := k.store.Lookup(ctx, keyID)
	if err != nil || !found {
		return "groups=none", err
	}
	groups := strings.Join(g.Groups, ",")
	if g.AllGroups {
		groups = "*"
	}
	return fmt.Sprintf("groups=%s audit=%t", groups, g.Audit), nil
}
