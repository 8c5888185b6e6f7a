// Package cfn builds the CloudFormation templates of the project from Go
// descriptions of each service: its Lambda functions (one per operation,
// each with its own least-privilege role), its routes (from the service's
// route table in code), its tables, and the REST API in front. Templates are
// plain JSON; the generated files under infra/cloudformation are what
// reviewers and cfn-lint read, and what the deploy tool deploys.
package cfn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Template is a CloudFormation template.
type Template struct {
	AWSTemplateFormatVersion string               `json:"AWSTemplateFormatVersion"`
	Description              string               `json:"Description,omitempty"`
	Parameters               map[string]Parameter `json:"Parameters,omitempty"`
	Rules                    map[string]any       `json:"Rules,omitempty"`
	Mappings                 map[string]any       `json:"Mappings,omitempty"`
	Conditions               map[string]any       `json:"Conditions,omitempty"`
	Resources                map[string]Resource  `json:"Resources"`
	Outputs                  map[string]Output    `json:"Outputs,omitempty"`
	// order lists resources in the order they are written: dependencies
	// first, as a reader (and a naive template processor) expects.
	order []string
}

// Add adds a resource after those already added.
func (t *Template) Add(id string, r Resource) {
	if t.Resources == nil {
		t.Resources = map[string]Resource{}
	}
	if _, ok := t.Resources[id]; !ok {
		t.order = append(t.order, id)
	}
	t.Resources[id] = r
}

// Parameter is a template parameter.
type Parameter struct {
	Type                  string   `json:"Type"`
	Default               any      `json:"Default,omitempty"`
	Description           string   `json:"Description,omitempty"`
	AllowedValues         []string `json:"AllowedValues,omitempty"`
	AllowedPattern        string   `json:"AllowedPattern,omitempty"`
	MinValue              *int     `json:"MinValue,omitempty"`
	MaxValue              *int     `json:"MaxValue,omitempty"`
	MinLength             *int     `json:"MinLength,omitempty"`
	MaxLength             *int     `json:"MaxLength,omitempty"`
	NoEcho                bool     `json:"NoEcho,omitempty"`
	ConstraintDescription string   `json:"ConstraintDescription,omitempty"`
}

// Resource is a template resource.
type Resource struct {
	Type                string         `json:"Type"`
	Condition           string         `json:"Condition,omitempty"`
	DependsOn           []string       `json:"DependsOn,omitempty"`
	DeletionPolicy      any            `json:"DeletionPolicy,omitempty"`
	UpdateReplacePolicy any            `json:"UpdateReplacePolicy,omitempty"`
	Metadata            map[string]any `json:"Metadata,omitempty"`
	Properties          map[string]any `json:"Properties,omitempty"`
}

// Output is a template output.
type Output struct {
	Description string  `json:"Description,omitempty"`
	Condition   string  `json:"Condition,omitempty"`
	Value       any     `json:"Value"`
	Export      *Export `json:"Export,omitempty"`
}

// Export names an output other stacks may import (Fn::ImportValue).
type Export struct {
	Name any `json:"Name"`
}

// JSON renders the template, indented: resources in the order they were
// added (the rest sorted), every other key sorted, so the same template is
// always the same bytes.
func (t Template) JSON() ([]byte, error) {
	type plain Template
	head, err := marshal(plain(t))
	if err != nil {
		return nil, err
	}
	var sections map[string]json.RawMessage
	if err := json.Unmarshal(head, &sections); err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	ids := append([]string(nil), t.order...)
	var rest []string
	for id := range t.Resources {
		if !slices.Contains(t.order, id) {
			rest = append(rest, id)
		}
	}
	sort.Strings(rest)
	ids = append(ids, rest...)
	var res bytes.Buffer
	res.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			res.WriteByte(',')
		}
		k, _ := marshal(id)
		v, err := marshal(t.Resources[id])
		if err != nil {
			return nil, err
		}
		res.Write(k)
		res.WriteByte(':')
		res.Write(v)
	}
	res.WriteByte('}')
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for _, key := range []string{"AWSTemplateFormatVersion", "Description", "Parameters", "Rules", "Mappings", "Conditions", "Resources", "Outputs"} {
		v, ok := sections[key]
		if key == "Resources" {
			v, ok = res.Bytes(), true
		}
		if !ok {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		k, _ := marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(v)
	}
	out.WriteByte('}')
	var indented bytes.Buffer
	if err := json.Indent(&indented, out.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("indent template: %w", err)
	}
	indented.WriteByte('\n')
	return indented.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode template: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Ref refers to a parameter or resource.
func Ref(name string) map[string]any { return map[string]any{"Ref": name} }

// GetAtt reads a resource attribute.
func GetAtt(resource, attr string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{resource, attr}}
}

// Sub substitutes ${...} references in s.
func Sub(s string) map[string]any { return map[string]any{"Fn::Sub": s} }

// If picks a value by condition.
func If(condition string, yes, no any) map[string]any {
	return map[string]any{"Fn::If": []any{condition, yes, no}}
}

// Equals compares two values.
func Equals(a, b any) map[string]any { return map[string]any{"Fn::Equals": []any{a, b}} }

// Or is true when any condition is.
func Or(conds ...any) map[string]any { return map[string]any{"Fn::Or": conds} }

// Not negates a condition.
func Not(cond any) map[string]any { return map[string]any{"Fn::Not": []any{cond}} }

// NoValue removes a property.
var NoValue = Ref("AWS::NoValue")

func intp(i int) *int { return &i }

// PseudoParameters are a deployed stack's pseudo parameters (AWS::StackName,
// AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix), read from
// its id (an ARN); region stands in where the id names none.
func PseudoParameters(stackID, name, region string) map[string]string {
	p := map[string]string{"AWS::StackName": name, "AWS::URLSuffix": "amazonaws.com", "AWS::Partition": "aws"}
	if region != "" {
		p["AWS::Region"] = region
	}
	if parts := strings.Split(stackID, ":"); len(parts) > 4 {
		p["AWS::Partition"], p["AWS::AccountId"] = parts[1], parts[4]
		if parts[3] != "" {
			p["AWS::Region"] = parts[3]
		}
	}
	if strings.HasPrefix(p["AWS::Partition"], "aws-cn") {
		p["AWS::URLSuffix"] = "amazonaws.com.cn"
	}
	return p
}
