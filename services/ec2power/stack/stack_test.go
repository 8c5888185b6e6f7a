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
		"ExtendLease":       {"ec2:DescribeInstances"},
		"ReleaseLease":      {"ec2:DescribeInstances", "ec2:StopInstances"},
		"ExpireLease":       {"ec2:DescribeInstances", "ec2:StopInstances"},
		"ApplySchedule":     {"ec2:DescribeInstances", "ec2:StartInstances", "ec2:StopInstances"},
		"HoldInstance":      {"ec2:DescribeInstances"},
	}, instanceActions(t, tp))
	// Key grants and leases; audit entries with their instances' busy
	// markers, which a completion deletes.
	write := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	assert.Equal(t, map[string][]string{
		"DescribeInstances": {"dynamodb:GetItem"},
		"StartInstance":     write, "StopInstance": write, "ReleaseLease": write, "ExpireLease": write,
		"ExtendLease":     {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		"ApplySchedule":   {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"},
		"InstanceHistory": {"dynamodb:GetItem", "dynamodb:Query"},
		"ReadSchedules":   {"dynamodb:GetItem", "dynamodb:Query"},
		// Holds and schedules are replaced and deleted.
		"HoldInstance":   {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
		"WriteSchedules": {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
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
		"DescribeInstancesFunction": {"AUDITORS", "AUDIT_TABLE", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION"},
		"StartInstanceFunction": {
			"AUDITORS", "AUDIT_TABLE", "DEFAULT_LEASE", "DEFAULT_TARGET", "EVENT_BUS", "EXPIRE_LEASE_ARN", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL",
			"MANAGED_TAG", "MAX_LEASE", "SCHEDULER_ROLE_ARN", "SCHEDULE_GROUP", "SERVICE_VERSION", "WAIT_LIMIT",
		},
		"StopInstanceFunction": {
			"AUDITORS", "AUDIT_TABLE", "DEFAULT_TARGET", "EVENT_BUS", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SCHEDULE_GROUP",
			"SERVICE_VERSION", "WAIT_LIMIT",
		},
		"ExtendLeaseFunction": {
			"AUDITORS", "AUDIT_TABLE", "DEFAULT_LEASE", "EVENT_BUS", "EXPIRE_LEASE_ARN", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG",
			"MAX_LEASE", "SCHEDULER_ROLE_ARN", "SCHEDULE_GROUP", "SERVICE_VERSION",
		},
		"ReleaseLeaseFunction":  {"AUDITORS", "AUDIT_TABLE", "EVENT_BUS", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SCHEDULE_GROUP", "SERVICE_VERSION"},
		"ExpireLeaseFunction":   {"AUDIT_TABLE", "EVENT_BUS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SCHEDULE_GROUP", "SERVICE_VERSION"},
		"ApplyScheduleFunction": {"AUDIT_TABLE", "EVENT_BUS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SCHEDULE_GROUP", "SERVICE_VERSION"},
		"HoldInstanceFunction":  {"AUDITORS", "AUDIT_TABLE", "EVENT_BUS", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SCHEDULE_GROUP", "SERVICE_VERSION"},
		"ReadSchedulesFunction": {"AUDITORS", "AUDIT_TABLE", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION"},
		"WriteSchedulesFunction": {
			"APPLY_SCHEDULE_ARN", "AUDITORS", "AUDIT_TABLE", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SCHEDULER_ROLE_ARN", "SCHEDULE_GROUP",
			"SERVICE_VERSION",
		},
		"InstanceHistoryFunction": {"AUDITORS", "AUDIT_TABLE", "CURSOR_KEY_PARAMETER", "GRANTS", "GROUP_TAG_KEY", "LOG_LEVEL", "MANAGED_TAG", "SERVICE_VERSION"},
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
	for _, f := range svc.Functions {
		assert.Equal(t, slices.Contains(api.Internal, f.Operation), f.Internal, "only the scheduled functions are served by no route: %s", f.Operation)
	}
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
	assert.Equal(t, map[string][]string{"InstanceHistory": {"ssm:GetParameter"}},
		cfntest.Render(t, stack.Service()).ActionsOn(t, "ssm:"),
		"instanceHistory hands its cursors to callers; readSchedules and applySchedule page only within an invocation")
}

func TestLeaseExpiriesAreScopedToTheStacksOwnScheduleGroupAndFunction(t *testing.T) {
	t.Parallel()
	tp := cfntest.Render(t, stack.Service())
	assert.Equal(t, map[string][]string{
		"StartInstance": {"scheduler:CreateSchedule", "scheduler:DeleteSchedule"},
		"ExtendLease":   {"scheduler:CreateSchedule", "scheduler:DeleteSchedule"},
		"StopInstance":  {"scheduler:DeleteSchedule"}, "ReleaseLease": {"scheduler:DeleteSchedule"}, "ExpireLease": {"scheduler:DeleteSchedule"},
		"WriteSchedules": {"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule"},
	}, tp.ActionsOn(t, "scheduler:"))
	assert.Equal(t, map[string][]string{"StartInstance": {"iam:PassRole"}, "ExtendLease": {"iam:PassRole"}, "WriteSchedules": {"iam:PassRole"}}, tp.ActionsOn(t, "iam:"),
		"only the functions that schedule pass the scheduler's role")
	for rid, role := range tp.OfType("AWS::IAM::Role") {
		for _, st := range cfntest.Statements(t, role) {
			for _, a := range st.Actions {
				switch {
				case strings.HasPrefix(a, "scheduler:"):
					assert.JSONEq(t, `[{"Fn::Sub":"arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${AWS::StackName}/*"}]`, cfntest.JS(st.Resources), rid)
				case a == "iam:PassRole":
					assert.JSONEq(t, `[{"Fn::GetAtt":["SchedulerRole","Arn"]}]`, cfntest.JS(st.Resources), rid)
					assert.Equal(t, map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}}, st.Condition, rid)
				case a == "events:PutEvents":
					assert.JSONEq(t, `[{"Fn::Sub":"arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBus}"}]`, cfntest.JS(st.Resources), rid)
				}
			}
		}
	}
	role := tp.Resources["SchedulerRole"].Properties
	assert.JSONEq(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},"Action":"sts:AssumeRole",
		"Condition":{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}}}]}`, cfntest.JS(role["AssumeRolePolicyDocument"]))
	assert.JSONEq(t, `[{"PolicyName":"invoke-scheduled-functions","PolicyDocument":{"Version":"2012-10-17","Statement":[{"Sid":"InvokeTheScheduledFunctionsOnly",
		"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":[{"Fn::GetAtt":["ExpireLeaseFunction","Arn"]},{"Fn::GetAtt":["ApplyScheduleFunction","Arn"]}]}]}}]`,
		cfntest.JS(role["Policies"]), "the scheduler's role invokes expireLease and applySchedule, nothing else")
	for _, id := range []string{"ExpireLeasePermission", "ApplySchedulePermission"} {
		_, apiMayInvoke := tp.Resources[id]
		assert.False(t, apiMayInvoke, "API Gateway may not invoke the scheduled functions: %s", id)
	}
	assert.Equal(t, "AWS::Scheduler::ScheduleGroup", tp.Resources["ScheduleGroup"].Type)
}
