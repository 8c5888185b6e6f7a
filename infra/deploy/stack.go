package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// CloudFormation is the part of the CloudFormation client the tool uses.
type CloudFormation interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
	DescribeStackEvents(ctx context.Context, in *cloudformation.DescribeStackEventsInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error)
	DescribeStackResources(ctx context.Context, in *cloudformation.DescribeStackResourcesInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error)
	CreateChangeSet(ctx context.Context, in *cloudformation.CreateChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error)
	DescribeChangeSet(ctx context.Context, in *cloudformation.DescribeChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error)
	DeleteChangeSet(ctx context.Context, in *cloudformation.DeleteChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error)
	ExecuteChangeSet(ctx context.Context, in *cloudformation.ExecuteChangeSetInput, opts ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error)
	DeleteStack(ctx context.Context, in *cloudformation.DeleteStackInput, opts ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error)
}

// APIGateway is the part of the API Gateway client the tool uses.
type APIGateway interface {
	GetAccount(ctx context.Context, in *apigateway.GetAccountInput, opts ...func(*apigateway.Options)) (*apigateway.GetAccountOutput, error)
	CreateDeployment(ctx context.Context, in *apigateway.CreateDeploymentInput, opts ...func(*apigateway.Options)) (*apigateway.CreateDeploymentOutput, error)
}

// SSM is the part of the Systems Manager client the tool uses.
type SSM interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, opts ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// Tool talks to CloudFormation, S3, API Gateway and Systems Manager.
type Tool struct {
	SSM    SSM
	CFN    CloudFormation
	S3     *s3.Client
	APIGW  APIGateway
	EC2    EC2
	Region string
	// Log receives progress; Poll is the time between two status reads.
	Log  io.Writer
	Poll time.Duration
	// Root is the repository, for the services' releases (git tags).
	Root string
	// TemplateBucket, when set, receives templates, passed to
	// CloudFormation by URL (TemplateBody stops at 51,200 bytes).
	TemplateBucket string
	// SetLoggingRole says the operator asked (--set-logging-role) for the
	// bootstrap stack to set the region's API Gateway CloudWatch role
	// where none is set; without it the tool never sets one.
	SetLoggingRole bool
	// Confirm, when set, is asked before a shown plan is executed; an
	// error leaves everything as it was (the plan is discarded).
	Confirm func(stack string, plan Plan) error
}

// NewTool returns a tool for cfg. With an endpoint override (an emulator
// or a private endpoint), S3 is addressed path-style, as such endpoints
// need.
func NewTool(cfg aws.Config, log io.Writer) *Tool {
	return &Tool{
		CFN: cloudformation.NewFromConfig(cfg),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			o.UsePathStyle = o.BaseEndpoint != nil
		}),
		APIGW:  apigateway.NewFromConfig(cfg),
		SSM:    ssm.NewFromConfig(cfg),
		EC2:    ec2.NewFromConfig(cfg),
		Region: cfg.Region,
		Log:    log,
		Poll:   2 * time.Second,
	}
}

func (t *Tool) logf(format string, args ...any) { _, _ = fmt.Fprintf(t.Log, format+"\n", args...) }

// Upload puts the artifacts into bucket unless an object with the same key
// (the same content hash) is there already. It returns how many it sent.
func (t *Tool) Upload(ctx context.Context, bucket string, arts []Artifact) (int, error) {
	sent := 0
	for _, a := range arts {
		_, err := t.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(a.Key)})
		if err == nil {
			t.logf("unchanged %-14s s3://%s/%s", a.Operation, bucket, a.Key)
			continue
		}
		var nf *s3types.NotFound
		var apiErr smithy.APIError
		missing := errors.As(err, &nf) || (errors.As(err, &apiErr) && apiErr.ErrorCode() == "NotFound")
		if !missing {
			return sent, fmt.Errorf("look up %s: %w", a.Key, err)
		}
		if _, err := t.S3.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(a.Key), Body: bytes.NewReader(a.Zip),
			ContentType: aws.String("application/zip"),
		}); err != nil {
			return sent, fmt.Errorf("upload %s: %w", a.Key, err)
		}
		sent++
		t.logf("uploaded  %-14s s3://%s/%s (%.1f MB)", a.Operation, bucket, a.Key, float64(len(a.Zip))/1e6)
	}
	return sent, nil
}

