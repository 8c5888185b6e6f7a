// Package api publishes the ec2power use cases over HTTP: the route table
// (one operation per Lambda function), parameter parsing, the JSON
// representation, and the mapping of outcomes and errors to statuses. The
// published contract is openapi.yaml beside this file.
package api

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// OpenAPI is the service's published HTTP contract.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Operations: each is served by its own Lambda function.
const (
	OpDescribeInstances = "describeInstances"
	OpStartInstance     = "startInstance"
	OpStopInstance      = "stopInstance"
	OpInstanceHistory   = "instanceHistory"
	OpExtendLease       = "extendLease"
	OpReleaseLease      = "releaseLease"
	OpReadSchedules     = "readSchedules"
	OpWriteSchedules    = "writeSchedules"
	OpHoldInstance      = "holdInstance"
	// OpExpireLease is served by no route: a lease's schedule invokes it.
	OpExpireLease = "expireLease"
	// OpApplySchedule is served by no route: a schedule's windows invoke it.
	OpApplySchedule = "applySchedule"
)

// Operations lists every operation of the service.
var Operations = []string{
	OpDescribeInstances, OpStartInstance, OpStopInstance, OpInstanceHistory, OpExtendLease, OpReleaseLease,
	OpReadSchedules, OpWriteSchedules, OpHoldInstance, OpExpireLease, OpApplySchedule,
}

// Internal are the operations no route serves.
var Internal = []string{OpExpireLease, OpApplySchedule}

// Limits of the parameters.
const (
	MaxTimeout         = time.Hour
	DefaultHistoryPage = 20
	MaxHistoryPage     = 100
)

// Deps are the use cases behind the routes. A function gives only what its
// operation needs: describeInstances the Inventory and the Leases,
// startInstance, stopInstance, extendLease, releaseLease and holdInstance
// the Power, instanceHistory the History, readSchedules and
// writeSchedules the Schedules.
type Deps struct {
	Inventory *app.Inventory
	Power     *app.Power
	History   *app.History
	Leases    *app.LeaseReader
	Schedules *app.Schedules
}

// API serves the ec2power routes.
type API struct {
	deps Deps
}

// New returns the API over the use cases. A Power also serves as the
// Inventory when none is given.
func New(deps Deps) *API {
	if deps.Inventory == nil && deps.Power != nil {
		deps.Inventory = deps.Power.Inventory
	}
	return &API{deps: deps}
}

// Routes returns the route table; with operations given, only theirs.
func (a *API) Routes(operations ...string) []httpapi.Route {
	type h = ports.HandlerFunc
	all := []httpapi.Route{
		{Operation: OpDescribeInstances, Method: http.MethodGet, Pattern: "/instances", Handler: h(a.list)},
		{Operation: OpDescribeInstances, Method: http.MethodGet, Pattern: "/instances/{id}", Handler: h(a.get)},
		{Operation: OpDescribeInstances, Method: http.MethodGet, Pattern: "/groups/{group}", Handler: h(a.group)},
		{Operation: OpStartInstance, Method: http.MethodPost, Pattern: "/instances/{id}/start", Handler: a.instanceAction(domain.Start)},
		{Operation: OpStopInstance, Method: http.MethodPost, Pattern: "/instances/{id}/stop", Handler: a.instanceAction(domain.Stop)},
		{Operation: OpStartInstance, Method: http.MethodPost, Pattern: "/groups/{group}/start", Handler: a.groupAction(domain.Start)},
		{Operation: OpStopInstance, Method: http.MethodPost, Pattern: "/groups/{group}/stop", Handler: a.groupAction(domain.Stop)},
		{Operation: OpInstanceHistory, Method: http.MethodGet, Pattern: "/instances/{id}/history", Handler: h(a.history)},
		{Operation: OpExtendLease, Method: http.MethodPost, Pattern: "/instances/{id}/lease", Handler: h(a.extendLease)},
		{Operation: OpReleaseLease, Method: http.MethodDelete, Pattern: "/instances/{id}/lease", Handler: h(a.releaseLease)},
		{Operation: OpHoldInstance, Method: http.MethodPost, Pattern: "/instances/{id}/hold", Handler: h(a.holdInstance)},
		{Operation: OpHoldInstance, Method: http.MethodDelete, Pattern: "/instances/{id}/hold", Handler: h(a.releaseHold)},
		{Operation: OpReadSchedules, Method: http.MethodGet, Pattern: "/schedules", Handler: h(a.listSchedules)},
		{Operation: OpReadSchedules, Method: http.MethodGet, Pattern: "/schedules/{name}", Handler: h(a.getSchedule)},
		{Operation: OpWriteSchedules, Method: http.MethodPut, Pattern: "/schedules/{name}", Handler: h(a.putSchedule)},
		{Operation: OpWriteSchedules, Method: http.MethodDelete, Pattern: "/schedules/{name}", Handler: h(a.deleteSchedule)},
		{Operation: OpStartInstance, Method: http.MethodGet, Pattern: "/start", Handler: a.legacyAction(domain.Start), Legacy: true},
		{Operation: OpStopInstance, Method: http.MethodGet, Pattern: "/stop", Handler: a.legacyAction(domain.Stop), Legacy: true},
	}
	return httpapi.Select(all, operations...)
}

