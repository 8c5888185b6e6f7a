// Package cfntest reads rendered templates back as plain JSON, the way
// CloudFormation reads them, for the stack tests of the platform and of each
// service.
package cfntest

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// Template is a rendered template, read back as plain JSON: the tests look
// at what CloudFormation will read.
type Template struct {
	Parameters map[string]map[string]any
	Conditions map[string]any
	Rules      map[string]any
	Mappings   map[string]any
	Resources  map[string]struct {
		Type                string
		Condition           string
		DeletionPolicy      any
		UpdateReplacePolicy any
		DependsOn           any
		Properties          map[string]any
	}
	Outputs map[string]map[string]any
}

// Parse reads a rendered template.
func Parse(t *testing.T, b []byte) Template {
	t.Helper()
	var out Template
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// Render renders a service's template and reads it back.
func Render(t *testing.T, s cfn.Service) Template {
	t.Helper()
	tp, err := cfn.ServiceTemplate(s)
	require.NoError(t, err)
	b, err := tp.JSON()
	require.NoError(t, err)
	return Parse(t, b)
}

// OfType returns the properties of the resources of a type, by logical id.
func (tp Template) OfType(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range tp.Resources {
		if r.Type == typ {
			out[id] = r.Properties
		}
	}
	return out
}

// AsList returns v as a list (a single value becomes a list of one).
func AsList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// JS returns v as compact JSON.
func JS(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Statement is one IAM policy statement.
type Statement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []any
	Condition map[string]any
}

// Statements returns a role's inline policy statements, those of every
// Fn::If branch included.
func Statements(t *testing.T, role map[string]any) []Statement {
	t.Helper()
	var out []Statement
	for _, p := range AsList(role["Policies"]) {
		policy, ok := p.(map[string]any)
		require.True(t, ok, "policy %v", p)
		doc, ok := policy["PolicyDocument"].(map[string]any)
		require.True(t, ok, "policy document %v", policy)
		for _, s := range conditional(AsList(doc["Statement"])) {
			m, ok := s.(map[string]any)
			require.True(t, ok, "statement %v", s)
			st := Statement{Resources: AsList(m["Resource"])}
			st.Effect, _ = m["Effect"].(string)
			st.Sid, _ = m["Sid"].(string)
			for _, a := range AsList(m["Action"]) {
				action, ok := a.(string)
				require.True(t, ok, "action %v", a)
				st.Actions = append(st.Actions, action)
			}
			if c, ok := m["Condition"].(map[string]any); ok {
				st.Condition = c
			}
			out = append(out, st)
		}
	}
	return out
}

// conditional replaces each Fn::If among statements by the statements of
// its branches (a statement present in some stage's configuration), leaving
// AWS::NoValue out.
func conditional(stmts []any) []any {
	var out []any
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		branches, isIf := m["Fn::If"].([]any)
		if !ok || !isIf || len(branches) != 3 {
			out = append(out, s)
			continue
		}
		for _, b := range branches[1:] {
			if bm, ok := b.(map[string]any); ok && bm["Ref"] != "AWS::NoValue" {
				out = append(out, bm)
			}
		}
	}
	return out
}

// ActionsOn returns, per operation (the role's logical id without "Role"),
// the actions of a service prefix such as "dynamodb:", sorted.
func (tp Template) ActionsOn(t *testing.T, prefix string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for rid, role := range tp.OfType("AWS::IAM::Role") {
		op := strings.TrimSuffix(rid, "Role")
		for _, st := range Statements(t, role) {
			for _, a := range st.Actions {
				if strings.HasPrefix(a, prefix) {
					out[op] = append(out[op], a)
				}
			}
		}
		sort.Strings(out[op])
	}
	return out
}

// ToGetAtt normalises decoded GetAtt values for comparison.
func ToGetAtt(rs []any) []any {
	out := make([]any, 0, len(rs))
	for _, r := range rs {
		if m, ok := r.(map[string]any); ok {
			if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				id, idOK := ga[0].(string)
				attr, attrOK := ga[1].(string)
				if idOK && attrOK {
					out = append(out, cfn.GetAtt(id, attr))
					continue
				}
			}
		}
		out = append(out, r)
	}
	return out
}

// Environment returns, per function logical id, the names of its
// environment variables, sorted.
func (tp Template) Environment() map[string][]string {
	out := map[string][]string{}
	for id, fn := range tp.OfType("AWS::Lambda::Function") {
		vars, _ := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
		names := make([]string, 0, len(vars))
		for k := range vars {
			names = append(names, k)
		}
		sort.Strings(names)
		out[id] = names
	}
	return out
}
