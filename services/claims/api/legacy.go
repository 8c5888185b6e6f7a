package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// The compatibility routes of the API this service replaces:
//
//	POST   /claim?memberId=&policyId=&memberName=   {policyType, claimAmount, description, status}
//	GET    /claim/{id}?memberId=
//	PUT    /claim/{id}?memberId=                    full replace of the details of a pending claim;
//	                                                its status must stay (decisions have their own routes)
//	DELETE /claim/{id}?memberId=
//
// claimAmount is a decimal (number or string) in major units of the service's default currency.
// Responses are the claim representation plus claimAmount.

// legacyClaimJSON is the claim representation plus the old amount field.
type legacyClaimJSON struct {
	claimJSON
	ClaimAmount json.Number `json:"claimAmount"`
}

func toLegacyJSON(c domain.Claim) legacyClaimJSON {
	return legacyClaimJSON{claimJSON: toJSON(c), ClaimAmount: json.Number(domain.FormatMajor(c.Amount, c.Currency))}
}

type legacyBody struct {
	PolicyType  string       `json:"policyType"`
	ClaimAmount *json.Number `json:"claimAmount"`
	Description string       `json:"description"`
	Status      *string      `json:"status"`
}

func requiredQuery(req ports.Request, name string) (string, error) {
	v := req.Query.Get(name)
	if v == "" {
		return "", missingParameter(name)
	}
	return v, nil
}

// decodeLegacy decodes a legacy body; claimAmount is required.
func (a *API) decodeLegacy(req ports.Request) (legacyBody, int64, error) {
	var body legacyBody
	if err := httpapi.DecodeJSON(req, &body, serverOwned...); err != nil {
		return legacyBody{}, 0, err
	}
	if body.ClaimAmount == nil {
		return legacyBody{}, 0, invalidField("claimAmount", "claimAmount: is required")
	}
	amount, err := domain.ParseMajor(body.ClaimAmount.String(), a.defaultCurrency)
	if err != nil {
		return legacyBody{}, 0, mapError(err)
	}
	return body, amount, nil
}

func (a *API) legacyCreate(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, err := requiredQuery(req, "memberId")
	if err != nil {
		return ports.Response{}, err
	}
	if member, err = memberID(member); err != nil {
		return ports.Response{}, err
	}
	policy, err := requiredQuery(req, "policyId")
	if err != nil {
		return ports.Response{}, err
	}
	name, err := requiredQuery(req, "memberName")
	if err != nil {
		return ports.Response{}, err
	}
	body, amount, err := a.decodeLegacy(req)
	if err != nil {
		return ports.Response{}, err
	}
	if err := checkInitialStatus(body.Status); err != nil {
		return ports.Response{}, err
	}
	c, err := a.svc.Create(withCompletion(ctx, legacyCreated), member, domain.Details{
		MemberName: name, PolicyID: policy, PolicyType: body.PolicyType,
		Amount: amount, Currency: a.defaultCurrency, Description: body.Description,
	}, actor(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return legacyCreated(c), nil
}

// legacyCreated is the answer to a claim created by the compatibility route.
func legacyCreated(c domain.Claim) ports.Response {
	resp := claimResponse(http.StatusCreated, c, toLegacyJSON(c))
	resp.Header.Set("Location", "/claim/"+c.ID+"?memberId="+c.MemberID)
	return resp
}

func legacyIDs(req ports.Request) (member, claim string, err error) {
	m, err := requiredQuery(req, "memberId")
	if err != nil {
		return "", "", err
	}
	if member, err = memberID(m); err != nil {
		return "", "", err
	}
	if claim, err = claimID("id", req.PathParams["id"]); err != nil {
		return "", "", err
	}
	return member, claim, nil
}

func (a *API) legacyGet(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := legacyIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	c, err := a.svc.Get(ctx, member, claim)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return claimResponse(http.StatusOK, c, toLegacyJSON(c)), nil
}

func (a *API) legacyReplace(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := legacyIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	body, amount, err := a.decodeLegacy(req)
	if err != nil {
		return ports.Response{}, err
	}
	if body.Status == nil {
		return ports.Response{}, invalidField("status", "status: is required")
	}
	status := domain.Status(*body.Status)
	if !status.Valid() {
		return ports.Response{}, invalidField("status", "status: must be one of pending, approved, rejected, paid, withdrawn")
	}
	c, err := a.svc.Replace(ctx, member, claim, domain.Edit{
		PolicyType: &body.PolicyType, Amount: &amount, Currency: &a.defaultCurrency, Description: &body.Description,
	}, status, actor(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return claimResponse(http.StatusOK, c, toLegacyJSON(c)), nil
}

func (a *API) legacyDelete(ctx context.Context, req ports.Request) (ports.Response, error) {
	member, claim, err := legacyIDs(req)
	if err != nil {
		return ports.Response{}, err
	}
	if err := a.svc.Delete(ctx, member, claim, 0, actor(req)); err != nil {
		return ports.Response{}, mapError(err)
	}
	return httpapi.NoContent(), nil
}
