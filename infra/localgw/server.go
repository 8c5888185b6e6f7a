package localgw

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Target is one API stage to serve.
type Target struct {
	APIID string
	Stage string
	// Addr is the listen address (default 127.0.0.1:0, a free port).
	Addr string
	// Stack is the stack that deployed the API, if known: where the
	// emulator drops the API's resource policy or endpoint type, the
	// gateway enforces the ones its template declares.
	Stack string
}

// VpcEndpoint is an execute-api interface endpoint the gateway stands in
// for: a request arriving on its listener comes through it (aws:SourceVpce,
// aws:SourceVpc), addressed to a private API by the API's host name
// (API_ID.execute-api.REGION.amazonaws.com, or the Route 53 alias
// API_ID-VPCE_ID.execute-api...) or by an x-apigw-api-id header.
type VpcEndpoint struct {
	ID    string
	VpcID string
	// Addr is the listen address (default 127.0.0.1:0).
	Addr string
}

// TargetFromStack finds the REST API (logical id Api) and the Stage
// parameter of a stack deployed by the deploy tool.
func TargetFromStack(ctx context.Context, cf *cloudformation.Client, stack string) (Target, error) {
	apiID, err := StackResource(ctx, cf, stack, "Api")
	if err != nil {
		return Target{}, fmt.Errorf("%w: %w", ErrNoAPI, err)
	}
	st, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil || len(st.Stacks) == 0 {
		return Target{}, fmt.Errorf("stack %s: %w", stack, err)
	}
	t := Target{APIID: apiID, Stack: stack}
	for _, p := range st.Stacks[0].Parameters {
		if aws.ToString(p.ParameterKey) == "Stage" {
			t.Stage = aws.ToString(p.ParameterValue)
		}
	}
	if t.Stage == "" {
		return Target{}, fmt.Errorf("stack %s has no Stage parameter", stack)
	}
	return t, nil
}

// StackResource returns the physical id of a stack's resource.
func StackResource(ctx context.Context, cf *cloudformation.Client, stack, logicalID string) (string, error) {
	out, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stack)})
	if err != nil {
		return "", fmt.Errorf("resources of %s: %w", stack, err)
	}
	for _, r := range out.StackResources {
		if aws.ToString(r.LogicalResourceId) == logicalID && aws.ToString(r.PhysicalResourceId) != "" {
			return aws.ToString(r.PhysicalResourceId), nil
		}
	}
	return "", fmt.Errorf("stack %s has no resource %s", stack, logicalID)
}

// whoIs asks the emulator's STS which principal credentials belong to.
func whoIs(ctx context.Context, cfg aws.Config, c aws.Credentials) (Principal, error) {
	cfg = cfg.Copy()
	cfg.Credentials = credentials.StaticCredentialsProvider{Value: c}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Principal{}, fmt.Errorf("identity of access key %s: %w", c.AccessKeyID, err)
	}
	return Principal{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken,
		ARN: aws.ToString(out.Arn), ID: aws.ToString(out.UserId), Account: aws.ToString(out.Account),
	}, nil
}

// Runtimes names the ways to run functions: LOCALGW_RUNTIME, or the
// localgw command's --runtime.
const (
	RuntimeProcess   = "process"
	RuntimeContainer = "container"
	// EnvRuntime picks the runtime of the local gateways tools start.
	EnvRuntime = "LOCALGW_RUNTIME"
)

