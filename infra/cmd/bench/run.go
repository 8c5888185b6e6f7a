package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/infra/localgw"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/infra/workspace"
	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
	claimsapp "github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
	powerdomain "github.com/hexlambda/hexlambda/services/ec2power/domain"
)

type options struct {
	n, inits int
	out      string
	goBench  bool
}

// Budgets, checked by this program. Sizes are absolute (bytes do not
// depend on the machine's load); times are ratios to a reference measured
// in the same run on the same machine, next to each function: the minimal
// aws-lambda-go handler (infra/bench/minfn) for init and warm latency, and
// the same DynamoDB requests sent raw to the same emulator for the moto
// figures. A busy machine slows the reference and the function alike.
const (
	budgetZip     = 4 << 20
	budgetPeakRSS = 20 << 20
	// Init p50 at most 4x the minimal handler's: the AWS SDK configuration,
	// the clients and the routes cost at most three more process starts.
	budgetInitRatio = 4
	// Warm p50 with the memory adapters at most 2x the minimal handler's
	// round trip through the Runtime API.
	budgetWarmRatio = 2
	// Warm p50 on moto at most 10% over the raw requests plus 5 of the
	// minimal handler's round trips (decoding, routing, logging, metrics).
	budgetOverRawRatio = 5
	seedMember         = "M-bench"
	seedClaim          = "01a20090-0000-7000-8000-00000000beef"
	memFleetID         = "i-0000000000abc0001"
	cursorKey          = "bench-cursor-signing-key-0123456789"
	// benchCursorKeyName is the SSM parameter the paging functions read
	// their key from, as deployed (its read is part of their init).
	benchCursorKeyName = "/hexlambda/bench/cursor-signing-key"
	validClaimBody     = `{"memberName":"Bench","policyId":"P-1","policyType":"PPO","amount":100,"currency":"USD"}`
)

// Result is one function's figures.
type Result struct {
	Service      string  `json:"service"`
	Function     string  `json:"function"`
	BootstrapMB  float64 `json:"bootstrapMB"`
	ZipMB        float64 `json:"zipMB"`
	InitP50ms    float64 `json:"initP50ms"`
	InitP95ms    float64 `json:"initP95ms"`
	FirstMs      float64 `json:"firstInvocationMs"`
	MemP50ms     float64 `json:"warmMemoryP50ms"`
	MemP99ms     float64 `json:"warmMemoryP99ms"`
	MotoP50ms    float64 `json:"warmMotoP50ms"`
	MotoP99ms    float64 `json:"warmMotoP99ms"`
	PeakRSSMB    float64 `json:"peakRSSMB"`
	AWSCalls     string  `json:"awsCalls"`
	Event        string  `json:"event"`
	RefInitP50ms float64 `json:"referenceInitP50ms"`
	RefWarmP50ms float64 `json:"referenceWarmP50ms"`
	zipBytes     int
	initP50      time.Duration
	memP50       time.Duration
	motoP50      time.Duration
	refInitP50   time.Duration
	refWarmP50   time.Duration
	peakRSSBytes int64
}

