package deploy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// ResolveOutputs fills in the template's outputs that the stack does not
// report, from the stack's resources and parameters. CloudFormation reports
// outputs once a stack settles, but not every implementation does (moto
// leaves them out for stacks made from change sets), and a tool that needs
// an output should not depend on that. Values are resolved (cfn.Resolver)
// over the stack's parameters, resources and pseudo parameters; an output
// whose resource does not exist (its condition is false) is left out.
func (t *Tool) ResolveOutputs(ctx context.Context, st Stack, template []byte) (Stack, error) {
	var tpl struct {
		Outputs map[string]struct {
			Value any `json:"Value"`
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
	values := map[string]any{}
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
	r := cfn.NewResolver(values, nil)
	out := Stack{Name: st.Name, Status: st.Status, Parameters: st.Parameters, Pseudo: st.Pseudo, Outputs: map[string]string{}}
	for k, v := range st.Outputs {
		out.Outputs[k] = v
	}
	for k, o := range tpl.Outputs {
		if _, ok := out.Outputs[k]; ok {
			continue
		}
		if v, err := r.Eval(o.Value); err == nil {
			if s, ok := v.(string); ok {
				out.Outputs[k] = s
			}
		}
	}
	return out, nil
}
