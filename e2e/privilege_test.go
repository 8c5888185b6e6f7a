package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hexlambda/hexlambda/pkg/cfn/cfntest"
)

// checkLeastPrivilege compares every AWS call each function made during the
// suite (the local gateway runs each with its own execution role's
// credentials and records their calls) with the actions that role's
// deployed policies allow. moto does not evaluate IAM policies, so this is
// the check: a call the role does not allow fails the suite; granted
// actions no test used are reported. Actions are compared, not resources.
func (e *env) checkLeastPrivilege(report func(format string, args ...any)) error {
	if e.gateway == nil || e.gateway.Recorder == nil {
		return nil
	}
	ctx := context.Background()
	lam, roles := lambda.NewFromConfig(e.cfg), iam.NewFromConfig(e.cfg)
	var denied []string
	calls := e.gateway.Recorder.Calls()
	for _, fn := range slices.Sorted(maps.Keys(calls)) {
		if strings.HasPrefix(fn, "unknown key") {
			denied = append(denied, fmt.Sprintf("%s made %v with credentials of no function", fn, slices.Sorted(maps.Keys(calls[fn]))))
			continue
		}
		out, err := lam.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
		if err != nil {
			return fmt.Errorf("read function %s: %w", fn, err)
		}
		role := aws.ToString(out.Configuration.Role)
		granted, err := grantedActions(ctx, roles, role[strings.LastIndex(role, "/")+1:])
		if err != nil {
			return fmt.Errorf("read the policies of %s: %w", role, err)
		}
		used := map[string]bool{}
		for _, action := range slices.Sorted(maps.Keys(calls[fn])) {
			pattern, ok := allows(granted, action)
			if !ok {
				denied = append(denied, fmt.Sprintf("%s called %s, which its role %s does not allow", fn, action, role))
			}
			used[pattern] = true
		}
		var unused []string
		for _, g := range granted {
			if !used[g] {
				unused = append(unused, g)
			}
		}
		report("least privilege: %s used %v; granted but not used by any test: %v", fn, slices.Sorted(maps.Keys(calls[fn])), unused)
	}
	if len(denied) > 0 {
		return fmt.Errorf("calls outside the functions' roles:\n  %s", strings.Join(denied, "\n  "))
	}
	return nil
}

// allows returns the granted pattern that matches action, if one does.
func allows(granted []string, action string) (string, bool) {
	for _, g := range granted {
		if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(action)); ok {
			return g, true
		}
	}
	return "", false
}

// grantedActions lists the actions the role's inline and attached
// policies allow.
func grantedActions(ctx context.Context, c *iam.Client, role string) ([]string, error) {
	var docs []string
	inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, err
	}
	for _, name := range inline.PolicyNames {
		p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		docs = append(docs, aws.ToString(p.PolicyDocument))
	}
	attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, err
	}
	for _, a := range attached.AttachedPolicies {
		p, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: a.PolicyArn})
		if err != nil {
			return nil, err
		}
		v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: a.PolicyArn, VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			return nil, err
		}
		docs = append(docs, aws.ToString(v.PolicyVersion.Document))
	}
	var actions []string
	for _, doc := range docs {
		a, err := allowedActions(doc)
		if err != nil {
			return nil, err
		}
		actions = append(actions, a...)
	}
	slices.Sort(actions)
	return slices.Compact(actions), nil
}

// allowedActions reads the Allow statements' actions of a policy document
// (URL-encoded, as IAM returns it, or plain).
func allowedActions(doc string) ([]string, error) {
	if d, err := url.QueryUnescape(doc); err == nil && !strings.HasPrefix(strings.TrimSpace(doc), "{") {
		doc = d
	}
	if strings.HasPrefix(doc, "{'") {
		// moto returns the inline policies CloudFormation made as a Python
		// literal; ours hold no quotes of their own, so this is the JSON.
		// A statement AWS::NoValue removed stays in moto's list as None.
		doc = strings.ReplaceAll(strings.ReplaceAll(doc, "'", `"`), ": None", ": null")
		doc = strings.ReplaceAll(strings.ReplaceAll(doc, "[None", "[null"), ", None", ", null")
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	var out []string
	for _, st := range cfntest.AsList(p["Statement"]) {
		m, _ := st.(map[string]any)
		if m["Effect"] != "Allow" {
			continue
		}
		for _, a := range cfntest.AsList(m["Action"]) {
			action, ok := a.(string)
			if !ok {
				return nil, fmt.Errorf("statement action %v is no string", a)
			}
			out = append(out, action)
		}
	}
	return out, nil
}
