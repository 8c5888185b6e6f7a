package localgw

import (
	"context"
	"encoding/json"
	"fmt"
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
	values := map[string]any{}
	for k, v := range pseudo {
		values[k] = v
	}
	for k, p := range t.Parameters {
		v := params[k]
		if strings.HasPrefix(p.Type, "CommaDelimitedList") || strings.HasPrefix(p.Type, "List<") {
			var list []any
			for _, s := range strings.Split(v, ",") {
				list = append(list, strings.TrimSpace(s))
			}
			values[k] = list
		} else {
			values[k] = v
		}
	}
	r := cfn.NewResolver(values, t.Conditions)
	out := &StackAPI{}
	if ec, err := r.Eval(api.Properties["EndpointConfiguration"]); err != nil {
		return nil, err
	} else if m, ok := ec.(map[string]any); ok {
		for _, typ := range cfn.StringList(m["Types"]) {
			out.Private = out.Private || typ == "PRIVATE"
		}
	}
	policy, err := r.Eval(api.Properties["Policy"])
	if err != nil {
		return nil, err
	}
	if policy != nil && policy != cfn.Removed {
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
