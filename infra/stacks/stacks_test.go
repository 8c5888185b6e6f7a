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
var unscopable = map[string]bool{
	"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "ec2:DescribeInstances": true, "ec2:DescribeNetworkInterfaces": true,
}

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
			roles := functionRoles(tp)
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

// functionRoles are a template's roles that Lambda assumes: its
// functions' (a service's other roles are for what invokes them).
func functionRoles(tp cfntest.Template) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, role := range tp.OfType("AWS::IAM::Role") {
		if strings.Contains(cfntest.JS(role["AssumeRolePolicyDocument"]), `"Principal":{"Service":"lambda.amazonaws.com"}`) {
			out[id] = role
		}
	}
	return out
}

func TestInvokePermissionsAreScopedToTheAPI(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		perms := tp.OfType("AWS::Lambda::Permission")
		routed := 0
		for _, f := range stacks.Services()[name].Functions {
			if !f.Internal {
				routed++
			}
		}
		assert.Len(t, perms, routed, "%s: API Gateway may invoke the functions routes serve, and no other", name)
		for id, p := range perms {
			assert.Equal(t, "apigateway.amazonaws.com", p["Principal"], id)
			assert.Equal(t, "lambda:InvokeFunction", p["Action"], id)
			assert.Contains(t, cfntest.JS(p["SourceArn"]), ":execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/", id)
		}
	}
}

// A private API always carries the policy that denies every source but its
// endpoints, and its functions run in the network's subnets with ENI
// permissions scoped to its VPC; a public one has neither.
func TestPrivateAPIsDenyEveryOtherSource(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		api := tp.Resources["Api"].Properties
		pol := api["Policy"].(map[string]any)["Fn::If"].([]any)
		require.Equal(t, "IsPrivate", pol[0])
		assert.Equal(t, map[string]any{"Ref": "AWS::NoValue"}, pol[2], "no resource policy for public stages")
		stmts := pol[1].(map[string]any)["Statement"].([]any)
		var allow, deny bool
		for _, s := range stmts {
			m := s.(map[string]any)
			switch m["Effect"] {
			case "Allow":
				allow = m["Action"] == "execute-api:Invoke"
			case "Deny":
				deny = m["Action"] == "execute-api:Invoke" && m["Resource"] == "execute-api:/*" &&
					strings.Contains(cfntest.JS(m["Condition"]), `{"StringNotEquals":{"aws:SourceVpce":{"Fn::If":["HasExtraVpcEndpoints"`) &&
					strings.Contains(cfntest.JS(m["Condition"]), `{"Ref":"ApiEndpointId"}`)
			}
		}
		assert.True(t, allow && deny, "%s: a private API allows invoke and denies every request not from its VPC endpoints", name)
		assert.JSONEq(t, `{"Fn::Equals":[{"Ref":"Network"},"private"]}`, cfntest.JS(tp.Conditions["IsPrivate"]))
		assert.ElementsMatch(t, []any{"public", "private"}, tp.Parameters["Network"]["AllowedValues"])
		assert.Equal(t, "public", tp.Parameters["Network"]["Default"])
		assert.Contains(t, cfntest.JS(api["EndpointConfiguration"]), `"Types":[{"Fn::If":["IsPrivate","PRIVATE","REGIONAL"]}]`)
		for id, fn := range tp.OfType("AWS::Lambda::Function") {
			assert.JSONEq(t, `{"Fn::If":["IsPrivate",{"SecurityGroupIds":[{"Ref":"FunctionSecurityGroupId"}],"SubnetIds":{"Ref":"SubnetIds"}},{"Ref":"AWS::NoValue"}]}`,
				cfntest.JS(fn["VpcConfig"]), "%s %s runs in the private subnets when private", name, id)
		}
		for id, role := range functionRoles(tp) {
			doc := cfntest.JS(role["Policies"])
			assert.Contains(t, doc, `{"Fn::If":["IsPrivate",{"Action":["ec2:DescribeNetworkInterfaces"],"Effect":"Allow","Resource":"*"`, "%s %s", name, id)
			assert.Contains(t, doc, `"Condition":{"ArnEquals":{"ec2:Vpc":{"Fn::Sub":"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/${VpcId}"}}}`,
				"%s %s: network interfaces only in the network's VPC", name, id)
		}
		assert.Contains(t, cfntest.JS(tp.Rules["PrivateNeedsItsNetwork"]), `{"Ref":"ApiEndpointId"}`)
	}
}