// Stack is what DescribeStacks says of a stack.
type Stack struct {
	Name       string
	Status     string
	Outputs    map[string]string
	Parameters map[string]string
	// Pseudo are the stack's pseudo parameters (AWS::Region, ...).
	Pseudo map[string]string
}

// ErrNoStack means the stack does not exist.
var ErrNoStack = errors.New("stack does not exist")

// Describe returns the stack or ErrNoStack.
func (t *Tool) Describe(ctx context.Context, name string) (Stack, error) {
	out, err := t.CFN.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorMessage(), "does not exist") {
			return Stack{}, fmt.Errorf("%s: %w", name, ErrNoStack)
		}
		return Stack{}, fmt.Errorf("describe stack %s: %w", name, err)
	}
	if len(out.Stacks) == 0 || out.Stacks[0].StackStatus == cfntypes.StackStatusDeleteComplete {
		return Stack{}, fmt.Errorf("%s: %w", name, ErrNoStack)
	}
	s := out.Stacks[0]
	st := Stack{Name: name, Status: string(s.StackStatus), Outputs: map[string]string{}, Parameters: map[string]string{}}
	for _, o := range s.Outputs {
		st.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	for _, p := range s.Parameters {
		st.Parameters[aws.ToString(p.ParameterKey)] = listValue(aws.ToString(p.ParameterValue))
	}
	st.Pseudo = cfn.PseudoParameters(aws.ToString(s.StackId), name, t.Region)
	return st, nil
}

// listValue reads a list parameter's value as CloudFormation takes it,
// comma-separated: moto reports a CommaDelimitedList's value as the Python
// list it stored (['a', 'b']), which given back would be another value.
func listValue(v string) string {
	inner, ok := strings.CutPrefix(v, "['")
	if !ok || !strings.HasSuffix(inner, "']") {
		return v
	}
	return strings.Join(strings.Split(strings.TrimSuffix(inner, "']"), "', '"), ",")
}

// Change is one planned resource change.
type Change struct {
	Action      string
	LogicalID   string
	Type        string
	Replacement string
}

func (c Change) String() string {
	s := fmt.Sprintf("%-7s %-45s %s", c.Action, c.LogicalID, c.Type)
	if c.Replacement == "True" || c.Replacement == "Conditional" {
		s += "  (replacement: " + c.Replacement + ")"
	}
	return s
}

