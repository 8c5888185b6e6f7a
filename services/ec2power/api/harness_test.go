package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/openapitest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memevents"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

var (
	validator     *openapitest.Validator
	validatorOnce sync.Once
)

type harness struct {
	t      *testing.T
	fleet  *memfleet.Fleet
	audit  ports.Table
	router *httpapi.Router
	seq    atomic.Int64
	sched  *memsched.Scheduler
	events *memevents.Bus
	// expire is what the service's schedules invoke: a lease's expiry, a
	// window's action.
	expire func(ctx context.Context, input []byte) error
}

type setup struct {
	delay   time.Duration
	target  string
	fleet   fleet.Fleet
	audit   ports.Table
	limit   time.Duration
	wrapped func(fleet.Fleet) fleet.Fleet
	// grants and auditors are the GRANTS and AUDITORS mappings (default:
	// every caller controls every group and audits).
	grants, auditors string
	// leases are the stage's lease limits (default: the documented ones).
	leases *domain.LeaseLimits
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	validatorOnce.Do(func() { validator = openapitest.New(t, api.OpenAPI) })
	if s.delay == 0 {
		s.delay = 20 * time.Millisecond
	}
	h := &harness{t: t, fleet: memfleet.NewFleet(memfleet.WithTransitionDelays(s.delay, s.delay))}
	var fleet fleet.Fleet = h.fleet
	if s.fleet != nil {
		fleet = s.fleet
	}
	if s.wrapped != nil {
		fleet = s.wrapped(fleet)
	}
	h.audit = memory.NewTable()
	if s.audit != nil {
		h.audit = s.audit
	}
	cfg := app.DefaultConfig()
	cfg.PollInterval = 5 * time.Millisecond
	cfg.WaitLimit = s.limit
	if s.leases != nil {
		cfg.Leases = *s.leases
	}
	target, err := app.ParseTarget(s.target)
	require.NoError(t, err)
	cfg.DefaultTarget = target
	if s.grants == "" {
		s.grants = "*=*"
	}
	if s.auditors == "" {
		s.auditors = "*"
	}
	logger := logging.New(io.Discard, 0)
	h.sched = memsched.New(nil, logger)
	t.Cleanup(h.sched.Close)
	h.events = memevents.New(nil)
	a, scheduled, err := providers.Local(providers.Config{App: cfg, Grants: s.grants, Auditors: s.auditors}, fleet, h.audit, systemClock{}, logger, h.sched, h.events)
	require.NoError(t, err)
	h.expire = scheduled
	h.sched.SetTarget(scheduled)
	h.router = a.Router()
	return h
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (h *harness) launch(state domain.InstanceState, tags map[string]string, opts ...func(*memfleet.InstanceSpec)) string {
	spec := memfleet.InstanceSpec{State: state, Tags: tags}
	for _, o := range opts {
		o(&spec)
	}
	return h.fleet.Launch(spec)
}

func managed(extra ...string) map[string]string {
	m := map[string]string{"ec2power:managed": "true"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
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
	e, _ := r.json()["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (h *harness) do(method, target string) response {
	h.t.Helper()
	u, err := url.Parse(target)
	require.NoError(h.t, err)
	req := ports.Request{
		Method: method, Path: u.Path, Query: u.Query(), Header: http.Header{},
		RequestID: "req-" + strconv.FormatInt(h.seq.Add(1), 10),
		Caller:    ports.Caller{APIKeyID: "key-ci", SourceIP: "198.51.100.7"},
	}
	resp := httpapi.Serve(h.t.Context(), logging.New(io.Discard, 0), h.router, req)
	validator.Check(h.t, req, resp)
	return response{Response: resp, t: h.t}
}
