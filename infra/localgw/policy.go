package localgw

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/cfn"
)

// ResourcePolicy is an API's resource policy, evaluated as API Gateway
// evaluates it for execute-api:Invoke: an explicit Deny wins, otherwise an
// Allow is needed.
type ResourcePolicy struct {
	Statements []PolicyStatement
}

// PolicyStatement is one statement of a resource policy.
type PolicyStatement struct {
	Sid         string
	Effect      string
	Principals  []string // "*" or AWS principal ARNs / account ids
	Actions     []string
	Resources   []string
	NotResource bool // Resources came from NotResource
	// Conditions are operator -> key -> values.
	Conditions map[string]map[string][]string
}

// Source is where a request comes from, as the policy's condition keys see
// it.
type Source struct {
	// Vpce and Vpc are the VPC endpoint and VPC a request came through
	// (empty from outside any VPC).
	Vpce, Vpc string
	// IP is the caller's address: aws:SourceIp from outside a VPC,
	// aws:VpcSourceIp through an endpoint.
	IP string
}

// keys are the condition keys of a request.
func (s Source) keys() map[string]string {
	k := map[string]string{}
	if s.Vpce != "" {
		k["aws:sourcevpce"], k["aws:sourcevpc"] = s.Vpce, s.Vpc
		if s.IP != "" {
			k["aws:vpcsourceip"] = s.IP
		}
	} else if s.IP != "" {
		k["aws:sourceip"] = s.IP
	}
	return k
}

// ParseResourcePolicy reads a policy document. API Gateway returns it
// JSON-escaped inside a string; both forms are read. Resources given as
// execute-api:/STAGE/METHOD/PATH are the API's own ARNs.
func ParseResourcePolicy(doc string) (*ResourcePolicy, error) {
	doc = strings.TrimSpace(doc)
	if doc == "" {
		return nil, nil
	}
	if strings.HasPrefix(doc, `"`) {
		var s string
		if err := json.Unmarshal([]byte(doc), &s); err != nil {
			return nil, fmt.Errorf("resource policy: %w", err)
		}
		doc = s
	}
	doc = strings.ReplaceAll(doc, `\"`, `"`)
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, fmt.Errorf("resource policy: %w", err)
	}
	var list []map[string]any
	if err := json.Unmarshal(raw.Statement, &list); err != nil {
		var one map[string]any
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return nil, fmt.Errorf("resource policy statements: %w", err)
		}
		list = []map[string]any{one}
	}
	p := &ResourcePolicy{}
	for _, m := range list {
		st := PolicyStatement{Conditions: map[string]map[string][]string{}}
		st.Sid, _ = m["Sid"].(string)
		st.Effect, _ = m["Effect"].(string)
		switch pr := m["Principal"].(type) {
		case string:
			st.Principals = []string{pr}
		case map[string]any:
			st.Principals = cfn.StringList(pr["AWS"])
		}
		st.Actions = cfn.StringList(m["Action"])
		st.Resources = cfn.StringList(m["Resource"])
		if nr, ok := m["NotResource"]; ok {
			st.Resources, st.NotResource = cfn.StringList(nr), true
		}
		cond, _ := m["Condition"].(map[string]any)
		for op, kv := range cond {
			keys, _ := kv.(map[string]any)
			st.Conditions[op] = map[string][]string{}
			for k, v := range keys {
				st.Conditions[op][strings.ToLower(k)] = cfn.StringList(v)
			}
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// Decision is the outcome of evaluating a policy.
type Decision int

// Decisions: an explicit Deny, an Allow, or neither (an implicit deny).
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

// Evaluate decides execute-api:Invoke on resource (the method's ARN:
// arn:PARTITION:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH) for a
// principal ("" for an anonymous caller) from src. apiARN is the API's
// ARN prefix (arn:...:API), which execute-api:/ shorthand resources expand to.
func (p *ResourcePolicy) Evaluate(apiARN, resource, principal string, src Source) Decision {
	keys := src.keys()
	decision := ImplicitDeny
	for _, st := range p.Statements {
		if !st.applies(apiARN, resource, principal, keys) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return ExplicitDeny
		case "Allow":
			decision = Allowed
		}
	}
	return decision
}

func (st PolicyStatement) applies(apiARN, resource, principal string, keys map[string]string) bool {
	if !anyMatch(st.Actions, "execute-api:Invoke", true) {
		return false
	}
	if !st.principalMatches(principal) {
		return false
	}
	var expanded []string
	for _, r := range st.Resources {
		if rest, ok := strings.CutPrefix(r, "execute-api:"); ok {
			r = apiARN + rest
		}
		expanded = append(expanded, r)
	}
	if anyMatch(expanded, resource, false) == st.NotResource {
		return false
	}
	for op, kv := range st.Conditions {
		for key, values := range kv {
			if !conditionHolds(op, keys, key, values) {
				return false
			}
		}
	}
	return true
}

// principalMatches reads Principal "*", a principal's ARN, an account id
// or an account's root ARN (any principal of that account).
func (st PolicyStatement) principalMatches(principal string) bool {
	for _, p := range st.Principals {
		if acct, ok := strings.CutSuffix(p, ":root"); ok {
			p = acct[strings.LastIndex(acct, ":")+1:]
		}
		if p == "*" || (principal != "" && (p == principal || strings.Contains(principal, ":"+p+":"))) {
			return true
		}
	}
	return false
}

// anyMatch reports whether a policy pattern (with * and ? wildcards, which
// also cross /) matches s.
func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p, s = strings.ToLower(p), strings.ToLower(s)
		}
		if wildcard(p, s) {
			return true
		}
	}
	return false
}

// wildcard matches IAM-style: * any run of characters, ? any one.
func wildcard(pattern, s string) bool {
	// path.Match stops * at /; IAM's does not: match with / as a plain
	// character by mapping it away first.
	const slash = "\x00"
	ok, err := path.Match(escapeMeta(strings.ReplaceAll(pattern, "/", slash)), strings.ReplaceAll(s, "/", slash))
	return err == nil && ok
}

// escapeMeta keeps path.Match's other metacharacters ([, \) literal.
func escapeMeta(p string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`).Replace(p)
}

// conditionHolds evaluates one condition key under an operator. A missing
// key fails every positive operator and satisfies every negated one, as
// IAM does; ...IfExists operators hold when the key is missing.
func conditionHolds(op string, keys map[string]string, key string, values []string) bool {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	v, present := keys[key]
	if !present {
		return ifExists || strings.HasPrefix(base, "StringNot") || base == "NotIpAddress"
	}
	switch base {
	case "StringEquals":
		return contains(values, v, false)
	case "StringNotEquals":
		return !contains(values, v, false)
	case "StringEqualsIgnoreCase":
		return contains(values, v, true)
	case "StringNotEqualsIgnoreCase":
		return !contains(values, v, true)
	case "StringLike":
		return anyMatch(values, v, false)
	case "StringNotLike":
		return !anyMatch(values, v, false)
	case "IpAddress":
		return inAny(values, v)
	case "NotIpAddress":
		return !inAny(values, v)
	default:
		// An operator the gateway does not know never holds: its statement
		// neither allows nor denies, and the test shows it.
		return false
	}
}

func contains(values []string, v string, fold bool) bool {
	for _, x := range values {
		if x == v || (fold && strings.EqualFold(x, v)) {
			return true
		}
	}
	return false
}

func inAny(cidrs []string, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, c := range cidrs {
		if !strings.Contains(c, "/") {
			c += "/32"
		}
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}
