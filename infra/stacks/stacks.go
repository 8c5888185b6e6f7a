// Package stacks describes the project's CloudFormation stacks: the shared
// bootstrap stack (artifact bucket) and one stack per service, built from
// the services' route tables in code, with one least-privilege role per
// function.
package stacks

import (
	"fmt"
	"sort"

	"github.com/hexlambda/hexlambda/infra/cfn"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	claimsapi "github.com/hexlambda/hexlambda/services/claims/api"
	powerapi "github.com/hexlambda/hexlambda/services/ec2power/api"
)

// BootstrapStackName is the name of the shared bootstrap stack.
const BootstrapStackName = "hexlambda-bootstrap"

// Services lists the deployable services by name.
func Services() map[string]cfn.Service {
	return map[string]cfn.Service{"claims": Claims(), "ec2power": EC2Power()}
}

// Names returns the service names, sorted.
func Names() []string {
	var out []string
	for n := range Services() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns a service by name.
func Lookup(name string) (cfn.Service, error) {
	s, ok := Services()[name]
	if !ok {
		return cfn.Service{}, fmt.Errorf("unknown service %q (known: %v)", name, Names())
	}
	return s, nil
}

func routes(table []httpapi.Route) []cfn.Route {
	out := make([]cfn.Route, 0, len(table))
	for _, r := range table {
		out = append(out, cfn.Route{Method: r.Method, Pattern: r.Pattern, Operation: r.Operation})
	}
	return out
}

func tableArn(logicalID string) any { return cfn.GetAtt(logicalID, "Arn") }

// Claims is the claims service: one table (claims and idempotency records).
func Claims() cfn.Service {
	table := []any{tableArn("ClaimsTable")}
	env := func(extra map[string]any) map[string]any {
		m := map[string]any{"TABLE_NAME": cfn.Ref("ClaimsTable"), "LOG_LEVEL": cfn.Ref("LogLevel")}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return cfn.Service{
		Name:        "claims",
		Description: "Health-insurance claims per member (hexlambda claims service)",
		DefaultAuth: cfn.AuthIAM,
		Tables:      []cfn.Table{{LogicalID: "ClaimsTable", Description: "Claims (MEMBER#/CLAIM#) and idempotency records"}},
		Routes:      routes(claimsapi.RouteTable()),
		ExtraParameters: map[string]cfn.Parameter{
			"DefaultCurrency": {Type: "String", Default: "USD", AllowedPattern: "^[A-Z]{3}$", Description: "ISO 4217 currency of the compatibility routes' claimAmount"},
			"CursorSigningKey": {
				Type: "String", NoEcho: true, AllowedPattern: "^[A-Za-z0-9+/=_-]{16,128}$",
				Description: "Secret that signs list cursors (the deploy tool generates it once per stack)",
			},
		},
		Functions: []cfn.Function{
			{
				Operation: claimsapi.OpCreateClaim, Package: "./services/claims/cmd/createclaim", Timeout: 10,
				Env: env(map[string]any{"DEFAULT_CURRENCY": cfn.Ref("DefaultCurrency")}),
				Statements: []cfn.Statement{{
					Sid: "CreateClaimsAndIdempotencyRecords", Resources: table,
					Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
				}},
			},
			{
				Operation: claimsapi.OpGetClaim, Package: "./services/claims/cmd/getclaim", Timeout: 10, Env: env(nil),
				Statements: []cfn.Statement{{Sid: "ReadClaims", Resources: table, Actions: []string{"dynamodb:GetItem"}}},
			},
			{
				Operation: claimsapi.OpListClaims, Package: "./services/claims/cmd/listclaims", Timeout: 10,
				Env:        env(map[string]any{"CURSOR_SIGNING_KEY": cfn.Ref("CursorSigningKey")}),
				Statements: []cfn.Statement{{Sid: "QueryClaims", Resources: table, Actions: []string{"dynamodb:Query"}}},
			},
			{
				Operation: claimsapi.OpUpdateClaim, Package: "./services/claims/cmd/updateclaim", Timeout: 10,
				Env: env(map[string]any{"DEFAULT_CURRENCY": cfn.Ref("DefaultCurrency")}),
				// One conditional UpdateItem per change; GetItem only to explain a refusal.
				Statements: []cfn.Statement{{Sid: "UpdateClaims", Resources: table, Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}}},
			},
			{
				Operation: claimsapi.OpDeleteClaim, Package: "./services/claims/cmd/deleteclaim", Timeout: 10, Env: env(nil),
				Statements: []cfn.Statement{{Sid: "DeleteClaims", Resources: table, Actions: []string{"dynamodb:DeleteItem"}}},
			},
		},
	}
}

// ManagedTagKey and ManagedTagValue mark the instances ec2power may
// control; the IAM conditions and the functions' MANAGED_TAG agree.
const (
	ManagedTagKey   = "ec2power:managed"
	ManagedTagValue = "true"
)

// EC2Power is the ec2power service: the audit table and EC2.
func EC2Power() cfn.Service {
	audit := []any{tableArn("AuditTable")}
	instances := []any{cfn.Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")}
	onlyManaged := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + ManagedTagKey: ManagedTagValue}}
	describe := cfn.Statement{
		// DescribeInstances supports no resource-level permissions.
		Sid: "DescribeInstances", Actions: []string{"ec2:DescribeInstances"}, Resources: []any{"*"},
	}
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{
			"LOG_LEVEL": cfn.Ref("LogLevel"), "MANAGED_TAG": ManagedTagKey + "=" + ManagedTagValue, "GROUP_TAG_KEY": "ec2power:group",
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	actEnv := base(map[string]any{
		"AUDIT_TABLE": cfn.Ref("AuditTable"), "DEFAULT_TARGET": cfn.Ref("DefaultTarget"),
		// API Gateway ends integrations at 29 s; a longer wait is the client's.
		"WAIT_LIMIT": "25s",
	})
	action := func(op, pkg, ec2Action string) cfn.Function {
		return cfn.Function{
			Operation: op, Package: pkg, Timeout: 30, Env: actEnv,
			Statements: []cfn.Statement{
				{Sid: "ActOnManagedInstancesOnly", Actions: []string{ec2Action}, Resources: instances, Condition: onlyManaged},
				describe,
				{Sid: "RecordAudit", Actions: []string{"dynamodb:PutItem"}, Resources: audit},
			},
		}
	}
	return cfn.Service{
		Name:        "ec2power",
		Description: "Start, stop and inspect managed EC2 instances (hexlambda ec2power service)",
		DefaultAuth: cfn.AuthAPIKey,
		Tables:      []cfn.Table{{LogicalID: "AuditTable", Description: "Audit trail of start and stop requests (90 days)"}},
		Routes:      routes(powerapi.RouteTable()),
		ExtraParameters: map[string]cfn.Parameter{
			"DefaultTarget": {Type: "String", Default: "", AllowedPattern: "^(|group:[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}|i-[0-9a-f]{8,17}(,i-[0-9a-f]{8,17})*)$", Description: "What GET /start and GET /stop act on: i-... ids or group:NAME"},
			"CursorSigningKey": {
				Type: "String", NoEcho: true, AllowedPattern: "^[A-Za-z0-9+/=_-]{16,128}$",
				Description: "Secret that signs history cursors (the deploy tool generates it once per stack)",
			},
		},
		Functions: []cfn.Function{
			{Operation: powerapi.OpDescribeInstances, Package: "./services/ec2power/cmd/describeinstances", Timeout: 10, Env: base(nil), Statements: []cfn.Statement{describe}},
			action(powerapi.OpStartInstance, "./services/ec2power/cmd/startinstance", "ec2:StartInstances"),
			action(powerapi.OpStopInstance, "./services/ec2power/cmd/stopinstance", "ec2:StopInstances"),
			{
				Operation: powerapi.OpInstanceHistory, Package: "./services/ec2power/cmd/instancehistory", Timeout: 10,
				Env:        base(map[string]any{"AUDIT_TABLE": cfn.Ref("AuditTable"), "CURSOR_SIGNING_KEY": cfn.Ref("CursorSigningKey")}),
				Statements: []cfn.Statement{{Sid: "ReadAudit", Actions: []string{"dynamodb:Query"}, Resources: audit}},
			},
		},
	}
}
