package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hexlambda/hexlambda/infra/localgw"
	"github.com/hexlambda/hexlambda/pkg/cfn/cfntest"
)

// checkLeastPrivilege evaluates every AWS call each function made during
// the suite (the local gateway runs each with its own execution role's
// credentials and records what IAM would authorize for each call: an
// action on a resource, with the request's condition keys) against that
// role's deployed policies, as IAM would: an explicit Deny wins, else an
// Allow statement must match the action, the resource and every one of
// its conditions. moto does not evaluate IAM policies, so this is the
// check: an access the role does not allow fails the suite; granted
// actions no test used are reported.
func (e *env) checkLeastPrivilege(report func(format string, args ...any)) error {
	if e.gateway == nil || e.gateway.Recorder == nil {
		return nil
	}
	ctx := context.Background()
	lam, roles := lambda.NewFromConfig(e.cfg), iam.NewFromConfig(e.cfg)
	eval := &evaluator{tags: e.instanceTags(ctx)}
	var denied []string
	accesses := e.gateway.Recorder.Accesses()
	for _, fn := range slices.Sorted(maps.Keys(accesses)) {
		if strings.HasPrefix(fn, "unknown key") {
			denied = append(denied, fmt.Sprintf("%s made %v with credentials of no function", fn, slices.Collect(maps.Keys(accesses[fn]))))
			continue
		}
		out, err := lam.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
		if err != nil {
			return fmt.Errorf("read function %s: %w", fn, err)
		}
		role := aws.ToString(out.Configuration.Role)
		statements, err := roleStatements(ctx, roles, role[strings.LastIndex(role, "/")+1:])
		if err != nil {
			return fmt.Errorf("read the policies of %s: %w", role, err)
		}
		used := map[string]bool{}
		actions := map[string]bool{}
		for _, a := range slices.SortedFunc(maps.Keys(accesses[fn]), func(x, y localgw.Access) int {
			return strings.Compare(x.Action+" "+x.Resource, y.Action+" "+y.Resource)
		}) {
			actions[a.Action] = true
			pattern, why := eval.allows(statements, a)
			if why != "" {
				denied = append(denied, fmt.Sprintf("%s: %s on %s, which its role %s does not allow: %s", fn, a.Action, orUnknown(a.Resource), role, why))
			}
			used[pattern] = true
		}
		var unused []string
		for _, st := range statements {
			for _, g := range st.Actions {
				if st.Effect == "Allow" && !used[g] && !slices.Contains(unused, g) {
					unused = append(unused, g)
				}
			}
		}
		report("least privilege: %s used %v; granted but not used by any test: %v", fn, slices.Sorted(maps.Keys(actions)), unused)
	}
	if len(denied) > 0 {
		return fmt.Errorf("calls outside the functions' roles:\n  %s", strings.Join(denied, "\n  "))
	}
	return nil
}

func orUnknown(resource string) string {
	if resource == "" {
		return "a resource the recorder cannot tell (teach localgw's access.go the call)"
	}
	return resource
}

// statement is one statement of a role's policies.
type statement struct {
	Sid, Effect string
	Actions     []string
	Resources   []string
	// Conditions: operator -> key -> values.
	Conditions map[string]map[string][]string
}

// evaluator decides accesses as IAM does, for the condition keys the
// functions' policies use.
type evaluator struct {
	// tags are the instances' tags, for aws:ResourceTag on instances.
	tags map[string]map[string]string
}

// allows returns the action pattern of the Allow statement that grants a,
// or why none does.
func (v *evaluator) allows(statements []statement, a localgw.Access) (pattern, why string) {
	if a.Resource == "" {
		return "", "the recorder cannot tell its resource"
	}
	var reasons []string
	for _, st := range statements {
		action, ok := matchAny(st.Actions, a.Action, true)
		if !ok {
			continue
		}
		if _, ok := matchAny(st.Resources, a.Resource, false); !ok {
			continue
		}
		if failed := v.conditions(st, a); failed != "" {
			reasons = append(reasons, fmt.Sprintf("statement %s: %s", st.Sid, failed))
			continue
		}
		if st.Effect == "Deny" {
			return "", "denied by statement " + st.Sid
		}
		if pattern == "" {
			pattern = action
		}
	}
	if pattern != "" {
		return pattern, ""
	}
	if len(reasons) == 0 {
		return "", "no statement grants that action on that resource"
	}
	return "", strings.Join(reasons, "; ")
}