// Plan is a change set waiting to be executed (or discarded).
type Plan struct {
	Stack     string
	ChangeSet string
	Create    bool
	// NewStack says planning made the stack: CloudFormation creates a
	// stack in REVIEW_IN_PROGRESS for a create change set, which Abandon
	// deletes again.
	NewStack bool
	Changes  []Change
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool { return len(p.Changes) == 0 }

// Params are a stack's parameter values; on an update, template
// parameters not given keep their previous values.
type Params map[string]string

// NewSecret returns a random URL-safe secret for NoEcho parameters.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// templateParameters lists the parameters a template declares, with their
// defaults (as CloudFormation passes them: lists comma-separated) where
// they have one, and which are lists.
func templateParameters(body []byte) ([]string, map[string]string, map[string]bool, error) {
	var t struct {
		Parameters map[string]struct {
			Type    string `json:"Type"`
			Default any    `json:"Default"`
		} `json:"Parameters"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return nil, nil, nil, fmt.Errorf("read template parameters: %w", err)
	}
	var names []string
	defaults, lists := map[string]string{}, map[string]bool{}
	for n, p := range t.Parameters {
		names = append(names, n)
		lists[n] = p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<")
		switch d := p.Default.(type) {
		case nil:
		case string:
			defaults[n] = d
		case float64:
			defaults[n] = strconv.FormatFloat(d, 'f', -1, 64)
		default:
			defaults[n] = fmt.Sprint(d)
		}
	}
	sort.Strings(names)
	return names, defaults, lists, nil
}

// PlanChanges creates a change set for stack and reads what it would
// change. An empty plan has already been discarded.
func (t *Tool) PlanChanges(ctx context.Context, stack string, template []byte, params Params) (Plan, error) {
	existing, err := t.describeRetrying(ctx, stack)
	create := errors.Is(err, ErrNoStack)
	// A stack in REVIEW_IN_PROGRESS was only ever planned (a change set
	// created and never executed): it has no resources, and is created.
	review := err == nil && existing.Status == string(cfntypes.StackStatusReviewInProgress)
	switch {
	case create, review:
		create = true
	case err != nil:
		return Plan{}, err
	case existing.Status == string(cfntypes.StackStatusRollbackComplete):
		return Plan{}, fmt.Errorf("stack %s is %s after a failed create; %s", stack, existing.Status, NextStep[existing.Status])
	case existing.Status == string(cfntypes.StackStatusUpdateRollbackFailed), existing.Status == string(cfntypes.StackStatusDeleteFailed),
		existing.Status == string(cfntypes.StackStatusRollbackFailed):
		return Plan{}, fmt.Errorf("stack %s is %s; %s", stack, existing.Status, strings.ReplaceAll(NextStep[existing.Status], "STACK", stack))
	case strings.HasSuffix(existing.Status, "_IN_PROGRESS"):
		return Plan{}, fmt.Errorf("stack %s is busy (%s); wait for it to finish", stack, existing.Status)
	}
	names, defaults, lists, err := templateParameters(template)
	if err != nil {
		return Plan{}, err
	}
	var cfnParams []cfntypes.Parameter
	for _, n := range names {
		v, given := params[n]
		_, had := existing.Parameters[n]
		def, hasDefault := defaults[n]
		switch {
		case given:
			cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(n), ParameterValue: aws.String(v)})
		case !create && had && lists[n]:
			// A list's previous value, given back as CloudFormation reads
			// it (moto cannot take UsePreviousValue for a list).
			cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(n), ParameterValue: aws.String(existing.Parameters[n])})
		case !create && had:
			cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(n), UsePreviousValue: aws.Bool(true)})
		case create && hasDefault:
			// The default, stated: the stack then records every value it
			// was created with, and a later update's UsePreviousValue is
			// that value (moto otherwise sees every defaulted parameter as
			// changed on the first update, and rebuilds what uses it).
			cfnParams = append(cfnParams, cfntypes.Parameter{ParameterKey: aws.String(n), ParameterValue: aws.String(def)})
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, template); err != nil {
		return Plan{}, fmt.Errorf("compact template: %w", err)
	}
	csType := cfntypes.ChangeSetTypeUpdate
	if create {
		csType = cfntypes.ChangeSetTypeCreate
	}
	name := fmt.Sprintf("deploy-%d", time.Now().UnixNano())
	in := &cloudformation.CreateChangeSetInput{
		StackName:     aws.String(stack),
		ChangeSetName: aws.String(name),
		ChangeSetType: csType,
		Parameters:    cfnParams,
		Capabilities:  []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam},
		Tags:          []cfntypes.Tag{{Key: aws.String("hexlambda:stack"), Value: aws.String(stack)}},
	}
	if v := params["ServiceVersion"]; v != "" {
		in.Tags = append(in.Tags, cfntypes.Tag{Key: aws.String("hexlambda:version"), Value: aws.String(v)})
	}
	if t.TemplateBucket != "" {
		url, err := t.uploadTemplate(ctx, stack, compact.Bytes())
		if err != nil {
			return Plan{}, err
		}
		in.TemplateURL = aws.String(url)
	} else {
		if compact.Len() > MaxTemplateBody && create && !review {
			// No bucket to pass it through yet (no bootstrap stack), and
			// nothing to compare with: what a create would add is read
			// from the template itself.
			return planCreate(stack, template, cfnParams)
		}
		if compact.Len() > MaxTemplateBody {
			return Plan{}, fmt.Errorf("the template of %s is %d bytes, above CloudFormation's %d-byte TemplateBody: it goes by URL through the bootstrap stack's bucket, which does not exist yet (deploy bootstrap first)",
				stack, compact.Len(), MaxTemplateBody)
		}
		in.TemplateBody = aws.String(compact.String())
	}
	out, err := t.CFN.CreateChangeSet(ctx, in)
	if err != nil {
		if noChanges(err.Error()) {
			return Plan{Stack: stack}, nil
		}
		return Plan{}, fmt.Errorf("create change set for %s: %w", stack, err)
	}
	plan := Plan{Stack: stack, ChangeSet: aws.ToString(out.Id), Create: create, NewStack: create && !review}
	// A plan that cannot be read to the end is abandoned: its change set
	// goes, and so does the REVIEW_IN_PROGRESS stack it made, also when the
	// wait was cancelled.
	failed := func(err error) (Plan, error) {
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		t.Abandon(cleanup, plan)
		return Plan{}, err
	}
	for {
		cs, err := t.CFN.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: out.Id, StackName: aws.String(stack)})
		if err != nil {
			if throttled(err) {
				if err := sleep(ctx, t.Poll); err != nil {
					return failed(err)
				}
				continue
			}
			return failed(fmt.Errorf("describe change set: %w", err))
		}
		switch cs.Status {
		case cfntypes.ChangeSetStatusCreateComplete:
			// Large change sets come in pages.
			for page := cs; ; {
				for _, c := range page.Changes {
					if rc := c.ResourceChange; rc != nil {
						plan.Changes = append(plan.Changes, Change{
							Action: string(rc.Action), LogicalID: aws.ToString(rc.LogicalResourceId),
							Type: aws.ToString(rc.ResourceType), Replacement: string(rc.Replacement),
						})
					}
				}
				if page.NextToken == nil {
					break
				}
				if page, err = t.describeChangeSetPage(ctx, out.Id, stack, page.NextToken); err != nil {
					return failed(fmt.Errorf("describe change set: %w", err))
				}
			}
			sort.Slice(plan.Changes, func(i, j int) bool { return plan.Changes[i].LogicalID < plan.Changes[j].LogicalID })
			if plan.Empty() && !create {
				t.Discard(ctx, plan)
			}
			return plan, nil
		case cfntypes.ChangeSetStatusFailed:
			reason := aws.ToString(cs.StatusReason)
			if noChanges(reason) {
				plan.Changes = nil
				t.Discard(ctx, plan)
				return plan, nil
			}
			return failed(fmt.Errorf("change set for %s failed: %s", stack, reason))
		}
		if err := sleep(ctx, t.Poll); err != nil {
			return failed(err)
		}
	}
}

// planCreate plans the create of stack without CloudFormation: every
// resource of the template whose condition holds for params is added. It
// serves a diff made before the bootstrap stack exists, whose template is
// too large to send inline.
func planCreate(stack string, template []byte, params []cfntypes.Parameter) (Plan, error) {
	var t struct {
		Parameters map[string]struct {
			Type string `json:"Type"`
		} `json:"Parameters"`
		Conditions map[string]any `json:"Conditions"`
		Resources  map[string]struct {
			Type      string `json:"Type"`
			Condition string `json:"Condition"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return Plan{}, fmt.Errorf("read the template of %s: %w", stack, err)
	}
	values := map[string]any{}
	for _, p := range params {
		v := aws.ToString(p.ParameterValue)
		values[aws.ToString(p.ParameterKey)] = v
		if typ := t.Parameters[aws.ToString(p.ParameterKey)].Type; typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var list []any
			for _, e := range strings.Split(v, ",") {
				list = append(list, e)
			}
			values[aws.ToString(p.ParameterKey)] = list
		}
	}
	r := cfn.NewResolver(values, t.Conditions)
	plan := Plan{Stack: stack, Create: true}
	for id, res := range t.Resources {
		if res.Condition != "" {
			holds, err := r.Eval(map[string]any{"Condition": res.Condition})
			if err != nil {
				return Plan{}, fmt.Errorf("plan %s: condition %s of %s: %w", stack, res.Condition, id, err)
			}
			if holds != true {
				continue
			}
		}
		plan.Changes = append(plan.Changes, Change{Action: string(cfntypes.ChangeActionAdd), LogicalID: id, Type: res.Type})
	}
	sort.Slice(plan.Changes, func(i, j int) bool { return plan.Changes[i].LogicalID < plan.Changes[j].LogicalID })
	return plan, nil
}

