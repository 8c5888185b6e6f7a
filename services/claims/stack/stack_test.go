package stack_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/cfn/cfntest"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/stack"
)

func TestFunctionsGetExactlyTheirDynamoDBActions(t *testing.T) {
	t.Parallel()
	tp := cfntest.Render(t, stack.Service())
	change := []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} // read, then claim + history entry
	assert.Equal(t, map[string][]string{
		"CreateClaim":   {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, // claims, history, idempotency records
		"GetClaim":      {"dynamodb:GetItem"},
		"ListClaims":    {"dynamodb:Query"},
		"UpdateClaim":   change,
		"DeleteClaim":   {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
		"ApproveClaim":  change,
		"RejectClaim":   change,
		"PayClaim":      change,
		"WithdrawClaim": change,
		"ClaimHistory":  {"dynamodb:Query"},
	}, tp.ActionsOn(t, "dynamodb:"))
	for rid, role := range tp.OfType("AWS::IAM::Role") {
		for _, st := range cfntest.Statements(t, role) {
			if strings.HasPrefix(st.Actions[0], "dynamodb:") {
				assert.Equal(t, []any{cfn.GetAtt("ClaimsTable", "Arn")}, cfntest.ToGetAtt(st.Resources), rid)
			}
		}
	}
}

func TestFunctionsGetTheVariablesTheirCodeReadsAndNothingElse(t *testing.T) {
	t.Parallel()
	base := []string{"LOG_LEVEL", "ROLE_MAP", "SERVICE_VERSION", "TABLE_NAME"}
	assert.Equal(t, map[string][]string{
		"CreateClaimFunction":   {"DEFAULT_CURRENCY", "LOG_LEVEL", "ROLE_MAP", "SERVICE_VERSION", "TABLE_NAME"},
		"GetClaimFunction":      base,
		"ListClaimsFunction":    {"CURSOR_KEY_PARAMETER", "LOG_LEVEL", "ROLE_MAP", "SERVICE_VERSION", "TABLE_NAME"},
		"UpdateClaimFunction":   {"DEFAULT_CURRENCY", "LOG_LEVEL", "ROLE_MAP", "SERVICE_VERSION", "TABLE_NAME"},
		"DeleteClaimFunction":   base,
		"ApproveClaimFunction":  base,
		"RejectClaimFunction":   base,
		"PayClaimFunction":      base,
		"WithdrawClaimFunction": base,
		"ClaimHistoryFunction":  {"CURSOR_KEY_PARAMETER", "LOG_LEVEL", "ROLE_MAP", "SERVICE_VERSION", "TABLE_NAME"},
	}, cfntest.Render(t, stack.Service()).Environment())
}

func TestEveryOperationHasOneFunctionAndEveryRouteIsDeployed(t *testing.T) {
	t.Parallel()
	svc := stack.Service()
	var ops []string
	for _, f := range svc.Functions {
		ops = append(ops, f.Operation)
		assert.Equal(t, "./services/claims/cmd/"+strings.ToLower(f.Operation), f.Package)
	}
	assert.ElementsMatch(t, api.Operations, ops)
	assert.ElementsMatch(t, cfn.RoutesOf(api.RouteTable()), svc.Routes)
}

// invokes returns, per managed policy, the execute-api routes it allows as
// "METHOD /path", and checks that is all it allows.
func invokes(t *testing.T, tp cfntest.Template) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for id, p := range tp.OfType("AWS::IAM::ManagedPolicy") {
		doc, ok := p["PolicyDocument"].(map[string]any)
		require.True(t, ok)
		for _, st := range cfntest.AsList(doc["Statement"]) {
			m, ok := st.(map[string]any)
			require.True(t, ok)
			assert.Equal(t, "Allow", m["Effect"], id)
			assert.Equal(t, "execute-api:Invoke", m["Action"], id)
			for _, r := range cfntest.AsList(m["Resource"]) {
				sub, ok := r.(map[string]any)["Fn::Sub"].(string)
				require.True(t, ok, "%s: %v", id, r)
				prefix := "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/${Stage}/"
				require.True(t, strings.HasPrefix(sub, prefix), "%s: %s is not a route of this API and stage", id, sub)
				method, path, _ := strings.Cut(strings.TrimPrefix(sub, prefix), "/")
				out[id] = append(out[id], method+" /"+path)
			}
		}
		sort.Strings(out[id])
	}
	return out
}

func TestOneManagedPolicyPerRoleAllowsExactlyItsRoutes(t *testing.T) {
	t.Parallel()
	tp := cfntest.Render(t, stack.Service())
	got := invokes(t, tp)
	claim := "/members/*/claims/*"
	assert.ElementsMatch(t, []string{"GET " + claim, "GET " + claim + "/history", "GET /claim/*", "GET /members/*/claims",
		"POST " + claim + "/approve", "POST " + claim + "/reject"}, got["AdjusterPolicy"])
	assert.ElementsMatch(t, []string{"GET " + claim, "GET /claim/*", "GET /members/*/claims", "POST " + claim + "/pay"}, got["PaymentsPolicy"])
	assert.ElementsMatch(t, []string{"GET " + claim, "GET " + claim + "/history", "GET /claim/*", "GET /members/*/claims"}, got["AuditorPolicy"])
	assert.ElementsMatch(t, []string{"DELETE " + claim, "DELETE /claim/*", "GET " + claim, "GET /claim/*", "GET /members/*/claims",
		"PATCH " + claim, "POST " + claim + "/withdraw", "POST /claim", "POST /members/*/claims", "PUT /claim/*"}, got["IntakePolicy"])
	for _, route := range got["MemberPortalPolicy"] {
		if strings.Contains(route, "/members/") {
			assert.Contains(t, route, "/members/${!aws:PrincipalTag/memberId}/", "a member-facing caller reaches its own member only")
		}
	}
	assert.Len(t, got["MemberPortalPolicy"], len(got["IntakePolicy"]))
	for _, id := range []string{"IntakePolicy", "AdjusterPolicy", "PaymentsPolicy", "AuditorPolicy", "MemberPortalPolicy"} {
		assert.Contains(t, tp.Outputs, id+"Arn", "the policy's ARN is an output teams attach")
	}
	for _, route := range got["IntakePolicy"] {
		assert.NotContains(t, route, "/approve")
		assert.NotContains(t, route, "/pay")
	}
}

func TestOnlyTheFunctionsThatPageReadTheCursorKey(t *testing.T) {
	t.Parallel()
	assert.Equal(t, map[string][]string{"ListClaims": {"ssm:GetParameter"}, "ClaimHistory": {"ssm:GetParameter"}},
		cfntest.Render(t, stack.Service()).ActionsOn(t, "ssm:"))
}