// Config configures a local gateway.
type Config struct {
	AWS aws.Config
	// Endpoint is the emulator's endpoint (AWS_ENDPOINT_URL), passed to the
	// functions as theirs.
	Endpoint string
	Targets  []Target
	// CodeBuckets may hold function code by the key of its location.
	CodeBuckets []string
	// CacheDir keeps unpacked code (default: a temporary directory).
	CacheDir string
	// MaxProcesses bounds each function's concurrent processes (default 4).
	MaxProcesses int
	// AccountID appears in request contexts (default 123456789012).
	AccountID string
	Logger    *slog.Logger
	// FunctionOutput receives the functions' own logs (default: discarded).
	FunctionOutput io.Writer
	// Callers are more SigV4 identities the gateway accepts on AWS_IAM
	// methods beside its own credentials': tests use them to call as
	// callers of different roles. Each is the principal the emulator's STS
	// names for it (GetCallerIdentity), as API Gateway would name it.
	Callers []aws.Credentials
	// FunctionRoles runs each function with credentials of its own
	// execution role, assumed through the emulator's STS, instead of the
	// gateway's own.
	FunctionRoles bool
	// Containers, when set, runs the functions in its containers instead
	// of processes of this host (LOCALGW_RUNTIME=container).
	Containers *ContainerRuntime
	// RecordCalls puts a CallRecorder between the functions and Endpoint
	// (with FunctionRoles, it tells the functions' calls apart).
	RecordCalls bool
	// Endpoints are the VPC endpoints to stand in for, each on its own
	// listener, through which the targets' private APIs are reached.
	Endpoints []VpcEndpoint
	// ScheduleInterval, when set, fires the emulator's due one-time
	// schedules that target the stacks' functions at this interval, as
	// EventBridge Scheduler would (see Schedules). The functions no route
	// serves run for them too.
	ScheduleInterval time.Duration
}

// Server is a running local gateway.
type Server struct {
	// URLs maps each API id to its stage's base URL (http://host:port/STAGE).
	URLs     map[string]string
	Gateways map[string]*Gateway
	Pools    map[string]*Pool
	// Schedules fires due schedules when Config.ScheduleInterval is set.
	Schedules *Schedules
	// Recorder holds the functions' AWS calls when Config.RecordCalls.
	Recorder *CallRecorder
	// EndpointURLs maps each VPC endpoint id to its listener's base URL
	// (http://host:port; the stage is the path's first segment).
	EndpointURLs map[string]string
	servers      []*http.Server
	cacheDir     string
	ownCache     bool
	stop         context.CancelFunc
	done         chan struct{}
}

