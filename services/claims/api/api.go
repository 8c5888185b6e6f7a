// Package api publishes the claims use cases over HTTP: the route table
// (one operation per Lambda function), request decoding and validation, the
// JSON representation, and the mapping of domain errors to statuses. The
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

	"github.com/google/uuid"

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
	OpCreateClaim = "createClaim"
	OpGetClaim    = "getClaim"
	OpListClaims  = "listClaims"
	OpUpdateClaim = "updateClaim"
	OpDeleteClaim = "deleteClaim"
)

// Operations lists every operation of the service.
var Operations = []string{OpCreateClaim, OpGetClaim, OpListClaims, OpUpdateClaim, OpDeleteClaim}

// Limits of list pages.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// serverOwned are fields a request body may never set.
var serverOwned = []string{"claimId", "memberId", "version", "createdAt", "updatedAt"}

// API serves the claims routes.
type API struct {
	svc             *app.Service
	idem            *idempotency.Middleware
	defaultCurrency string
}

// New returns the API over the service. Creates are made idempotent by idem;
// legacy creates, which carry no currency, use defaultCurrency.
func New(svc *app.Service, idem *idempotency.Middleware, defaultCurrency string) *API {
	return &API{svc: svc, idem: idem, defaultCurrency: defaultCurrency}
}

// Routes returns the route table; with operations given, only theirs.
func (a *API) Routes(operations ...string) []httpapi.Route {
	type h = ports.HandlerFunc
	all := []httpapi.Route{
		{Operation: OpCreateClaim, Method: http.MethodPost, Pattern: "/members/{memberId}/claims", Handler: a.idem.Wrap(OpCreateClaim, h(a.create))},
		{Operation: OpListClaims, Method: http.MethodGet, Pattern: "/members/{memberId}/claims", Handler: h(a.list)},
		{Operation: OpGetClaim, Method: http.MethodGet, Pattern: "/members/{memberId}/claims/{claimId}", Handler: h(a.get)},
		{Operation: OpUpdateClaim, Method: http.MethodPatch, Pattern: "/members/{memberId}/claims/{claimId}", Handler: h(a.update)},
		{Operation: OpDeleteClaim, Method: http.MethodDelete, Pattern: "/members/{memberId}/claims/{claimId}", Handler: h(a.delete)},
		{Operation: OpCreateClaim, Method: http.MethodPost, Pattern: "/claim", Handler: a.idem.Wrap(OpCreateClaim, h(a.legacyCreate))},
		{Operation: OpGetClaim, Method: http.MethodGet, Pattern: "/claim/{id}", Handler: h(a.legacyGet)},
		{Operation: OpUpdateClaim, Method: http.MethodPut, Pattern: "/claim/{id}", Handler: h(a.legacyReplace)},
		{Operation: OpDeleteClaim, Method: http.MethodDelete, Pattern: "/claim/{id}", Handler: h(a.legacyDelete)},
	}
	return httpapi.Select(all, operations...)
}

// Router returns a router over Routes(operations...).
func (a *API) Router(operations ...string) *httpapi.Router {
	return httpapi.NewRouter(a.Routes(operations...)...)
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
	Version     int64  `json:"version"`
	CreatedAt   string `json:"createdAt"`
	UpdatedAt   string `json:"updatedAt"`
}

func toJSON(c domain.Claim) claimJSON {
	return claimJSON{
		ClaimID: c.ID, MemberID: c.MemberID, MemberName: c.MemberName,
		PolicyID: c.PolicyID, PolicyType: c.PolicyType,
		Amount: c.Amount, Currency: c.Currency, Description: c.Description,
		Status: string(c.Status), Version: c.Version,
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
	c, err := a.svc.Create(ctx, member, domain.Details{
		MemberName: body.MemberName, PolicyID: body.PolicyID, PolicyType: body.PolicyType,
		Amount: body.Amount, Currency: body.Currency, Description: body.Description,
	})
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	resp := claimResponse(http.StatusCreated, c, toJSON(c))
	resp.Header.Set("Location", "/members/"+c.MemberID+"/claims/"+c.ID)
	return resp, nil
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
	p := app.Patch{
		MemberName: body.MemberName, PolicyID: body.PolicyID, PolicyType: body.PolicyType,
		Amount: body.Amount, Currency: body.Currency, Description: body.Description,
	}
	if body.Status != nil {
		st := domain.Status(*body.Status)
		p.Status = &st
	}
	if p == (app.Patch{}) {
		return ports.Response{}, apiError(CodeEmptyPatch, "")
	}
	c, err := a.svc.Update(ctx, member, claim, p, version)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return claimResponse(http.StatusOK, c, toJSON(c)), nil
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
	if err := a.svc.Delete(ctx, member, claim, version); err != nil {
		return ports.Response{}, mapError(err)
	}
	return httpapi.NoContent(), nil
}

// RouteTable returns the routes with their operations, for tooling that
// needs the table without serving it (the infrastructure templates); its
// handlers must not be called.
func RouteTable() []httpapi.Route { return (&API{}).Routes() }
