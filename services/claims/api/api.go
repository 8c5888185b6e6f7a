// Package api publishes the claims use cases over HTTP: the route table
// (one operation per Lambda function), request decoding and validation, the
// JSON representation, and the mapping of domain errors to statuses. The
// published contract is openapi.yaml beside this file.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hexlambda/hexlambda/pkg/access"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// OpenAPI is the service's published HTTP contract.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Operations: each is served by its own Lambda function.
const (
	OpCreateClaim   = "createClaim"
	OpGetClaim      = "getClaim"
	OpListClaims    = "listClaims"
	OpUpdateClaim   = "updateClaim"
	OpDeleteClaim   = "deleteClaim"
	OpApproveClaim  = "approveClaim"
	OpRejectClaim   = "rejectClaim"
	OpPayClaim      = "payClaim"
	OpWithdrawClaim = "withdrawClaim"
	OpClaimHistory  = "claimHistory"
)

// Operations lists every operation of the service.
var Operations = []string{
	OpCreateClaim, OpGetClaim, OpListClaims, OpUpdateClaim, OpDeleteClaim,
	OpApproveClaim, OpRejectClaim, OpPayClaim, OpWithdrawClaim, OpClaimHistory,
}

// The roles of callers: who files claims, who decides them, who pays them
// and who audits them.
const (
	RoleIntake   = "intake"
	RoleAdjuster = "adjuster"
	RolePayments = "payments"
	RoleAuditor  = "auditor"
)

// Roles lists every role.
var Roles = []string{RoleIntake, RoleAdjuster, RolePayments, RoleAuditor}

// OperationRoles says which roles may call each operation: the gateway's
// IAM policies (one managed policy per role, from the stack) and the
// functions' own check both follow it.
var OperationRoles = map[string][]string{
	OpCreateClaim:   {RoleIntake},
	OpGetClaim:      {RoleIntake, RoleAdjuster, RolePayments, RoleAuditor},
	OpListClaims:    {RoleIntake, RoleAdjuster, RolePayments, RoleAuditor},
	OpUpdateClaim:   {RoleIntake},
	OpDeleteClaim:   {RoleIntake},
	OpWithdrawClaim: {RoleIntake},
	OpApproveClaim:  {RoleAdjuster},
	OpRejectClaim:   {RoleAdjuster},
	OpPayClaim:      {RolePayments},
	OpClaimHistory:  {RoleAdjuster, RoleAuditor},
}

// DefaultRoleMap is the role mapping of a stage that configures none: an
// IAM principal, whose IAM policy the gateway has checked, holds every
// role; a caller with only an API key, or none, may file, read, edit and
// withdraw claims, never decide, pay or audit them.
const DefaultRoleMap = "intake=*,anonymous;adjuster=arn:*;payments=arn:*;auditor=arn:*"

// Limits of list pages.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// serverOwned are fields a request body may never set.
var serverOwned = []string{"claimId", "memberId", "version", "createdAt", "updatedAt", "reason", "paymentReference"}

// API serves the claims routes.
type API struct {
	svc             *app.Service
	idem            *idempotency.Middleware
	defaultCurrency string
	roles           access.Map
}

// New returns the API over the service. Creates are made idempotent by
// idem (nil in functions that create nothing); legacy creates, which carry
// no currency, use defaultCurrency; roles says which callers may call which
// operation (see OperationRoles).
func New(svc *app.Service, idem *idempotency.Middleware, defaultCurrency string, roles access.Map) *API {
	return &API{svc: svc, idem: idem, defaultCurrency: defaultCurrency, roles: roles}
}