// Router returns a router over Routes(operations...).
func (a *API) Router(operations ...string) *httpapi.Router {
	return httpapi.NewRouter(a.Routes(operations...)...)
}

type instanceJSON struct {
	InstanceID            string     `json:"instanceId"`
	Name                  string     `json:"name,omitempty"`
	Type                  string     `json:"type"`
	State                 string     `json:"state"`
	StateReason           string     `json:"stateReason,omitempty"`
	Group                 string     `json:"group,omitempty"`
	LaunchTime            string     `json:"launchTime,omitempty"`
	HibernationConfigured bool       `json:"hibernationConfigured"`
	Lease                 *leaseJSON `json:"lease,omitempty"`
	Schedule              string     `json:"schedule,omitempty"`
	HoldUntil             string     `json:"holdUntil,omitempty"`
}

type leaseJSON struct {
	ExpiresAt string `json:"expiresAt"`
	State     string `json:"state,omitempty"`
	GrantedAt string `json:"grantedAt,omitempty"`
	Owner     string `json:"owner,omitempty"`
}

func toLeaseJSON(l domain.Lease) *leaseJSON {
	out := &leaseJSON{ExpiresAt: l.ExpiresAt.UTC().Format(time.RFC3339), State: string(l.State), Owner: l.Owner()}
	if !l.GrantedAt.IsZero() {
		out.GrantedAt = l.GrantedAt.UTC().Format(time.RFC3339)
	}
	return out
}

func (a *API) toJSON(in domain.Instance) instanceJSON {
	out := instanceJSON{
		InstanceID: in.ID, Name: in.Tags["Name"], Type: in.Type, State: string(in.State),
		StateReason: in.StateReason, Group: a.deps.Inventory.Selector().Group(in), HibernationConfigured: in.HibernationConfigured,
		Schedule: in.Tags[a.deps.Inventory.Selector().ScheduleKey],
	}
	if !in.LaunchTime.IsZero() {
		out.LaunchTime = in.LaunchTime.UTC().Format(time.RFC3339)
	}
	return out
}

type resultJSON struct {
	InstanceID    string     `json:"instanceId"`
	Name          string     `json:"name,omitempty"`
	Action        string     `json:"action"`
	DryRun        bool       `json:"dryRun"`
	Result        string     `json:"result"`
	Changed       bool       `json:"changed"`
	PreviousState string     `json:"previousState,omitempty"`
	State         string     `json:"state,omitempty"`
	StateReason   string     `json:"stateReason,omitempty"`
	Hibernated    *bool      `json:"hibernated,omitempty"`
	Code          string     `json:"code,omitempty"`
	Message       string     `json:"message,omitempty"`
	Lease         *leaseJSON `json:"lease,omitempty"`
}

func toResultJSON(action domain.Action, dryRun bool, r domain.Result) resultJSON {
	out := resultJSON{
		InstanceID: r.InstanceID, Name: r.Name, Action: string(action), DryRun: dryRun,
		Result: string(r.Outcome), Changed: r.Changed(), PreviousState: string(r.Previous), State: string(r.State),
		StateReason: r.StateReason, Hibernated: r.Hibernated, Code: r.Code, Message: r.Message,
	}
	if !r.LeaseExpiresAt.IsZero() {
		out.Lease = &leaseJSON{ExpiresAt: r.LeaseExpiresAt.UTC().Format(time.RFC3339)}
	}
	return out
}

func instanceID(req ports.Request) (string, error) {
	id := req.PathParams["id"]
	if !domain.ValidInstanceID(id) {
		return "", invalidParameter("id", "id must be an EC2 instance id such as i-0123456789abcdef0")
	}
	return id, nil
}

