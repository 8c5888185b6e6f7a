// Package stack describes the ec2power service's CloudFormation stack: its
// functions (one per operation, each with its own least-privilege role), the
// environment they read, its audit table and its parameters. The platform's
// deploy tool renders and deploys it (infra/stacks lists it).
package stack

import (
	"strings"

	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

// Service describes the ec2power service's stack: the audit table, one
// function and role per operation, EC2 actions only on managed instances.
func Service() cfn.Service {
	audit := []any{cfn.GetAtt("AuditTable", "Arn")}
	instances := []any{cfn.Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")}
	// The IAM condition and the functions' MANAGED_TAG name the same tag.
	tags := domain.DefaultSelector
	onlyManaged := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + tags.ManagedKey: tags.ManagedValue}}
	describe := cfn.Statement{
		// DescribeInstances supports no resource-level permissions.
		Sid: "DescribeInstances", Actions: []string{"ec2:DescribeInstances"}, Resources: []any{"*"},
	}
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{
			providers.EnvLogLevel: cfn.Ref("LogLevel"), providers.EnvManagedTag: tags.ManagedKey + "=" + tags.ManagedValue,
			providers.EnvGroupTagKey: tags.GroupKey,
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	grants := map[string]any{providers.EnvGrants: cfn.Ref("Grants"), providers.EnvAuditors: cfn.Ref("Auditors")}
	// The grants of API keys are items of the audit table.
	readGrants := cfn.Statement{Sid: "ReadKeyGrants", Actions: []string{"dynamodb:GetItem"}, Resources: audit}
	actEnv := base(map[string]any{
		providers.EnvGrants: grants[providers.EnvGrants], providers.EnvAuditors: grants[providers.EnvAuditors],
		providers.EnvAuditTable: cfn.Ref("AuditTable"), providers.EnvDefaultTarget: cfn.Ref("DefaultTarget"),
		// API Gateway ends integrations at 29 s; a longer wait is the client's.
		providers.EnvWaitLimit: "25s",
	})
	// Leases: the expiries are one-time schedules in the stack's own
	// schedule group, invoking expireLease as SchedulerRole.
	// The group is named after the stack, so nothing refers to the group
	// resource but the stack itself.
	schedules := []any{cfn.Sub("arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${AWS::StackName}/*")}
	scheduleExpiries := []cfn.Statement{
		{Sid: "ScheduleLeaseExpiries", Actions: []string{"scheduler:CreateSchedule", "scheduler:DeleteSchedule"}, Resources: schedules},
		{
			Sid: "PassTheSchedulerRoleToTheSchedulerOnly", Actions: []string{"iam:PassRole"}, Resources: []any{cfn.GetAtt("SchedulerRole", "Arn")},
			Condition: map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
		},
	}
	cancelExpiries := []cfn.Statement{{Sid: "CancelLeaseExpiries", Actions: []string{"scheduler:DeleteSchedule"}, Resources: schedules}}
	publish := cfn.Statement{
		Sid: "PublishEvents", Actions: []string{"events:PutEvents"},
		Resources: []any{cfn.Sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBus}")},
	}
	leaseEnv := func(grants bool) map[string]any {
		m := base(map[string]any{
			providers.EnvAuditTable: cfn.Ref("AuditTable"), providers.EnvScheduleGroup: cfn.Sub("${AWS::StackName}"),
			providers.EnvEventBus: cfn.Ref("EventBus"),
		})
		if grants {
			m[providers.EnvGrants], m[providers.EnvAuditors] = cfn.Ref("Grants"), cfn.Ref("Auditors")
		}
		return m
	}
	granting := func(m map[string]any) map[string]any {
		m[providers.EnvExpireLeaseARN] = cfn.GetAtt(cfn.FunctionLogicalID(api.OpExpireLease), "Arn")
		m[providers.EnvSchedulerRoleARN] = cfn.GetAtt("SchedulerRole", "Arn")
		m[providers.EnvMaxLease], m[providers.EnvDefaultLease] = cfn.Ref("MaxLease"), cfn.Ref("DefaultLease")
		return m
	}
	// A lease is read (GetItem) and written at the version read (PutItem,
	// UpdateItem). A function that starts or stops creates an audit entry
	// before acting with its instance's busy marker (PutItem, PutItem) and
	// completes the entry once from its open state as the marker is
	// removed (UpdateItem, DeleteItem), each pair one conditional
	// transaction.
	recordLeases := cfn.Statement{Sid: "RecordLeases", Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: audit}
	recordAudit := cfn.Statement{Sid: "RecordAuditAndLeases", Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: audit}
	act := func(op string, ec2Actions []string, env map[string]any, extra []cfn.Statement) cfn.Function {
		record := recordLeases
		if len(ec2Actions) > 0 {
			record = recordAudit
		}
		f := cfn.Function{
			Operation: op, Package: "./services/ec2power/cmd/" + strings.ToLower(op), Timeout: 30, Env: env,
			Statements: append([]cfn.Statement{describe, record, publish}, extra...),
		}
		if len(ec2Actions) > 0 {
			f.Statements = append([]cfn.Statement{
				{Sid: "ActOnManagedInstancesOnly", Actions: ec2Actions, Resources: instances, Condition: onlyManaged},
			}, f.Statements...)
		}
		return f
	}
	starts, stops := []string{"ec2:StartInstances"}, []string{"ec2:StopInstances"}
	startEnv, stopEnv := granting(leaseEnv(true)), leaseEnv(true)
	for k, v := range actEnv {
		startEnv[k], stopEnv[k] = v, v
	}
	start := act(api.OpStartInstance, starts, startEnv, scheduleExpiries)
	stop := act(api.OpStopInstance, stops, stopEnv, cancelExpiries)
	start.Waits, stop.Waits = true, true
	expire := act(api.OpExpireLease, stops, leaseEnv(false), cancelExpiries)
	expire.Internal = true
	// A window opens and closes: it starts and stops the instances tagged
	// with its schedule (reading the schedule, their holds and leases),
	// and reads their histories: one stopped since the window opened
	// stays stopped.
	apply := act(api.OpApplySchedule, append(starts, stops...), leaseEnv(false),
		[]cfn.Statement{{Sid: "ReadHistories", Actions: []string{"dynamodb:Query"}, Resources: audit}})
	apply.Internal = true
	// Holds are items of the audit table, replaced and deleted.
	hold := cfn.Function{
		Operation: api.OpHoldInstance, Package: "./services/ec2power/cmd/holdinstance", Timeout: 10, Env: leaseEnv(true),
		Statements: []cfn.Statement{describe, {Sid: "RecordHolds", Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: audit}},
	}
	scheduleEnv := func(m map[string]any) map[string]any {
		m[providers.EnvAuditTable] = cfn.Ref("AuditTable")
		m[providers.EnvGrants], m[providers.EnvAuditors] = cfn.Ref("Grants"), cfn.Ref("Auditors")
		return m
	}
	readSchedules := cfn.Function{
		Operation: api.OpReadSchedules, Package: "./services/ec2power/cmd/readschedules", Timeout: 10, Env: scheduleEnv(base(nil)),
		Statements: []cfn.Statement{{Sid: "ReadSchedules", Actions: []string{"dynamodb:GetItem", "dynamodb:Query"}, Resources: audit}},
	}
	// Writing a schedule writes its item and its windows' recurring
	// EventBridge schedules, which invoke applySchedule as SchedulerRole.
	writeSchedules := cfn.Function{
		Operation: api.OpWriteSchedules, Package: "./services/ec2power/cmd/writeschedules", Timeout: 30,
		Env: scheduleEnv(base(map[string]any{
			providers.EnvScheduleGroup: cfn.Sub("${AWS::StackName}"), providers.EnvSchedulerRoleARN: cfn.GetAtt("SchedulerRole", "Arn"),
			providers.EnvApplyScheduleARN: cfn.GetAtt(cfn.FunctionLogicalID(api.OpApplySchedule), "Arn"),
		})),
		Statements: []cfn.Statement{
			{Sid: "WriteSchedules", Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: audit},
			{Sid: "ScheduleWindows", Actions: []string{"scheduler:CreateSchedule", "scheduler:DeleteSchedule", "scheduler:UpdateSchedule"}, Resources: schedules},
			scheduleExpiries[1],
		},
	}
	return cfn.Service{
		Name:        providers.Service,
		Description: "Start, stop and inspect managed EC2 instances (hexlambda ec2power service)",
		DefaultAuth: cfn.AuthAPIKey,
		Tables:      []cfn.Table{{LogicalID: "AuditTable", Description: "Audit trail of start and stop requests (90 days)"}},
		Routes:      cfn.RoutesOf(api.RouteTable()),
		ExtraParameters: map[string]cfn.Parameter{
			"DefaultTarget": {Type: "String", Default: "", AllowedPattern: "^(|group:[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}|i-[0-9a-f]{8,17}(,i-[0-9a-f]{8,17})*)$", Description: "What GET /start and GET /stop act on: i-... ids or group:NAME"},
			"Grants": {
				Type: "String", Default: "", MaxLength: intp(4096),
				Description: "Which callers may start and stop which groups: group group=pattern,...;*=pattern (empty: IAM principals every group; API keys only what they were issued with, keys issue --groups)",
			},
			"Auditors": {
				Type: "String", Default: "", MaxLength: intp(4096),
				Description: "Callers who see who asked in histories: pattern,... (empty: IAM principals; API keys issued with --audit)",
			},
			"MaxLease": {
				Type: "String", Default: "12h", AllowedPattern: leaseDuration,
				Description: "The longest a lease may still run, when granted or extended (a duration such as 12h or 90m)",
			},
			"DefaultLease": {
				Type: "String", Default: "", AllowedPattern: "^(|" + leaseDuration[1:len(leaseDuration)-1] + ")$",
				Description: "The lease of GET /start when it asks for none (empty: none)",
			},
			"EventBus": {
				Type: "String", Default: "default", AllowedPattern: "^[A-Za-z0-9._/-]{1,256}$",
				Description: "Name of the EventBridge bus the service's events go to (default: the account's default bus)",
			},
		},
		Resources: map[string]cfn.Resource{
			"ScheduleGroup": {
				Type:       "AWS::Scheduler::ScheduleGroup",
				Properties: map[string]any{"Name": cfn.Sub("${AWS::StackName}")},
			},
			// The role the Scheduler invokes expireLease and applySchedule
			// as: those functions, for schedules of this account, nothing
			// else.
			"SchedulerRole": {
				Type: "AWS::IAM::Role",
				Properties: map[string]any{
					"Description": cfn.Sub("Role of the lease expiries and schedule windows of ${AWS::StackName}"),
					"AssumeRolePolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Effect": "Allow", "Principal": map[string]any{"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
							"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": cfn.Ref("AWS::AccountId")}},
						}},
					},
					"Policies": []any{map[string]any{
						"PolicyName": "invoke-scheduled-functions",
						"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
							"Sid": "InvokeTheScheduledFunctionsOnly", "Effect": "Allow", "Action": "lambda:InvokeFunction",
							"Resource": []any{
								cfn.GetAtt(cfn.FunctionLogicalID(api.OpExpireLease), "Arn"), cfn.GetAtt(cfn.FunctionLogicalID(api.OpApplySchedule), "Arn"),
							},
						}}},
					}},
				},
			},
		},
		Outputs: map[string]cfn.Output{
			"ScheduleGroupName": {Description: "Schedule group of the lease expiries and schedule windows", Value: cfn.Sub("${AWS::StackName}")},
		},
		Functions: []cfn.Function{
			{
				// It shows leases, and their owners to auditors.
				Operation: api.OpDescribeInstances, Package: "./services/ec2power/cmd/describeinstances", Timeout: 10,
				Env: base(map[string]any{
					providers.EnvAuditTable: cfn.Ref("AuditTable"),
					providers.EnvGrants:     grants[providers.EnvGrants], providers.EnvAuditors: grants[providers.EnvAuditors],
				}),
				Statements: []cfn.Statement{describe, {Sid: "ReadLeasesAndKeyGrants", Actions: []string{"dynamodb:GetItem"}, Resources: audit}},
			},
			start, stop,
			act(api.OpExtendLease, nil, granting(leaseEnv(true)), scheduleExpiries),
			act(api.OpReleaseLease, stops, leaseEnv(true), cancelExpiries),
			expire, apply, hold, readSchedules, writeSchedules,
			{
				Operation: api.OpInstanceHistory, Package: "./services/ec2power/cmd/instancehistory", Timeout: 10,
				Env: base(map[string]any{
					providers.EnvAuditTable: cfn.Ref("AuditTable"), providers.EnvCursorKeyParameter: cfn.Sub(cfn.CursorKeyName),
					providers.EnvGrants: grants[providers.EnvGrants], providers.EnvAuditors: grants[providers.EnvAuditors],
				}),
				Statements: []cfn.Statement{{Sid: "ReadAudit", Actions: []string{"dynamodb:Query"}, Resources: audit}, readGrants, cfn.CursorKeyStatement()},
			},
		},
	}
}

func intp(n int) *int { return &n }

// leaseDuration is a duration in hours, minutes and seconds (Go's syntax).
const leaseDuration = `^([0-9]{1,3}h)?([0-9]{1,4}m)?([0-9]{1,5}s)?$`
