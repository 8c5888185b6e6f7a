package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// The least-privilege check decides as IAM does for the statements the
// functions' roles hold: action, resource and every condition must match
// an Allow, an explicit Deny wins, and an access whose resource is unknown
// is never allowed.
func TestTheLeastPrivilegeCheckEvaluatesResourcesAndConditions(t *testing.T) {
	t.Parallel()
	const in = "us-east-1:123456789012:"
	// moto returns CloudFormation-made inline policies as a Python literal.
	statements, err := policyStatements(`{'Version': '2012-10-17', 'Statement': [` +
		`{'Sid': 'ReadClaims', 'Effect': 'Allow', 'Action': ['dynamodb:GetItem'], 'Resource': ['arn:aws:dynamodb:` + in + `table/claims']}, ` +
		`None, ` +
		`{'Sid': 'ActOnManagedInstancesOnly', 'Effect': 'Allow', 'Action': ['ec2:StartInstances'], 'Resource': ['arn:aws:ec2:` + in + `instance/*'], ` +
		`'Condition': {'StringEquals': {'aws:ResourceTag/ec2power:managed': 'true'}}}, ` +
		`{'Sid': 'Describe', 'Effect': 'Allow', 'Action': 'ec2:DescribeInstances', 'Resource': '*'}, ` +
		`{'Sid': 'PassToScheduler', 'Effect': 'Allow', 'Action': ['iam:PassRole'], 'Resource': ['arn:aws:iam::123456789012:role/sched'], ` +
		`'Condition': {'StringEquals': {'iam:PassedToService': 'scheduler.amazonaws.com'}}}, ` +
		`{'Sid': 'NeverTheAuditTable', 'Effect': 'Deny', 'Action': ['dynamodb:*'], 'Resource': ['arn:aws:dynamodb:` + in + `table/audit']}, ` +
		`{'Sid': 'EveryTable', 'Effect': 'Allow', 'Action': ['dynamodb:Query'], 'Resource': ['arn:aws:dynamodb:` + in + `table/*']}]}`)
	require.NoError(t, err)
	require.Len(t, statements, 6, "the statement AWS::NoValue removed is none")
	v := &evaluator{tags: map[string]map[string]string{
		"i-managed": {"ec2power:managed": "true"}, "i-prod": {"Name": "prod-db"},
	}}
	for _, c := range []struct {
		access localgw.Access
		why    string // empty: allowed
	}{
		{localgw.Access{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:" + in + "table/claims"}, ""},
		{localgw.Access{Action: "DynamoDB:getitem", Resource: "arn:aws:dynamodb:" + in + "table/claims"}, ""},
		{localgw.Access{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:" + in + "table/claims/index/byDate"}, "no statement grants"},
		{localgw.Access{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:" + in + "table/other"}, "no statement grants"},
		{localgw.Access{Action: "dynamodb:PutItem", Resource: "arn:aws:dynamodb:" + in + "table/claims"}, "no statement grants"},
		{localgw.Access{Action: "dynamodb:Query", Resource: "arn:aws:dynamodb:" + in + "table/other"}, ""},
		{localgw.Access{Action: "dynamodb:Query", Resource: "arn:aws:dynamodb:" + in + "table/audit"}, "denied by statement NeverTheAuditTable"},
		{localgw.Access{Action: "ec2:StartInstances", Resource: "arn:aws:ec2:" + in + "instance/i-managed"}, ""},
		{localgw.Access{Action: "ec2:StartInstances", Resource: "arn:aws:ec2:" + in + "instance/i-prod"}, "aws:ResourceTag/ec2power:managed"},
		{localgw.Access{Action: "ec2:StopInstances", Resource: "arn:aws:ec2:" + in + "instance/i-managed"}, "no statement grants"},
		{localgw.Access{Action: "ec2:DescribeInstances", Resource: "*"}, ""},
		{localgw.Access{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/sched", Context: "iam:PassedToService=scheduler.amazonaws.com"}, ""},
		{localgw.Access{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/sched", Context: "iam:PassedToService=lambda.amazonaws.com"}, `"lambda.amazonaws.com" is none of`},
		{localgw.Access{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/sched"}, "the call has no such key"},
		{localgw.Access{Action: "dynamodb:GetItem"}, "cannot tell its resource"},
	} {
		_, why := v.allows(statements, c.access)
		if c.why == "" {
			assert.Empty(t, why, "%+v", c.access)
		} else {
			assert.Contains(t, why, c.why, "%+v", c.access)
		}
	}
}