func TestTheNetworkHasNoWayToTheInternet(t *testing.T) {
	t.Parallel()
	tp := load(t, "network")
	for _, typ := range []string{"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::VPCGatewayAttachment", "AWS::EC2::Route", "AWS::EC2::EIP", "AWS::EC2::EgressOnlyInternetGateway"} {
		assert.Empty(t, tp.OfType(typ), "no %s", typ)
	}
	for id, sn := range tp.OfType("AWS::EC2::Subnet") {
		assert.Equal(t, false, sn["MapPublicIpOnLaunch"], id)
	}
	assert.Len(t, tp.OfType("AWS::EC2::Subnet"), stacks.DefaultAZCount)
	assert.Len(t, tp.OfType("AWS::EC2::RouteTable"), stacks.DefaultAZCount)
	for id, sg := range tp.OfType("AWS::EC2::SecurityGroup") {
		doc := cfntest.JS(sg)
		assert.NotContains(t, doc, "0.0.0.0/0", "%s: no rule open to the world", id)
		assert.NotContains(t, doc, "::/0", id)
		assert.Contains(t, sg, "SecurityGroupEgress", "%s: egress replaces the default allow-all", id)
	}
	fsg := cfntest.JS(tp.Resources["FunctionSecurityGroup"].Properties)
	assert.NotContains(t, fsg, "SecurityGroupIngress", "nothing connects to a function")
	assert.Contains(t, fsg, `"DestinationPrefixListId":{"Ref":"DynamoDBPrefixListId"}`)
	assert.Contains(t, fsg, `"DestinationSecurityGroupId":{"Fn::GetAtt":["EndpointSecurityGroup","GroupId"]}`)
	assert.Contains(t, cfntest.JS(tp.Resources["EndpointSecurityGroup"].Properties), `"CidrIp":{"Ref":"VpcCidr"}`, "endpoints: HTTPS from the VPC only")
	vpc := tp.Resources["Vpc"].Properties
	assert.Equal(t, true, vpc["EnableDnsSupport"])
	assert.Equal(t, true, vpc["EnableDnsHostnames"])
	for _, out := range []string{"VpcId", "PrivateSubnetIds", "FunctionSecurityGroupId", "ApiEndpointId"} {
		require.Contains(t, tp.Outputs, out)
		assert.Contains(t, cfntest.JS(tp.Outputs[out]), `"Export":{"Name":{"Fn::Sub":"${AWS::StackName}-`+out+`"}}`)
	}
}

