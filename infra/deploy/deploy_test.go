package deploy_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
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
	require.ErrorContains(t, deploy.CheckStage("dev", deploy.Params{"EndpointType": "PRIVATE"}), "VpcEndpointIds")
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

// failingCFN replays a create that fails on one resource.
type failingCFN struct {
	deploy.CloudFormation
	status string
}

func (f *failingCFN) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{
		StackName: aws.String("claims-dev"), StackStatus: cfntypes.StackStatus(f.status),
		StackId: aws.String("arn:aws:cloudformation:eu-west-1:123456789012:stack/claims-dev/1"),
	}}}, nil
}

func (f *failingCFN) DescribeStackEvents(context.Context, *cloudformation.DescribeStackEventsInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackEventsOutput, error) {
	now := time.Now()
	ev := func(id, logical, typ, status, reason string, ago time.Duration) cfntypes.StackEvent {
		return cfntypes.StackEvent{
			EventId: aws.String(id), LogicalResourceId: aws.String(logical), ResourceType: aws.String(typ),
			ResourceStatus: cfntypes.ResourceStatus(status), ResourceStatusReason: aws.String(reason), Timestamp: aws.Time(now.Add(-ago)),
		}
	}
	// Newest first, as CloudFormation lists them.
	return &cloudformation.DescribeStackEventsOutput{StackEvents: []cfntypes.StackEvent{
		ev("5", "claims-dev", "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", "", 0),
		ev("4", "GetClaimFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Resource creation cancelled", time.Millisecond),
		ev("3", "CreateClaimFunction", "AWS::Lambda::Function", "CREATE_FAILED", "Error occurred while GetObject. S3 Error Code: NoSuchKey", 2*time.Millisecond),
		ev("2", "ClaimsTable", "AWS::DynamoDB::Table", "CREATE_COMPLETE", "", 3*time.Millisecond),
		ev("1", "old", "AWS::DynamoDB::Table", "CREATE_FAILED", "from an earlier deploy", time.Hour),
	}}, nil
}

func (f *failingCFN) ExecuteChangeSet(context.Context, *cloudformation.ExecuteChangeSetInput, ...func(*cloudformation.Options)) (*cloudformation.ExecuteChangeSetOutput, error) {
	return &cloudformation.ExecuteChangeSetOutput{}, nil
}

func TestAFailedDeployNamesTheFailingResource(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	tool := &deploy.Tool{CFN: &failingCFN{status: "ROLLBACK_COMPLETE"}, Log: &log, Poll: time.Millisecond}
	_, err := tool.Execute(context.Background(), deploy.Plan{Stack: "claims-dev", ChangeSet: "cs"})
	require.Error(t, err)
	assert.Equal(t, "stack claims-dev ended ROLLBACK_COMPLETE: CreateClaimFunction (AWS::Lambda::Function): Error occurred while GetObject. S3 Error Code: NoSuchKey", err.Error())
	assert.Contains(t, log.String(), "CREATE_COMPLETE", "progress lists the events")
	assert.NotContains(t, log.String(), "from an earlier deploy", "older events are not this deploy's")
}
