package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	agtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/hexlambda/hexlambda/infra/localgw"
	"github.com/hexlambda/hexlambda/infra/workspace"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
)

// Stage is the stage the suite deploys (moto, localstack).
const Stage = "e2e"

// Group is the ec2power group the suite's instances form; the ec2power
// stack's DefaultTarget points at it.
const Group = "e2e-nightly"

// The adjuster's SigV4 identity on the moto target is a session of this
// role, assumed through the emulator's STS: temporary credentials with a
// session token, which the local gateway knows by the principal STS names.
// The claims stage maps that principal, and only it, to the deciding
// roles; the suite's own principal is an intake caller.
const adjusterRole = "arn:aws:iam::123456789012:role/claims-adjuster"

// e2eRoleMap is the claims stage's role mapping on the moto target.
func e2eRoleMap(adjuster string) string {
	return "intake=*;adjuster=" + adjuster + ";payments=" + adjuster + ";auditor=" + adjuster
}

// env is a deployed system under test.
type env struct {
	target string
	// claimsParams are extra parameters of the claims stage.
	claimsParams []string
	// adjuster signs as the adjuster principal (nil where the target has
	// no such identity).
	adjuster          *aws.Credentials
	adjusterPrincipal string
	cfg               aws.Config
	endpoint          string
	claimsURL         string
	powerURL          string
	apiKey            string
	apiKeyID          string
	claims            map[string]string // stack outputs
	power             map[string]string
	deployBin         string
	ctlBin            string
	tools             string
	instances         map[string]string // role -> id: "a", "b" (group), "solo", "unmanaged"
	gateway           *localgw.Server
	// containers runs the gateways' functions in containers
	// (LOCALGW_RUNTIME=container); nil runs them as processes.
	containers *localgw.ContainerRuntime
	setupTime  time.Duration
}

var (
	suiteOnce sync.Once
	suiteEnv  *env
	suiteSkip string
	suiteErr  error
)

// suite returns the deployed system, setting it up on first use; it skips
// the test, saying why, when the target cannot run here.
func suite(t *testing.T) *env {
	t.Helper()
	suiteOnce.Do(func() {
		start := time.Now()
		suiteEnv, suiteSkip, suiteErr = setup()
		if suiteEnv != nil {
			suiteEnv.setupTime = time.Since(start)
		}
	})
	if suiteSkip != "" {
		t.Skip(suiteSkip)
	}
	if suiteErr != nil {
		t.Fatalf("e2e setup: %v", suiteErr)
	}
	return suiteEnv
}

func teardown() {
	if suiteEnv != nil {
		if suiteEnv.gateway != nil {
			suiteEnv.gateway.Close()
		}
		if suiteEnv.containers != nil {
			suiteEnv.containers.Close()
		}
		if suiteEnv.tools != "" {
			_ = os.RemoveAll(suiteEnv.tools)
		}
	}
	stopContainer()
	awsCleanup()
	awstest.Stop()
}

// capability is something a target's API Gateway enforces that some
// assertions rely on.
type capability string

const (
	enforcesSigV4          capability = "IAM authorization (SigV4) of AWS_IAM methods"
	enforcesResourcePolicy capability = "a REST API's resource policy"
)

// lacks says, per target, what it does not enforce and why. AWS and the
// moto target's local gateway enforce everything here.
var lacks = map[string]map[capability]string{
	"localstack": {
		enforcesSigV4:          "the free LocalStack accepts any signature, or none (IAM enforcement is a paid feature)",
		enforcesResourcePolicy: "the free LocalStack does not evaluate API Gateway resource policies",
	},
}

// need skips the test, saying why, on a target that does not enforce c.
func (e *env) need(t *testing.T, c capability) {
	t.Helper()
	if why, ok := lacks[e.target][c]; ok {
		t.Skipf("E2E_TARGET=%s does not enforce %s: %s", e.target, c, why)
	}
}

// target is the emulator or account the suite runs against: moto unless
// E2E_TARGET says otherwise. LocalStack is opt-in (E2E_TARGET=localstack),
// never picked because a Docker engine happens to answer.
func target() string {
	if t := os.Getenv("E2E_TARGET"); t != "" {
		return t
	}
	return "moto"
}