// Every AWS service a function calls is reached through an endpoint, and
// each endpoint's policy admits only what the services use.
func TestEveryServiceTheFunctionsCallHasAScopedEndpoint(t *testing.T) {
	t.Parallel()
	tp := load(t, "network")
	endpoints := map[string]map[string]any{}
	for id, ep := range tp.OfType("AWS::EC2::VPCEndpoint") {
		svc := strings.TrimPrefix(ep["ServiceName"].(map[string]any)["Fn::Sub"].(string), "com.amazonaws.${AWS::Region}.")
		endpoints[svc] = ep
		doc := cfntest.JS(ep["PolicyDocument"])
		assert.Contains(t, doc, `"Condition":{"StringEquals":{"aws:PrincipalAccount":{"Ref":"AWS::AccountId"}}}`, "%s: own account only", id)
		assert.NotContains(t, doc, `"Action":"*"`, id)
		assert.NotContains(t, doc, `:*"]`, "%s: no service-wide action", id)
		if svc != "dynamodb" {
			assert.Equal(t, "Interface", ep["VpcEndpointType"], id)
			assert.Equal(t, true, ep["PrivateDnsEnabled"], id)
		}
	}
	require.Contains(t, endpoints, "execute-api")
	require.Contains(t, endpoints, "xray", "the X-Ray daemon sends the functions' traces from inside the VPC")
	ddb := endpoints["dynamodb"]
	require.NotNil(t, ddb)
	assert.Equal(t, "Gateway", ddb["VpcEndpointType"])
	assert.Len(t, ddb["RouteTableIds"], stacks.DefaultAZCount, "on every private route table")
	doc := cfntest.JS(ddb["PolicyDocument"])
	for _, name := range stacks.Names() {
		assert.Contains(t, doc, ":table/"+name+"-${Stage}-*", "the tables of %s only", name)
	}
	for _, name := range stacks.Names() {
		for _, fn := range stacks.Services()[name].Functions {
			for _, st := range fn.Statements {
				for _, a := range st.Actions {
					svc, _, _ := strings.Cut(a, ":")
					if svc == "iam" {
						continue // iam:PassRole is checked by the service a role is passed to
					}
					ep, ok := endpoints[svc]
					_, iamEndpoint := endpoints["iam"]
					assert.False(t, iamEndpoint, "the functions never call IAM")
					if assert.True(t, ok, "%s calls %s: the network needs an endpoint for %s", name, a, svc) {
						assert.Contains(t, cfntest.JS(ep["PolicyDocument"]), `"`+a+`"`, "the %s endpoint admits %s", svc, a)
					}
				}
			}
		}
	}
}

