// Package contracts is the platform's contract gate: a service's published
// API (its openapi.yaml) may not break its clients unless the service says
// so, with a new major version and a CHANGELOG entry for it.
package contracts

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Verdict is the gate's answer for one service.
type Verdict struct {
	Service string
	// Breaking lists the breaking changes, one line each.
	Breaking []string
	// Allowed says the breaking changes come with a new major version that
	// the service's CHANGELOG explains.
	Allowed bool
	// Reason says why they are refused (when not Allowed).
	Reason string
}

// OK reports whether the gate lets the change through.
func (v Verdict) OK() bool { return len(v.Breaking) == 0 || v.Allowed }

func spec(data []byte, name string) (*load.SpecInfo, error) {
	loader := openapi3.NewLoader()
	s, err := load.NewSpecInfoFromData(loader, data, name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return s, nil
}

// Check compares a service's API document at the base with its document
// now. changelog is the service's CHANGELOG.md now.
func Check(service string, base, head, changelog []byte) (Verdict, error) {
	v := Verdict{Service: service}
	s1, err := spec(base, "base/"+service+"/openapi.yaml")
	if err != nil {
		return v, err
	}
	s2, err := spec(head, service+"/openapi.yaml")
	if err != nil {
		return v, err
	}
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		return v, fmt.Errorf("compare the %s API: %w", service, err)
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.ERR)
	l := checker.NewDefaultLocalizer()
	for _, c := range changes {
		if c.GetLevel() == checker.ERR {
			v.Breaking = append(v.Breaking, c.SingleLineError(l, checker.ColorNever))
		}
	}
	if len(v.Breaking) == 0 {
		return v, nil
	}
	before, after := major(s1.Spec.Info.Version), major(s2.Spec.Info.Version)
	switch {
	case after <= before:
		v.Reason = fmt.Sprintf("info.version %s keeps major %d: a breaking change needs a new major version", s2.Spec.Info.Version, after)
	case !mentions(changelog, s2.Spec.Info.Version):
		v.Reason = fmt.Sprintf("CHANGELOG.md of %s has no entry for %s saying why it breaks its clients", service, s2.Spec.Info.Version)
	default:
		v.Allowed = true
	}
	return v, nil
}

func major(version string) int {
	n, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	if err != nil {
		return -1
	}
	return n
}

// mentions reports whether the changelog has a heading for version.
func mentions(changelog []byte, version string) bool {
	re := regexp.MustCompile(`(?m)^#+ .*\bv?` + regexp.QuoteMeta(version) + `\b`)
	return re.Match(changelog)
}

// ErrBroken is returned by Gate when a verdict refuses a change.
var ErrBroken = errors.New("a published API breaks its clients")

// Report writes the verdicts, and returns ErrBroken when any refuses.
func Report(verdicts []Verdict) (string, error) {
	var b bytes.Buffer
	broken := false
	for _, v := range verdicts {
		switch {
		case len(v.Breaking) == 0:
			fmt.Fprintf(&b, "%s: no breaking change\n", v.Service)
		case v.Allowed:
			fmt.Fprintf(&b, "%s: %d breaking change(s), released as a new major version:\n", v.Service, len(v.Breaking))
		default:
			broken = true
			fmt.Fprintf(&b, "%s: %d breaking change(s) refused: %s\n", v.Service, len(v.Breaking), v.Reason)
		}
		for _, line := range v.Breaking {
			fmt.Fprintf(&b, "  - %s\n", line)
		}
	}
	if broken {
		return b.String(), ErrBroken
	}
	return b.String(), nil
}
