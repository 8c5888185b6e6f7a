package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/deploy"
)

func TestZipsAreDeterministic(t *testing.T) {
	t.Parallel()
	bin := bytes.Repeat([]byte("\x7fELF binary"), 1000)
	a, err := deploy.Zip(bin)
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // a zip that recorded the time would now differ
	b, err := deploy.Zip(bin)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	require.NoError(t, err)
	require.Len(t, zr.File, 1)
	f := zr.File[0]
	assert.Equal(t, "bootstrap", f.Name)
	assert.Equal(t, "-rwxr-xr-x", f.Mode().String())
	rc, err := f.Open()
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, bin, got)

	c, err := deploy.Zip(append(bin, 1))
	require.NoError(t, err)
	assert.NotEqual(t, a, c)
}

func TestStageChecks(t *testing.T) {
	t.Parallel()
	require.NoError(t, deploy.CheckStage("dev", nil))
	require.NoError(t, deploy.CheckStage("prod", deploy.Params{"Auth": "API_KEY"}))
	require.ErrorContains(t, deploy.CheckStage("dev", deploy.Params{"Auth": "NONE"}), "--allow-anonymous", "anonymous access is opt-in on every stage")
	require.NoError(t, deploy.CheckStage("dev", deploy.Params{"Auth": "NONE", "AllowAnonymous": "true"}))
	require.ErrorContains(t, deploy.CheckStage("prod", deploy.Params{"Auth": "NONE", "AllowAnonymous": "true"}), "not allowed")
	require.ErrorContains(t, deploy.CheckStage("production", deploy.Params{"Auth": "NONE"}), "not allowed")
	require.ErrorContains(t, deploy.CheckStage("dev", deploy.Params{"Network": "PRIVATE"}), "public or private")
	require.NoError(t, deploy.CheckStage("dev", deploy.Params{"Network": "private"}))
	require.ErrorContains(t, deploy.CheckStage("dev", deploy.Params{"KeyThrottleRateLimit": "60"}), "above ThrottleRateLimit 50")
	require.ErrorContains(t, deploy.CheckStage("dev", deploy.Params{"ThrottleBurstLimit": "10"}), "KeyThrottleBurstLimit 20 is above")
	require.NoError(t, deploy.CheckStage("dev", deploy.Params{"ThrottleRateLimit": "500", "KeyThrottleRateLimit": "100"}))
	for _, bad := range []string{"", "Dev", "1dev", "dev_1", "a-very-long-stage-name-indeed"} {
		require.Error(t, deploy.CheckStage(bad, nil), bad)
	}
	assert.Equal(t, "claims-dev", deploy.StackName("claims", "dev"))
}

func TestParseArch(t *testing.T) {
	t.Parallel()
	a, err := deploy.ParseArch("arm64")
	require.NoError(t, err)
	assert.Equal(t, deploy.Arch{Lambda: "arm64", GOARCH: "arm64"}, a)
	a, err = deploy.ParseArch("x86_64")
	require.NoError(t, err)
	assert.Equal(t, deploy.Arch{Lambda: "x86_64", GOARCH: "amd64"}, a)
	_, err = deploy.ParseArch("host")
	require.NoError(t, err)
	_, err = deploy.ParseArch("riscv")
	require.Error(t, err)
}

// failingCFN replays a create that fails on one resource: its events come
// in pages of two, newest first, the last one from an earlier operation;
// its clock is an hour off the tool's, and it throttles some reads.
type failingCFN struct {
	deploy.CloudFormation
	status   string
	executed bool
	token    string
	reads    int
}

func (f *failingCFN) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.reads++
	if f.reads%2 == 1 {
		return nil, &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{
		StackName: aws.String("claims-dev"), StackStatus: cfntypes.StackStatus(f.status),
		StackId: aws.String("arn:aws:cloudformation:eu-west-1:123456789012:stack/claims-dev/1"),
	}}}, nil
}

