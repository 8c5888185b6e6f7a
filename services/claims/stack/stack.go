// Package stack describes the claims service's CloudFormation stack: its
// functions (one per operation, each with its own least-privilege role), the
// environment they read, its table and its parameters. The platform's deploy
// tool renders and deploys it (infra/stacks lists it).
package stack

import (
	"slices"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/providers"
)

// Service describes the claims service's stack: one table (claims and
// idempotency records), one function and role per operation.
func Service() cfn.Service {
	table := []any{cfn.GetAtt("ClaimsTable", "Arn")}
	env := func(extra map[string]any) map[string]any {
		m := map[string]any{
			providers.EnvTableName: cfn.Ref("ClaimsTable"), providers.EnvLogLevel: cfn.Ref("LogLevel"), providers.EnvRoleMap: cfn.Ref("RoleMap"),
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	// A change reads the claim, then writes it and its history entry in one
	// transaction (TransactWriteItems needs the actions of its writes).
	change := func(sid string, actions ...string) []cfn.Statement {
		return []cfn.Statement{{Sid: sid, Resources: table, Actions: append([]string{"dynamodb:GetItem", "dynamodb:PutItem"}, actions...)}}
	}
	fn := func(op string, timeout int, extra map[string]any, st []cfn.Statement) cfn.Function {
		return cfn.Function{Operation: op, Package: "./services/claims/cmd/" + strings.ToLower(op), Timeout: timeout, Env: env(extra), Statements: st}
	}
	currency := map[string]any{providers.EnvDefaultCurrency: cfn.Ref("DefaultCurrency")}
	cursors := map[string]any{providers.EnvCursorKeyParameter: cfn.Sub(cfn.CursorKeyName)}
	return cfn.Service{
		Name:        providers.Service,
		Description: "Health-insurance claims per member (hexlambda claims service)",
		DefaultAuth: cfn.AuthIAM,
		Tables:      []cfn.Table{{LogicalID: "ClaimsTable", Description: "Claims per member, their history, and idempotency records"}},
		Routes:      cfn.RoutesOf(api.RouteTable()),
		ExtraParameters: map[string]cfn.Parameter{
			"DefaultCurrency": {Type: "String", Default: "USD", AllowedPattern: "^[A-Z]{3}$", Description: "ISO 4217 currency of the compatibility routes' claimAmount"},
			"RoleMap": {
				Type: "String", Default: "", MaxLength: intp(4096),
				Description: "Which callers hold which role, checked by the functions behind the gateway: role=pattern,...;... (empty: IAM principals hold every role, API keys and anonymous callers only intake)",
			},
		},
		Functions: []cfn.Function{
			fn(api.OpCreateClaim, 10, currency, []cfn.Statement{{
				// The claim and its first history entry, idempotency records
				// (completed in the claim's transaction: UpdateItem).
				Sid: "CreateClaimsAndIdempotencyRecords", Resources: table,
				Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
			}}),
			fn(api.OpGetClaim, 10, nil, []cfn.Statement{{Sid: "ReadClaims", Resources: table, Actions: []string{"dynamodb:GetItem"}}}),
			fn(api.OpListClaims, 10, cursors, []cfn.Statement{{Sid: "QueryClaims", Resources: table, Actions: []string{"dynamodb:Query"}}, cfn.CursorKeyStatement()}),
			fn(api.OpUpdateClaim, 10, currency, change("EditClaims", "dynamodb:UpdateItem")),
			fn(api.OpDeleteClaim, 10, nil, change("DeletePendingClaims", "dynamodb:DeleteItem")),
			fn(api.OpApproveClaim, 10, nil, change("ApproveClaims", "dynamodb:UpdateItem")),
			fn(api.OpRejectClaim, 10, nil, change("RejectClaims", "dynamodb:UpdateItem")),
			fn(api.OpPayClaim, 10, nil, change("PayClaims", "dynamodb:UpdateItem")),
			fn(api.OpWithdrawClaim, 10, nil, change("WithdrawClaims", "dynamodb:UpdateItem")),
			fn(api.OpClaimHistory, 10, cursors, []cfn.Statement{{Sid: "QueryClaimHistory", Resources: table, Actions: []string{"dynamodb:Query"}}, cfn.CursorKeyStatement()}),
		},
		AccessPolicies: accessPolicies(),
	}
}

// accessPolicies are one managed policy per role, from api.OperationRoles,
// and MemberPortal: the intake operations on the caller's own member id
// only (its principal tag memberId), for member-facing callers.
func accessPolicies() []cfn.AccessPolicy {
	descriptions := map[string]string{
		api.RoleIntake:   "Files, reads, edits and withdraws claims",
		api.RoleAdjuster: "Reads claims and their history, approves and rejects them",
		api.RolePayments: "Reads claims and records their payment",
		api.RoleAuditor:  "Reads claims and their history",
	}
	var out []cfn.AccessPolicy
	for _, role := range api.Roles {
		p := cfn.AccessPolicy{Name: cfn.LogicalName(role), Description: descriptions[role]}
		for _, op := range api.Operations {
			if slices.Contains(api.OperationRoles[op], role) {
				p.Operations = append(p.Operations, op)
			}
		}
		out = append(out, p)
	}
	intake := out[0]
	out = append(out, cfn.AccessPolicy{
		Name: "MemberPortal", Description: "Intake on the caller's own member id only (principal tag memberId)",
		Operations: intake.Operations, PrincipalTags: []string{"memberId"},
	})
	return out
}

func intp(n int) *int { return &n }
