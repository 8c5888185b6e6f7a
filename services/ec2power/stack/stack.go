// Package stack describes the ec2power service's CloudFormation stack: its
// functions (one per operation, each with its own least-privilege role), the
// environment they read, its audit table and its parameters. The platform's
// deploy tool renders and deploys it (infra/stacks lists it).
package stack

import (
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
	action := func(op, pkg, ec2Action string) cfn.Function {
		return cfn.Function{
			Operation: op, Package: pkg, Timeout: 30, Env: actEnv, Waits: true,
			Statements: []cfn.Statement{
				{Sid: "ActOnManagedInstancesOnly", Actions: []string{ec2Action}, Resources: instances, Condition: onlyManaged},
				describe,
				// An entry is created before acting (PutItem) and completed
				// once from its open state (UpdateItem), both conditional.
				{Sid: "RecordAudit", Actions: []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, Resources: audit},
				readGrants,
			},
		}
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
		},
		Functions: []cfn.Function{
			{Operation: api.OpDescribeInstances, Package: "./services/ec2power/cmd/describeinstances", Timeout: 10, Env: base(nil), Statements: []cfn.Statement{describe}},
			action(api.OpStartInstance, "./services/ec2power/cmd/startinstance", "ec2:StartInstances"),
			action(api.OpStopInstance, "./services/ec2power/cmd/stopinstance", "ec2:StopInstances"),
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
