package stack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/pkg/cfn/cfntest"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/stack"
)

func TestFunctionsActOnlyOnManagedInstances(t *testing.T) {
	t.Parallel()
	tp := cfntest.Render(t, stack.Service())
	assert.Equal(t, map[string][]string{
		"DescribeInstances": {"ec2:DescribeInstances"},
		"StartInstance":     {"ec2:DescribeInstances", "ec2:StartInstances"},
		"StopInstance":      {"ec2:DescribeInstances", "ec2:StopInstances"},
	}, instanceActions(t, tp))
	assert.Equal(t, map[string][]string{
		"StartInstance":   {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, // key grants; audit entries
		"StopInstance":    {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		"InstanceHistory": {"dynamodb:GetItem", "dynamodb:Query"},
	}, tp.ActionsOn(t, "dynamodb:"))
	for rid, role := range tp.OfType("AWS::IAM::Role") {
		for _, st := range cfntest.Statements(t, role) {
			for _, a := range st.Actions {
				if a == "ec2:StartInstances" || a == "ec2:StopInstances" {
					assert.Equal(t, map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/ec2power:managed": "true"}}, st.Condition, rid)
					assert.Contains(t, cfntest.JS(st.Resources), ":instance/*")
				}
				if strings.HasPrefix(a, "dynamodb:") {
					assert.Equal(t, []any{cfn.GetAtt("AuditTable", "Arn")}, cfntest.ToGetAtt(st.Resources), rid)
				}
			}
		}
	}
}

// instanceActions are the roles' EC2 actions but those Lambda needs to
// attach a private function to its subnets.
func instanceActions(t *testing.T, tp cfntest.Template) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for op, actions := range tp.ActionsOn(t, "ec2:") {
		for _, a := range actions {
			if !slices.Contains(cfn.NetworkInterfaceActions, a) {
				out[op] = append(out[op], a)
			}
		}
	}
	return out
}

func TestFunctionsGetTheVariablesTheirCodeReadsAndNothingElse(t *testing.T) {
	t.Parallel()
	assert.Equal(t, map[string][]string{
		"DescribeInstancesFunction": {"GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION"},
		"StartInstanceFunction":     {"AUDITORS", "AUDIT_TABLE", "DEFAULT_TARGET", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION", "WAIT_LIMIT"},
		"StopInstanceFunction":      {"AUDITORS", "AUDIT_TABLE", "DEFAULT_TARGET", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION", "WAIT_LIMIT"},
		"InstanceHistoryFunction":   {"AUDITORS", "AUDIT_TABLE", "CURSOR_KEY_PARAMETER", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION"},
	}, cfntest.Render(t, stack.Service()).Environment())
}

func TestEveryOperationHasOneFunctionAndEveryRouteIsDeployed(t *testing.T) {
	t.Parallel()
	svc := stack.Service()
	var ops []string
	for _, f := range svc.Functions {
		ops = append(ops, f.Operation)
		assert.Equal(t, "./services/ec2power/cmd/"+strings.ToLower(f.Operation), f.Package)
	}
	assert.ElementsMatch(t, api.Operations, ops)
	assert.ElementsMatch(t, cfn.RoutesOf(api.RouteTable()), svc.Routes)
}

func TestFunctionsThatWaitHaveReservedConcurrency(t *testing.T) {
	t.Parallel()
	tp := cfntest.Render(t, stack.Service())
	for id, fn := range tp.OfType("AWS::Lambda::Function") {
		got, reserved := fn["ReservedConcurrentExecutions"]
		waits := id == "StartInstanceFunction" || id == "StopInstanceFunction"
		assert.Equal(t, waits, reserved, id)
		if waits {
			assert.JSONEq(t, cfntest.JS(cfn.If("ReservesConcurrency", cfn.Ref("WaitingConcurrency"), cfn.NoValue)), cfntest.JS(got), id)
		}
	}
	plan := tp.Resources["UsagePlan"].Properties["Throttle"]
	assert.JSONEq(t, `{"RateLimit":{"Ref":"KeyThrottleRateLimit"},"BurstLimit":{"Ref":"KeyThrottleBurstLimit"}}`, cfntest.JS(plan),
		"each key has its own throttle, below the stage's")
}

func TestOnlyTheFunctionsThatPageReadTheCursorKey(t *testing.T) {
	t.Parallel()
	assert.Equal(t, map[string][]string{"InstanceHistory": {"ssm:GetParameter"}}, cfntest.Render(t, stack.Service()).ActionsOn(t, "ssm:"))
}