// Routes returns the route table; with operations given, only theirs.
func (a *API) Routes(operations ...string) []httpapi.Route {
	type h = ports.HandlerFunc
	claim := "/members/{memberId}/claims/{claimId}"
	all := []httpapi.Route{
		{Operation: OpCreateClaim, Method: http.MethodPost, Pattern: "/members/{memberId}/claims", Handler: a.idem.Wrap(OpCreateClaim, h(a.create), a.replayCurrent(false))},
		{Operation: OpListClaims, Method: http.MethodGet, Pattern: "/members/{memberId}/claims", Handler: h(a.list)},
		{Operation: OpGetClaim, Method: http.MethodGet, Pattern: claim, Handler: h(a.get)},
		{Operation: OpUpdateClaim, Method: http.MethodPatch, Pattern: claim, Handler: h(a.update)},
		{Operation: OpDeleteClaim, Method: http.MethodDelete, Pattern: claim, Handler: h(a.delete)},
		{Operation: OpApproveClaim, Method: http.MethodPost, Pattern: claim + "/approve", Handler: a.decide(domain.StatusApproved)},
		{Operation: OpRejectClaim, Method: http.MethodPost, Pattern: claim + "/reject", Handler: a.decide(domain.StatusRejected)},
		{Operation: OpPayClaim, Method: http.MethodPost, Pattern: claim + "/pay", Handler: a.decide(domain.StatusPaid)},
		{Operation: OpWithdrawClaim, Method: http.MethodPost, Pattern: claim + "/withdraw", Handler: a.decide(domain.StatusWithdrawn)},
		{Operation: OpClaimHistory, Method: http.MethodGet, Pattern: claim + "/history", Handler: h(a.history)},
		{Operation: OpCreateClaim, Method: http.MethodPost, Pattern: "/claim", Handler: a.idem.Wrap(OpCreateClaim, h(a.legacyCreate), a.replayCurrent(true)), Legacy: true},
		{Operation: OpGetClaim, Method: http.MethodGet, Pattern: "/claim/{id}", Handler: h(a.legacyGet), Legacy: true},
		{Operation: OpUpdateClaim, Method: http.MethodPut, Pattern: "/claim/{id}", Handler: h(a.legacyReplace), Legacy: true},
		{Operation: OpDeleteClaim, Method: http.MethodDelete, Pattern: "/claim/{id}", Handler: h(a.legacyDelete), Legacy: true},
	}
	for i := range all {
		all[i].Handler = a.guard(all[i].Operation, all[i].Handler)
	}
	return httpapi.Select(all, operations...)
}

// guard lets through the callers whose roles allow the operation, before
// anything else runs (an idempotent replay too); the others get 403
// not_permitted and nothing changes.
func (a *API) guard(op string, next ports.Handler) ports.Handler {
	allowed := OperationRoles[op]
	return ports.HandlerFunc(func(ctx context.Context, req ports.Request) (ports.Response, error) {
		if !a.roles.AnyOf(req.Caller, allowed...) {
			return ports.Response{}, apiError(CodeNotPermitted, "").WithDetail("operation", op).WithDetail("roles", allowed)
		}
		return next.Handle(ctx, req)
	})
}

// Router returns a router over Routes(operations...).
func (a *API) Router(operations ...string) *httpapi.Router {
	return httpapi.NewRouter(a.Routes(operations...)...)
}

func actor(req ports.Request) app.Actor {
	return app.Actor{Principal: req.Caller.Principal, APIKeyID: req.Caller.APIKeyID, SourceIP: req.Caller.SourceIP, RequestID: req.RequestID}
}

