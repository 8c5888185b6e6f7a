package deploy

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
)

var stagePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// StackName is the stack of a service's stage: SERVICE-STAGE.
func StackName(service, stage string) string { return service + "-" + stage }

// IsProduction reports whether a stage is a production stage.
func IsProduction(stage string) bool { return stage == "prod" || stage == "production" }

// CheckStage validates a stage name and the parameters it is deployed
// with: Auth NONE is refused for production stages, and Network is public
// or private.
func CheckStage(stage string, params Params) error {
	if !stagePattern.MatchString(stage) {
		return fmt.Errorf("stage %q must be 1 to 20 lower-case letters, digits or dashes, starting with a letter", stage)
	}
	if params["Auth"] == cfn.AuthNone && IsProduction(stage) {
		return fmt.Errorf("Auth NONE is not allowed for the production stage %s", stage) //nolint:staticcheck // Auth is the parameter's name
	}
	if params["Auth"] == cfn.AuthNone && params[cfn.AllowAnonymous] != "true" {
		return fmt.Errorf("Auth NONE serves anyone who can reach the API: allow it explicitly with --allow-anonymous (stage %s)", stage) //nolint:staticcheck // Auth is the parameter's name
	}
	for _, pair := range [][2]string{{"KeyThrottleRateLimit", "ThrottleRateLimit"}, {"KeyThrottleBurstLimit", "ThrottleBurstLimit"}} {
		key, stageLimit := number(params, pair[0], stackDefaults[pair[0]]), number(params, pair[1], stackDefaults[pair[1]])
		if key > stageLimit {
			return fmt.Errorf("%s %d is above %s %d: one API key could take the whole stage", pair[0], key, pair[1], stageLimit)
		}
	}
	if n, ok := params[cfn.ParamNetwork]; ok && n != cfn.NetworkPublic && n != cfn.NetworkPrivate {
		return fmt.Errorf("Network %q: public or private", n) //nolint:staticcheck // Network is the parameter's name
	}
	return nil
}

// stackDefaults are the throttling parameters' template defaults.
var stackDefaults = map[string]int{"ThrottleRateLimit": 50, "ThrottleBurstLimit": 100, "KeyThrottleRateLimit": 10, "KeyThrottleBurstLimit": 20}

// number reads an integer parameter, or def when absent or not a number
// (CloudFormation refuses those itself).
func number(params Params, name string, def int) int {
	if n, err := strconv.Atoi(params[name]); err == nil {
		return n
	}
	return def
}

// EnsureBootstrap deploys the bootstrap stack like any stack, planned and
// updated when its template changed, a failed first create removed and
// made again, and returns the artifact bucket. It sets the region's API
// Gateway logging role only when asked and none is set (or this stack set
// it), and says which.
func (t *Tool) EnsureBootstrap(ctx context.Context) (string, error) {
	name := stacks.BootstrapStackName
	existing, err := t.Outputs(ctx, name, "bootstrap")
	switch {
	case err == nil && existing.Status == "ROLLBACK_COMPLETE":
		t.logf("%s: its first create failed and left it %s; deleting it to create it again", name, existing.Status)
		if err := t.Destroy(ctx, name); err != nil {
			return "", err
		}
		existing = Stack{}
	case errors.Is(err, ErrNoStack):
		t.logf("%s: creating the bootstrap stack (artifact bucket) in %s", name, t.Region)
	case err != nil:
		return "", err
	}
	st, _, err := t.DeployTemplate(ctx, name, "bootstrap", Params{stacks.SetLoggingRole: t.LoggingRole(ctx, existing)})
	if err != nil {
		return "", err
	}
	bucket := st.Outputs["ArtifactBucketName"]
	if bucket == "" {
		return "", fmt.Errorf("stack %s has no ArtifactBucketName output", name)
	}
	return bucket, nil
}

// regionLoggingRole is the CloudWatch role API Gateway logs with in the
// tool's region, "" when none is set.
func (t *Tool) regionLoggingRole(ctx context.Context) (string, error) {
	acct, err := t.APIGW.GetAccount(ctx, &apigateway.GetAccountInput{})
	if err != nil {
		return "", fmt.Errorf("read API Gateway's account settings in %s: %w", t.Region, err)
	}
	return aws.ToString(acct.CloudwatchRoleArn), nil
}