// describeChangeSetPage reads one page of a change set's changes, riding
// out throttling with backoff.
func (t *Tool) describeChangeSetPage(ctx context.Context, id *string, stack string, next *string) (*cloudformation.DescribeChangeSetOutput, error) {
	var page *cloudformation.DescribeChangeSetOutput
	err := t.retryThrottled(ctx, "change set of "+stack, func() error {
		var err error
		page, err = t.CFN.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: id, StackName: aws.String(stack), NextToken: next})
		return err
	})
	return page, err
}

// Abandon discards a plan that will not be executed and, when planning
// made its stack, deletes that empty REVIEW_IN_PROGRESS stack too, so a
// plan alone changes nothing.
func (t *Tool) Abandon(ctx context.Context, p Plan) {
	t.Discard(ctx, p)
	if !p.NewStack {
		return
	}
	if _, err := t.CFN.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(p.Stack)}); err != nil {
		t.logf("could not delete the stack %s the plan made: %v", p.Stack, err)
	}
}

// Discard deletes a plan's change set.
func (t *Tool) Discard(ctx context.Context, p Plan) {
	if p.ChangeSet == "" {
		return // planned without CloudFormation
	}
	_, err := t.CFN.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: aws.String(p.ChangeSet), StackName: aws.String(p.Stack)})
	if err != nil {
		t.logf("could not delete change set %s: %v", p.ChangeSet, err)
	}
}

