package stacks_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/cfn/cfntest"
)

func load(t *testing.T, name string) cfntest.Template {
	t.Helper()
	b, err := stacks.Template(name)
	require.NoError(t, err)
	return cfntest.Parse(t, b)
}

// Actions whose IAM definition supports no resource-level permissions, the
// only ones allowed on "*".
var unscopable = map[string]bool{"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "ec2:DescribeInstances": true}

func TestTemplatesAreFreshOnDisk(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.TemplateNames() {
		want, err := stacks.Template(name)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join("..", "cloudformation", name+".json"))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "infra/cloudformation/%s.json is stale: run go tool task templates", name)
	}
}

func TestEveryFunctionHasItsOwnLeastPrivilegeRole(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tp := load(t, name)
			fns := tp.OfType("AWS::Lambda::Function")
			roles := tp.OfType("AWS::IAM::Role")
			require.Len(t, roles, len(fns), "one role per function")
			used := map[string]bool{}
			for id, fn := range fns {
				ref := cfntest.JS(fn["Role"])
				for rid := range roles {
					if ref == cfntest.JS(cfn.GetAtt(rid, "Arn")) {
						assert.False(t, used[rid], "role %s shared", rid)
						used[rid] = true
					}
				}
				assert.Contains(t, ref, strings.TrimSuffix(id, "Function")+"Role")
			}
			for rid, role := range roles {
				assert.NotContains(t, role, "ManagedPolicyArns", "%s uses managed policies", rid)
				assume := cfntest.JS(role["AssumeRolePolicyDocument"])
				assert.Contains(t, assume, `"Service":"lambda.amazonaws.com"`)
				for _, st := range cfntest.Statements(t, role) {
					assert.Equal(t, "Allow", st.Effect)
					for _, a := range st.Actions {
						assert.NotContains(t, a, "*", "%s: wildcard action %s", rid, a)
						assert.Regexp(t, `^[a-z0-9-]+:[A-Za-z]+$`, a)
					}
					for _, r := range st.Resources {
						if r == "*" {
							for _, a := range st.Actions {
								assert.True(t, unscopable[a], "%s: %s on every resource", rid, a)
							}
						}
					}
				}
			}
		})
	}
}

func TestFunctionsAreConfiguredAsRequired(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		assert.Equal(t, "arm64", tp.Parameters["Architecture"]["Default"])
		assert.InDelta(t, 128, tp.Parameters["MemorySize"]["Default"], 0)
		assert.Equal(t, "14", tp.Parameters["LogRetentionDays"]["Default"])
		assert.NotContains(t, tp.Parameters, "CursorSigningKey", "the cursor key is in Parameter Store, not a stack parameter")
		logGroups := tp.OfType("AWS::Logs::LogGroup")
		for id, fn := range tp.OfType("AWS::Lambda::Function") {
			assert.Equal(t, "provided.al2023", fn["Runtime"], id)
			assert.Equal(t, "bootstrap", fn["Handler"], id)
			assert.Equal(t, []any{map[string]any{"Ref": "Architecture"}}, fn["Architectures"], id)
			assert.Equal(t, map[string]any{"Ref": "MemorySize"}, fn["MemorySize"], id)
			assert.Equal(t, map[string]any{"Mode": "Active"}, fn["TracingConfig"], id)
			assert.Positive(t, fn["Timeout"], id)
			assert.Contains(t, tp.Environment()[id], "LOG_LEVEL", id)
			for name, v := range fn["Environment"].(map[string]any)["Variables"].(map[string]any) {
				assert.NotContains(t, strings.ToLower(name), "secret", "%s: no secret in a function's configuration", id)
				if name == "CURSOR_KEY_PARAMETER" {
					assert.Equal(t, map[string]any{"Fn::Sub": "/hexlambda/${AWS::StackName}/cursor-signing-key"}, v, id)
				}
			}
			lg := fn["LoggingConfig"].(map[string]any)["LogGroup"].(map[string]any)["Ref"].(string)
			require.Contains(t, logGroups, lg, id)
			assert.Equal(t, map[string]any{"Ref": "LogRetentionDays"}, logGroups[lg]["RetentionInDays"])
		}
	}
}

func TestTablesAreDurableAndEncrypted(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		tables := 0
		for id, r := range tp.Resources {
			if r.Type != "AWS::DynamoDB::Table" {
				continue
			}
			tables++
			p := r.Properties
			assert.Equal(t, "PAY_PER_REQUEST", p["BillingMode"], id)
			assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, p["PointInTimeRecoverySpecification"], id)
			assert.Equal(t, map[string]any{"SSEEnabled": true}, p["SSESpecification"], id)
			assert.Equal(t, map[string]any{"AttributeName": "expiresAt", "Enabled": true}, p["TimeToLiveSpecification"], id)
			assert.JSONEq(t, cfntest.JS(cfn.If("IsProduction", true, false)), cfntest.JS(p["DeletionProtectionEnabled"]), id)
			assert.JSONEq(t, cfntest.JS(cfn.If("IsProduction", "Retain", "Delete")), cfntest.JS(r.DeletionPolicy), id)
			assert.JSONEq(t, cfntest.JS(cfn.If("IsProduction", "Retain", "Delete")), cfntest.JS(r.UpdateReplacePolicy), id)
		}
		assert.Equal(t, 1, tables, name)
	}
}