func (f *failingCFN) DescribeStackEvents(_ context.Context, in *cloudformation.DescribeStackEventsInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	skewed := time.Now().Add(-time.Hour) // the service's clock is behind the tool's
	ev := func(id, logical, typ, status, reason, token string) cfntypes.StackEvent {
		return cfntypes.StackEvent{
			EventId: aws.String(id), LogicalResourceId: aws.String(logical), ResourceType: aws.String(typ),
			ResourceStatus: cfntypes.ResourceStatus(status), ResourceStatusReason: aws.String(reason), Timestamp: aws.Time(skewed),
			ClientRequestToken: aws.String(token),
		}
	}
	old := ev("1", "old", "AWS::DynamoDB::Table", "CREATE_FAILED", "from an earlier deploy", "earlier")
	all := []cfntypes.StackEvent{old}
	if f.executed {
		all = append([]cfntypes.StackEvent{
			ev("6", "claims-dev", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", "", f.token),
			ev("5", "GetClaimFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Resource creation cancelled", f.token),
			ev("4", "CreateClaimFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Error occurred while GetObject. S3 Error Code: NoSuchKey", f.token),
			ev("3", "ClaimsTable", "AWS::DynamoDB::Table", "CREATE_COMPLETE", "", f.token),
			ev("2", "stray", "AWS::DynamoDB::Table", "CREATE_FAILED", "another operation's", "someone-else"),
		}, all...)
	}
	start := 0
	if in.NextToken != nil {
		_, _ = fmt.Sscan(*in.NextToken, &start)
	}
	end := min(start+2, len(all))
	out := &cloudformation.DescribeStackEventsOutput{StackEvents: all[start:end]}
	if end < len(all) {
		out.NextToken = aws.String(fmt.Sprint(end))
	}
	return out, nil
}

func (f *failingCFN) ExecuteChangeSet(_ context.Context, in *cloudformation.ExecuteChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	f.executed, f.token = true, aws.ToString(in.ClientRequestToken)
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

func TestAFailedDeployNamesTheFailingResource(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	tool := &deploy.Tool{CFN: &failingCFN{status: "ROLLBACK_COMPLETE"}, Log: &log, Poll: time.Millisecond}
	_, err := tool.Execute(context.Background(), deploy.Plan{Stack: "claims-dev", ChangeSet: "cs"})
	require.Error(t, err)
	assert.Equal(t, "stack claims-dev ended ROLLBACK_COMPLETE: CreateClaimFunction (AWS::Lambda::Function): Error occurred while GetObject. S3 Error Code: NoSuchKey\n"+
		"next: the stack was never created; destroy it (deploy destroy) and deploy again", err.Error())
	assert.Contains(t, log.String(), "CREATE_COMPLETE", "progress lists the events, across pages")
	assert.NotContains(t, log.String(), "from an earlier deploy", "older events are not this deploy's, whatever the clocks say")
	assert.NotContains(t, log.String(), "another operation's", "nor are events of another request")
	assert.Contains(t, log.String(), "throttling", "a throttled read is read again")
}

func TestEveryFailedStateSaysWhatToDoNext(t *testing.T) {
	t.Parallel()
	for _, status := range []string{"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "CREATE_FAILED"} {
		tool := &deploy.Tool{CFN: &failingCFN{status: status}, Log: io.Discard, Poll: time.Millisecond}
		_, err := tool.Execute(context.Background(), deploy.Plan{Stack: "claims-dev", ChangeSet: "cs"})
		require.Error(t, err, status)
		assert.Contains(t, err.Error(), "\nnext: ", status)
		assert.NotContains(t, err.Error(), "STACK", "the stack is named: %s", status)
	}
}

// apiGateway records the deployments the tool makes and holds the
// account's logging role.
type apiGateway struct {
	deployments []string
	role        string
}

func (a *apiGateway) GetAccount(context.Context, *apigateway.GetAccountInput, ...func(*apigateway.Options)) (*apigateway.GetAccountOutput, error) {
	return &apigateway.GetAccountOutput{CloudwatchRoleArn: aws.String(a.role)}, nil
}

func (a *apiGateway) CreateDeployment(_ context.Context, in *apigateway.CreateDeploymentInput, _ ...func(*apigateway.Options)) (*apigateway.CreateDeploymentOutput, error) {
	a.deployments = append(a.deployments, aws.ToString(in.RestApiId)+"/"+aws.ToString(in.StageName))
	return &apigateway.CreateDeploymentOutput{}, nil
}

// CloudFormation creates a stage's new deployment before it deletes the
// removed methods, so the snapshot keeps them: the tool deploys anew.
func TestRemovedRoutesLeaveTheStage(t *testing.T) {
	t.Parallel()
	gw := &apiGateway{}
	tool := &deploy.Tool{APIGW: gw, Log: io.Discard}
	st := deploy.Stack{Name: "claims-dev", Outputs: map[string]string{"ApiId": "abc123"}, Parameters: map[string]string{"Stage": "dev"}}
	kept := deploy.Plan{Changes: []deploy.Change{{Action: "Add", Type: "AWS::ApiGateway::Method"}, {Action: "Remove", Type: "AWS::Lambda::Function"}}}
	require.NoError(t, tool.RefreshStage(context.Background(), kept, st))
	assert.Empty(t, gw.deployments, "no route removed, no extra deployment")
	removed := deploy.Plan{Changes: []deploy.Change{{Action: "Remove", Type: "AWS::ApiGateway::Method"}}}
	require.NoError(t, tool.RefreshStage(context.Background(), removed, st))
	assert.Equal(t, []string{"abc123/dev"}, gw.deployments)
}

// reviewCFN holds a stack that a plan left in REVIEW_IN_PROGRESS.
type reviewCFN struct {
	deploy.CloudFormation
	created, deleted bool
	csType           cfntypes.ChangeSetType
	status           string
	// params are the stack's parameters; sent, the change set's.
	params []cfntypes.Parameter
	sent   []cfntypes.Parameter
	// failure, when set, is the reason the change set fails.
	failure string
	// changeSetDeleted says the plan's change set was deleted.
	changeSetDeleted bool
}

func (r *reviewCFN) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if r.status == "" {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id claims-qa does not exist"}
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{
		StackName: aws.String("claims-qa"), StackStatus: cfntypes.StackStatus(r.status), Parameters: r.params,
	}}}, nil
}

