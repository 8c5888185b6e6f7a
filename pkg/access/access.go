// Package access maps verified callers to roles, the second line of
// authorization behind the gateway's own (IAM policies, API keys): a
// function checks the caller in the request context against the roles an
// operation needs, from a mapping configured per stage.
//
// A mapping reads "role=pattern,pattern;role=pattern". A pattern is
//
//   - any caller with a verified identity (an IAM principal or an API key)
//     anonymous       a caller without one
//     apikey:ID       the API key with that id
//     anything else   an IAM principal ARN, where * stands for any run of characters
//     (arn:aws:iam::123456789012:role/claims-adjuster-*)
package access

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Map gives callers roles.
type Map struct {
	roles map[string][]Pattern
}

// Pattern matches callers (see the package comment).
type Pattern struct {
	pattern string
	re      *regexp.Regexp // principal patterns only
}

// ParsePattern reads one pattern.
func ParsePattern(p string) (Pattern, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return Pattern{}, fmt.Errorf("empty caller pattern")
	}
	mt := Pattern{pattern: p}
	if p != "*" && p != "anonymous" && !strings.HasPrefix(p, "apikey:") {
		mt.re = regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*") + "$")
	}
	return mt, nil
}

// ParsePatterns reads comma-separated patterns.
func ParsePatterns(list string) ([]Pattern, error) {
	var out []Pattern
	for _, p := range strings.Split(list, ",") {
		mt, err := ParsePattern(p)
		if err != nil {
			return nil, err
		}
		out = append(out, mt)
	}
	return out, nil
}

// AnyMatches reports whether one of patterns matches the caller.
func AnyMatches(patterns []Pattern, c ports.Caller) bool {
	for _, p := range patterns {
		if p.Matches(c) {
			return true
		}
	}
	return false
}

var roleName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Parse reads a mapping. An empty spec is an empty mapping.
func Parse(spec string) (Map, error) {
	m := Map{roles: map[string][]Pattern{}}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role, patterns, ok := strings.Cut(part, "=")
		role = strings.TrimSpace(role)
		if !ok || !roleName.MatchString(role) {
			return Map{}, fmt.Errorf("role mapping %q: want role=pattern,pattern with a lower-case role name", part)
		}
		ps, err := ParsePatterns(patterns)
		if err != nil {
			return Map{}, fmt.Errorf("role mapping %q: %w", part, err)
		}
		m.roles[role] = append(m.roles[role], ps...)
	}
	return m, nil
}

// MustParse is Parse for mappings written in code; it panics on a bad one.
func MustParse(spec string) Map {
	m, err := Parse(spec)
	if err != nil {
		panic(err)
	}
	return m
}

// Matches reports whether the pattern matches the caller.
func (mt Pattern) Matches(c ports.Caller) bool {
	verified := c.Principal != "" || c.APIKeyID != ""
	switch {
	case mt.pattern == "*":
		return verified
	case mt.pattern == "anonymous":
		return !verified
	case strings.HasPrefix(mt.pattern, "apikey:"):
		return c.APIKeyID != "" && c.APIKeyID == strings.TrimPrefix(mt.pattern, "apikey:")
	default:
		return c.Principal != "" && mt.re.MatchString(c.Principal)
	}
}

// Has reports whether the caller holds role.
func (m Map) Has(c ports.Caller, role string) bool {
	for _, mt := range m.roles[role] {
		if mt.Matches(c) {
			return true
		}
	}
	return false
}

// Roles returns the caller's roles, sorted.
func (m Map) Roles(c ports.Caller) []string {
	var out []string
	for role := range m.roles {
		if m.Has(c, role) {
			out = append(out, role)
		}
	}
	sort.Strings(out)
	return out
}

// AnyOf reports whether the caller holds at least one of roles.
func (m Map) AnyOf(c ports.Caller, roles ...string) bool {
	for _, r := range roles {
		if m.Has(c, r) {
			return true
		}
	}
	return false
}

// String writes the mapping back, roles sorted.
func (m Map) String() string {
	names := make([]string, 0, len(m.roles))
	for r := range m.roles {
		names = append(names, r)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, r := range names {
		ps := make([]string, 0, len(m.roles[r]))
		for _, mt := range m.roles[r] {
			ps = append(ps, mt.pattern)
		}
		parts = append(parts, r+"="+strings.Join(ps, ","))
	}
	return strings.Join(parts, ";")
}
