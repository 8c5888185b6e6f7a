// Package contracttest holds consumer contracts: what a known client of an
// API sends and which parts of the answers it reads. A contract is a JSON
// file kept with the provider (services/NAME/contracts/CLIENT.json); the
// provider's tests replay every interaction against its real handlers and
// fail when a status or a read field changes, and the consumer's own tests
// (where the consumer is in this repository) check that it reads nothing
// else (Prune).
package contracttest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Contract is one consumer's expectations of one provider.
type Contract struct {
	Consumer     string        `json:"consumer"`
	Provider     string        `json:"provider"`
	Interactions []Interaction `json:"interactions"`
}

// Interaction is one request and what the consumer relies on in its
// answer: Reads are dotted paths ("items[].state": the state of every
// item); one ending in "?" is read when present (the consumer copes
// without it). {name} in the path, query and body stands for a value of the
// replay (a fixture, or one an earlier interaction saved).
type Interaction struct {
	Name    string            `json:"name"`
	Request Request           `json:"request"`
	Status  int               `json:"status"`
	Reads   []string          `json:"reads"`
	Save    map[string]string `json:"save,omitempty"`
}

// Request is what the consumer sends.
type Request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Load reads a contract file.
func Load(t testing.TB, path string) Contract {
	t.Helper()
	b, err := os.ReadFile(path) //nolint:gosec // a contract file of the repository
	require.NoError(t, err)
	var c Contract
	require.NoError(t, json.Unmarshal(b, &c), path)
	require.NotEmpty(t, c.Interactions, path)
	return c
}

// LoadAll reads every contract (*.json) in dir, and fails when there is
// none: a service's contracts directory is never empty.
func LoadAll(t testing.TB, dir string) []Contract {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no consumer contracts in %s", dir)
	out := make([]Contract, 0, len(files))
	for _, f := range files {
		out = append(out, Load(t, f))
	}
	return out
}

var placeholder = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)

func expand(t testing.TB, s string, vars map[string]string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := vars[m[1:len(m)-1]]
		require.True(t, ok, "no value for %s", m)
		return v
	})
}

// Send performs one request against the provider: its status and body.
type Send func(t *testing.T, method, path string, query url.Values, headers map[string]string, body []byte) (int, []byte)

// Replay sends every interaction in order and checks its status and that
// every field the consumer reads is in the answer. vars are the fixtures;
// Save adds values from answers.
func Replay(t *testing.T, c Contract, vars map[string]string, send Send) {
	t.Helper()
	for _, in := range c.Interactions {
		q := url.Values{}
		for k, v := range in.Request.Query {
			q.Set(k, expand(t, v, vars))
		}
		var body []byte
		if len(in.Request.Body) > 0 {
			body = []byte(expand(t, string(in.Request.Body), vars))
		}
		headers := map[string]string{}
		for k, v := range in.Request.Headers {
			headers[k] = expand(t, v, vars)
		}
		status, raw := send(t, in.Request.Method, expand(t, in.Request.Path, vars), q, headers, body)
		if !assert.Equal(t, in.Status, status, "%s wants %s: %s", c.Consumer, in.Name, raw) {
			continue
		}
		var doc any
		if len(raw) > 0 {
			require.NoError(t, json.Unmarshal(raw, &doc), "%s: %s", in.Name, raw)
		}
		for _, path := range in.Reads {
			if strings.HasSuffix(path, "?") {
				continue // optional: the consumer copes without it
			}
			assert.True(t, present(doc, strings.Split(path, ".")), "%s reads %s in the answer to %s, which no longer has it: %s", c.Consumer, path, in.Name, raw)
		}
		for name, path := range in.Save {
			v, ok := lookup(doc, strings.Split(path, "."))
			require.True(t, ok, "%s: %s to save as %s", in.Name, path, name)
			vars[name] = fmt.Sprint(v)
		}
	}
}

// present reports whether path is in doc; a segment ending in [] means
// every element of an array (which must not be empty).
func present(doc any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	seg, each := strings.CutSuffix(path[0], "[]")
	v, ok := m[seg]
	if !ok {
		return false
	}
	if !each {
		return present(v, path[1:])
	}
	items, ok := v.([]any)
	if !ok || len(items) == 0 {
		return false
	}
	for _, it := range items {
		if !present(it, path[1:]) {
			return false
		}
	}
	return true
}

func lookup(doc any, path []string) (any, bool) {
	for _, seg := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, false
		}
		if doc, ok = m[seg]; !ok {
			return nil, false
		}
	}
	return doc, true
}

// Prune keeps of an answer only what a consumer says it reads (reads, as in
// an Interaction), so a consumer run against pruned answers shows whether it
// reads anything else.
func Prune(raw []byte, reads []string) []byte {
	var doc any
	if json.Unmarshal(raw, &doc) != nil {
		return raw
	}
	var keep any
	for _, p := range reads {
		keep = merge(keep, pick(doc, strings.Split(strings.TrimSuffix(p, "?"), ".")))
	}
	if keep == nil {
		keep = map[string]any{}
	}
	out, err := json.Marshal(keep)
	if err != nil {
		return raw
	}
	return out
}

func pick(doc any, path []string) any {
	if len(path) == 0 {
		return doc
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil
	}
	seg, each := strings.CutSuffix(path[0], "[]")
	v, ok := m[seg]
	if !ok {
		return nil
	}
	if !each {
		sub := pick(v, path[1:])
		if sub == nil {
			return nil
		}
		return map[string]any{seg: sub}
	}
	items, _ := v.([]any)
	out := make([]any, len(items))
	for i, it := range items {
		out[i] = pick(it, path[1:])
	}
	return map[string]any{seg: out}
}

func merge(a, b any) any {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for k, v := range bm {
			am[k] = merge(am[k], v)
		}
		return am
	}
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok && bok && len(as) == len(bs) {
		for i := range as {
			as[i] = merge(as[i], bs[i])
		}
		return as
	}
	return a
}