func (r *reviewCFN) CreateChangeSet(_ context.Context, in *cloudformation.CreateChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	r.created, r.csType, r.sent = true, in.ChangeSetType, in.Parameters
	return &cloudformation.CreateChangeSetOutput{Id: aws.String("cs-1")}, nil
}

func (r *reviewCFN) DescribeChangeSet(context.Context, *cloudformation.DescribeChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	if r.failure != "" {
		return &cloudformation.DescribeChangeSetOutput{Status: cfntypes.ChangeSetStatusFailed, StatusReason: aws.String(r.failure)}, nil
	}
	return &cloudformation.DescribeChangeSetOutput{Status: cfntypes.ChangeSetStatusCreateComplete, Changes: []cfntypes.Change{
		{ResourceChange: &cfntypes.ResourceChange{Action: cfntypes.ChangeActionAdd, LogicalResourceId: aws.String("Api"), ResourceType: aws.String("AWS::ApiGateway::RestApi")}},
	}}, nil
}

func (r *reviewCFN) DeleteChangeSet(context.Context, *cloudformation.DeleteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteChangeSetOutput, error) {
	r.changeSetDeleted = true
	return &cloudformation.DeleteChangeSetOutput{}, nil
}

func (r *reviewCFN) DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	r.deleted = true
	return &cloudformation.DeleteStackOutput{}, nil
}