func setup() (*env, string, error) {
	switch t := target(); t {
	case "moto":
		return setupMoto()
	case "localstack":
		return setupLocalStack()
	case "aws":
		return setupAWS()
	default:
		return nil, "", fmt.Errorf("unknown E2E_TARGET %q (moto, localstack, aws)", t)
	}
}

// buildTools builds the deploy tool and ec2powerctl, as users run them.
func (e *env) buildTools() error {
	root, err := workspace.Root()
	if err != nil {
		return err
	}
	if e.tools, err = os.MkdirTemp("", "e2e-tools-"); err != nil {
		return err
	}
	e.deployBin, e.ctlBin = filepath.Join(e.tools, "deploy"), filepath.Join(e.tools, "ec2powerctl")
	for bin, pkg := range map[string]string{e.deployBin: "./infra/cmd/deploy", e.ctlBin: "./services/ec2power/cmd/ec2powerctl"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w\n%s", pkg, err, out)
		}
	}
	return nil
}

// awsEnv is the environment the tools run with.
func (e *env) awsEnv() []string {
	creds, _ := e.cfg.Credentials.Retrieve(context.Background())
	env := append(os.Environ(),
		"AWS_REGION="+e.cfg.Region, "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
	if creds.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	if e.endpoint != "" {
		env = append(env, "AWS_ENDPOINT_URL="+e.endpoint)
	}
	return env
}

// deploy runs the deploy tool; it returns stdout, and stderr in errors.
func (e *env) deploy(args ...string) (string, error) {
	if len(args) > 0 && args[0] == "deploy" && e.target != "aws" {
		// An emulator's region is new on every run: its API Gateway has
		// no logging role until the bootstrap stack sets one, as asked.
		// In a real account that is the operator's decision.
		args = append(args, "--set-logging-role")
	}
	cmd := exec.Command(e.deployBin, args...)
	cmd.Env = e.awsEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("deploy %v: %w\n%s", args, err, errOut.String())
	}
	return out.String(), nil
}

func (e *env) outputs(service string) (map[string]string, error) {
	return e.stageOutputs(service, Stage)
}

// stageOutputs are the outputs of a service's stage.
func (e *env) stageOutputs(service, stage string) (map[string]string, error) {
	out, err := e.deploy("outputs", "--service", service, "--stage", stage, "--json")
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	return m, json.Unmarshal([]byte(out), &m)
}

// suiteStageLimits are the throttle of the suite's stages: above what the
// load scenarios offer (at full size about 100 requests a second), which
// measure the functions, not the stage's default limit of 50 a second
// that API Gateway would hold them to (TestTheStageThrottleOfADeployedStage
// shows that limit).
var suiteStageLimits = []string{"--param", "ThrottleRateLimit=500", "--param", "ThrottleBurstLimit=1000"}

// deployBoth deploys both services for this machine's architecture.
func (e *env) deployBoth() error {
	for _, args := range [][]string{
		append([]string{"deploy", "--service", "claims", "--stage", Stage, "--arch", "host", "--poll", "200ms", "--param", "Auth=AWS_IAM"}, e.claimsParams...),
		{"deploy", "--service", "ec2power", "--stage", Stage, "--arch", "host", "--poll", "200ms", "--param", "Auth=API_KEY", "--param", "DefaultTarget=group:" + Group},
	} {
		if _, err := e.deploy(append(args, suiteStageLimits...)...); err != nil {
			return err
		}
	}
	var err error
	if e.claims, err = e.outputs("claims"); err != nil {
		return err
	}
	if e.power, err = e.outputs("ec2power"); err != nil {
		return err
	}
	return e.ensureScheduleGroup(e.power["ScheduleGroupName"])
}

// ensureScheduleGroup makes the stack's schedule group where the
// emulator's CloudFormation left it out (moto has no
// AWS::Scheduler::ScheduleGroup); on AWS the stack made it.
func (e *env) ensureScheduleGroup(name string) error {
	if name == "" {
		return errors.New("the ec2power stack has no ScheduleGroupName output")
	}
	client := scheduler.NewFromConfig(e.cfg)
	_, err := client.GetScheduleGroup(context.Background(), &scheduler.GetScheduleGroupInput{Name: aws.String(name)})
	var nf *schedulertypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return err
	}
	_, err = client.CreateScheduleGroup(context.Background(), &scheduler.CreateScheduleGroupInput{Name: aws.String(name)})
	return err
}

