package localgw_test

import (
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/pkg/awstest"
)

// emulatedAPI is a small API stack: /items and /items/{id} (when withItem),
// each with a GET whose authorization follows the Auth parameter, deployed
// by the named deployment to stage dev with a stage throttle.
func emulatedAPI(t *testing.T, deployment string, withItem bool) string {
	t.Helper()
	method := func(resource string) map[string]any {
		return map[string]any{"Type": "AWS::ApiGateway::Method", "Properties": map[string]any{
			"RestApiId": map[string]any{"Ref": "Api"}, "ResourceId": map[string]any{"Ref": resource}, "HttpMethod": "GET",
			"AuthorizationType": map[string]any{"Fn::If": []any{"UseIAM", "AWS_IAM", "NONE"}},
			"Integration": map[string]any{
				"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
				"Uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn/invocations",
			},
		}}
	}
	methods := []any{"ItemsGet"}
	resources := map[string]any{
		"Api": map[string]any{"Type": "AWS::ApiGateway::RestApi", "Properties": map[string]any{"Name": "emulated"}},
		"Items": map[string]any{"Type": "AWS::ApiGateway::Resource", "Properties": map[string]any{
			"RestApiId": map[string]any{"Ref": "Api"}, "ParentId": map[string]any{"Fn::GetAtt": []any{"Api", "RootResourceId"}}, "PathPart": "items",
		}},
		"ItemsGet": method("Items"),
	}
	if withItem {
		resources["Item"] = map[string]any{"Type": "AWS::ApiGateway::Resource", "Properties": map[string]any{
			"RestApiId": map[string]any{"Ref": "Api"}, "ParentId": map[string]any{"Ref": "Items"}, "PathPart": "{id}",
		}}
		resources["ItemGet"] = method("Item")
		methods = append(methods, "ItemGet")
	}
	resources[deployment] = map[string]any{
		"Type": "AWS::ApiGateway::Deployment", "DependsOn": methods,
		"Properties": map[string]any{"RestApiId": map[string]any{"Ref": "Api"}},
	}
	resources["Stage"] = map[string]any{"Type": "AWS::ApiGateway::Stage", "Properties": map[string]any{
		"RestApiId": map[string]any{"Ref": "Api"}, "DeploymentId": map[string]any{"Ref": deployment}, "StageName": "dev",
		"TracingEnabled": true,
		"MethodSettings": []any{map[string]any{"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": map[string]any{"Ref": "Rate"}, "ThrottlingBurstLimit": 10}},
	}}
	b, err := json.Marshal(map[string]any{
		"Parameters": map[string]any{
			"Auth": map[string]any{"Type": "String", "AllowedValues": []string{"NONE", "AWS_IAM"}},
			"Rate": map[string]any{"Type": "Number", "Default": 5},
		},
		"Conditions": map[string]any{"UseIAM": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Auth"}, "AWS_IAM"}}},
		"Resources":  resources,
		"Outputs":    map[string]any{"ApiId": map[string]any{"Value": map[string]any{"Ref": "Api"}}},
	})
	require.NoError(t, err)
	return string(b)
}

// The emulator the tests start changes an API under CloudFormation as AWS
// does: a condition's new value updates the methods that read it, a new
// deployment moves the stage, a removed route leaves the API, a deployment
// made for the stage keeps its settings, a change of parameters alone is
// planned and applied, and the stage goes with its stack.
func TestTheEmulatorsCloudFormationChangesTheAPIAsAWSDoes(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	ctx := t.Context()
	cf, gw := cloudformation.NewFromConfig(cfg), apigateway.NewFromConfig(cfg)
	const stack = "emulated-api"
	auth := func(v string) []cftypes.Parameter {
		return []cftypes.Parameter{{ParameterKey: aws.String("Auth"), ParameterValue: aws.String(v)}}
	}
	_, err := cf.CreateStack(ctx, &cloudformation.CreateStackInput{
		StackName: aws.String(stack), TemplateBody: aws.String(emulatedAPI(t, "DeploymentA", true)), Parameters: auth("NONE"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(stack)}) })

	physical := func(logical string) string {
		r, err := cf.DescribeStackResource(ctx, &cloudformation.DescribeStackResourceInput{StackName: aws.String(stack), LogicalResourceId: aws.String(logical)})
		require.NoError(t, err)
		return aws.ToString(r.StackResourceDetail.PhysicalResourceId)
	}
	apiID := physical("Api")
	paths := func() map[string]string {
		out := map[string]string{}
		page, err := gw.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: aws.String(apiID), Limit: aws.Int32(500)})
		require.NoError(t, err)
		for _, r := range page.Items {
			for verb, m := range r.ResourceMethods {
				out[verb+" "+aws.ToString(r.Path)] = aws.ToString(m.AuthorizationType)
			}
		}
		return out
	}
	stage := func() *apigateway.GetStageOutput {
		s, err := gw.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")})
		require.NoError(t, err)
		return s
	}
	assert.Equal(t, map[string]string{"GET /items": "NONE", "GET /items/{id}": "NONE"}, paths())
	s := stage()
	assert.Equal(t, physical("DeploymentA"), aws.ToString(s.DeploymentId), "the stage serves the stack's deployment")
	assert.True(t, s.TracingEnabled)
	require.Contains(t, s.MethodSettings, "*/*")
	assert.InDelta(t, 5.0, s.MethodSettings["*/*"].ThrottlingRateLimit, 0)
	assert.Equal(t, int32(10), s.MethodSettings["*/*"].ThrottlingBurstLimit)

	// Auth switched: only a condition's value changed in the methods.
	_, err = cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{
		StackName: aws.String(stack), TemplateBody: aws.String(emulatedAPI(t, "DeploymentB", true)), Parameters: auth("AWS_IAM"),
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"GET /items": "AWS_IAM", "GET /items/{id}": "AWS_IAM"}, paths(), "the methods follow the new auth")
	assert.Equal(t, physical("DeploymentB"), aws.ToString(stage().DeploymentId), "the stage moved to the new deployment")

	// A route removed.
	_, err = cf.UpdateStack(ctx, &cloudformation.UpdateStackInput{
		StackName: aws.String(stack), TemplateBody: aws.String(emulatedAPI(t, "DeploymentC", false)), Parameters: auth("AWS_IAM"),
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"GET /items": "AWS_IAM"}, paths(), "the removed route is gone")

	// A deployment made for the stage (as the deploy tool makes after
	// removing routes) points it there and keeps its settings.
	d, err := gw.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")})
	require.NoError(t, err)
	s = stage()
	assert.Equal(t, aws.ToString(d.Id), aws.ToString(s.DeploymentId))
	assert.Contains(t, s.MethodSettings, "*/*", "the stage keeps its settings")

	// Only a parameter changes: the change set lists what reads it.
	params := append(auth("AWS_IAM"), cftypes.Parameter{ParameterKey: aws.String("Rate"), ParameterValue: aws.String("7")})
	cs, err := cf.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: aws.String(stack), ChangeSetName: aws.String("rate"), ChangeSetType: cftypes.ChangeSetTypeUpdate,
		TemplateBody: aws.String(emulatedAPI(t, "DeploymentC", false)), Parameters: params,
	})
	require.NoError(t, err)
	described, err := cf.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: cs.Id})
	require.NoError(t, err)
	var modified []string
	for _, c := range described.Changes {
		modified = append(modified, string(c.ResourceChange.Action)+" "+aws.ToString(c.ResourceChange.LogicalResourceId))
	}
	assert.Equal(t, []string{"Modify Stage"}, modified)
	_, err = cf.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id})
	require.NoError(t, err)
	assert.InDelta(t, 7.0, stage().MethodSettings["*/*"].ThrottlingRateLimit, 0, "the stage has the new value")

	_, err = cf.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(stack)})
	require.NoError(t, err)
	_, err = gw.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String("dev")})
	require.Error(t, err, "the stage is deleted with its stack")
	_, err = gw.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String(apiID)})
	require.Error(t, err, "and so is the API, with its methods")
}