func TestAPlanChangesNothingAndAStackLeftInReviewIsCreated(t *testing.T) {
	t.Parallel()
	body := []byte(`{"Parameters":{},"Resources":{}}`)
	fresh := &reviewCFN{}
	tool := &deploy.Tool{CFN: fresh, Log: io.Discard, Poll: time.Millisecond}
	plan, err := tool.PlanChanges(context.Background(), "claims-qa", body, nil)
	require.NoError(t, err)
	assert.True(t, plan.Create && plan.NewStack)
	tool.Abandon(context.Background(), plan)
	assert.True(t, fresh.deleted, "a diff deletes the REVIEW_IN_PROGRESS stack its plan made")

	left := &reviewCFN{status: "REVIEW_IN_PROGRESS"}
	tool = &deploy.Tool{CFN: left, Log: io.Discard, Poll: time.Millisecond}
	plan, err = tool.PlanChanges(context.Background(), "claims-qa", body, nil)
	require.NoError(t, err, "a stack in review is not busy")
	assert.Equal(t, cfntypes.ChangeSetTypeCreate, left.csType, "it is created")
	assert.False(t, plan.NewStack)

	// A create change set that fails leaves nothing behind: neither its
	// change set nor the REVIEW_IN_PROGRESS stack it made.
	invalid := &reviewCFN{failure: "Template error: instance of Fn::GetAtt references undefined resource Nope"}
	tool = &deploy.Tool{CFN: invalid, Log: io.Discard, Poll: time.Millisecond}
	_, err = tool.PlanChanges(context.Background(), "claims-qa", body, nil)
	require.ErrorContains(t, err, "change set for claims-qa failed: Template error")
	assert.True(t, invalid.changeSetDeleted, "the failed change set is deleted")
	assert.True(t, invalid.deleted, "and so is the stack it made")
	// One that fails on a stack left in review by someone else's plan
	// takes only its own change set: the stack is not this plan's.
	othersReview := &reviewCFN{status: "REVIEW_IN_PROGRESS", failure: "Template error"}
	tool = &deploy.Tool{CFN: othersReview, Log: io.Discard, Poll: time.Millisecond}
	_, err = tool.PlanChanges(context.Background(), "claims-qa", body, nil)
	require.Error(t, err)
	assert.True(t, othersReview.changeSetDeleted)
	assert.False(t, othersReview.deleted)

	for status, want := range map[string]string{
		"ROLLBACK_COMPLETE":      "destroy it",
		"UPDATE_ROLLBACK_FAILED": "continue-update-rollback --stack-name claims-qa",
		"DELETE_FAILED":          "--retain-resources",
		"UPDATE_IN_PROGRESS":     "busy",
	} {
		tool = &deploy.Tool{CFN: &reviewCFN{status: status}, Log: io.Discard, Poll: time.Millisecond}
		_, err = tool.PlanChanges(context.Background(), "claims-qa", body, nil)
		require.ErrorContains(t, err, want, status)
	}
}

// API Gateway's logging role is one per region, used by every API there:
// the bootstrap sets it only when asked and where none is set, keeps the
// one it set, and says what it found.
func TestTheRegionsLoggingRoleIsSetOnlyWhenAskedAndWhereNoneIs(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	ours := deploy.Stack{Outputs: map[string]string{"LoggingRoleArn": "arn:aws:iam::1:role/ours"}, Parameters: map[string]string{"SetApiGatewayLoggingRole": "true"}}
	for _, c := range []struct {
		role      string
		asked     bool
		bootstrap deploy.Stack
		want      string
	}{
		{"", false, deploy.Stack{}, "false"},
		{"", true, deploy.Stack{}, "true"},
		{"arn:aws:iam::1:role/someone-elses", false, deploy.Stack{}, "false"},
		{"arn:aws:iam::1:role/someone-elses", true, deploy.Stack{}, "false"},
		{"arn:aws:iam::1:role/ours", false, ours, "true"},
		{"arn:aws:iam::1:role/someone-elses", true, ours, "false"},
		{"", false, ours, "true"},
	} {
		tool := &deploy.Tool{APIGW: &apiGateway{role: c.role}, Log: &log, Region: "eu-west-1", SetLoggingRole: c.asked}
		assert.Equal(t, c.want, tool.LoggingRole(context.Background(), c.bootstrap), "role %q, asked %t", c.role, c.asked)
	}
	assert.Contains(t, log.String(), "already logs with arn:aws:iam::1:role/someone-elses; leaving it")
	assert.Contains(t, log.String(), "has no CloudWatch logging role (stages' access logs need one): the bootstrap stack sets its own, as asked")
	assert.Contains(t, log.String(), "has no CloudWatch logging role, which stages' access logs need: deploy with --set-logging-role")
}

