package localgw

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// ReadStackAPI reads what a deployed stack's template declares of its REST
// API (logical id Api): the resource policy and whether it is PRIVATE,
// resolved with the stack's parameters. An emulator that drops them (moto
// keeps neither for an API CloudFormation made) still has the template.
func ReadStackAPI(ctx context.Context, cf *cloudformation.Client, stack string) (*StackAPI, error) {
	tpl, err := cf.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("template of %s: %w", stack, err)
	}
	st, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil || len(st.Stacks) == 0 {
		return nil, fmt.Errorf("stack %s: %w", stack, err)
	}
	params := map[string]string{}
	for _, p := range st.Stacks[0].Parameters {
		params[aws.ToString(p.ParameterKey)] = aws.ToString(p.ParameterValue)
	}
	return StackAPIOf([]byte(aws.ToString(tpl.TemplateBody)), params, cfn.PseudoParameters(aws.ToString(st.Stacks[0].StackId), stack, ""))
}

// StackAPIOf resolves the Api resource's policy and endpoint type in a
// template for the given parameter values (and pseudo parameters).
func StackAPIOf(template []byte, params, pseudo map[string]string) (*StackAPI, error) {
	var t struct {
		Parameters map[string]struct{ Type string }
		Conditions map[string]any
		Resources  map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(template, &t); err != nil {
		return nil, fmt.Errorf("read the template: %w", err)
	}
	api, ok := t.Resources["Api"]
	if !ok || api.Type != "AWS::ApiGateway::RestApi" {
		return nil, fmt.Errorf("the template has no REST API Api: %w", ErrNoAPI)
	}
	r := resolver{values: map[string]any{}, conditions: t.Conditions, done: map[string]bool{}}
	for k, v := range pseudo {
		r.values[k] = v
	}
	for k, p := range t.Parameters {
		v := params[k]
		if strings.HasPrefix(p.Type, "CommaDelimitedList") || strings.HasPrefix(p.Type, "List<") {
			var list []any
			for _, s := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			r.values[k] = list
		} else {
			r.values[k] = v
		}
	}
	out := &StackAPI{}
	if ec, err := r.eval(api.Properties["EndpointConfiguration"]); err != nil {
		return nil, err
	} else if m, ok := ec.(map[string]any); ok {
		for _, typ := range stringList(m["Types"]) {
			out.Private = out.Private || typ == "PRIVATE"
		}
	}
	policy, err := r.eval(api.Properties["Policy"])
	if err != nil {
		return nil, err
	}
	if policy != nil && policy != noValue {
		b, err := json.Marshal(policy)
		if err != nil {
			return nil, fmt.Errorf("resource policy: %w", err)
		}
		if out.Policy, err = ParseResourcePolicy(string(b)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// noValue is AWS::NoValue: the property or list element is left out.
var noValue = &struct{ name string }{"AWS::NoValue"}

// resolver evaluates the intrinsic functions a resource policy and endpoint
// configuration use: Ref, Fn::If and the condition functions, Fn::Join,
// Fn::Split, Fn::Select and Fn::Sub over parameters.
type resolver struct {
	values     map[string]any
	conditions map[string]any
	done       map[string]bool
}

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

func (r resolver) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			ev, err := r.eval(e)
			if err != nil {
				return nil, err
			}
			if ev != noValue {
				out = append(out, ev)
			}
		}
		return out, nil
	case map[string]any:
		if len(x) == 1 {
			for k, arg := range x {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return r.function(k, arg)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			ev, err := r.eval(e)
			if err != nil {
				return nil, err
			}
			if ev != noValue {
				out[k] = ev
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

func (r resolver) function(name string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch name {
	case "Ref":
		ref, _ := arg.(string)
		if ref == "AWS::NoValue" {
			return noValue, nil
		}
		v, ok := r.values[ref]
		if !ok {
			return nil, fmt.Errorf("cannot resolve Ref %s", ref)
		}
		return v, nil
	case "Condition":
		c, _ := arg.(string)
		return r.condition(c)
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If wants 3 arguments, got %v", arg)
		}
		c, _ := args[0].(string)
		ok, err := r.condition(c)
		if err != nil {
			return nil, err
		}
		if ok {
			return r.eval(args[1])
		}
		return r.eval(args[2])
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		return r.boolean(name, args)
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join wants 2 arguments, got %v", arg)
		}
		sep, _ := args[0].(string)
		items, err := r.eval(args[1])
		if err != nil {
			return nil, err
		}
		return strings.Join(stringList(items), sep), nil
	case "Fn::Split":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Split wants 2 arguments, got %v", arg)
		}
		sep, _ := args[0].(string)
		s, err := r.eval(args[1])
		if err != nil {
			return nil, err
		}
		str, _ := s.(string)
		var out []any
		for _, p := range strings.Split(str, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Select":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Select wants 2 arguments, got %v", arg)
		}
		list, err := r.eval(args[1])
		if err != nil {
			return nil, err
		}
		items, _ := list.([]any)
		i, ok := args[0].(float64)
		if !ok || int(i) < 0 || int(i) >= len(items) {
			return nil, fmt.Errorf("Fn::Select index %v out of %d items", args[0], len(items))
		}
		return items[int(i)], nil
	case "Fn::Sub":
		s, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub with variables is not supported: %v", arg)
		}
		var missing string
		out := subVar.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if v, ok := r.values[name].(string); ok {
				return v
			}
			missing = name
			return m
		})
		if missing != "" {
			return nil, fmt.Errorf("cannot resolve ${%s} in Fn::Sub", missing)
		}
		return strings.ReplaceAll(out, "${!", "${"), nil
	default:
		return nil, fmt.Errorf("intrinsic function %s is not supported", name)
	}
}

func (r resolver) condition(name string) (bool, error) {
	c, ok := r.conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	if r.done[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	r.done[name] = true
	defer delete(r.done, name)
	v, err := r.eval(c)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is no boolean: %v", name, v)
	}
	return b, nil
}

func (r resolver) boolean(name string, args []any) (bool, error) {
	vals := make([]any, 0, len(args))
	for _, a := range args {
		v, err := r.eval(a)
		if err != nil {
			return false, err
		}
		vals = append(vals, v)
	}
	switch name {
	case "Fn::Equals":
		if len(vals) != 2 {
			return false, fmt.Errorf("Fn::Equals wants 2 arguments")
		}
		a, _ := json.Marshal(vals[0])
		b, _ := json.Marshal(vals[1])
		return string(a) == string(b), nil
	case "Fn::Not":
		if len(vals) != 1 {
			return false, fmt.Errorf("Fn::Not wants 1 argument")
		}
		b, ok := vals[0].(bool)
		return !b, boolErr(ok, name)
	}
	all := name == "Fn::And"
	for _, v := range vals {
		b, ok := v.(bool)
		if !ok {
			return false, boolErr(false, name)
		}
		if b != all {
			return !all, nil
		}
	}
	return all, nil
}

func boolErr(ok bool, name string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("%s wants conditions", name)
}