func groupName(req ports.Request) (string, error) {
	g := req.PathParams["group"]
	if !domain.ValidGroup(g) {
		return "", invalidParameter("group", "group must be 1 to 64 letters, digits, '_', '.', ':' or '-'")
	}
	return g, nil
}

func boolParam(req ports.Request, name string) (bool, error) {
	switch strings.ToLower(req.Query.Get(name)) {
	case "":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	case "false", "0", "no":
		return false, nil
	default:
		return false, invalidParameter(name, fmt.Sprintf("%s must be true or false", name))
	}
}

// duration reads a Go duration such as 90s or 5m, or whole seconds.
func duration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.Atoi(s)
		d, err = time.Duration(n)*time.Second, nerr
	}
	return d, err
}

// leaseParam reads a lease length: from 1s, such as 2h or 30m (the stage's
// maximum is the use case's to check).
func leaseParam(req ports.Request, name string) (time.Duration, error) {
	v := req.Query.Get(name)
	if v == "" {
		return 0, nil
	}
	d, err := duration(v)
	if err != nil || d < domain.MinLease {
		return 0, invalidParameter(name, name+" must be a duration of at least 1s, such as 2h or 30m")
	}
	return d, nil
}

// actOptions reads wait, timeout (a Go duration such as 90s or 5m, or
// seconds), dryRun, for starts lease and for stops hibernate.
func actOptions(req ports.Request, action domain.Action) (app.ActOptions, error) {
	var o app.ActOptions
	var err error
	if o.Wait, err = boolParam(req, "wait"); err != nil {
		return o, err
	}
	if o.DryRun, err = boolParam(req, "dryRun"); err != nil {
		return o, err
	}
	if o.Hibernate, err = boolParam(req, "hibernate"); err != nil {
		return o, err
	}
	if o.Hibernate && action != domain.Stop {
		return o, invalidParameter("hibernate", "hibernate applies to stop only")
	}
	if o.Lease, err = leaseParam(req, "lease"); err != nil {
		return o, err
	}
	if o.Lease > 0 && action != domain.Start {
		return o, invalidParameter("lease", "lease applies to start only")
	}
	if t := req.Query.Get("timeout"); t != "" {
		d, err := duration(t)
		if err != nil || d < time.Second || d > MaxTimeout {
			return o, invalidParameter("timeout", "timeout must be a duration from 1s to 1h, such as 90s or 5m")
		}
		o.Timeout = d
	}
	return o, nil
}

func who(req ports.Request) app.Who { return app.Who{Caller: req.Caller, RequestID: req.RequestID} }