// Start discovers the targets, fetches their functions' code and serves
// each API stage on its own loopback listener.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	if cfg.MaxProcesses == 0 {
		cfg.MaxProcesses = 4
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	s := &Server{URLs: map[string]string{}, EndpointURLs: map[string]string{}, Gateways: map[string]*Gateway{}, Pools: map[string]*Pool{}, cacheDir: cfg.CacheDir}
	if s.cacheDir == "" {
		dir, err := os.MkdirTemp("", "localgw-")
		if err != nil {
			return nil, fmt.Errorf("code cache: %w", err)
		}
		s.cacheDir, s.ownCache = dir, true
	}
	creds, err := cfg.AWS.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials for the functions: %w", err)
	}
	// Every function's environment but its credentials.
	env := []string{
		"AWS_REGION=" + cfg.AWS.Region, "AWS_DEFAULT_REGION=" + cfg.AWS.Region,
		"PATH=/usr/local/bin:/usr/bin:/bin",
	}
	if cfg.RecordCalls && cfg.Endpoint != "" {
		rec, err := NewCallRecorder(ctx, cfg.Endpoint)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("call recorder: %w", err)
		}
		rec.Account = cfg.AccountID
		s.Recorder = rec
		env = append(env, "AWS_ENDPOINT_URL="+rec.URL())
	} else if cfg.Endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+cfg.Endpoint)
	}
	gw := apigateway.NewFromConfig(cfg.AWS)
	lam := lambda.NewFromConfig(cfg.AWS)
	code := CodeSource{
		S3:       s3.NewFromConfig(cfg.AWS, func(o *s3.Options) { o.UsePathStyle = o.BaseEndpoint != nil }),
		Endpoint: cfg.Endpoint, Buckets: cfg.CodeBuckets, CacheDir: filepath.Join(s.cacheDir, "code"),
		HTTP: &http.Client{Timeout: time.Minute},
	}
	iam := &IAMVerifier{Region: cfg.AWS.Region, Principals: map[string]Principal{}}
	for _, c := range append([]aws.Credentials{creds}, cfg.Callers...) {
		p, err := whoIs(ctx, cfg.AWS, c)
		if err != nil {
			s.Close()
			return nil, err
		}
		iam.Principals[c.AccessKeyID] = p
	}
	// pool runs a function: its code, in processes with its role's
	// credentials (or the gateway's) and its environment.
	pool := func(fc FunctionConfig) (*Pool, error) {
		dir, err := code.Fetch(ctx, fc)
		if err != nil {
			return nil, err
		}
		fnCreds := creds
		if cfg.FunctionRoles {
			if fnCreds, err = s.roleCredentials(ctx, cfg, fc); err != nil {
				return nil, err
			}
		}
		fnEnv := append(slices.Clone(env), credentialEnv(fnCreds)...)
		p := NewPool(Function{Name: fc.Name, ARN: fc.ARN, Dir: dir, Env: fc.Env, Timeout: fc.Timeout, Memory: fc.Memory},
			cfg.MaxProcesses, fnEnv, prefixed(cfg.FunctionOutput, fc.Name), cfg.Logger)
		if cfg.Containers != nil {
			p.InContainers(cfg.Containers)
		}
		s.Pools[fc.Name] = p
		return p, nil
	}
	scheduled := map[string]Invoker{} // every function, by ARN
	for _, t := range cfg.Targets {
		api, err := Discover(ctx, gw, lam, t.APIID)
		if err != nil {
			s.Close()
			return nil, err
		}
		invokers := map[string]Invoker{}
		for arn, fc := range api.Functions {
			p, err := pool(fc)
			if err != nil {
				s.Close()
				return nil, err
			}
			invokers[arn], scheduled[arn] = p, p
		}
		if cfg.ScheduleInterval > 0 && t.Stack != "" {
			// The stack's functions no route serves: what its schedules
			// invoke.
			names, err := stackFunctions(ctx, cloudformation.NewFromConfig(cfg.AWS), t.Stack)
			if err != nil {
				s.Close()
				return nil, err
			}
			for _, name := range names {
				if _, ok := s.Pools[name]; ok {
					continue
				}
				fc, err := ReadFunction(ctx, lam, name)
				if err == nil {
					var p *Pool
					if p, err = pool(fc); err == nil {
						scheduled[fc.ARN] = p
					}
				}
				if err != nil {
					s.Close()
					return nil, err
				}
			}
		}
		watch, err := NewWatch(ctx, gw, t.APIID, time.Second, func(ctx context.Context) (API, error) {
			return Discover(ctx, gw, lam, t.APIID)
		})
		if err != nil {
			s.Close()
			return nil, err
		}
		g := NewGateway(api, t.Stage, cfg.AccountID, invokers, NewKeyStore(gw, t.APIID, t.Stage), iam, cfg.Logger).WithWatch(watch)
		if t.Stack != "" && api.Policy == nil {
			declared, err := ReadStackAPI(ctx, cloudformation.NewFromConfig(cfg.AWS), t.Stack)
			if err != nil {
				s.Close()
				return nil, err
			}
			g.WithStackAPI(declared)
		}
		// The stage's throttle, where the emulator keeps the stage and its
		// method settings (a plain moto keeps neither for a stage
		// CloudFormation made: the stage is then throttled by nothing but
		// usage plans), followed as it changes.
		throttle, err := ReadStageThrottle(ctx, gw, t.APIID, t.Stage)
		if err != nil {
			cfg.Logger.Warn("stage settings unknown: no stage throttle", slog.String("apiId", t.APIID), slog.String("stage", t.Stage), slog.String("error", err.Error()))
		}
		g.WithStageThrottle(throttle.Rate, throttle.Burst)
		watch.FollowStage(t.Stage, throttle)
		base, err := s.serve(ctx, t.Addr, g)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("listen for %s: %w", api.Name, err)
		}
		s.Gateways[t.APIID] = g
		s.URLs[t.APIID] = base + "/" + t.Stage
		cfg.Logger.Info("serving", slog.String("api", api.Name), slog.String("apiId", api.ID), slog.String("url", s.URLs[t.APIID]), slog.Int("routes", len(api.Routes)))
	}
	for _, ep := range cfg.Endpoints {
		if err := s.serveEndpoint(ctx, ep, cfg.Logger); err != nil {
			s.Close()
			return nil, err
		}
	}
	if cfg.ScheduleInterval > 0 {
		s.Schedules = NewSchedules(scheduler.NewFromConfig(cfg.AWS), scheduled, cfg.Logger)
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		s.stop, s.done = stop, make(chan struct{})
		go func() {
			defer close(s.done)
			s.Schedules.Run(runCtx, cfg.ScheduleInterval)
		}()
	}
	return s, nil
}