// conditions returns the first condition of st that a does not meet, or
// "" when it meets them all.
func (v *evaluator) conditions(st statement, a localgw.Access) string {
	values := a.ContextValues()
	for op, keys := range st.Conditions {
		for key, want := range keys {
			got, known := values[key]
			if tag, ok := strings.CutPrefix(key, "aws:ResourceTag/"); ok {
				id, isInstance := strings.CutPrefix(a.Resource[strings.LastIndex(a.Resource, ":")+1:], "instance/")
				if isInstance {
					got, known = v.tags[id][tag]
				}
			}
			if !known {
				return fmt.Sprintf("%s %s: the call has no such key", op, key)
			}
			like := strings.HasSuffix(op, "Like")
			switch op {
			case "StringEquals", "StringLike", "ArnEquals", "ArnLike":
				if _, ok := matchAnyLiteral(want, got, like); !ok {
					return fmt.Sprintf("%s %s: %q is none of %v", op, key, got, want)
				}
			default:
				return fmt.Sprintf("condition operator %s is not evaluated here", op)
			}
		}
	}
	return ""
}

// matchAny reports the first IAM pattern (* and ?) that matches s;
// actions match regardless of case, resources exactly.
func matchAny(patterns []string, s string, action bool) (string, bool) {
	for _, p := range patterns {
		if globMatch(p, s, action) {
			return p, true
		}
	}
	return "", false
}

// matchAnyLiteral is matchAny for condition values: wildcards only for
// the Like operators.
func matchAnyLiteral(values []string, s string, like bool) (string, bool) {
	for _, v := range values {
		if (like && globMatch(v, s, false)) || (!like && v == s) {
			return v, true
		}
	}
	return "", false
}

func globMatch(pattern, s string, foldCase bool) bool {
	expr := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	if foldCase {
		expr = "(?i)" + expr
	}
	return regexp.MustCompile(expr).MatchString(s)
}

// instanceTags reads the tags of every instance the emulator knows.
func (e *env) instanceTags(ctx context.Context) map[string]map[string]string {
	out := map[string]map[string]string{}
	p := ec2.NewDescribeInstancesPaginator(ec2.NewFromConfig(e.cfg), &ec2.DescribeInstancesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out // every tag condition then fails, saying the key is missing
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				tags := map[string]string{}
				for _, t := range in.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				out[aws.ToString(in.InstanceId)] = tags
			}
		}
	}
	return out
}

// roleStatements lists the statements of the role's inline and attached
// policies.
func roleStatements(ctx context.Context, c *iam.Client, role string) ([]statement, error) {
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
	var out []statement
	for _, doc := range docs {
		s, err := policyStatements(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, s...)
	}
	return out, nil
}

// policyStatements reads the statements of a policy document
// (URL-encoded, as IAM returns it, or plain).
func policyStatements(doc string) ([]statement, error) {
	if d, err := url.QueryUnescape(doc); err == nil && !strings.HasPrefix(strings.TrimSpace(doc), "{") {
		doc = d
	}
	if strings.HasPrefix(doc, "{'") {
		// moto returns the inline policies CloudFormation made as a Python
		// literal; ours hold no quotes of their own, so this is the JSON.
		// A statement AWS::NoValue removed stays in moto's list as None.
		doc = strings.ReplaceAll(strings.ReplaceAll(doc, "'", `"`), ": None", ": null")
		doc = strings.ReplaceAll(strings.ReplaceAll(doc, "[None", "[null"), ", None", ", null")
		doc = strings.ReplaceAll(strings.ReplaceAll(doc, ": True", ": true"), ": False", ": false")
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	var out []statement
	for _, raw := range cfntest.AsList(p["Statement"]) {
		m, ok := raw.(map[string]any)
		if !ok {
			continue // a statement AWS::NoValue removed
		}
		st := statement{Effect: fmt.Sprint(m["Effect"]), Conditions: map[string]map[string][]string{}}
		st.Sid, _ = m["Sid"].(string)
		var err error
		if st.Actions, err = stringList(m["Action"]); err != nil {
			return nil, fmt.Errorf("statement %s: action %w", st.Sid, err)
		}
		if st.Resources, err = stringList(m["Resource"]); err != nil {
			return nil, fmt.Errorf("statement %s: resource %w", st.Sid, err)
		}
		if _, ok := m["NotResource"]; ok {
			return nil, fmt.Errorf("statement %s: NotResource is not evaluated here", st.Sid)
		}
		if _, ok := m["NotAction"]; ok {
			return nil, fmt.Errorf("statement %s: NotAction is not evaluated here", st.Sid)
		}
		cond, _ := m["Condition"].(map[string]any)
		for op, keys := range cond {
			km, _ := keys.(map[string]any)
			st.Conditions[op] = map[string][]string{}
			for k, v := range km {
				if st.Conditions[op][k], err = stringList(v); err != nil {
					return nil, fmt.Errorf("statement %s: condition %s %s %w", st.Sid, op, k, err)
				}
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// stringList reads a policy value that is a string or a list of strings.
func stringList(v any) ([]string, error) {
	var out []string
	for _, x := range cfntest.AsList(v) {
		if x == nil {
			continue
		}
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%v is no string", x)
		}
		out = append(out, s)
	}
	return out, nil
}