// LoggingRole decides the bootstrap's SetApiGatewayLoggingRole: API
// Gateway's CloudWatch role is one per account and region, and every API
// there logs with it, so the stack sets it only when asked and none is set,
// keeps it where it set it, and otherwise leaves it alone, saying so.
func (t *Tool) LoggingRole(ctx context.Context, bootstrap Stack) string {
	previous := orFalse(bootstrap.Parameters[stacks.SetLoggingRole])
	if t.APIGW == nil {
		return previous
	}
	role, err := t.regionLoggingRole(ctx)
	if err != nil {
		t.logf("could not %v; leaving its logging role as it is", err)
		return previous
	}
	switch {
	case role != "" && role == bootstrap.Outputs["LoggingRoleArn"]:
		return "true"
	case role != "":
		t.logf("API Gateway in %s already logs with %s; leaving it", t.Region, role)
		return "false"
	case t.SetLoggingRole:
		t.logf("API Gateway in %s has no CloudWatch logging role (stages' access logs need one): the bootstrap stack sets its own, as asked; it stays if the stack goes", t.Region)
		return "true"
	case previous == "true":
		// Set by this stack, though the region reports none (an emulator
		// that keeps no account settings): kept as it is.
		return previous
	default:
		t.logf("API Gateway in %s has no CloudWatch logging role, which stages' access logs need: %s", t.Region, askForLoggingRole)
		return "false"
	}
}

// askForLoggingRole says how to give a region its API Gateway logging role.
const askForLoggingRole = "deploy with --set-logging-role to let the bootstrap stack set its own (it stays if the stack goes), " +
	"or set the region's role yourself (aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=ROLE_ARN)"

// ErrNoLoggingRole means a stage's access logs could not be written: API
// Gateway refuses to create such a stage in a region without a CloudWatch
// role, so CloudFormation would fail the stack on it.
var ErrNoLoggingRole = errors.New("no API Gateway CloudWatch logging role")

// LoggingRoleReady checks, before anything of a service stage is made,
// that its stage's access logs can be written: the region has a logging
// role, the bootstrap stack set one, or the operator asked for it.
func (t *Tool) LoggingRoleReady(ctx context.Context) error {
	if t.SetLoggingRole || t.APIGW == nil {
		return nil
	}
	role, err := t.regionLoggingRole(ctx)
	if err != nil {
		t.logf("could not %v; going on", err)
		return nil
	}
	if role != "" {
		return nil
	}
	if bootstrap, err := t.Outputs(ctx, stacks.BootstrapStackName, "bootstrap"); err == nil && bootstrap.Outputs["LoggingRoleArn"] != "" {
		return nil
	}
	return fmt.Errorf("%w in %s, and a stage's access logs need one (API Gateway would refuse to create the stage): %s", ErrNoLoggingRole, t.Region, askForLoggingRole)
}

func orFalse(v string) string {
	if v == "" {
		return "false"
	}
	return v
}

// Body renders the named template for a stage: with the values its stack
// will have of the parameters API Gateway snapshots (given now, else kept
// from the stack, else the template's defaults), so that changing one of
// them deploys the API anew.
func (t *Tool) Body(ctx context.Context, stack, template string, params Params) ([]byte, error) {
	values := map[string]string{}
	existing, err := t.Describe(ctx, stack)
	if err != nil && !errors.Is(err, ErrNoStack) {
		return nil, err
	}
	for _, name := range stacks.RenderParameters(template) {
		if v, ok := params[name]; ok {
			values[name] = v
		} else if v, ok := existing.Parameters[name]; ok {
			values[name] = v
		}
	}
	body, err := stacks.TemplateFor(template, values)
	if err != nil {
		return nil, fmt.Errorf("template of %s: %w", stack, err)
	}
	return body, nil
}

// NoBootstrapBucket stands for the artifact bucket before the bootstrap
// stack exists.
const NoBootstrapBucket = "bootstrap-not-deployed-yet"

// BootstrapBucket returns the artifact bucket of the bootstrap stack, or a
// placeholder when there is none yet, for plans that deploy nothing.
func (t *Tool) BootstrapBucket(ctx context.Context) (string, error) {
	st, err := t.Outputs(ctx, stacks.BootstrapStackName, "bootstrap")
	if errors.Is(err, ErrNoStack) {
		return NoBootstrapBucket, nil
	}
	if err != nil {
		return "", err
	}
	return st.Outputs["ArtifactBucketName"], nil
}

// DeployTemplate plans, shows and executes the named template's change
// set. It reports changed=false (and does nothing) when nothing would change.
func (t *Tool) DeployTemplate(ctx context.Context, stack, template string, params Params) (Stack, bool, error) {
	body, err := t.Body(ctx, stack, template, params)
	if err != nil {
		return Stack{}, false, err
	}
	plan, err := t.PlanChanges(ctx, stack, body, params)
	if err != nil {
		return Stack{}, false, err
	}
	if plan.Empty() && !plan.Create {
		t.logf("%s: no changes; nothing to deploy", stack)
		st, err := t.Describe(ctx, stack)
		if err != nil {
			return st, false, err
		}
		st, err = t.ResolveOutputs(ctx, st, body)
		return st, false, err
	}
	verb := "updating"
	if plan.Create {
		verb = "creating"
	}
	t.logf("%s %s with %d change(s):", verb, stack, len(plan.Changes))
	for _, c := range plan.Changes {
		t.logf("  %s", c)
	}
	if t.Confirm != nil {
		if err := t.Confirm(stack, plan); err != nil {
			t.Abandon(ctx, plan)
			return Stack{}, false, err
		}
	}
	st, err := t.Execute(ctx, plan)
	if err != nil {
		return st, true, err
	}
	t.logf("%s: %s", stack, st.Status)
	if st, err = t.ResolveOutputs(ctx, st, body); err != nil {
		return st, true, err
	}
	return st, true, t.RefreshStage(ctx, plan, st)
}