// stackFunctions lists the names of a stack's Lambda functions.
func stackFunctions(ctx context.Context, cf *cloudformation.Client, stack string) ([]string, error) {
	var names []string
	p := cloudformation.NewListStackResourcesPaginator(cf, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the resources of %s: %w", stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			if aws.ToString(r.ResourceType) == "AWS::Lambda::Function" {
				names = append(names, aws.ToString(r.PhysicalResourceId))
			}
		}
	}
	return names, nil
}

// serve serves h on addr (default 127.0.0.1:0, a free port) until Close,
// and returns its base URL. A request is read within 30 s and answered
// within API Gateway's 29 s integration limit plus a margin; idle
// connections close.
func (s *Server) serve(ctx context.Context, addr string, h http.Handler) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 40 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	go func() { _ = srv.Serve(ln) }()
	s.servers = append(s.servers, srv)
	return "http://" + ln.Addr().String(), nil
}

// serveEndpoint listens as a VPC endpoint: requests are passed to the
// private API they name, marked as coming through the endpoint.
func (s *Server) serveEndpoint(ctx context.Context, ep VpcEndpoint, logger *slog.Logger) error {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g, ok := s.Gateways[EndpointAPI(r, ep.ID)]
		if !ok || !g.Private() {
			// An endpoint with private DNS reaches private APIs only; API
			// Gateway does not say whether another API exists.
			message(w, http.StatusForbidden, "Forbidden", "X-Amzn-Errortype", "ForbiddenException")
			return
		}
		g.ServeHTTP(w, WithSource(r, Source{Vpce: ep.ID, Vpc: ep.VpcID, IP: sourceIP(r.RemoteAddr)}))
	})
	base, err := s.serve(ctx, ep.Addr, handler)
	if err != nil {
		return fmt.Errorf("listen for endpoint %s: %w", ep.ID, err)
	}
	s.EndpointURLs[ep.ID] = base
	logger.Info("serving VPC endpoint", slog.String("endpoint", ep.ID), slog.String("url", s.EndpointURLs[ep.ID]))
	return nil
}

// EndpointAPI is the API a request to a VPC endpoint is for: its
// x-apigw-api-id header, else the first label of its host name
// (API_ID.execute-api... or API_ID-VPCE_ID.execute-api...).
func EndpointAPI(r *http.Request, vpce string) string {
	if id := r.Header.Get("X-Apigw-Api-Id"); id != "" {
		return id
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	label, rest, _ := strings.Cut(host, ".")
	if !strings.HasPrefix(rest, "execute-api.") {
		return ""
	}
	return strings.TrimSuffix(label, "-"+vpce)
}

// roleCredentials are credentials of the function's own execution role,
// as Lambda gives a function its role's.
func (s *Server) roleCredentials(ctx context.Context, cfg Config, fc FunctionConfig) (aws.Credentials, error) {
	out, err := sts.NewFromConfig(cfg.AWS).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(fc.Role), RoleSessionName: aws.String(fc.Name),
	})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("assume the role of %s (%s): %w", fc.Name, fc.Role, err)
	}
	c := aws.Credentials{
		AccessKeyID: aws.ToString(out.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(out.Credentials.SessionToken),
	}
	if s.Recorder != nil {
		s.Recorder.Own(c.AccessKeyID, fc.Name)
	}
	return c, nil
}

// credentialEnv is credentials as a process's environment.
func credentialEnv(c aws.Credentials) []string {
	env := []string{"AWS_ACCESS_KEY_ID=" + c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey}
	if c.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.SessionToken)
	}
	return env
}

// Close stops the listeners and every function process.
func (s *Server) Close() {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	if s.Recorder != nil {
		s.Recorder.Close()
	}
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	for _, p := range s.Pools {
		p.Close()
	}
	if s.ownCache {
		_ = os.RemoveAll(s.cacheDir)
	}
}

// prefixed writes each line of a function's output with its name.
func prefixed(w io.Writer, name string) io.Writer {
	if w == nil {
		return nil
	}
	return &prefixWriter{w: w, prefix: "[" + name + "] "}
}

type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	lines := strings.SplitAfter(string(b), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+l); err != nil {
			return 0, fmt.Errorf("function output: %w", err)
		}
	}
	return len(b), nil
}