// claimJSON is the representation of a claim.
type claimJSON struct {
	ClaimID     string `json:"claimId"`
	MemberID    string `json:"memberId"`
	MemberName  string `json:"memberName"`
	PolicyID    string `json:"policyId"`
	PolicyType  string `json:"policyType"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	Status      string `json:"status"`
	// Reason says why a claim was rejected or withdrawn.
	Reason string `json:"reason,omitempty"`
	// PaymentReference identifies the payment of a paid claim.
	PaymentReference string `json:"paymentReference,omitempty"`
	Version          int64  `json:"version"`
	CreatedAt        string `json:"createdAt"`
	UpdatedAt        string `json:"updatedAt"`
}

func toJSON(c domain.Claim) claimJSON {
	return claimJSON{
		ClaimID: c.ID, MemberID: c.MemberID, MemberName: c.MemberName,
		PolicyID: c.PolicyID, PolicyType: c.PolicyType,
		Amount: c.Amount, Currency: c.Currency, Description: c.Description,
		Status: string(c.Status), Reason: c.Reason, PaymentReference: c.PaymentReference, Version: c.Version,
		CreatedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano),
		UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func claimResponse(status int, c domain.Claim, body any) ports.Response {
	resp := httpapi.JSON(status, body)
	resp.Header.Set("ETag", etag(c.Version))
	return resp
}

func memberID(v string) (string, error) {
	if err := domain.ValidateIdentifier("memberId", v); err != nil {
		return "", invalidParameter("memberId", err.Error())
	}
	return v, nil
}

func claimID(name, v string) (string, error) {
	u, err := uuid.Parse(v)
	if err != nil || len(v) != 36 {
		return "", invalidParameter(name, fmt.Sprintf("%s must be a UUID", name))
	}
	return u.String(), nil
}

func pathIDs(req ports.Request) (member, claim string, err error) {
	if member, err = memberID(req.PathParams["memberId"]); err != nil {
		return "", "", err
	}
	if claim, err = claimID("claimId", req.PathParams["claimId"]); err != nil {
		return "", "", err
	}
	return member, claim, nil
}

// ifMatch reads an If-Match version: "3", 3 or W/"3".
func ifMatch(req ports.Request, required bool) (int64, error) {
	raw := strings.TrimSpace(req.Header.Get("If-Match"))
	if raw == "" {
		if required {
			return 0, apiError(CodePreconditionRequired, "")
		}
		return 0, nil
	}
	v := strings.Trim(strings.TrimPrefix(raw, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, apiError(CodeInvalidPrecondition, "")
	}
	return n, nil
}

type createBody struct {
	MemberName  string  `json:"memberName"`
	PolicyID    string  `json:"policyId"`
	PolicyType  string  `json:"policyType"`
	Amount      int64   `json:"amount"`
	Currency    string  `json:"currency"`
	Description string  `json:"description"`
	Status      *string `json:"status"`
}

func checkInitialStatus(st *string) error {
	if st != nil && *st != string(domain.StatusPending) {
		return invalidField("status", "status: a new claim is always pending")
	}
	return nil
}

func (a *API) create(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, err := memberID(req.PathParams["memberId"])
	if err != nil {
		return ports.Response{}, err
	}
	var body createBody
	if err := httpapi.DecodeJSON(req, &body, serverOwned...); err != nil {
		return ports.Response{}, err
	}
	if err := checkInitialStatus(body.Status); err != nil {
		return ports.Response{}, err
	}
	c, err := a.svc.Create(withCompletion(ctx, created), member, domain.Details{
		MemberName: body.MemberName, PolicyID: body.PolicyID, PolicyType: body.PolicyType,
		Amount: body.Amount, Currency: body.Currency, Description: body.Description,
	}, actor(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return created(c), nil
}

// created is the answer to a created claim.
func created(c domain.Claim) ports.Response {
	resp := claimResponse(http.StatusCreated, c, toJSON(c))
	resp.Header.Set("Location", "/members/"+c.MemberID+"/claims/"+c.ID)
	return resp
}

// withCompletion lets the transaction that creates the claim complete the
// request's idempotency record too, with the answer respond gives: the
// record is never "in progress" once the claim exists.
func withCompletion(ctx context.Context, respond func(domain.Claim) ports.Response) context.Context {
	return ports.WithJoiner(ctx, func(result any) ([]ports.Write, error) {
		c, ok := result.(domain.Claim)
		if !ok {
			return nil, nil
		}
		w, ok, err := idempotency.Completion(ctx, respond(c))
		if !ok || err != nil {
			return nil, err
		}
		return []ports.Write{w}, nil
	})
}

func (a *API) get(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := pathIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	c, err := a.svc.Get(ctx, member, claim)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return claimResponse(http.StatusOK, c, toJSON(c)), nil
}

type pageJSON struct {
	Items      []claimJSON `json:"items"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

func (a *API) list(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, err := memberID(req.PathParams["memberId"])
	if err != nil {
		return ports.Response{}, err
	}
	opts := app.ListOptions{Limit: DefaultPageSize, Cursor: req.Query.Get("cursor")}
	if s := req.Query.Get("status"); s != "" {
		if !domain.Status(s).Valid() {
			return ports.Response{}, invalidParameter("status", "status must be one of pending, approved, rejected, paid")
		}
		opts.Status = domain.Status(s)
	}
	if l := req.Query.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			return ports.Response{}, invalidParameter("limit", fmt.Sprintf("limit must be an integer from 1 to %d", MaxPageSize))
		}
		opts.Limit = n
	}
	page, err := a.svc.List(ctx, member, opts)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := pageJSON{Items: make([]claimJSON, 0, len(page.Claims)), NextCursor: page.NextCursor}
	for _, c := range page.Claims {
		out.Items = append(out.Items, toJSON(c))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

type patchBody struct {
	MemberName  *string `json:"memberName"`
	PolicyID    *string `json:"policyId"`
	PolicyType  *string `json:"policyType"`
	Amount      *int64  `json:"amount"`
	Currency    *string `json:"currency"`
	Description *string `json:"description"`
	Status      *string `json:"status"`
}

func (a *API) update(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := pathIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	version, err := ifMatch(req, true)
	if err != nil {
		return ports.Response{}, err
	}
	var body patchBody
	if err := httpapi.DecodeJSON(req, &body, serverOwned...); err != nil {
		return ports.Response{}, err
	}
	if body.Status != nil {
		return ports.Response{}, invalidField("status", "status: an edit changes details only; decide with POST .../approve, /reject, /pay or /withdraw")
	}
	e := domain.Edit{
		MemberName: body.MemberName, PolicyID: body.PolicyID, PolicyType: body.PolicyType,
		Amount: body.Amount, Currency: body.Currency, Description: body.Description,
	}
	if e.Empty() {
		return ports.Response{}, apiError(CodeEmptyPatch, "")
	}
	c, err := a.svc.Edit(ctx, member, claim, e, version, actor(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return claimResponse(http.StatusOK, c, toJSON(c)), nil
}

// decisionBody is what a decision may carry: a reason (reject, required;
// withdraw, optional) or a payment reference (pay, required). Approving
// takes no body.
type decisionBody struct {
	Reason           *string `json:"reason"`
	PaymentReference *string `json:"paymentReference"`
}

func (a *API) decide(to domain.Status) ports.Handler {
	return ports.HandlerFunc(func(ctx context.Context, req ports.Request) (ports.Response, error) {
		member, claim, err := pathIDs(req)
		if err != nil {
			return ports.Response{}, err
		}
		version, err := ifMatch(req, true)
		if err != nil {
			return ports.Response{}, err
		}
		var body decisionBody
		if len(bytes.TrimSpace(req.Body)) > 0 {
			if err := httpapi.DecodeJSON(req, &body); err != nil {
				return ports.Response{}, err
			}
		}
		d := domain.Decision{To: to}
		switch {
		case body.Reason != nil && to != domain.StatusRejected && to != domain.StatusWithdrawn:
			return ports.Response{}, invalidField("reason", "reason: only a rejection or a withdrawal has a reason")
		case body.PaymentReference != nil && to != domain.StatusPaid:
			return ports.Response{}, invalidField("paymentReference", "paymentReference: only a payment has one")
		}
		if body.Reason != nil {
			d.Reason = *body.Reason
		}
		if body.PaymentReference != nil {
			d.PaymentReference = *body.PaymentReference
		}
		c, err := a.svc.Decide(ctx, member, claim, d, version, actor(req))
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		return claimResponse(http.StatusOK, c, toJSON(c)), nil
	})
}

func (a *API) delete(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := pathIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	version, err := ifMatch(req, false)
	if err != nil {
		return ports.Response{}, err
	}
	if err := a.svc.Delete(ctx, member, claim, version, actor(req)); err != nil {
		return ports.Response{}, mapError(err)
	}
	return httpapi.NoContent(), nil
}

type historyEntryJSON struct {
	Version   int64          `json:"version"`
	Event     string         `json:"event"`
	At        string         `json:"at"`
	Principal string         `json:"principal,omitempty"`
	APIKeyID  string         `json:"apiKeyId,omitempty"`
	SourceIP  string         `json:"sourceIp,omitempty"`
	RequestID string         `json:"requestId"`
	Changes   map[string]any `json:"changes,omitempty"`
}

func (a *API) history(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := pathIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	limit := DefaultPageSize
	if l := req.Query.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageSize {
			return ports.Response{}, invalidParameter("limit", fmt.Sprintf("limit must be an integer from 1 to %d", MaxPageSize))
		}
		limit = n
	}
	page, err := a.svc.History(ctx, member, claim, limit, req.Query.Get("cursor"))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := struct {
		ClaimID    string             `json:"claimId"`
		MemberID   string             `json:"memberId"`
		Items      []historyEntryJSON `json:"items"`
		NextCursor string             `json:"nextCursor,omitempty"`
	}{ClaimID: claim, MemberID: member, Items: make([]historyEntryJSON, 0, len(page.Entries)), NextCursor: page.NextCursor}
	for _, e := range page.Entries {
		out.Items = append(out.Items, historyEntryJSON{
			Version: e.Version, Event: string(e.Event), At: e.At.UTC().Format(time.RFC3339Nano),
			Principal: e.Actor.Principal, APIKeyID: e.Actor.APIKeyID, SourceIP: e.Actor.SourceIP, RequestID: e.Actor.RequestID,
			Changes: e.Changes,
		})
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

// replayCurrent revises a replayed create: the claim it made is read again,
// so the replay shows the claim as it is now (withdrawn, say), or says it
// was deleted (410 claim_deleted), instead of the stale first answer.
func (a *API) replayCurrent(legacy bool) idempotency.ReplayCheck {
	return func(ctx context.Context, _ ports.Request, stored ports.Response) (ports.Response, error) {
		var first struct {
			ClaimID  string `json:"claimId"`
			MemberID string `json:"memberId"`
		}
		if err := json.Unmarshal(stored.Body, &first); err != nil || first.ClaimID == "" {
			return stored, nil
		}
		c, err := a.svc.Get(ctx, first.MemberID, first.ClaimID)
		if errors.Is(err, app.ErrClaimNotFound) {
			return ports.Response{}, apiError(CodeClaimDeleted, "").WithDetail("claimId", first.ClaimID)
		}
		if err != nil {
			return ports.Response{}, mapError(err)
		}
		var body any = toJSON(c)
		if legacy {
			body = toLegacyJSON(c)
		}
		resp := claimResponse(stored.Status, c, body)
		for _, h := range []string{"Location", idempotency.ReplayedHeader} {
			resp.Header.Set(h, stored.Header.Get(h))
		}
		return resp, nil
	}
}

// RouteTable returns the routes with their operations, for tooling that
// needs the table without serving it (the infrastructure templates); its
// handlers must not be called.
func RouteTable() []httpapi.Route { return (&API{}).Routes() }