// issueKey issues the suite's API key with the deploy tool. When the
// emulator's CloudFormation left the usage plan out (moto does), the suite
// creates the plan for the stage itself and names it.
// The key may act on groups (comma-separated, * for all); audit lets it see
// who asked.
func (e *env) issueKey(consumer, groups string, audit bool) (id, value string, err error) {
	args := []string{"keys", "issue", "--service", "ec2power", "--stage", Stage, "--consumer", consumer, "--groups", groups, "--json"}
	if audit {
		args = append(args, "--audit")
	}
	if e.power["UsagePlanId"] == "" {
		gw := apigateway.NewFromConfig(e.cfg)
		plan, err := gw.CreateUsagePlan(context.Background(), &apigateway.CreateUsagePlanInput{
			Name:      aws.String("ec2power-" + Stage + "-" + consumer),
			ApiStages: []agtypes.ApiStage{{ApiId: aws.String(e.power["ApiId"]), Stage: aws.String(Stage)}},
		})
		if err != nil {
			return "", "", fmt.Errorf("create usage plan: %w", err)
		}
		args = append(args, "--usage-plan", aws.ToString(plan.Id))
	}
	out, err := e.deploy(args...)
	if err != nil {
		return "", "", err
	}
	var k map[string]string
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		return "", "", fmt.Errorf("keys issue printed %q: %w", out, err)
	}
	return k["id"], k["value"], nil
}

func (e *env) revokeKey(consumer string) error {
	args := []string{"keys", "revoke", "--service", "ec2power", "--stage", Stage, "--consumer", consumer}
	if e.power["UsagePlanId"] == "" {
		plans, err := apigateway.NewFromConfig(e.cfg).GetUsagePlans(context.Background(), &apigateway.GetUsagePlansInput{})
		if err != nil {
			return err
		}
		for _, p := range plans.Items {
			if aws.ToString(p.Name) == "ec2power-"+Stage+"-"+consumer {
				args = append(args, "--usage-plan", aws.ToString(p.Id))
			}
		}
	}
	_, err := e.deploy(args...)
	return err
}

// deployAndSeed readies an emulator: builds the tools, deploys both
// services, launches the instances and issues the suite's API key.
func (e *env) deployAndSeed() error {
	if err := e.buildTools(); err != nil {
		return err
	}
	if err := e.deployBoth(); err != nil {
		return err
	}
	if err := e.launchInstances(); err != nil {
		return err
	}
	var err error
	e.apiKeyID, e.apiKey, err = e.issueKey("e2e", "*", true)
	return err
}

// launchInstances creates the suite's instances: two managed in Group, one
// managed alone, one unmanaged.
func (e *env) launchInstances() error {
	client := ec2.NewFromConfig(e.cfg)
	e.instances = map[string]string{}
	for role, tags := range map[string]map[string]string{
		"a":         {"Name": "e2e-a", "ec2power:managed": "true", "ec2power:group": Group},
		"b":         {"Name": "e2e-b", "ec2power:managed": "true", "ec2power:group": Group},
		"solo":      {"Name": "e2e-solo", "ec2power:managed": "true"},
		"unmanaged": {"Name": "e2e-prod-db", "ec2power:group": Group},
	} {
		id, err := ec2test.RunInstance(context.Background(), client, tags, false)
		if err != nil {
			return fmt.Errorf("instance %s: %w", role, err)
		}
		e.instances[role] = id
	}
	return nil
}

