package cfn

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Removed is what AWS::NoValue evaluates to: the property or list element
// is left out.
var Removed = &struct{ name string }{"AWS::NoValue"}

// Resolver evaluates the intrinsic functions of a deployed template: Ref,
// Fn::If and the condition functions, Fn::Join, Fn::Split, Fn::Select and
// Fn::Sub (its string form), over the values of parameters, pseudo
// parameters and resources.
type Resolver struct {
	values     map[string]any
	conditions map[string]any
	done       map[string]bool
}

// NewResolver returns a resolver over values (by name: a string, or a list
// for a list parameter) and the template's conditions.
func NewResolver(values, conditions map[string]any) Resolver {
	return Resolver{values: values, conditions: conditions, done: map[string]bool{}}
}

// Eval resolves v (a template fragment decoded from JSON).
func (r Resolver) Eval(v any) (any, error) { return r.eval(v) }

var subVar = regexp.MustCompile(`\$\{([^!}][^}]*)\}`)

func (r Resolver) eval(v any) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			ev, err := r.eval(e)
			if err != nil {
				return nil, err
			}
			if ev != Removed {
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
			if ev != Removed {
				out[k] = ev
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

func (r Resolver) function(name string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch name {
	case "Ref":
		ref, _ := arg.(string)
		if ref == "AWS::NoValue" {
			return Removed, nil
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
		return strings.Join(StringList(items), sep), nil
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

func (r Resolver) condition(name string) (bool, error) {
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

func (r Resolver) boolean(name string, args []any) (bool, error) {
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

// StringList reads a value that is a string or a list of strings, as
// policy and template fields are.
func StringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
