package stacks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/cfn"
	"github.com/hexlambda/hexlambda/infra/stacks"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	claimsapi "github.com/hexlambda/hexlambda/services/claims/api"
	powerapi "github.com/hexlambda/hexlambda/services/ec2power/api"
)

// tpl is a rendered template, read back as plain JSON: the tests look at
// what CloudFormation will read.
type tpl struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Rules      map[string]any
	Resources  map[string]struct {
		Type                string
		Condition           string
		DeletionPolicy      any
		UpdateReplacePolicy any
		Properties          map[string]any
	}
	Outputs map[string]map[string]any
}

func load(t *testing.T, name string) tpl {
	t.Helper()
	b, err := stacks.Template(name)
	require.NoError(t, err)
	var out tpl
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func (t tpl) ofType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range t.Resources {
		if r.Type == typ {
			out[id] = r.Properties
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []any
	Condition map[string]any
}

// statements returns a role's inline policy statements.
func statements(t *testing.T, role map[string]any) []statement {
	t.Helper()
	var out []statement
	for _, p := range asList(role["Policies"]) {
		doc := p.(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range asList(doc["Statement"]) {
			m := s.(map[string]any)
			st := statement{Effect: m["Effect"].(string), Resources: asList(m["Resource"])}
			st.Sid, _ = m["Sid"].(string)
			for _, a := range asList(m["Action"]) {
				st.Actions = append(st.Actions, a.(string))
			}
			if c, ok := m["Condition"].(map[string]any); ok {
				st.Condition = c
			}
			out = append(out, st)
		}
	}
	return out
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
			fns := tp.ofType("AWS::Lambda::Function")
			roles := tp.ofType("AWS::IAM::Role")
			require.Len(t, roles, len(fns), "one role per function")
			used := map[string]bool{}
			for id, fn := range fns {
				ref := js(fn["Role"])
				for rid := range roles {
					if ref == js(cfn.GetAtt(rid, "Arn")) {
						assert.False(t, used[rid], "role %s shared", rid)
						used[rid] = true
					}
				}
				assert.Contains(t, ref, strings.TrimSuffix(id, "Function")+"Role")
			}
			for rid, role := range roles {
				assert.NotContains(t, role, "ManagedPolicyArns", "%s uses managed policies", rid)
				assume := js(role["AssumeRolePolicyDocument"])
				assert.Contains(t, assume, `"Service":"lambda.amazonaws.com"`)
				for _, st := range statements(t, role) {
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

// actionsOn returns, per function, the actions of a service prefix.
func actionsOn(t *testing.T, tp tpl, prefix string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for rid, role := range tp.ofType("AWS::IAM::Role") {
		op := strings.TrimSuffix(rid, "Role")
		for _, st := range statements(t, role) {
			for _, a := range st.Actions {
				if strings.HasPrefix(a, prefix) {
					out[op] = append(out[op], a)
				}
			}
		}
		sort.Strings(out[op])
	}
	return out
}

func TestClaimsFunctionsGetExactlyTheirDynamoDBActions(t *testing.T) {
	t.Parallel()
	tp := load(t, "claims")
	assert.Equal(t, map[string][]string{
		"CreateClaim": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"}, // claims + idempotency records
		"GetClaim":    {"dynamodb:GetItem"},
		"ListClaims":  {"dynamodb:Query"},
		"UpdateClaim": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
		"DeleteClaim": {"dynamodb:DeleteItem"},
	}, actionsOn(t, tp, "dynamodb:"))
	for rid, role := range tp.ofType("AWS::IAM::Role") {
		for _, st := range statements(t, role) {
			if strings.HasPrefix(st.Actions[0], "dynamodb:") {
				assert.Equal(t, []any{cfn.GetAtt("ClaimsTable", "Arn")}, toGetAtt(st.Resources), rid)
			}
		}
	}
}

// toGetAtt normalises decoded GetAtt values for comparison.
func toGetAtt(rs []any) []any {
	out := make([]any, 0, len(rs))
	for _, r := range rs {
		if m, ok := r.(map[string]any); ok {
			if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				out = append(out, cfn.GetAtt(ga[0].(string), ga[1].(string)))
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func TestEC2PowerActsOnlyOnManagedInstances(t *testing.T) {
	t.Parallel()
	tp := load(t, "ec2power")
	assert.Equal(t, map[string][]string{
		"DescribeInstances": {"ec2:DescribeInstances"},
		"StartInstance":     {"ec2:DescribeInstances", "ec2:StartInstances"},
		"StopInstance":      {"ec2:DescribeInstances", "ec2:StopInstances"},
	}, actionsOn(t, tp, "ec2:"))
	assert.Equal(t, map[string][]string{
		"StartInstance":   {"dynamodb:PutItem"},
		"StopInstance":    {"dynamodb:PutItem"},
		"InstanceHistory": {"dynamodb:Query"},
	}, actionsOn(t, tp, "dynamodb:"))
	for rid, role := range tp.ofType("AWS::IAM::Role") {
		for _, st := range statements(t, role) {
			for _, a := range st.Actions {
				if a == "ec2:StartInstances" || a == "ec2:StopInstances" {
					assert.Equal(t, map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/ec2power:managed": "true"}}, st.Condition, rid)
					assert.Contains(t, js(st.Resources), ":instance/*")
				}
			}
		}
	}
}

func TestFunctionsAreConfiguredAsRequired(t *testing.T) {
	t.Parallel()
	wantEnv := map[string][]string{
		"CreateClaimFunction":       {"DEFAULT_CURRENCY", "LOG_LEVEL", "TABLE_NAME"},
		"GetClaimFunction":          {"LOG_LEVEL", "TABLE_NAME"},
		"ListClaimsFunction":        {"CURSOR_SIGNING_KEY", "LOG_LEVEL", "TABLE_NAME"},
		"UpdateClaimFunction":       {"DEFAULT_CURRENCY", "LOG_LEVEL", "TABLE_NAME"},
		"DeleteClaimFunction":       {"LOG_LEVEL", "TABLE_NAME"},
		"DescribeInstancesFunction": {"GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG"},
		"StartInstanceFunction":     {"AUDIT_TABLE", "DEFAULT_TARGET", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "WAIT_LIMIT"},
		"StopInstanceFunction":      {"AUDIT_TABLE", "DEFAULT_TARGET", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "WAIT_LIMIT"},
		"InstanceHistoryFunction":   {"AUDIT_TABLE", "CURSOR_SIGNING_KEY", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG"},
	}
	for _, name := range stacks.Names() {
		tp := load(t, name)
		assert.Equal(t, "arm64", tp.Parameters["Architecture"]["Default"])
		assert.InDelta(t, 128, tp.Parameters["MemorySize"]["Default"], 0)
		assert.Equal(t, "14", tp.Parameters["LogRetentionDays"]["Default"])
		assert.Equal(t, true, tp.Parameters["CursorSigningKey"]["NoEcho"])
		logGroups := tp.ofType("AWS::Logs::LogGroup")
		for id, fn := range tp.ofType("AWS::Lambda::Function") {
			assert.Equal(t, "provided.al2023", fn["Runtime"], id)
			assert.Equal(t, "bootstrap", fn["Handler"], id)
			assert.Equal(t, []any{map[string]any{"Ref": "Architecture"}}, fn["Architectures"], id)
			assert.Equal(t, map[string]any{"Ref": "MemorySize"}, fn["MemorySize"], id)
			assert.Equal(t, map[string]any{"Mode": "Active"}, fn["TracingConfig"], id)
			assert.Positive(t, fn["Timeout"], id)
			var env []string
			for k := range fn["Environment"].(map[string]any)["Variables"].(map[string]any) {
				env = append(env, k)
			}
			sort.Strings(env)
			assert.Equal(t, wantEnv[id], env, "%s: the variables its code reads, nothing else", id)
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
			assert.JSONEq(t, js(cfn.If("IsProduction", true, false)), js(p["DeletionProtectionEnabled"]), id)
			assert.JSONEq(t, js(cfn.If("IsProduction", "Retain", "Delete")), js(r.DeletionPolicy), id)
			assert.JSONEq(t, js(cfn.If("IsProduction", "Retain", "Delete")), js(r.UpdateReplacePolicy), id)
		}
		assert.Equal(t, 1, tables, name)
	}
}

// methods maps "METHOD /path" to the method's properties, rebuilding each
// path from the API's resource tree.
func methods(t *testing.T, tp tpl) map[string]map[string]any {
	t.Helper()
	resources := tp.ofType("AWS::ApiGateway::Resource")
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
	for id, m := range tp.ofType("AWS::ApiGateway::Method") {
		key := m["HttpMethod"].(string) + " " + path(m["ResourceId"].(map[string]any)["Ref"].(string))
		require.NotContains(t, out, key, "two methods for %s (%s)", key, id)
		out[key] = m
	}
	return out
}

func TestRoutesInCodeAndMethodsInTemplateAreTheSameSet(t *testing.T) {
	t.Parallel()
	for name, table := range map[string][]httpapi.Route{
		"claims":   claimsapi.RouteTable(),
		"ec2power": powerapi.RouteTable(),
	} {
		tp := load(t, name)
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
			assert.Contains(t, js(integ["Uri"]), "${"+cfn.FunctionLogicalID(want[key])+".Arn}", "%s goes to its operation's function", key)
			assert.JSONEq(t, js(cfn.If("UseIam", "AWS_IAM", "NONE")), js(m["AuthorizationType"]), key)
			assert.JSONEq(t, js(cfn.If("UseApiKey", true, false)), js(m["ApiKeyRequired"]), key)
		}
	}
}

func TestInvokePermissionsAreScopedToTheAPI(t *testing.T) {
	t.Parallel()
	for _, name := range stacks.Names() {
		tp := load(t, name)
		perms := tp.ofType("AWS::Lambda::Permission")
		assert.Len(t, perms, len(tp.ofType("AWS::Lambda::Function")), name)
		for id, p := range perms {
			assert.Equal(t, "apigateway.amazonaws.com", p["Principal"], id)
			assert.Equal(t, "lambda:InvokeFunction", p["Action"], id)
			assert.Contains(t, js(p["SourceArn"]), ":execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/", id)
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
					js(m["Condition"]) == `{"StringNotEquals":{"aws:SourceVpce":{"Ref":"VpcEndpointIds"}}}`
			}
		}
		assert.True(t, allow && deny, "%s: PRIVATE allows invoke and denies every request not from the VPC endpoints", name)
		assert.JSONEq(t, `{"Fn::Equals":[{"Ref":"EndpointType"},"PRIVATE"]}`, js(tp.Conditions["IsPrivate"]))
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
		rule := js(tp.Rules["NoAnonymousProduction"])
		assert.Contains(t, rule, `"Fn::Not":[{"Fn::Equals":[{"Ref":"Auth"},"NONE"]}]`, "NONE is refused for production stages")
		assert.Contains(t, rule, `["prod","production"]`)
		plan := tp.Resources["UsagePlan"]
		assert.Equal(t, "UseApiKey", plan.Condition)
		assert.Contains(t, plan.Properties, "Throttle")
		assert.Equal(t, "DAY", plan.Properties["Quota"].(map[string]any)["Period"])
		stage := tp.Resources["ApiStage"].Properties
		assert.Contains(t, js(stage["AccessLogSetting"]), "AccessLogGroup")
		assert.Contains(t, js(stage["MethodSettings"]), "ThrottlingRateLimit")
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
	assert.Contains(t, js(b["BucketEncryption"]), `"SSEAlgorithm":"AES256"`)
	assert.Equal(t, map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}, b["PublicAccessBlockConfiguration"])
	assert.Contains(t, js(tp.Resources["ArtifactBucketPolicy"].Properties), `"aws:SecureTransport":"false"`)
	assert.Contains(t, tp.Outputs, "ArtifactBucketName")
}