// ServiceParams returns the parameters of a service stage deployment:
// the caller's, plus the artifacts' code keys, the architecture, the
// bucket, and a fresh cursor signing key when the stack is new.
func (t *Tool) ServiceParams(_ context.Context, svc cfn.Service, stage, bucket string, arch Arch, arts []Artifact, given Params) (Params, error) {
	p := Params{}
	for k, v := range given {
		p[k] = v
	}
	p["Stage"], p["ArtifactBucket"], p["Architecture"] = stage, bucket, arch.Lambda
	if _, given := p["ServiceVersion"]; !given {
		p["ServiceVersion"] = t.ReleaseOf(svc.Name)
	}
	for _, a := range arts {
		p[cfn.CodeKeyParameter(a.Operation)] = a.Key
	}
	return p, nil
}

// ReleaseOf returns a service's release: its latest tag SERVICE/vX.Y.Z
// reachable from the checked-out commit, or "unreleased". Only the tag
// counts, not the commits since, so a change elsewhere does not make the
// service's stack differ.
func (t *Tool) ReleaseOf(service string) string {
	if t.Root == "" {
		return "unreleased"
	}
	out, err := exec.Command("git", "-C", t.Root, "describe", "--tags", "--abbrev=0", "--match", service+"/v*").Output() //nolint:gosec,noctx // fixed command, local
	if err != nil {
		return "unreleased"
	}
	return strings.TrimSpace(string(out))
}

// usesCursorKey reports whether a service's functions read the stack's
// cursor key.
func usesCursorKey(svc cfn.Service) bool {
	for _, f := range svc.Functions {
		if _, ok := f.Env[lambdafn.EnvCursorKeyParameter]; ok {
			return true
		}
	}
	return false
}

// CursorKeyName is the SSM parameter of a stack's cursor key.
func CursorKeyName(stack string) string {
	return strings.ReplaceAll(cfn.CursorKeyName, "${AWS::StackName}", stack)
}

// EnsureCursorKey creates the stack's cursor signing key, a random
// SecureString parameter, when the service's functions read one and the
// stack has none yet; an existing key is kept, so cursors survive deploys.
func (t *Tool) EnsureCursorKey(ctx context.Context, svc cfn.Service, stack string) error {
	if !usesCursorKey(svc) {
		return nil
	}
	name := CursorKeyName(stack)
	_, err := t.SSM.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(NewSecret()), Type: ssmtypes.ParameterTypeSecureString,
		Description: aws.String("Signs the cursors of " + stack + " (made by the deploy tool)"), Overwrite: aws.Bool(false),
	})
	var exists *ssmtypes.ParameterAlreadyExists
	switch {
	case errors.As(err, &exists):
		return nil
	case err != nil:
		return fmt.Errorf("create the cursor key %s: %w", name, err)
	}
	t.logf("%s: created its cursor signing key, SecureString parameter %s", stack, name)
	return nil
}

// DeleteCursorKey deletes the stack's cursor key, if it has one.
func (t *Tool) DeleteCursorKey(ctx context.Context, stack string) error {
	_, err := t.SSM.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(CursorKeyName(stack))})
	var missing *ssmtypes.ParameterNotFound
	if err != nil && !errors.As(err, &missing) {
		return fmt.Errorf("delete the cursor key of %s: %w", stack, err)
	}
	return nil
}

// SortedOutputs returns a stack's outputs as sorted "key = value" pairs.
func SortedOutputs(st Stack) [][2]string {
	keys := make([]string, 0, len(st.Outputs))
	for k := range st.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, [2]string{k, st.Outputs[k]})
	}
	return out
}

// Outputs describes a stack and resolves the outputs of its template.
func (t *Tool) Outputs(ctx context.Context, stack, template string) (Stack, error) {
	st, err := t.Describe(ctx, stack)
	if err != nil {
		return st, err
	}
	// The template as rendered for the stack's own values.
	values := map[string]string{}
	for _, name := range stacks.RenderParameters(template) {
		if v, ok := st.Parameters[name]; ok {
			values[name] = v
		}
	}
	body, err := stacks.TemplateFor(template, values)
	if err != nil {
		return st, err
	}
	return t.ResolveOutputs(ctx, st, body)
}