// A first deploy to a region without API Gateway's logging role fails on
// AWS at the stage that writes access logs; the emulator the tests start
// fails it the same way, and rolls the create back: the deploy tool names
// the stage and API Gateway's reason, and says what to do next. Once the
// region has its role (AWS::ApiGateway::Account), the same stack is made.
func TestTheEmulatorFailsAStageWithoutTheRegionsLoggingRole(t *testing.T) {
	cfg := awstest.Config(t, awstest.Endpoint(t))
	cfg.Region = "ap-southeast-2" // a region no other test uses: no logging role yet
	ctx := t.Context()
	cf, gw := cloudformation.NewFromConfig(cfg), apigateway.NewFromConfig(cfg)
	var tpl map[string]any
	// Named to come after the method: moto makes a change set's resources
	// in the template's order, and a deployment needs its methods.
	require.NoError(t, json.Unmarshal([]byte(emulatedAPI(t, "LogsDeployment", false)), &tpl))
	resources := tpl["Resources"].(map[string]any)
	resources["AccessLogs"] = map[string]any{"Type": "AWS::Logs::LogGroup", "Properties": map[string]any{"LogGroupName": "emulated-access"}}
	stageProps := resources["Stage"].(map[string]any)["Properties"].(map[string]any)
	stageProps["AccessLogSetting"] = map[string]any{"DestinationArn": map[string]any{"Fn::GetAtt": []any{"AccessLogs", "Arn"}}, "Format": "$context.requestId"}
	withLogs, err := json.Marshal(tpl)
	require.NoError(t, err)

	tool := &deploy.Tool{CFN: cf, APIGW: gw, Log: io.Discard, Poll: 50 * time.Millisecond, Region: cfg.Region}
	params := map[string]string{"Auth": "NONE"}
	plan, err := tool.PlanChanges(ctx, "first-in-region", withLogs, params)
	require.NoError(t, err)
	_, err = tool.Execute(ctx, plan)
	require.Error(t, err)
	assert.Equal(t, "stack first-in-region ended ROLLBACK_COMPLETE: Stage (AWS::ApiGateway::Stage): "+
		"CloudWatch Logs role ARN must be set in account settings to enable logging (Service: ApiGateway, Status Code: 400, Request ID: moto)\n"+
		"next: the stack was never created; destroy it (deploy destroy) and deploy again", err.Error())
	apis, err := gw.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	require.NoError(t, err)
	assert.Empty(t, apis.Items, "the create was rolled back")
	require.NoError(t, tool.Destroy(ctx, "first-in-region"), "a rolled-back stack can be destroyed")

	// The region gets its role through CloudFormation, which keeps it
	// when the resource's stack goes.
	role := "arn:aws:iam::123456789012:role/api-gateway-logs"
	account, err := json.Marshal(map[string]any{"Resources": map[string]any{
		"Account": map[string]any{"Type": "AWS::ApiGateway::Account", "Properties": map[string]any{"CloudWatchRoleArn": role}},
	}})
	require.NoError(t, err)
	plan, err = tool.PlanChanges(ctx, "region-settings", account, nil)
	require.NoError(t, err)
	_, err = tool.Execute(ctx, plan)
	require.NoError(t, err)
	settings, err := gw.GetAccount(ctx, &apigateway.GetAccountInput{})
	require.NoError(t, err)
	assert.Equal(t, role, aws.ToString(settings.CloudwatchRoleArn))
	require.NoError(t, tool.Destroy(ctx, "region-settings"))
	settings, err = gw.GetAccount(ctx, &apigateway.GetAccountInput{})
	require.NoError(t, err)
	assert.Equal(t, role, aws.ToString(settings.CloudwatchRoleArn), "the setting outlives its stack")

	plan, err = tool.PlanChanges(ctx, "second-in-region", withLogs, params)
	require.NoError(t, err)
	st, err := tool.Execute(ctx, plan)
	require.NoError(t, err, "with the region's role the stage is made")
	assert.Equal(t, "CREATE_COMPLETE", st.Status)
	require.NoError(t, tool.Destroy(ctx, "second-in-region"))
}