// Execute runs a plan and waits for the stack to settle, reporting events
// as they come. A failure names the first failing resource and its reason,
// and what to do next.
func (t *Tool) Execute(ctx context.Context, p Plan) (Stack, error) {
	if p.ChangeSet == "" {
		return Stack{}, fmt.Errorf("the plan of %s was read from its template, for a diff, and cannot be executed: %s goes by URL through the bootstrap stack's bucket (deploy bootstrap first)", p.Stack, p.Stack)
	}
	marker := t.newestEvent(ctx, p.Stack)
	token := "hexlambda-" + NewSecret()[:20]
	if _, err := t.CFN.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{
		ChangeSetName: aws.String(p.ChangeSet), StackName: aws.String(p.Stack), ClientRequestToken: aws.String(token),
	}); err != nil {
		return Stack{}, fmt.Errorf("execute change set: %w", err)
	}
	return t.wait(ctx, p.Stack, marker, token)
}

var terminal = map[string]bool{
	"CREATE_COMPLETE": true, "UPDATE_COMPLETE": true, "DELETE_COMPLETE": true,
	"CREATE_FAILED": true, "DELETE_FAILED": true, "ROLLBACK_COMPLETE": true, "ROLLBACK_FAILED": true,
	"UPDATE_ROLLBACK_COMPLETE": true, "UPDATE_ROLLBACK_FAILED": true, "UPDATE_FAILED": true, "IMPORT_COMPLETE": true,
}

