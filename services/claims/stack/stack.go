// Package stack describes the claims service's CloudFormation stack: its
// functions (one per operation, each with its own least-privilege role), the
// environment they read, its table and its parameters. The platform's deploy
// tool renders and deploys it (infra/stacks lists it).
package stack

import (
	"github.com/hexlambda/hexlambda/pkg/cfn"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/providers"
)

// Service describes the claims service's stack: one table (claims and
// idempotency records), one function and role per operation.
func Service() cfn.Service {
	table := []any{cfn.GetAtt("ClaimsTable", "Arn")}
	env := func(extra map[string]any) map[string]any {
		m := map[string]any{providers.EnvTableName: cfn.Ref("ClaimsTable"), providers.EnvLogLevel: cfn.Ref("LogLevel")}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	return cfn.Service{
		Name:        providers.Service,
		Description: "Health-insurance claims per member (hexlambda claims service)",
		DefaultAuth: cfn.AuthIAM,
		Tables:      []cfn.Table{{LogicalID: "ClaimsTable", Description: "Claims per member, and idempotency records"}},
		Routes:      cfn.RoutesOf(api.RouteTable()),
		ExtraParameters: map[string]cfn.Parameter{
			"DefaultCurrency":    {Type: "String", Default: "USD", AllowedPattern: "^[A-Z]{3}$", Description: "ISO 4217 currency of the compatibility routes' claimAmount"},
			cfn.CursorSigningKey: cfn.CursorKeyParameter("list"),
		},
		Functions: []cfn.Function{
			{
				Operation: api.OpCreateClaim, Package: "./services/claims/cmd/createclaim", Timeout: 10,
				Env: env(map[string]any{providers.EnvDefaultCurrency: cfn.Ref("DefaultCurrency")}),
				Statements: []cfn.Statement{{
					Sid: "CreateClaimsAndIdempotencyRecords", Resources: table,
					Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem"},
				}},
			},
			{
				Operation: api.OpGetClaim, Package: "./services/claims/cmd/getclaim", Timeout: 10, Env: env(nil),
				Statements: []cfn.Statement{{Sid: "ReadClaims", Resources: table, Actions: []string{"dynamodb:GetItem"}}},
			},
			{
				Operation: api.OpListClaims, Package: "./services/claims/cmd/listclaims", Timeout: 10,
				Env:        env(map[string]any{providers.EnvCursorKey: cfn.Ref(cfn.CursorSigningKey)}),
				Statements: []cfn.Statement{{Sid: "QueryClaims", Resources: table, Actions: []string{"dynamodb:Query"}}},
			},
			{
				Operation: api.OpUpdateClaim, Package: "./services/claims/cmd/updateclaim", Timeout: 10,
				Env: env(map[string]any{providers.EnvDefaultCurrency: cfn.Ref("DefaultCurrency")}),
				// One conditional UpdateItem per change; GetItem only to explain a refusal.
				Statements: []cfn.Statement{{Sid: "UpdateClaims", Resources: table, Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}}},
			},
			{
				Operation: api.OpDeleteClaim, Package: "./services/claims/cmd/deleteclaim", Timeout: 10, Env: env(nil),
				Statements: []cfn.Statement{{Sid: "DeleteClaims", Resources: table, Actions: []string{"dynamodb:DeleteItem"}}},
			},
		},
	}
}
