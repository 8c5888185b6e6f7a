package stack_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/cfn/cfntest"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/stack"
)

func TestFunctionsGetExactlyTheirDynamoDBActions(t *testing.T) {
	t.Parallel()
	tp := cfntest.Render(t, stack.Service())
	assert.Equal(t, map[string][]string{
		"CreateClaim": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"}, // claims + idempotency records
		"GetClaim":    {"dynamodb:GetItem"},
		"ListClaims":  {"dynamodb:Query"},
		"UpdateClaim": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
		"DeleteClaim": {"dynamodb:DeleteItem"},
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
	assert.Equal(t, map[string][]string{
		"CreateClaimFunction": {"DEFAULT_CURRENCY", "LOG_LEVEL", "TABLE_NAME"},
		"GetClaimFunction":    {"LOG_LEVEL", "TABLE_NAME"},
		"ListClaimsFunction":  {"CURSOR_SIGNING_KEY", "LOG_LEVEL", "TABLE_NAME"},
		"UpdateClaimFunction": {"DEFAULT_CURRENCY", "LOG_LEVEL", "TABLE_NAME"},
		"DeleteClaimFunction": {"LOG_LEVEL", "TABLE_NAME"},
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