// NextStep says what to do about a stack in a failed state.
var NextStep = map[string]string{
	"ROLLBACK_COMPLETE":        "the stack was never created; destroy it (deploy destroy) and deploy again",
	"ROLLBACK_FAILED":          "the failed create could not be undone; delete the resources named above by hand, then destroy the stack and deploy again",
	"CREATE_FAILED":            "destroy the stack (deploy destroy) and deploy again",
	"UPDATE_ROLLBACK_COMPLETE": "the update was undone and the stack is as before; fix the cause above and deploy again",
	"UPDATE_ROLLBACK_FAILED": "the stack cannot roll back; fix the resources named above, then run " +
		"aws cloudformation continue-update-rollback --stack-name STACK (with --resources-to-skip for those that cannot be fixed), and deploy again",
	"UPDATE_FAILED": "deploy again once the cause above is fixed",
	"DELETE_FAILED": "delete the resources named above by hand (a non-empty bucket, say), or run aws cloudformation delete-stack " +
		"--stack-name STACK --retain-resources ..., then destroy again",
}

// throttled reports whether err is AWS refusing a request for its rate.
func throttled(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException":
			return true
		}
	}
	return false
}

// retryThrottled runs call until it is not throttled, backing off from
// the poll interval to 30 s, nine times at most.
func (t *Tool) retryThrottled(ctx context.Context, what string, call func() error) error {
	delay := t.Poll
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || !throttled(err) || attempt == 8 {
			return err
		}
		t.logf("  (CloudFormation is throttling; reading the %s again in %s)", what, delay)
		if err := sleep(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, 30*time.Second)
	}
}

// describeRetrying is Describe that rides out throttling with backoff.
func (t *Tool) describeRetrying(ctx context.Context, stack string) (Stack, error) {
	var st Stack
	err := t.retryThrottled(ctx, "stack "+stack, func() error {
		var err error
		st, err = t.Describe(ctx, stack)
		return err
	})
	return st, err
}

func (t *Tool) wait(ctx context.Context, stack, marker, token string) (Stack, error) {
	seen := map[string]bool{}
	started := time.Now()
	var firstFailure string
	for {
		st, err := t.describeRetrying(ctx, stack)
		if errors.Is(err, ErrNoStack) {
			return Stack{Name: stack, Status: "DELETE_COMPLETE"}, nil
		}
		if err != nil {
			return Stack{}, err
		}
		if f := t.reportEvents(ctx, stack, marker, token, seen, time.Since(started)); firstFailure == "" {
			firstFailure = f
		}
		if terminal[st.Status] {
			if strings.HasSuffix(st.Status, "_COMPLETE") && !strings.Contains(st.Status, "ROLLBACK") {
				return st, nil
			}
			if firstFailure == "" {
				firstFailure = "no failure reason reported"
			}
			msg := fmt.Sprintf("stack %s ended %s: %s", stack, st.Status, firstFailure)
			if next := NextStep[st.Status]; next != "" {
				msg += "\nnext: " + strings.ReplaceAll(next, "STACK", stack)
			}
			return st, errors.New(msg)
		}
		if err := sleep(ctx, t.Poll); err != nil {
			return Stack{}, err
		}
	}
}

// newestEvent returns the id of the stack's newest event, "" when it has
// none (or does not exist): the events after it are the next operation's.
func (t *Tool) newestEvent(ctx context.Context, stack string) string {
	var out *cloudformation.DescribeStackEventsOutput
	err := t.retryThrottled(ctx, "events of "+stack, func() error {
		var err error
		out, err = t.CFN.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)})
		return err
	})
	if err != nil || len(out.StackEvents) == 0 {
		return ""
	}
	return aws.ToString(out.StackEvents[0].EventId)
}