func setupMoto() (*env, string, error) {
	ep, err := awstest.Find()
	if errors.Is(err, awstest.ErrNoEmulator) {
		return nil, "E2E_TARGET=moto: " + err.Error(), nil
	}
	if err != nil {
		return nil, "", err
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(awstest.Region), config.WithBaseEndpoint(ep),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		return nil, "", err
	}
	session, err := sts.NewFromConfig(cfg).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(adjusterRole), RoleSessionName: aws.String("e2e"),
	})
	if err != nil {
		return nil, "", fmt.Errorf("assume the adjuster role: %w", err)
	}
	c := session.Credentials
	e := &env{
		target: "moto", cfg: cfg, endpoint: ep,
		adjuster: &aws.Credentials{
			AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken),
		},
		adjusterPrincipal: aws.ToString(session.AssumedRoleUser.Arn),
	}
	e.claimsParams = []string{"--param", "RoleMap=" + e2eRoleMap(e.adjusterPrincipal)}
	switch rt := os.Getenv(localgw.EnvRuntime); rt {
	case "", localgw.RuntimeProcess:
	case localgw.RuntimeContainer:
		if e.containers, err = localgw.NewContainerRuntime(context.Background()); errors.Is(err, localgw.ErrNoEngine) {
			return nil, localgw.EnvRuntime + "=container runs the functions in containers, which needs a Docker engine: " + err.Error(), nil
		} else if err != nil {
			return nil, "", err
		}
	default:
		return nil, "", fmt.Errorf("unknown %s %q (process, container)", localgw.EnvRuntime, rt)
	}
	if err := e.deployAndSeed(); err != nil {
		return e, "", err
	}
	logs := io.Discard
	if os.Getenv("E2E_FUNCTION_LOGS") != "" {
		logs = os.Stderr
	}
	var targets []localgw.Target
	e.gateway, targets, err = e.startGateway([]string{"claims-" + Stage, "ec2power-" + Stage}, localgw.Config{
		MaxProcesses: 4, FunctionOutput: logs, Callers: []aws.Credentials{*e.adjuster},
		FunctionRoles: true, RecordCalls: true, ScheduleInterval: 250 * time.Millisecond,
	})
	if err != nil {
		return e, "", err
	}
	e.claimsURL, e.powerURL = e.gateway.URLs[targets[0].APIID], e.gateway.URLs[targets[1].APIID]
	return e, "", nil
}

// startGateway serves deployed stacks with a local gateway configured by
// cfg, on the suite's emulator, and returns it with the stacks' targets.
// The functions reach AWS at cfg.Endpoint when set (a fault-injecting
// proxy), else at the emulator.
func (e *env) startGateway(stacks []string, cfg localgw.Config) (*localgw.Server, []localgw.Target, error) {
	ctx := context.Background()
	cf := cloudformation.NewFromConfig(e.cfg)
	var targets []localgw.Target
	for _, stack := range stacks {
		t, err := localgw.TargetFromStack(ctx, cf, stack)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, t)
	}
	bucket, err := localgw.StackResource(ctx, cf, "hexlambda-bootstrap", "ArtifactBucket")
	if err != nil {
		return nil, nil, err
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = e.endpoint
	}
	cfg.AWS, cfg.Targets, cfg.CodeBuckets, cfg.Containers = e.cfg, targets, []string{bucket}, e.containers
	cfg.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	gw, err := localgw.Start(ctx, cfg)
	return gw, targets, err
}

// setupAWS deploys the suite's stage to the real account named by the
// usual AWS variables, with the deploy tool, and calls its execute-api URLs.
// It creates no EC2 instances (the tests that need them skip). Opt in with
// E2E_TARGET=aws and E2E_AWS_CONFIRM=yes: it creates billable resources and
// destroys them at the end.
func setupAWS() (*env, string, error) {
	if os.Getenv("E2E_AWS_CONFIRM") != "yes" {
		return nil, "E2E_TARGET=aws deploys stage " + Stage + " to the account in your AWS configuration; set E2E_AWS_CONFIRM=yes to go ahead", nil
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, "", err
	}
	e := &env{target: "aws", cfg: cfg}
	if err := e.buildTools(); err != nil {
		return e, "", err
	}
	for _, args := range [][]string{
		{"deploy", "--service", "claims", "--stage", Stage, "--param", "Auth=AWS_IAM"},
		{"deploy", "--service", "ec2power", "--stage", Stage, "--param", "Auth=API_KEY", "--param", "DefaultTarget=group:" + Group},
	} {
		if _, err := e.deploy(args...); err != nil {
			return e, "", err
		}
	}
	if e.claims, err = e.outputs("claims"); err != nil {
		return e, "", err
	}
	if e.power, err = e.outputs("ec2power"); err != nil {
		return e, "", err
	}
	if e.apiKeyID, e.apiKey, err = e.issueKey("e2e", "*", true); err != nil {
		return e, "", err
	}
	e.claimsURL, e.powerURL = e.claims["ApiUrl"], e.power["ApiUrl"]
	awsCleanup = func() {
		_ = e.revokeKey("e2e")
		for _, s := range []string{"claims", "ec2power"} {
			_, _ = e.deploy("destroy", "--service", s, "--stage", Stage)
		}
	}
	return e, "", nil
}

var awsCleanup = func() {}