// The template follows the AZ count and splits the VPC block evenly.
func TestTheNetworkFollowsItsAZCountAndBlock(t *testing.T) {
	t.Parallel()
	b, err := stacks.TemplateFor("network", map[string]string{"AZCount": "3"})
	require.NoError(t, err)
	tp := cfntest.Parse(t, b)
	assert.Len(t, tp.OfType("AWS::EC2::Subnet"), 3)
	assert.Len(t, tp.Resources["DynamoDBEndpoint"].Properties["RouteTableIds"], 3)
	assert.Equal(t, []any{"3"}, tp.Parameters["AZCount"]["AllowedValues"])
	got, err := stacks.SplitCidr("10.40.0.0/16", 3)
	require.NoError(t, err)
	assert.Equal(t, []string{"10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"}, got)
	got, err = stacks.SplitCidr("172.16.8.0/22", 2)
	require.NoError(t, err)
	assert.Equal(t, []string{"172.16.8.0/23", "172.16.10.0/23"}, got)
	for _, bad := range []struct {
		cidr string
		n    int
	}{{"10.0.0.0/8", 2}, {"10.0.0.0/27", 4}, {"fd00::/56", 2}, {"nonsense", 2}, {"10.0.0.0/16", 0}, {"10.0.0.0/16", 7}} {
		_, err := stacks.SplitCidr(bad.cidr, bad.n)
		require.Error(t, err, "%s into %d", bad.cidr, bad.n)
	}
	_, err = stacks.TemplateFor("network", map[string]string{"AZCount": "x"})
	assert.Error(t, err)
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
	assert.Equal(t, []any{"ApiGatewayAccountAnchor"}, tp.Resources["ApiGatewayAccount"].DependsOn,
		"in an account that never had an API Gateway resource, the account settings wait for one")
	assert.Equal(t, "AWS::ApiGateway::ApiKey", tp.Resources["ApiGatewayAccountAnchor"].Type)
	assert.Equal(t, "RetainExceptOnCreate", tp.Resources["ApiGatewayLogsRole"].DeletionPolicy,
		"the region's APIs keep logging when the stack goes (but a failed first create leaks no role)")
	assert.Equal(t, "Retain", tp.Resources["ApiGatewayLogsRole"].UpdateReplacePolicy)
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
			{"Network": "private", "ApiEndpointId": "vpce-1"},
			{"Network": "private", "ApiEndpointId": "vpce-2"},
			{"Network": "private", "ApiEndpointId": "vpce-2", "ExtraVpcEndpointIds": "vpce-peer"},
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

// A stage retires its service's legacy routes with LegacyRoutes=false: the
// template keeps the parameter (and says it in an output) but no method
// of a legacy route, nor a path only they used, nor an access policy
// statement for them; every other route stays, and the stage gets a new
// deployment. A value other than true or false is refused before anything
// is deployed.
func TestRetiredLegacyRoutesLeaveTheTemplate(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		svc, err := stacks.Lookup(name)
		require.NoError(t, err)
		paths := func(tp cfntest.Template) map[string]bool {
			out := map[string]bool{}
			for _, m := range tp.OfType("AWS::ApiGateway::Method") {
				out[fmt.Sprint(m["HttpMethod"], " ", m["OperationName"], " ", m["ResourceId"])] = true
			}
			return out
		}
		served := load(t, name)
		b, err := stacks.TemplateFor(name, map[string]string{cfn.ParamLegacyRoutes: "false"})
		require.NoError(t, err)
		retired := cfntest.Parse(t, b)
		legacy := 0
		for _, r := range svc.Routes {
			if r.Legacy {
				legacy++
			}
		}
		require.Positive(t, legacy, "%s has legacy routes", name)
		assert.Len(t, paths(retired), len(paths(served))-legacy, "%s: exactly the legacy methods are gone", name)
		for _, tp := range []cfntest.Template{served, retired} {
			assert.Equal(t, "true", tp.Parameters[cfn.ParamLegacyRoutes]["Default"], name)
			assert.JSONEq(t, `{"Ref":"LegacyRoutes"}`, cfntest.JS(tp.Outputs[cfn.ParamLegacyRoutes]["Value"]), name)
		}
		for id, r := range retired.OfType("AWS::ApiGateway::Resource") {
			assert.NotEqual(t, "claim", r["PathPart"], "%s: %s is only used by retired routes", name, id)
		}
		for _, r := range svc.Routes {
			if !r.Legacy {
				continue
			}
			assert.NotContains(t, retired.Resources, cfn.MethodLogicalID(r), "%s: %s %s is retired", name, r.Method, r.Pattern)
			assert.Contains(t, served.Resources, cfn.MethodLogicalID(r), "%s: %s %s is served by default", name, r.Method, r.Pattern)
			assert.NotContains(t, string(b), `/`+r.Method+strings.ReplaceAll(r.Pattern, "{id}", "*")+`"`, "%s: no policy grants the retired route", name)
		}
		assert.NotEqual(t, deploymentID(t, name, nil), deploymentID(t, name, map[string]string{cfn.ParamLegacyRoutes: "false"}), name)
		_, err = stacks.TemplateFor(name, map[string]string{cfn.ParamLegacyRoutes: "no"})
		assert.ErrorContains(t, err, "LegacyRoutes is \"no\", not true or false", name)
	}
}

// Lambda reads the functions' lines as JSON and filters them at the
// stage's LogLevel.
func TestFunctionsLogJSONAtTheStagesLevel(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		levels := tp.Mappings["LogLevels"].(map[string]any)
		for _, l := range tp.Parameters["LogLevel"]["AllowedValues"].([]any) {
			require.Contains(t, levels, l, "%s: LogLevel %s maps to a Lambda level", name, l)
			assert.Contains(t, []any{"DEBUG", "INFO", "WARN", "ERROR"}, levels[l.(string)].(map[string]any)["Lambda"])
		}
		for id, fn := range tp.OfType("AWS::Lambda::Function") {
			lc := fn["LoggingConfig"].(map[string]any)
			assert.Equal(t, "JSON", lc["LogFormat"], id)
			assert.JSONEq(t, `{"Fn::FindInMap":["LogLevels",{"Ref":"LogLevel"},"Lambda"]}`, cfntest.JS(lc["ApplicationLogLevel"]), id)
			assert.Equal(t, "WARN", lc["SystemLogLevel"], id)
		}
	}
}