// reportEvents prints the stack's new events, oldest first, and returns the
// first failure among them. This operation's events are those carrying its
// token or, where the service sets none, those newer than marker: found by
// paging back from the newest, never by comparing clocks.
func (t *Tool) reportEvents(ctx context.Context, stack, marker, token string, seen map[string]bool, elapsed time.Duration) string {
	var fresh []cfntypes.StackEvent
	in := &cloudformation.DescribeStackEventsInput{StackName: aws.String(stack)}
pages:
	for {
		out, err := t.CFN.DescribeStackEvents(ctx, in)
		if err != nil {
			break
		}
		for _, e := range out.StackEvents {
			id := aws.ToString(e.EventId)
			if id == marker || seen[id] {
				break pages
			}
			if tok := aws.ToString(e.ClientRequestToken); tok != "" && token != "" && tok != token {
				continue
			}
			fresh = append(fresh, e)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	failure := ""
	for i := len(fresh) - 1; i >= 0; i-- {
		e := fresh[i]
		seen[aws.ToString(e.EventId)] = true
		reason := aws.ToString(e.ResourceStatusReason)
		t.logf("  %5s  %-28s %-40s %-32s %s", elapsed.Round(time.Second), e.ResourceStatus, aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), reason)
		if failure == "" && strings.HasSuffix(string(e.ResourceStatus), "_FAILED") && reason != "" && !strings.Contains(reason, "Resource creation cancelled") {
			failure = fmt.Sprintf("%s (%s): %s", aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), reason)
		}
	}
	return failure
}

// Destroy deletes a stack and waits until it is gone.
func (t *Tool) Destroy(ctx context.Context, stack string) error {
	if _, err := t.Describe(ctx, stack); err != nil {
		return err
	}
	marker := t.newestEvent(ctx, stack)
	token := "hexlambda-" + NewSecret()[:20]
	if _, err := t.CFN.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(stack), ClientRequestToken: aws.String(token)}); err != nil {
		return fmt.Errorf("delete stack %s: %w", stack, err)
	}
	st, err := t.wait(ctx, stack, marker, token)
	if err != nil {
		return err
	}
	if st.Status != "DELETE_COMPLETE" {
		return fmt.Errorf("stack %s ended %s", stack, st.Status)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("waiting: %w", ctx.Err())
	case <-time.After(d):
		return nil
	}
}

// noChanges recognises CloudFormation's ways of saying a change set (or an
// update) would change nothing.
func noChanges(msg string) bool {
	return strings.Contains(msg, "didn't contain changes") || strings.Contains(msg, "No updates are to be performed")
}

// AfterRemovingRoutes describes the deployment RefreshStage makes.
const AfterRemovingRoutes = "after removing routes (hexlambda deploy)"

// RefreshStage deploys a stage's API anew when plan removed methods:
// CloudFormation creates the new deployment before it deletes the old
// methods, so that deployment's snapshot still holds them, answering 500
// with their functions gone. A deployment made after the update holds only
// what is left.
func (t *Tool) RefreshStage(ctx context.Context, plan Plan, st Stack) error {
	removed := 0
	for _, c := range plan.Changes {
		if c.Action == "Remove" && c.Type == "AWS::ApiGateway::Method" {
			removed++
		}
	}
	if removed == 0 {
		return nil
	}
	apiID, stage := st.Outputs["ApiId"], st.Parameters["Stage"]
	if apiID == "" || stage == "" {
		return fmt.Errorf("%s removed %d route(s) but reports no ApiId or Stage to deploy anew", st.Name, removed)
	}
	t.logf("%s: %d route(s) removed; deploying stage %s of API %s anew so they are gone from it", st.Name, removed, stage, apiID)
	if _, err := t.APIGW.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{
		RestApiId: aws.String(apiID), StageName: aws.String(stage),
		Description: aws.String(AfterRemovingRoutes),
	}); err != nil {
		return fmt.Errorf("deploy stage %s of %s anew after removing routes: %w", stage, apiID, err)
	}
	return nil
}

// MaxTemplateBody is the largest template CloudFormation takes inline.
const MaxTemplateBody = 51200

// uploadTemplate puts a template in the template bucket under its hash and
// returns its URL.
func (t *Tool) uploadTemplate(ctx context.Context, stack string, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	key := "templates/" + stack + "/" + hex.EncodeToString(sum[:]) + ".json"
	if _, err := t.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(t.TemplateBucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"),
	}); err != nil {
		return "", fmt.Errorf("upload the template of %s: %w", stack, err)
	}
	return fmt.Sprintf("https://s3.%s.amazonaws.com/%s/%s", t.Region, t.TemplateBucket, key), nil
}