// A service stage's access logs need the region's role: without one, and
// not asked to set one, a deploy is refused before anything is made.
func TestAStageIsRefusedWhereItsAccessLogsCannotBeWritten(t *testing.T) {
	t.Parallel()
	none := &deploy.Tool{APIGW: &apiGateway{}, CFN: &reviewCFN{}, Log: io.Discard, Region: "eu-west-1"}
	err := none.LoggingRoleReady(context.Background())
	require.ErrorIs(t, err, deploy.ErrNoLoggingRole)
	require.ErrorContains(t, err, "in eu-west-1, and a stage's access logs need one")
	require.ErrorContains(t, err, "--set-logging-role")
	asked := &deploy.Tool{APIGW: &apiGateway{}, Log: io.Discard, Region: "eu-west-1", SetLoggingRole: true}
	require.NoError(t, asked.LoggingRoleReady(context.Background()))
	set := &deploy.Tool{APIGW: &apiGateway{role: "arn:aws:iam::1:role/someone-elses"}, Log: io.Discard, Region: "eu-west-1"}
	require.NoError(t, set.LoggingRoleReady(context.Background()))
}

// A create states every default, so the stack records each value it was
// made with; an update keeps the previous values, a list's given back as
// CloudFormation reads it (moto takes no UsePreviousValue for a list).
func TestParametersNotGivenKeepTheirValues(t *testing.T) {
	t.Parallel()
	body := []byte(`{"Parameters":{"Stage":{"Type":"String"},"Owner":{"Type":"String","Default":"unassigned"},` +
		`"MemorySize":{"Type":"Number","Default":128},"SubnetIds":{"Type":"CommaDelimitedList","Default":""},"Auth":{"Type":"String","Default":"AWS_IAM"}},"Resources":{}}`)
	sent := func(ps []cfntypes.Parameter) map[string]string {
		out := map[string]string{}
		for _, p := range ps {
			v := aws.ToString(p.ParameterValue)
			if aws.ToBool(p.UsePreviousValue) {
				v = "(previous)"
			}
			out[aws.ToString(p.ParameterKey)] = v
		}
		return out
	}
	fresh := &reviewCFN{}
	tool := &deploy.Tool{CFN: fresh, Log: io.Discard, Poll: time.Millisecond}
	_, err := tool.PlanChanges(context.Background(), "claims-qa", body, deploy.Params{"Stage": "qa", "Auth": "API_KEY"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Stage": "qa", "Auth": "API_KEY", "Owner": "unassigned", "MemorySize": "128", "SubnetIds": ""}, sent(fresh.sent))

	existing := &reviewCFN{status: "CREATE_COMPLETE", params: []cfntypes.Parameter{
		{ParameterKey: aws.String("Stage"), ParameterValue: aws.String("qa")}, {ParameterKey: aws.String("Owner"), ParameterValue: aws.String("team-a")},
		{ParameterKey: aws.String("MemorySize"), ParameterValue: aws.String("256")},
		{ParameterKey: aws.String("SubnetIds"), ParameterValue: aws.String("['subnet-1', 'subnet-2']")},
		{ParameterKey: aws.String("Auth"), ParameterValue: aws.String("API_KEY")},
	}}
	tool = &deploy.Tool{CFN: existing, Log: io.Discard, Poll: time.Millisecond}
	_, err = tool.PlanChanges(context.Background(), "claims-qa", body, deploy.Params{"Auth": "AWS_IAM"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Stage": "(previous)", "Owner": "(previous)", "MemorySize": "(previous)", "SubnetIds": "subnet-1,subnet-2", "Auth": "AWS_IAM"},
		sent(existing.sent))
}

// Before the bootstrap stack exists there is no bucket to send a large
// template through: a diff of a new stack lists the create from the
// template itself, the resources whose conditions hold, and calls nothing.
func TestALargeCreateIsPlannedFromItsTemplateBeforeTheBootstrap(t *testing.T) {
	t.Parallel()
	resources := map[string]any{
		"Table":     map[string]any{"Type": "AWS::DynamoDB::Table"},
		"UsagePlan": map[string]any{"Type": "AWS::ApiGateway::UsagePlan", "Condition": "UseApiKey"},
		"Vpce":      map[string]any{"Type": "AWS::EC2::VPCEndpoint", "Condition": "HasEndpoints"},
	}
	for i := range 400 { // past CloudFormation's inline limit
		resources[fmt.Sprintf("Alarm%03d", i)] = map[string]any{"Type": "AWS::CloudWatch::Alarm", "Properties": map[string]any{"AlarmDescription": strings.Repeat("x", 120)}}
	}
	body, err := json.Marshal(map[string]any{
		"Parameters": map[string]any{"Auth": map[string]any{"Type": "String", "Default": "AWS_IAM"}, "Endpoints": map[string]any{"Type": "CommaDelimitedList", "Default": ""}},
		"Conditions": map[string]any{
			"UseApiKey":    map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Auth"}, "API_KEY"}},
			"HasEndpoints": map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Fn::Join": []any{",", map[string]any{"Ref": "Endpoints"}}}, ""}}}},
		},
		"Resources": resources,
	})
	require.NoError(t, err)
	require.Greater(t, len(body), deploy.MaxTemplateBody)
	cf := &reviewCFN{}
	tool := &deploy.Tool{CFN: cf, Log: io.Discard, Poll: time.Millisecond}
	plan, err := tool.PlanChanges(context.Background(), "claims-qa", body, deploy.Params{"Auth": "API_KEY", "Endpoints": "vpce-1,vpce-2"})
	require.NoError(t, err)
	assert.False(t, cf.created, "no change set: CloudFormation takes no template this large inline")
	assert.True(t, plan.Create)
	assert.Len(t, plan.Changes, 403)
	ids := map[string]string{}
	for _, c := range plan.Changes {
		ids[c.LogicalID] = c.Action
	}
	assert.Equal(t, "Add", ids["UsagePlan"], "its condition holds")
	assert.Equal(t, "Add", ids["Vpce"], "a list parameter's condition too")
	plan, err = tool.PlanChanges(context.Background(), "claims-qa", body, nil)
	require.NoError(t, err)
	assert.Len(t, plan.Changes, 401, "with the defaults neither condition holds")
	tool.Abandon(context.Background(), plan)
	assert.False(t, cf.deleted || cf.changeSetDeleted, "nothing to discard")
	_, err = tool.Execute(context.Background(), plan)
	require.ErrorContains(t, err, "cannot be executed")
}

// stateCFN is one stack's life: created by executing a change set, gone
// when deleted; it records the calls that change it.
type stateCFN struct {
	deploy.CloudFormation
	status  string
	outputs map[string]string
	params  []cfntypes.Parameter
	calls   []string
}

func (s *stateCFN) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if s.status == "" {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id hexlambda-bootstrap does not exist"}
	}
	st := cfntypes.Stack{StackName: aws.String("hexlambda-bootstrap"), StackStatus: cfntypes.StackStatus(s.status), Parameters: s.params,
		StackId: aws.String("arn:aws:cloudformation:eu-west-1:123456789012:stack/hexlambda-bootstrap/1")}
	for k, v := range s.outputs {
		st.Outputs = append(st.Outputs, cfntypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{st}}, nil
}

func (s *stateCFN) DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	return &cloudformation.DescribeStackEventsOutput{}, nil
}

func (s *stateCFN) DescribeStackResources(context.Context, *cloudformation.DescribeStackResourcesInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackResourcesOutput, error) {
	return &cloudformation.DescribeStackResourcesOutput{}, nil
}

func (s *stateCFN) DeleteStack(context.Context, *cloudformation.DeleteStackInput, ...func(*cloudformation.Options)) (*cloudformation.DeleteStackOutput, error) {
	s.calls = append(s.calls, "DeleteStack "+s.status)
	s.status, s.outputs, s.params = "", nil, nil
	return &cloudformation.DeleteStackOutput{}, nil
}

func (s *stateCFN) CreateChangeSet(_ context.Context, in *cloudformation.CreateChangeSetInput, _ ...func(*cloudformation.Options)) (*cloudformation.CreateChangeSetOutput, error) {
	s.calls = append(s.calls, "CreateChangeSet "+string(in.ChangeSetType))
	if s.status == "" {
		s.status = "REVIEW_IN_PROGRESS"
	}
	s.params = in.Parameters
	return &cloudformation.CreateChangeSetOutput{Id: aws.String("cs")}, nil
}

func (s *stateCFN) DescribeChangeSet(context.Context, *cloudformation.DescribeChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeChangeSetOutput, error) {
	return &cloudformation.DescribeChangeSetOutput{Status: cfntypes.ChangeSetStatusCreateComplete, Changes: []cfntypes.Change{
		{ResourceChange: &cfntypes.ResourceChange{Action: cfntypes.ChangeActionAdd, LogicalResourceId: aws.String("ArtifactBucket"), ResourceType: aws.String("AWS::S3::Bucket")}},
	}}, nil
}

func (s *stateCFN) ExecuteChangeSet(context.Context, *cloudformation.ExecuteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	s.calls = append(s.calls, "ExecuteChangeSet")
	s.status, s.outputs = "CREATE_COMPLETE", map[string]string{"ArtifactBucketName": "bucket-2"}
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

// A bootstrap stack whose first create failed is removed and made again;
// its other failed states stop the deploy, saying what to do.
func TestAFailedBootstrapIsMadeAgainOrExplained(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	cf := &stateCFN{status: "ROLLBACK_COMPLETE"}
	tool := &deploy.Tool{CFN: cf, APIGW: &apiGateway{role: "arn:aws:iam::1:role/theirs"}, Log: &log, Poll: time.Millisecond, Region: "eu-west-1"}
	bucket, err := tool.EnsureBootstrap(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "bucket-2", bucket)
	assert.Equal(t, []string{"DeleteStack ROLLBACK_COMPLETE", "CreateChangeSet CREATE", "ExecuteChangeSet"}, cf.calls)
	assert.Contains(t, log.String(), "its first create failed and left it ROLLBACK_COMPLETE; deleting it to create it again")

	for status, next := range map[string]string{
		"UPDATE_ROLLBACK_FAILED": "continue-update-rollback --stack-name hexlambda-bootstrap",
		"DELETE_FAILED":          "--retain-resources",
		"ROLLBACK_FAILED":        "delete the resources named above by hand",
		"UPDATE_IN_PROGRESS":     "busy",
	} {
		cf := &stateCFN{status: status, outputs: map[string]string{"ArtifactBucketName": "bucket-1"}}
		tool := &deploy.Tool{CFN: cf, APIGW: &apiGateway{}, Log: io.Discard, Poll: time.Millisecond, Region: "eu-west-1"}
		_, err := tool.EnsureBootstrap(context.Background())
		require.ErrorContains(t, err, next, status)
		assert.Empty(t, cf.calls, "%s: nothing was changed", status)
	}
}