// methods maps "METHOD /path" to the method's properties, rebuilding each
// path from the API's resource tree.
func methods(t *testing.T, tp cfntest.Template) map[string]map[string]any {
	t.Helper()
	resources := tp.OfType("AWS::ApiGateway::Resource")
	var path func(id string) string
	path = func(id string) string {
		r := resources[id]
		parent := r["ParentId"].(map[string]any)
		if _, root := parent["Fn::GetAtt"]; root {
			return "/" + r["PathPart"].(string)
		}
		return path(parent["Ref"].(string)) + "/" + r["PathPart"].(string)
	}
	out := map[string]map[string]any{}
	for id, m := range tp.OfType("AWS::ApiGateway::Method") {
		key := m["HttpMethod"].(string) + " " + path(m["ResourceId"].(map[string]any)["Ref"].(string))
		require.NotContains(t, out, key, "two methods for %s (%s)", key, id)
		out[key] = m
	}
	return out
}

func TestRoutesInCodeAndMethodsInTemplateAreTheSameSet(t *testing.T) {
	t.Parallel()
	for name, svc := range stacks.Services() {
		tp := load(t, name)
		table := svc.Routes
		got := methods(t, tp)
		want := map[string]string{}
		for _, r := range table {
			want[r.Method+" "+r.Pattern] = r.Operation
		}
		var gotKeys, wantKeys []string
		for k := range got {
			gotKeys = append(gotKeys, k)
		}
		for k := range want {
			wantKeys = append(wantKeys, k)
		}
		assert.ElementsMatch(t, wantKeys, gotKeys, name)
		for key, m := range got {
			integ := m["Integration"].(map[string]any)
			assert.Equal(t, "AWS_PROXY", integ["Type"], key)
			assert.Equal(t, "POST", integ["IntegrationHttpMethod"], key)
			assert.Contains(t, cfntest.JS(integ["Uri"]), "${"+cfn.FunctionLogicalID(want[key])+".Arn}", "%s goes to its operation's function", key)
			assert.JSONEq(t, cfntest.JS(cfn.If("UseIam", "AWS_IAM", "NONE")), cfntest.JS(m["AuthorizationType"]), key)
			assert.JSONEq(t, cfntest.JS(cfn.If("UseApiKey", true, false)), cfntest.JS(m["ApiKeyRequired"]), key)
		}
	}
}

func TestInvokePermissionsAreScopedToTheAPI(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		perms := tp.OfType("AWS::Lambda::Permission")
		assert.Len(t, perms, len(tp.OfType("AWS::Lambda::Function")), name)
		for id, p := range perms {
			assert.Equal(t, "apigateway.amazonaws.com", p["Principal"], id)
			assert.Equal(t, "lambda:InvokeFunction", p["Action"], id)
			assert.Contains(t, cfntest.JS(p["SourceArn"]), ":execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/", id)
		}
	}
}

func TestPrivateEndpointsDenyEveryOtherSource(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		api := tp.Resources["Api"].Properties
		pol := api["Policy"].(map[string]any)["Fn::If"].([]any)
		require.Equal(t, "IsPrivate", pol[0])
		assert.Equal(t, map[string]any{"Ref": "AWS::NoValue"}, pol[2], "no resource policy for REGIONAL")
		stmts := pol[1].(map[string]any)["Statement"].([]any)
		var allow, deny bool
		for _, s := range stmts {
			m := s.(map[string]any)
			switch m["Effect"] {
			case "Allow":
				allow = m["Action"] == "execute-api:Invoke"
			case "Deny":
				deny = m["Action"] == "execute-api:Invoke" && m["Resource"] == "execute-api:/*" &&
					cfntest.JS(m["Condition"]) == `{"StringNotEquals":{"aws:SourceVpce":{"Ref":"VpcEndpointIds"}}}`
			}
		}
		assert.True(t, allow && deny, "%s: PRIVATE allows invoke and denies every request not from the VPC endpoints", name)
		assert.JSONEq(t, `{"Fn::Equals":[{"Ref":"EndpointType"},"PRIVATE"]}`, cfntest.JS(tp.Conditions["IsPrivate"]))
		assert.ElementsMatch(t, []any{"REGIONAL", "PRIVATE"}, tp.Parameters["EndpointType"]["AllowedValues"])
	}
}