// Report is everything measured.
type Report struct {
	Machine     string             `json:"machine"`
	When        string             `json:"when"`
	RawP50      map[string]float64 `json:"rawDynamoDBRequestP50ms"`
	NodeInitP50 float64            `json:"nodeReferenceInitP50ms,omitempty"`
	NodeInitP95 float64            `json:"nodeReferenceInitP95ms,omitempty"`
	NodeSkipped string             `json:"nodeReferenceSkipped,omitempty"`
	Results     []Result           `json:"functions"`
	Calls       map[string]string  `json:"awsCallsPerOperation"`
	GoBench     []string           `json:"goBenchmarks"`
	Violations  []string           `json:"violations"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s), %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, runtime.Version())
}

func run(ctx context.Context, o options) (int, error) {
	root, err := workspace.Root()
	if err != nil {
		return 0, err
	}
	log := os.Stderr
	work, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return 0, fmt.Errorf("work directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(work) }()
	rep := Report{Machine: machine(), When: time.Now().UTC().Format(time.RFC3339), Calls: map[string]string{}}

	// Sizes as deployed (arm64), and binaries for this machine to run.
	arm, _ := deploy.ParseArch("arm64")
	host, _ := deploy.ParseArch("host")
	sizes := map[string][2]int{}
	for _, name := range stacks.Names() {
		svc, _ := stacks.Lookup(name)
		if _, err := deploy.Build(ctx, root, filepath.Join(work, "arm64"), svc, arm, io.Discard); err != nil {
			return 0, err
		}
		arts, err := deploy.Package(filepath.Join(work, "arm64"), svc)
		if err != nil {
			return 0, err
		}
		for _, a := range arts {
			st, _ := os.Stat(a.Binary)
			sizes[a.Operation] = [2]int{int(st.Size()), len(a.Zip)}
		}
		if _, err := deploy.Build(ctx, root, filepath.Join(work, "host"), svc, host, io.Discard); err != nil {
			return 0, err
		}
	}
	memfn := filepath.Join(work, "memfn", "bootstrap")
	minfn := filepath.Join(work, "minfn", "bootstrap")
	for _, b := range [][2]string{{memfn, "./infra/bench/memfn"}, {minfn, "./infra/bench/minfn"}} {
		build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", b[0], b[1]) //nolint:gosec // fixed packages
		build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("build %s: %w\n%s", b[1], err, out)
		}
	}
	ref := localgw.Function{Name: "minfn", Dir: filepath.Dir(minfn), Timeout: 30 * time.Second, Memory: 128}
	_, _ = fmt.Fprintln(log, "built the functions")

	// The emulator, with the tables, a claim and an instance.
	ep, err := awstest.Find()
	if err != nil {
		return 0, err
	}
	defer awstest.Stop()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(awstest.Region), config.WithBaseEndpoint(ep),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("bench", "bench", "")))
	if err != nil {
		return 0, fmt.Errorf("AWS configuration: %w", err)
	}
	ddb := awsdynamodb.NewFromConfig(cfg)
	for _, t := range []string{"bench-claims", "bench-audit"} {
		if err := dynamodb.EnsureTable(ctx, ddb, t); err != nil {
			return 0, err
		}
	}
	codec, _ := pagecursor.New([]byte(cursorKey))
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(benchCursorKeyName), Value: aws.String(cursorKey), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	}); err != nil {
		return 0, fmt.Errorf("cursor key: %w", err)
	}
	seed := claimsapp.NewService(claimstore.New(dynamodb.NewTable(ddb, "bench-claims")), lambdafn.SystemClock{}, fixedID(seedClaim))
	if _, err := seed.Create(ctx, seedMember, domain.Details{MemberName: "Bench", PolicyID: "P-1", PolicyType: "PPO", Amount: 100, Currency: "USD"}, claimsapp.Actor{RequestID: "seed"}); err != nil {
		return 0, fmt.Errorf("seed claim: %w", err)
	}
	ec2c := awsec2.NewFromConfig(cfg)
	motoInstance, err := ec2test.RunInstance(ctx, ec2c, map[string]string{powerdomain.DefaultSelector.ManagedKey: powerdomain.DefaultSelector.ManagedValue, powerdomain.DefaultSelector.GroupKey: "bench"}, false)
	if err != nil {
		return 0, fmt.Errorf("seed instance: %w", err)
	}

	rawTable := dynamodb.NewTable(ddb, "bench-claims", dynamodb.WithCursors(codec))
	rawP50 := map[string]time.Duration{}
	rep.RawP50 = map[string]float64{}

	creds, _ := cfg.Credentials.Retrieve(ctx)
	baseEnv := []string{"AWS_REGION=" + cfg.Region, "AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
		"AWS_ENDPOINT_URL=" + ep, "PATH=/usr/bin:/bin"}
	calls, err := countCalls(ctx, cfg, motoInstance)
	if err != nil {
		return 0, err
	}
	rep.Calls = calls
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))

	for _, name := range stacks.Names() {
		svc, _ := stacks.Lookup(name)
		for _, f := range svc.Functions {
			if f.Internal {
				// Invoked by a schedule with its own input, not by an API
				// Gateway event: not measured here.
				continue
			}
			r := Result{Service: name, Function: f.Operation, AWSCalls: calls[f.Operation]}
			sz := sizes[f.Operation]
			r.BootstrapMB, r.ZipMB, r.zipBytes = float64(sz[0])/1e6, float64(sz[1])/1e6, sz[1]
			memEvent, motoEvent := events4(f.Operation, motoInstance)
			r.Event = memEvent.HTTPMethod + " " + memEvent.Path
			env := functionEnv(f)
			if own, ok := ownAuditTable[f.Operation]; ok {
				if err := dynamodb.EnsureTable(ctx, ddb, own); err != nil {
					return 0, err
				}
				env["AUDIT_TABLE"] = own
			}
			real := localgw.Function{Name: name + "-bench-" + f.Operation, Dir: filepath.Join(work, "host", name, f.Operation), Env: env, Timeout: 30 * time.Second, Memory: 128}
			// The memory build reads the same configuration as the deployed one.
			memEnv := map[string]string{"BENCH_SERVICE": name, "BENCH_OPERATION": f.Operation}
			for k, v := range env {
				memEnv[k] = v
			}
			mem := localgw.Function{Name: "memfn", Dir: filepath.Dir(memfn), Env: memEnv, Timeout: 30 * time.Second, Memory: 128}

			// The reference's fresh processes alternate with the function's,
			// so both see the same machine.
			var inits, firsts, refInits []time.Duration
			for range o.inits {
				ri, err := firstInvocation(ctx, ref, baseEnv, mustJSON(motoEvent), logger)
				if err != nil {
					return 0, fmt.Errorf("reference init: %w", err)
				}
				refInits = append(refInits, ri.Init)
				info, err := firstInvocation(ctx, real, baseEnv, mustJSON(motoEvent), logger)
				if err != nil {
					return 0, fmt.Errorf("%s first invocation: %w", f.Operation, err)
				}
				inits = append(inits, info.Init)
				firsts = append(firsts, info.Init+info.Duration)
			}
			r.initP50, r.refInitP50 = percentile(inits, 0.5), percentile(refInits, 0.5)
			r.RefInitP50ms = ms(r.refInitP50)
			refWarm, _, err := warm(ctx, ref, baseEnv, memEvent, o.n, logger)
			if err != nil {
				return 0, fmt.Errorf("reference warm: %w", err)
			}
			r.refWarmP50 = percentile(refWarm, 0.5)
			r.RefWarmP50ms = ms(r.refWarmP50)
			r.InitP50ms, r.InitP95ms, r.FirstMs = ms(r.initP50), ms(percentile(inits, 0.95)), ms(percentile(firsts, 0.5))

			memWarm, _, err := warm(ctx, mem, baseEnv, memEvent, o.n, logger)
			if err != nil {
				return 0, fmt.Errorf("%s memory: %w", f.Operation, err)
			}
			motoWarm, rss, err := warm(ctx, real, baseEnv, motoEvent, o.n, logger)
			if err != nil {
				return 0, fmt.Errorf("%s moto: %w", f.Operation, err)
			}
			r.memP50, r.motoP50, r.peakRSSBytes = percentile(memWarm, 0.5), percentile(motoWarm, 0.5), rss
			r.MemP50ms, r.MemP99ms = ms(r.memP50), ms(percentile(memWarm, 0.99))
			r.MotoP50ms, r.MotoP99ms = ms(r.motoP50), ms(percentile(motoWarm, 0.99))
			r.PeakRSSMB = float64(rss) / (1 << 20)
			// The same DynamoDB request, sent straight to the emulator in
			// the same state, for comparison.
			if d, ok, err := rawRequest(ctx, rawTable, f.Operation); err != nil {
				return 0, err
			} else if ok {
				rawP50[f.Operation], rep.RawP50[f.Operation] = d, ms(d)
			}
			rep.Results = append(rep.Results, r)
			_, _ = fmt.Fprintf(log, "measured %s/%s\n", name, f.Operation)
		}
	}
	nodeInits, skipped, err := nodeReference(ctx, root, work, baseEnv, o.inits)
	if err != nil {
		return 0, err
	}
	rep.NodeSkipped = skipped
	nodeP50 := percentile(nodeInits, 0.5)
	if len(nodeInits) > 0 {
		rep.NodeInitP50, rep.NodeInitP95 = ms(nodeP50), ms(percentile(nodeInits, 0.95))
	}
	if o.goBench {
		rep.GoBench, err = goBenchmarks(ctx, root)
		if err != nil {
			return 0, err
		}
	}
	rep.Violations = violations(rep, rawP50)
	if err := write(o.out, rep); err != nil {
		return 0, err
	}
	fmt.Print(markdown(rep))
	if len(rep.Violations) > 0 {
		return 1, nil
	}
	return 0, nil
}

type fixedID string

func (f fixedID) NewID() string { return string(f) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// ownAuditTable gives each function that starts or stops an audit table
// of its own: each of its invocations opens and completes an entry in a
// transaction, and moto's transactions copy the whole table, so a table
// shared by a thousand starts and then a thousand stops makes the stops
// measure moto (and grows it past 20 GB).
var ownAuditTable = map[string]string{
	"startInstance": "bench-audit-start", "stopInstance": "bench-audit-stop", "releaseLease": "bench-audit-release",
}

// functionEnv is the function's environment as deployed, with the bench's
// tables; no emulator address is in it but AWS_ENDPOINT_URL.
func functionEnv(f cfn.Function) map[string]string {
	env := map[string]string{}
	for k := range f.Env {
		switch k {
		case "TABLE_NAME":
			env[k] = "bench-claims"
		case "AUDIT_TABLE":
			env[k] = "bench-audit"
		case "CURSOR_KEY_PARAMETER":
			env[k] = benchCursorKeyName
		case "DEFAULT_CURRENCY":
			env[k] = "USD"
		case "LOG_LEVEL":
			env[k] = "info"
		case "MANAGED_TAG":
			env[k] = powerdomain.DefaultSelector.ManagedKey + "=" + powerdomain.DefaultSelector.ManagedValue
		case "GROUP_TAG_KEY":
			env[k] = powerdomain.DefaultSelector.GroupKey
		case "WAIT_LIMIT":
			env[k] = "25s"
		case "GRANTS":
			env[k] = "*=*"
		case "AUDITORS":
			env[k] = "*"
		case "SCHEDULE_GROUP":
			env[k] = "bench"
		case "EVENT_BUS":
			env[k] = "default"
		case "EXPIRE_LEASE_ARN":
			env[k] = "arn:aws:lambda:us-east-1:123456789012:function:bench-expireLease"
		case "APPLY_SCHEDULE_ARN":
			env[k] = "arn:aws:lambda:us-east-1:123456789012:function:bench-applySchedule"
		case "SCHEDULER_ROLE_ARN":
			env[k] = "arn:aws:iam::123456789012:role/bench-scheduler"
		case "MAX_LEASE":
			env[k] = "12h"
		case "ROLE_MAP":
			// The bench calls with an API key; let it act in every role.
			env[k] = "intake=*;adjuster=*;payments=*;auditor=*"
		}
	}
	return env
}

// events4 returns each operation's benchmark request, for the memory
// function and for the deployed one on moto.
func events4(op, motoInstance string) (memory, moto events.APIGatewayProxyRequest) {
	ev := func(method, path, query, body string, instance string) events.APIGatewayProxyRequest {
		path = strings.ReplaceAll(path, "{i}", instance)
		e := events.APIGatewayProxyRequest{HTTPMethod: method, Path: path, Body: body,
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}, "User-Agent": {"bench"}},
			RequestContext:    events.APIGatewayProxyRequestContext{RequestID: "bench", Stage: "bench", Identity: events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1", APIKeyID: "bench"}}}
		if strings.HasSuffix(path, "/approve") || strings.HasSuffix(path, "/reject") || strings.HasSuffix(path, "/pay") || strings.HasSuffix(path, "/withdraw") {
			e.MultiValueHeaders["If-Match"] = []string{`"99"`}
		}
		if query != "" {
			e.MultiValueQueryStringParameters = map[string][]string{}
			for _, kv := range strings.Split(query, "&") {
				k, v, _ := strings.Cut(kv, "=")
				e.MultiValueQueryStringParameters[k] = []string{v}
			}
		}
		return e
	}
	var method, path, query, body string
	switch op {
	case "createClaim":
		method, path, body = "POST", "/members/"+seedMember+"-create/claims", validClaimBody
	case "getClaim":
		method, path = "GET", "/members/"+seedMember+"/claims/"+seedClaim
	case "listClaims":
		method, path, query = "GET", "/members/"+seedMember+"/claims", "limit=20"
	case "updateClaim":
		method, path, query, body = "PUT", "/claim/"+seedClaim, "memberId="+seedMember, `{"policyType":"PPO","claimAmount":1,"status":"pending"}`
	case "deleteClaim":
		method, path = "DELETE", "/members/"+seedMember+"/claims/01a20090-0000-7000-8000-000000000000"
	case "approveClaim", "rejectClaim", "payClaim", "withdrawClaim":
		// A decision on a version long gone: read, compare, refuse (412),
		// every time alike. A decision that writes costs what updateClaim's
		// first run costs: one read and one transaction.
		decision := strings.TrimSuffix(op, "Claim")
		method, path, body = "POST", "/members/"+seedMember+"/claims/"+seedClaim+"/"+decision, `{}`
		if decision == "reject" {
			body = `{"reason":"bench"}`
		}
		if decision == "pay" {
			body = `{"paymentReference":"PAY-1"}`
		}
	case "claimHistory":
		method, path, query = "GET", "/members/"+seedMember+"/claims/"+seedClaim+"/history", "limit=20"
	case "describeInstances":
		method, path = "GET", "/instances/{i}"
	case "startInstance":
		method, path = "POST", "/instances/{i}/start"
	case "stopInstance":
		method, path, query = "POST", "/instances/{i}/stop", "dryRun=true"
	case "instanceHistory":
		method, path, query = "GET", "/instances/{i}/history", "limit=20"
	case "extendLease":
		// The instance holds no lease: read it, refuse (404), every time alike.
		method, path, query = "POST", "/instances/{i}/lease", "extend=30m"
	case "releaseLease":
		method, path = "DELETE", "/instances/{i}/lease"
	case "holdInstance":
		// No hold to end: read, refuse (404), every time alike.
		method, path = "DELETE", "/instances/{i}/hold"
	case "readSchedules":
		method, path = "GET", "/schedules"
	case "writeSchedules":
		method, path = "DELETE", "/schedules/bench-none"
	}
	return ev(method, path, query, body, memFleetID), ev(method, path, query, body, motoInstance)
}

// firstInvocation starts one fresh process of fn and invokes it once with
// payload: its init and first invocation times.
func firstInvocation(ctx context.Context, fn localgw.Function, env []string, payload []byte, logger *slog.Logger) (localgw.Invocation, error) {
	p := localgw.NewPool(fn, 1, env, nil, logger)
	defer p.Close()
	_, info, err := p.Invoke(ctx, payload)
	if err != nil {
		return info, fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	return info, nil
}

func warm(ctx context.Context, fn localgw.Function, env []string, ev events.APIGatewayProxyRequest, n int, logger *slog.Logger) ([]time.Duration, int64, error) {
	p := localgw.NewPool(fn, 1, env, nil, logger)
	defer p.Close()
	payload := mustJSON(ev)
	out, _, err := p.Invoke(ctx, payload)
	if err != nil {
		return nil, 0, err
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode >= 500 {
		return nil, 0, fmt.Errorf("unexpected answer %s", out)
	}
	ds := make([]time.Duration, 0, n)
	for range n {
		_, info, err := p.Invoke(ctx, payload)
		if err != nil {
			return nil, 0, err
		}
		ds = append(ds, info.Duration)
	}
	return ds, p.PeakRSS(), nil
}

// rawRequest times the DynamoDB requests a claims operation makes, sent
// directly (p50 of 200); ok is false for other operations.
func rawRequest(ctx context.Context, t *dynamodb.Table, op string) (time.Duration, bool, error) {
	key := claimstore.Key(seedMember, seedClaim)
	svc := claimsapp.NewService(claimstore.New(t), lambdafn.SystemClock{}, claimsproviders.UUIDv7{})
	ops := map[string]func() error{
		"getClaim": func() error { _, err := t.Get(ctx, key); return err },
		"listClaims": func() error {
			_, err := t.Query(ctx, ports.Query{Partition: key.Partition, SortPrefix: "CLAIM#", Limit: 20})
			return err
		},
		// A write is the claims store's own requests, the same the function
		// makes: a create is one transaction (the claim and its first
		// history entry); a replace reads the claim, then writes it and its
		// history entry in one transaction when anything changed.
		"updateClaim": func() error {
			ppo, amount := "PPO", int64(100)
			_, err := svc.Replace(ctx, seedMember, seedClaim, domain.Edit{PolicyType: &ppo, Amount: &amount}, domain.StatusPending, claimsapp.Actor{RequestID: "raw"})
			return err
		},
		"createClaim": func() error {
			_, err := svc.Create(ctx, "raw", domain.Details{MemberName: "Bench", PolicyID: "P-1", PolicyType: "PPO", Amount: 100, Currency: "USD"}, claimsapp.Actor{RequestID: "raw"})
			return err
		},
		"deleteClaim": func() error {
			err := t.Delete(ctx, ports.Key{Partition: key.Partition, Sort: claimstore.Key(seedMember, "missing").Sort}, 0)
			if errors.Is(err, ports.ErrNotFound) {
				return nil
			}
			return err
		},
	}
	f, ok := ops[op]
	if !ok {
		return 0, false, nil
	}
	var ds []time.Duration
	for range 200 {
		start := time.Now()
		if err := f(); err != nil {
			return 0, false, fmt.Errorf("raw %s: %w", op, err)
		}
		ds = append(ds, time.Since(start))
	}
	return percentile(ds, 0.5), true, nil
}

func violations(rep Report, rawP50 map[string]time.Duration) []string {
	var v []string
	for _, r := range rep.Results {
		id := r.Service + "/" + r.Function
		if r.zipBytes > budgetZip {
			v = append(v, fmt.Sprintf("%s: zip %d bytes > %d bytes", id, r.zipBytes, budgetZip))
		}
		if r.peakRSSBytes > budgetPeakRSS {
			v = append(v, fmt.Sprintf("%s: peak RSS %d bytes > %d bytes", id, r.peakRSSBytes, budgetPeakRSS))
		}
		if r.refInitP50 > 0 && r.initP50 > budgetInitRatio*r.refInitP50 {
			v = append(v, fmt.Sprintf("%s: init p50 %.2f ms is more than %dx the minimal handler's %.2f ms, measured beside it", id, r.InitP50ms, budgetInitRatio, r.RefInitP50ms))
		}
		if r.refWarmP50 > 0 && r.memP50 > budgetWarmRatio*r.refWarmP50 {
			v = append(v, fmt.Sprintf("%s: warm p50 with memory adapters %.3f ms is more than %dx the minimal handler's %.3f ms, measured beside it", id, r.MemP50ms, budgetWarmRatio, r.RefWarmP50ms))
		}
		// The emulator's own cost grows with the table (moto scans), so the
		// function is judged against the raw requests sent beside it.
		if raw, ok := rawP50[r.Function]; ok && r.motoP50 > raw+raw/10+budgetOverRawRatio*r.refWarmP50 {
			v = append(v, fmt.Sprintf("%s: warm p50 on moto %.2f ms is more than 10%% + %dx the minimal handler's round trip (%.3f ms) over its raw DynamoDB requests (%.2f ms)",
				id, r.MotoP50ms, budgetOverRawRatio, r.RefWarmP50ms, ms(raw)))
		}
	}
	// Every claims write records its history entry atomically: a read is
	// one request, a create one transaction, a change one read and one
	// transaction.
	readThenWrite := "2 calls: DynamoDB.GetItem×1, DynamoDB.TransactWriteItems×1"
	for op, want := range map[string]string{
		"getClaim": "1 call: DynamoDB.GetItem×1", "createClaim": "1 call: DynamoDB.TransactWriteItems×1",
		"updateClaim": readThenWrite, "deleteClaim": readThenWrite, "legacyUpdateClaim": readThenWrite,
	} {
		if c := rep.Calls[op]; c != "" && c != want {
			v = append(v, fmt.Sprintf("claims/%s: %s, not %s", op, c, want))
		}
	}
	return v
}
