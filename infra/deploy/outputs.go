package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

// ResolveOutputs fills in the template's outputs that the stack does not
// report, from the stack's resources and parameters. CloudFormation reports
// outputs once a stack settles, but not every implementation does (moto
// leaves them out for stacks made from change sets), and a tool that needs
// an output should not depend on that. Only Ref and Fn::Sub over
// parameters, resources and pseudo parameters, and Fn::Join of those, are
// resolved; an output whose
// resource does not exist (its condition is false) is left out.
func (t *Tool) ResolveOutputs(ctx context.Context, st Stack, template []byte) (Stack, error) {
	var tpl struct {
		Outputs map[string]struct {
			Value json.RawMessage `json:"Value"`
		} `json:"Outputs"`
	}
	if err := json.Unmarshal(template, &tpl); err != nil {
		return st, fmt.Errorf("read template outputs: %w", err)
	}
	missing := false
	for k := range tpl.Outputs {
		if _, ok := st.Outputs[k]; !ok {
			missing = true
		}
	}
	if !missing {
		return st, nil
	}
	res, err := t.CFN.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(st.Name)})
	if err != nil {
		return st, fmt.Errorf("describe resources of %s: %w", st.Name, err)
	}
	values := map[string]string{}
	for k, v := range st.Parameters {
		values[k] = v
	}
	for _, r := range res.StackResources {
		if id := aws.ToString(r.PhysicalResourceId); id != "" {
			values[aws.ToString(r.LogicalResourceId)] = id
		}
	}
	for k, v := range st.Pseudo {
		values[k] = v
	}
	out := Stack{Name: st.Name, Status: st.Status, Parameters: st.Parameters, Pseudo: st.Pseudo, Outputs: map[string]string{}}
	for k, v := range st.Outputs {
		out.Outputs[k] = v
	}
	for k, o := range tpl.Outputs {
		if _, ok := out.Outputs[k]; ok {
			continue
		}
		if v, ok := resolve(o.Value, values); ok {
			out.Outputs[k] = v
		}
	}
	return out, nil
}

var subRef = regexp.MustCompile(`\$\{([A-Za-z0-9:.]+)\}`)

func resolve(raw json.RawMessage, values map[string]string) (string, bool) {
	var fn map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fn); err != nil {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		return "", false
	}
	if ref, ok := fn["Ref"]; ok {
		var name string
		if json.Unmarshal(ref, &name) != nil {
			return "", false
		}
		v, ok := values[name]
		return v, ok
	}
	if join, ok := fn["Fn::Join"]; ok {
		var args []json.RawMessage
		var sep string
		var items []json.RawMessage
		if json.Unmarshal(join, &args) != nil || len(args) != 2 || json.Unmarshal(args[0], &sep) != nil || json.Unmarshal(args[1], &items) != nil {
			return "", false
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			v, ok := resolve(it, values)
			if !ok {
				return "", false
			}
			parts = append(parts, v)
		}
		return strings.Join(parts, sep), true
	}
	if sub, ok := fn["Fn::Sub"]; ok {
		var s string
		if json.Unmarshal(sub, &s) != nil {
			return "", false
		}
		complete := true
		v := subRef.ReplaceAllStringFunc(s, func(m string) string {
			name := strings.TrimSuffix(strings.TrimPrefix(m, "${"), "}")
			if x, ok := values[name]; ok {
				return x
			}
			complete = false
			return m
		})
		return v, complete
	}
	return "", false
}
