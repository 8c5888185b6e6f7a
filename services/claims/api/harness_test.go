package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/access"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/openapitest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
	"github.com/hexlambda/hexlambda/services/claims/api"
	"github.com/hexlambda/hexlambda/services/claims/providers"
)

// harness serves the claims routes in process and validates every answer
// against openapi.yaml.
type harness struct {
	t         *testing.T
	router    *httpapi.Router
	validator *openapitest.Validator
	clock     *porttest.Clock
	seq       *atomic.Int64
	// caller is who sends the requests: intake unless as says otherwise.
	caller ports.Caller
}

// principal is the IAM principal of a role's callers in these tests.
func principal(role string) string { return "arn:aws:iam::111111111111:role/claims-" + role }

// testRoles maps each role to its principal, as a stage would configure.
var testRoles = access.MustParse(
	"intake=" + principal(api.RoleIntake) + ";adjuster=" + principal(api.RoleAdjuster) +
		";payments=" + principal(api.RolePayments) + ";auditor=" + principal(api.RoleAuditor))

// as returns the harness sending requests as a caller of role.
func (h *harness) as(role string) *harness {
	c := *h
	c.caller = ports.Caller{Principal: principal(role), SourceIP: "198.51.100.9"}
	return &c
}

// newHarness serves the routes over the table newTable returns; the table's
// expiry must follow clock, as the service's does.
func newHarness(t *testing.T, newTable func(clock ports.Clock) ports.Table) *harness {
	t.Helper()
	clock := porttest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	table := newTable(clock)
	logger := logging.New(io.Discard, 0)
	a := providers.Local(providers.Config{DefaultCurrency: "USD", Roles: testRoles}, table, clock, providers.UUIDv7{}, logger)
	h := &harness{t: t, router: a.Router(), validator: openapitest.New(t, api.OpenAPI), clock: clock, seq: &atomic.Int64{}}
	return h.as(api.RoleIntake)
}

// newHarnessWithRoles serves the routes in memory with another role mapping.
func newHarnessWithRoles(t *testing.T, roles string) *harness {
	t.Helper()
	clock := porttest.NewClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	a := providers.Local(providers.Config{DefaultCurrency: "USD", Roles: access.MustParse(roles)},
		memory.NewTable(memory.WithClock(clock)), clock, providers.UUIDv7{}, logging.New(io.Discard, 0))
	return &harness{t: t, router: a.Router(), validator: openapitest.New(t, api.OpenAPI), clock: clock, seq: &atomic.Int64{}}
}

// withPrincipal returns the harness sending requests as principal.
func (h *harness) withPrincipal(principal string) *harness {
	c := *h
	c.caller = ports.Caller{Principal: principal}
	return &c
}

func newMemoryHarness(t *testing.T) *harness {
	t.Helper()
	return newHarness(t, func(clock ports.Clock) ports.Table { return memory.NewTable(memory.WithClock(clock)) })
}

type response struct {
	ports.Response
	t *testing.T
}

func (r response) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	require.NoError(r.t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

func (r response) code() string {
	r.t.Helper()
	e, _ := r.json()["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// do sends a request; headers are name, value pairs.
func (h *harness) do(method, target, body string, headers ...string) response {
	h.t.Helper()
	u, err := url.Parse(target)
	require.NoError(h.t, err)
	req := ports.Request{
		Method: method, Path: u.Path, Query: u.Query(), Header: make(http.Header),
		RequestID: "req-" + strings.Repeat("0", 3) + string(rune('a'+h.seq.Add(1)%26)),
		Caller:    h.caller,
	}
	if body != "" {
		req.Body = []byte(body)
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp := httpapi.Serve(h.t.Context(), logging.New(io.Discard, 0), h.router, req)
	h.validator.Check(h.t, req, resp)
	require.Equal(h.t, req.RequestID, resp.Header.Get("X-Request-Id"))
	return response{Response: resp, t: h.t}
}

const validClaim = `{"memberName":"Ada Lovelace","policyId":"POL-1","policyType":"PPO","amount":12550,"currency":"USD","description":"MRI scan"}`

// decide asks for a decision (approve, reject, pay, withdraw) at version as
// a caller of the role allowed to make it.
func (h *harness) decide(member, id, decision string, version int, body string) response {
	h.t.Helper()
	role := map[string]string{"approve": api.RoleAdjuster, "reject": api.RoleAdjuster, "pay": api.RolePayments, "withdraw": api.RoleIntake}[decision]
	return h.as(role).do(http.MethodPost, "/members/"+member+"/claims/"+id+"/"+decision, body, "If-Match", fmt.Sprintf(`"%d"`, version))
}

// create files a valid claim for member and returns its JSON.
func (h *harness) create(member string) map[string]any {
	h.t.Helper()
	r := h.do(http.MethodPost, "/members/"+member+"/claims", validClaim)
	require.Equal(h.t, http.StatusCreated, r.Status, "%s", r.Body)
	return r.json()
}