func TestAuthModesAndTheirDefaults(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "AWS_IAM", load(t, "claims").Parameters["Auth"]["Default"])
	assert.Equal(t, "API_KEY", load(t, "ec2power").Parameters["Auth"]["Default"])
	for _, name := range stacks.Names() {
		tp := load(t, name)
		assert.ElementsMatch(t, []any{"API_KEY", "AWS_IAM", "NONE"}, tp.Parameters["Auth"]["AllowedValues"])
		rule := cfntest.JS(tp.Rules["NoAnonymousProduction"])
		assert.Contains(t, rule, `"Fn::Not":[{"Fn::Equals":[{"Ref":"Auth"},"NONE"]}]`, "NONE is refused for production stages")
		assert.Contains(t, rule, `["prod","production"]`)
		assert.Contains(t, cfntest.JS(tp.Rules["AnonymousOnlyWhenAllowed"]), `{"Fn::Equals":[{"Ref":"AllowAnonymous"},"true"]}`, "NONE is opt-in on every stage")
		assert.Equal(t, "false", tp.Parameters["AllowAnonymous"]["Default"])
		plan := tp.Resources["UsagePlan"]
		assert.Equal(t, "UseApiKey", plan.Condition)
		assert.Contains(t, plan.Properties, "Throttle")
		assert.Equal(t, "DAY", plan.Properties["Quota"].(map[string]any)["Period"])
		stage := tp.Resources["ApiStage"].Properties
		assert.Contains(t, cfntest.JS(stage["AccessLogSetting"]), "AccessLogGroup")
		assert.Contains(t, cfntest.JS(stage["MethodSettings"]), "ThrottlingRateLimit")
		assert.Equal(t, true, stage["TracingEnabled"])
		for _, out := range []string{"ApiUrl", "ApiId", "UsagePlanId"} {
			assert.Contains(t, tp.Outputs, out, name)
		}
	}
	assert.Contains(t, load(t, "claims").Outputs, "ClaimsTableName")
	assert.Contains(t, load(t, "ec2power").Outputs, "AuditTableName")
}

func TestBootstrapBucketIsPrivateVersionedAndEncrypted(t *testing.T) {
	t.Parallel()
	tp := load(t, "bootstrap")
	b := tp.Resources["ArtifactBucket"].Properties
	assert.Equal(t, map[string]any{"Status": "Enabled"}, b["VersioningConfiguration"])
	assert.Contains(t, cfntest.JS(b["BucketEncryption"]), `"SSEAlgorithm":"AES256"`)
	assert.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}, b["PublicAccessBlockConfiguration"])
	assert.Contains(t, cfntest.JS(tp.Resources["ArtifactBucketPolicy"].Properties), `"aws:SecureTransport":"false"`)
	assert.Contains(t, tp.Outputs, "ArtifactBucketName")
	assert.Equal(t, "RetainExceptOnCreate", tp.Resources["ArtifactBucket"].DeletionPolicy, "kept, but not leaked by a failed first create")
	for _, id := range []string{"ApiGatewayLogsRole", "ApiGatewayAccountAnchor", "ApiGatewayAccount"} {
		assert.Equal(t, "SetsLoggingRole", tp.Resources[id].Condition, "%s: the region's logging role is set only when asked", id)
	}
	assert.Equal(t, "false", tp.Parameters["SetApiGatewayLoggingRole"]["Default"])
}

func deploymentID(t *testing.T, name string, values map[string]string) string {
	t.Helper()
	b, err := stacks.TemplateFor(name, values)
	require.NoError(t, err)
	var ids []string
	for id, r := range cfntest.Parse(t, b).Resources {
		if r.Type == "AWS::ApiGateway::Deployment" {
			ids = append(ids, id)
		}
	}
	require.Len(t, ids, 1)
	return ids[0]
}

// API Gateway serves a stage's deployment snapshot: a change of auth,
// endpoint or policy that made no new deployment would never go live.
func TestEveryChangeTheStageSnapshotsMakesANewDeployment(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		base := deploymentID(t, name, nil)
		assert.Equal(t, base, deploymentID(t, name, nil), "the same stage, the same deployment")
		tp := load(t, name)
		assert.Equal(t, base, deploymentID(t, name, map[string]string{"Auth": tp.Parameters["Auth"]["Default"].(string)}),
			"the default given explicitly is the default")
		seen := map[string]string{base: "defaults"}
		for _, v := range []map[string]string{
			{"Auth": "API_KEY"}, {"Auth": "AWS_IAM"}, {"Auth": "NONE"},
			{"EndpointType": "PRIVATE", "VpcEndpointIds": "vpce-1"},
			{"EndpointType": "PRIVATE", "VpcEndpointIds": "vpce-2"},
		} {
			id := deploymentID(t, name, v)
			if v["Auth"] == tp.Parameters["Auth"]["Default"] {
				continue
			}
			prev, dup := seen[id]
			assert.False(t, dup, "%s: %v has the deployment of %s", name, v, prev)
			seen[id] = fmt.Sprint(v)
		}
	}
}