func (a *API) list(ctx context.Context, _ ports.Request) (ports.Response, error) {
	ins, err := a.deps.Inventory.List(ctx)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := struct {
		Items []instanceJSON `json:"items"`
	}{Items: make([]instanceJSON, 0, len(ins))}
	for _, in := range ins {
		out.Items = append(out.Items, a.toJSON(in))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (a *API) get(ctx context.Context, req ports.Request) (ports.Response, error) {
	id, err := instanceID(req)
	if err != nil {
		return ports.Response{}, err
	}
	in, err := a.deps.Inventory.Get(ctx, id)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := a.toJSON(in)
	if a.deps.Leases != nil {
		l, ok, err := a.deps.Leases.Of(ctx, id, who(req))
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		if ok {
			out.Lease = toLeaseJSON(l)
		}
		h, ok, err := a.deps.Leases.HoldOf(ctx, id)
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		if ok {
			out.HoldUntil = h.Until.UTC().Format(time.RFC3339)
		}
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// extendLease adds extend to the instance's lease.
func (a *API) extendLease(ctx context.Context, req ports.Request) (ports.Response, error) {
	id, err := instanceID(req)
	if err != nil {
		return ports.Response{}, err
	}
	d, err := leaseParam(req, "extend")
	if err != nil {
		return ports.Response{}, err
	}
	if d == 0 {
		return ports.Response{}, invalidParameter("extend", "extend is required: how much longer the lease runs, such as 30m")
	}
	l, err := a.deps.Power.ExtendLease(ctx, id, d, who(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	lj := toLeaseJSON(l)
	lj.Owner = ""
	return httpapi.JSON(http.StatusOK, struct {
		InstanceID string     `json:"instanceId"`
		Lease      *leaseJSON `json:"lease"`
	}{InstanceID: id, Lease: lj}), nil
}

// releaseLease ends the instance's lease now: it is stopped.
func (a *API) releaseLease(ctx context.Context, req ports.Request) (ports.Response, error) {
	id, err := instanceID(req)
	if err != nil {
		return ports.Response{}, err
	}
	r, err := a.deps.Power.ReleaseLease(ctx, id, who(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return singleResponse(domain.Stop, false, r)
}

func (a *API) group(ctx context.Context, req ports.Request) (ports.Response, error) {
	g, err := groupName(req)
	if err != nil {
		return ports.Response{}, err
	}
	ins, err := a.deps.Inventory.Group(ctx, g)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := struct {
		Group string         `json:"group"`
		Items []instanceJSON `json:"items"`
	}{Group: g, Items: make([]instanceJSON, 0, len(ins))}
	for _, in := range ins {
		out.Items = append(out.Items, a.toJSON(in))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// singleResponse answers one instance's result: 200 when done or nothing
// to do, 202 when accepted or still on its way, the failure's status
// otherwise.
func singleResponse(action domain.Action, dryRun bool, r domain.Result) (ports.Response, error) {
	body := toResultJSON(action, dryRun, r)
	switch r.Outcome {
	case domain.Accepted, domain.TimedOut:
		return httpapi.JSON(http.StatusAccepted, body), nil
	case domain.Failed:
		e := apiError(r.Code, r.Message).WithDetail("instanceId", r.InstanceID).WithDetail("state", string(r.State))
		if r.StateReason != "" {
			e = e.WithDetail("stateReason", r.StateReason)
		}
		return ports.Response{}, e
	default:
		return httpapi.JSON(http.StatusOK, body), nil
	}
}

type summaryJSON struct {
	Total        int `json:"total"`
	Succeeded    int `json:"succeeded"`
	Accepted     int `json:"accepted"`
	Unchanged    int `json:"unchanged"`
	TimedOut     int `json:"timedOut"`
	Failed       int `json:"failed"`
	WouldSucceed int `json:"wouldSucceed"`
}

type batchJSON struct {
	Group   string       `json:"group,omitempty"`
	Action  string       `json:"action"`
	DryRun  bool         `json:"dryRun"`
	Results []resultJSON `json:"results"`
	Summary summaryJSON  `json:"summary"`
}

// batchResponse answers a group's results: 207 when any failed, 202 when
// any is still on its way, 200 otherwise.
func batchResponse(action domain.Action, group string, dryRun bool, results []domain.Result) ports.Response {
	out := batchJSON{Group: group, Action: string(action), DryRun: dryRun, Results: make([]resultJSON, 0, len(results))}
	for _, r := range results {
		out.Results = append(out.Results, toResultJSON(action, dryRun, r))
		out.Summary.Total++
		switch r.Outcome {
		case domain.Succeeded:
			out.Summary.Succeeded++
		case domain.Accepted:
			out.Summary.Accepted++
		case domain.Unchanged:
			out.Summary.Unchanged++
		case domain.TimedOut:
			out.Summary.TimedOut++
		case domain.Failed:
			out.Summary.Failed++
		case domain.WouldSucceed:
			out.Summary.WouldSucceed++
		}
	}
	status := http.StatusOK
	switch {
	case out.Summary.Failed > 0:
		status = http.StatusMultiStatus
	case out.Summary.Accepted+out.Summary.TimedOut > 0:
		status = http.StatusAccepted
	}
	return httpapi.JSON(status, out)
}

func (a *API) instanceAction(action domain.Action) ports.Handler {
	return ports.HandlerFunc(func(ctx context.Context, req ports.Request) (ports.Response, error) {
		id, err := instanceID(req)
		if err != nil {
			return ports.Response{}, err
		}
		opts, err := actOptions(req, action)
		if err != nil {
			return ports.Response{}, err
		}
		r, err := a.deps.Power.ActOnInstance(ctx, action, id, opts, who(req))
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		return singleResponse(action, opts.DryRun, r)
	})
}

func (a *API) groupAction(action domain.Action) ports.Handler {
	return ports.HandlerFunc(func(ctx context.Context, req ports.Request) (ports.Response, error) {
		g, err := groupName(req)
		if err != nil {
			return ports.Response{}, err
		}
		opts, err := actOptions(req, action)
		if err != nil {
			return ports.Response{}, err
		}
		results, err := a.deps.Power.ActOnGroup(ctx, action, g, opts, who(req))
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		return batchResponse(action, g, opts.DryRun, results), nil
	})
}

// legacyAction serves GET /start and GET /stop of the API this service
// replaces: the configured default target, answered with the same JSON as
// the instance route (one instance) or the group route (a group or several
// instances).
func (a *API) legacyAction(action domain.Action) ports.Handler {
	return ports.HandlerFunc(func(ctx context.Context, req ports.Request) (ports.Response, error) {
		opts, err := actOptions(req, action)
		if err != nil {
			return ports.Response{}, err
		}
		target, err := a.deps.Power.DefaultTarget()
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		if action == domain.Start && opts.Lease == 0 && !opts.DryRun {
			opts.Lease = a.deps.Power.LeaseLimits().Default
		}
		switch {
		case target.Group != "":
			results, err := a.deps.Power.ActOnGroup(ctx, action, target.Group, opts, who(req))
			if err != nil {
				return ports.Response{}, mapError(err)
			}
			return batchResponse(action, target.Group, opts.DryRun, results), nil
		case len(target.InstanceIDs) == 1:
			r, err := a.deps.Power.ActOnInstance(ctx, action, target.InstanceIDs[0], opts, who(req))
			if err != nil {
				return ports.Response{}, mapError(err)
			}
			return singleResponse(action, opts.DryRun, r)
		default:
			results, err := a.deps.Power.ActOnInstances(ctx, action, target.InstanceIDs, opts, who(req))
			if err != nil {
				return ports.Response{}, mapError(err)
			}
			return batchResponse(action, "", opts.DryRun, results), nil
		}
	})
}

type historyJSON struct {
	InstanceID  string `json:"instanceId"`
	Action      string `json:"action"`
	DryRun      bool   `json:"dryRun"`
	Group       string `json:"group,omitempty"`
	RequestID   string `json:"requestId"`
	APIKeyID    string `json:"apiKeyId,omitempty"`
	Principal   string `json:"principal,omitempty"`
	SourceIP    string `json:"sourceIp,omitempty"`
	RequestedAt string `json:"requestedAt"`
	FinishedAt  string `json:"finishedAt,omitempty"`
	Result      string `json:"result"`
	Code        string `json:"code,omitempty"`
	State       string `json:"state,omitempty"`
	// LeaseExpiresAt is the end of the lease a start came with.
	LeaseExpiresAt string `json:"leaseExpiresAt,omitempty"`
	// Trigger is what caused the action when it was not a caller: lease.
	Trigger string `json:"trigger,omitempty"`
}

func (a *API) history(ctx context.Context, req ports.Request) (ports.Response, error) {
	id, err := instanceID(req)
	if err != nil {
		return ports.Response{}, err
	}
	limit := DefaultHistoryPage
	if l := req.Query.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxHistoryPage {
			return ports.Response{}, invalidParameter("limit", fmt.Sprintf("limit must be an integer from 1 to %d", MaxHistoryPage))
		}
		limit = n
	}
	page, err := a.deps.History.History(ctx, id, limit, req.Query.Get("cursor"), who(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := struct {
		InstanceID string        `json:"instanceId"`
		Items      []historyJSON `json:"items"`
		NextCursor string        `json:"nextCursor,omitempty"`
	}{InstanceID: id, Items: make([]historyJSON, 0, len(page.Entries)), NextCursor: page.NextCursor}
	for _, e := range page.Entries {
		h := historyJSON{
			InstanceID: e.InstanceID, Action: string(e.Action), DryRun: e.DryRun, Group: e.Group,
			RequestID: e.RequestID, APIKeyID: e.APIKeyID, Principal: e.Principal, SourceIP: e.SourceIP,
			RequestedAt: e.RequestedAt.UTC().Format(time.RFC3339Nano), Result: e.Result, Code: e.Code, State: string(e.State),
		}
		if !e.FinishedAt.IsZero() {
			h.FinishedAt = e.FinishedAt.UTC().Format(time.RFC3339Nano)
		}
		if !e.LeaseExpiresAt.IsZero() {
			h.LeaseExpiresAt = e.LeaseExpiresAt.UTC().Format(time.RFC3339)
		}
		h.Trigger = e.Trigger
		out.Items = append(out.Items, h)
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// RouteTable returns the routes with their operations, for tooling that
// needs the table without serving it (the infrastructure templates); its
// handlers must not be called.
func RouteTable() []httpapi.Route { return (&API{}).Routes() }
