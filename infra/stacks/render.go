package stacks

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// Template returns the JSON template of "bootstrap" or a service, for the
// default parameter values: the templates committed for review.
func Template(name string) ([]byte, error) { return TemplateFor(name, nil) }

// TemplateFor returns the JSON template of "bootstrap" or a service for the
// values a stage will have of cfn.SnapshotParameters: its API deployment
// changes with them.
func TemplateFor(name string, values map[string]string) ([]byte, error) {
	if name == "bootstrap" {
		return Bootstrap().JSON()
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

// TemplateNames lists every template: the bootstrap stack and the services.
func TemplateNames() []string { return append([]string{"bootstrap"}, Names()...) }

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
