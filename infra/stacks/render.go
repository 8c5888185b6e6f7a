package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// Template returns the JSON template of "bootstrap", "network" or a
// service, for the default parameter values: the templates committed for
// review.
func Template(name string) ([]byte, error) { return TemplateFor(name, nil) }

// RenderParameters are the parameters a template is rendered for (see
// TemplateFor): the deploy tool passes the values the stack will have.
func RenderParameters(name string) []string {
	switch name {
	case "bootstrap":
		return nil
	case NetworkName:
		return []string{AZCount}
	default:
		return cfn.SnapshotParameters
	}
}

// TemplateFor returns the JSON template of "bootstrap", "network" or a
// service for the values of its RenderParameters: a service's API
// deployment changes with cfn.SnapshotParameters, the network's subnets
// follow AZCount.
func TemplateFor(name string, values map[string]string) ([]byte, error) {
	switch name {
	case "bootstrap":
		return Bootstrap().JSON()
	case NetworkName:
		n := DefaultAZCount
		if v, ok := values[AZCount]; ok {
			var err error
			if n, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("AZCount %q is no number", v)
			}
		}
		t, err := Network(n)
		if err != nil {
			return nil, err
		}
		return t.JSON()
	}
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	t, err := cfn.ServiceTemplateFor(s, values)
	if err != nil {
		return nil, fmt.Errorf("template of %s: %w", name, err)
	}
	return t.JSON()
}

// TemplateNames lists every template: the platform stacks (bootstrap,
// network) and the services.
func TemplateNames() []string { return append([]string{"bootstrap", NetworkName}, Names()...) }

// WriteAll writes every template as DIR/NAME.json.
func WriteAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // a source directory
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, name := range TemplateNames() {
		b, err := Template(name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil { //nolint:gosec // templates are public
			return fmt.Errorf("write template %s: %w", name, err)
		}
	}
	return nil
}
