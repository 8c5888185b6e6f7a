// Package grants says what each caller of ec2power may do (app.Grants):
// callers by IAM principal, API key or none, from a mapping configured per
// stage (GRANTS, AUDITORS), and API keys from the grant the deploy tool
// recorded when it issued them, kept in the service's table.
//
// GRANTS reads "group group=pattern,pattern;*=pattern": the groups (or *,
// every group and the instances in none) that callers matching the
// patterns may start and stop; patterns are those of package access.
// AUDITORS lists the patterns of callers who see in the history who asked.
package grants

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/access"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Defaults when a stage configures nothing: an IAM principal, whose IAM
// policy the gateway checked, controls every group and audits; an API key
// gets only the grant it was issued with.
const (
	DefaultGrants   = "*=arn:*"
	DefaultAuditors = "arn:*"
)

type rule struct {
	grant    domain.Grant
	patterns []access.Pattern
}

// Store is an app.Grants.
type Store struct {
	table    ports.Table
	rules    []rule
	auditors []access.Pattern
}

var _ app.Grants = (*Store)(nil)

// Parse reads a GRANTS mapping and an AUDITORS list into a store whose API
// key grants live in table (nil: API keys get only what the mapping says).
func Parse(table ports.Table, grants, auditors string) (*Store, error) {
	s := &Store{table: table}
	for _, part := range strings.Split(grants, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		groups, patterns, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("grant %q: want group group=pattern,pattern", part)
		}
		g, err := parseGroups(strings.Fields(groups))
		if err != nil {
			return nil, fmt.Errorf("grant %q: %w", part, err)
		}
		ps, err := access.ParsePatterns(patterns)
		if err != nil {
			return nil, fmt.Errorf("grant %q: %w", part, err)
		}
		s.rules = append(s.rules, rule{grant: g, patterns: ps})
	}
	if strings.TrimSpace(auditors) != "" {
		ps, err := access.ParsePatterns(auditors)
		if err != nil {
			return nil, fmt.Errorf("auditors: %w", err)
		}
		s.auditors = ps
	}
	return s, nil
}

func parseGroups(names []string) (domain.Grant, error) {
	var g domain.Grant
	if len(names) == 0 {
		return g, errors.New("no group named")
	}
	for _, n := range names {
		switch {
		case n == "*":
			g.AllGroups = true
		case domain.ValidGroup(n):
			g.Groups = append(g.Groups, n)
		default:
			return g, fmt.Errorf("%q is not a group name", n)
		}
	}
	return g, nil
}

// ParseGroups reads a comma-separated list of groups ("*" for all), as the
// deploy tool's --groups takes it.
func ParseGroups(list string) (domain.Grant, error) {
	return parseGroups(strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }))
}

func merge(into *domain.Grant, g domain.Grant) {
	into.AllGroups = into.AllGroups || g.AllGroups
	into.Audit = into.Audit || g.Audit
	for _, n := range g.Groups {
		if !into.Controls(n) {
			into.Groups = append(into.Groups, n)
		}
	}
}

// The layout of an API key's grant in the table.
const (
	keyPartition = "APIKEY#"
	grantSort    = "GRANT"
)

func key(apiKeyID string) ports.Key {
	return ports.Key{Partition: keyPartition + apiKeyID, Sort: grantSort}
}

// Of implements app.Grants.
func (s *Store) Of(ctx context.Context, c ports.Caller) (domain.Grant, error) {
	var g domain.Grant
	for _, r := range s.rules {
		if access.AnyMatches(r.patterns, c) {
			merge(&g, r.grant)
		}
	}
	g.Audit = g.Audit || access.AnyMatches(s.auditors, c)
	if c.APIKeyID != "" && s.table != nil {
		kg, found, err := s.Lookup(ctx, c.APIKeyID)
		if err != nil {
			return domain.Grant{}, err
		}
		if found {
			merge(&g, kg)
		}
	}
	sort.Strings(g.Groups)
	return g, nil
}

// Lookup returns the grant recorded for an API key.
func (s *Store) Lookup(ctx context.Context, apiKeyID string) (domain.Grant, bool, error) {
	it, err := s.table.Get(ctx, key(apiKeyID))
	if errors.Is(err, ports.ErrNotFound) {
		return domain.Grant{}, false, nil
	}
	if err != nil {
		return domain.Grant{}, false, fmt.Errorf("grant of API key %s: %w", apiKeyID, err)
	}
	groups, _ := it.Attributes["groups"].(string)
	g, err := ParseGroups(groups)
	if err != nil {
		return domain.Grant{}, false, fmt.Errorf("grant of API key %s: %w", apiKeyID, err)
	}
	g.Audit, _ = it.Attributes["audit"].(bool)
	return g, true, nil
}

// Record keeps the grant of an API key, replacing any earlier one.
func (s *Store) Record(ctx context.Context, apiKeyID, consumer string, g domain.Grant) error {
	groups := append([]string(nil), g.Groups...)
	if g.AllGroups {
		groups = append(groups, "*")
	}
	if len(groups) == 0 {
		return errors.New("a grant names at least one group (or *)")
	}
	it := ports.Item{Key: key(apiKeyID), Attributes: ports.Attributes{
		"entity": "grant", "groups": strings.Join(groups, ","), "audit": g.Audit, "consumer": consumer,
	}}
	cur, err := s.table.Get(ctx, it.Key)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		_, err = s.table.Create(ctx, it)
	case err == nil:
		_, err = s.table.Update(ctx, it, cur.Version)
	}
	if err != nil {
		return fmt.Errorf("record the grant of API key %s: %w", apiKeyID, err)
	}
	return nil
}

// Revoke forgets the grant of an API key.
func (s *Store) Revoke(ctx context.Context, apiKeyID string) error {
	if err := s.table.Delete(ctx, key(apiKeyID), 0); err != nil && !errors.Is(err, ports.ErrNotFound) {
		return fmt.Errorf("revoke the grant of API key %s: %w", apiKeyID, err)
	}
	return nil
}