// Every taggable resource of every stack carries service, stage and owner,
// for cost allocation; every output is exported as STACK-NAME.
func TestEveryResourceIsTaggedAndEveryOutputExported(t *testing.T) {
	t.Parallel()
	tagged := []string{"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage", "AWS::ApiGateway::UsagePlan", "AWS::CloudWatch::Alarm",
		"AWS::DynamoDB::Table", "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::S3::Bucket",
		"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::SecurityGroup", "AWS::EC2::VPCEndpoint"}
	for _, name := range stacks.TemplateNames() {
		tp := load(t, name)
		require.Contains(t, tp.Parameters, "Owner", name)
		n := 0
		for _, typ := range tagged {
			for id, props := range tp.OfType(typ) {
				keys := map[string]bool{}
				for _, tag := range props["Tags"].([]any) {
					keys[tag.(map[string]any)["Key"].(string)] = true
				}
				for _, k := range []string{"service", "stage", "owner"} {
					assert.True(t, keys[k], "%s %s has no %s tag", name, id, k)
				}
				assert.Contains(t, cfntest.JS(props["Tags"]), `{"Key":"owner","Value":{"Ref":"Owner"}}`, "%s %s", name, id)
				n++
			}
		}
		assert.Positive(t, n, name)
		for key, out := range tp.Outputs {
			assert.Contains(t, cfntest.JS(out), `"Export":{"Name":{"Fn::Sub":"${AWS::StackName}-`+key+`"}}`, "%s output %s", name, key)
		}
	}
}

// Every function alarms on errors, throttles and a p99 duration near its
// timeout; the API on its 5XX rate; every table on throttled reads and
// writes. They notify AlarmTopicArn when it is set.
func TestEveryFunctionHasItsAlarms(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		svc := stacks.Services()[name]
		alarms := tp.OfType("AWS::CloudWatch::Alarm")
		on := func(namespace, metric, dimension string) []map[string]any {
			var out []map[string]any
			for _, a := range alarms {
				if a["Namespace"] == namespace && a["MetricName"] == metric && strings.Contains(cfntest.JS(a["Dimensions"]), dimension) {
					out = append(out, a)
				}
			}
			return out
		}
		for _, f := range svc.Functions {
			fn := `{"Ref":"` + cfn.FunctionLogicalID(f.Operation) + `"}`
			assert.Len(t, on("AWS/Lambda", "Errors", fn), 1, "%s %s errors", name, f.Operation)
			assert.Len(t, on("AWS/Lambda", "Throttles", fn), 1, "%s %s throttles", name, f.Operation)
			duration := on("AWS/Lambda", "Duration", fn)
			if assert.Len(t, duration, 1, "%s %s duration", name, f.Operation) {
				assert.Equal(t, "p99", duration[0]["ExtendedStatistic"])
				assert.InDelta(t, float64(f.Timeout)*1000*cfn.DurationShareOfTimeout, duration[0]["Threshold"], 0.001)
			}
		}
		api := on("AWS/ApiGateway", "5XXError", `{"Name":"ApiName","Value":{"Fn::Sub":"${AWS::StackName}"}}`)
		if assert.Len(t, api, 1, name) {
			assert.Equal(t, "Average", api[0]["Statistic"], "an average of 5XXError is the 5XX rate")
		}
		for _, tb := range svc.Tables {
			for _, m := range []string{"ReadThrottleEvents", "WriteThrottleEvents"} {
				assert.Len(t, on("AWS/DynamoDB", m, `{"Ref":"`+tb.LogicalID+`"}`), 1, "%s %s %s", name, tb.LogicalID, m)
			}
		}
		for id, a := range alarms {
			assert.JSONEq(t, `{"Fn::If":["NotifiesAlarmTopic",[{"Ref":"AlarmTopicArn"}],[]]}`, cfntest.JS(a["AlarmActions"]), id)
		}
		assert.Empty(t, tp.Parameters["AlarmTopicArn"]["Default"], "no topic unless given")
		dash := tp.OfType("AWS::CloudWatch::Dashboard")
		require.Len(t, dash, 1, name)
		for _, d := range dash {
			body := cfntest.JS(d["DashboardBody"])
			for _, f := range svc.Functions {
				assert.Contains(t, body, "${AWS::StackName}-"+f.Operation, "%s: the dashboard shows %s", name, f.Operation)
			}
		}
	}
}
