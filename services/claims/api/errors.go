package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// Codes specific to claims (the platform's, such as invalid_json or
// throttled, come from httpapi).
const (
	CodeInvalidField         = "invalid_field"
	CodeInvalidParameter     = "invalid_parameter"
	CodeMissingParameter     = "missing_parameter"
	CodeInvalidTransition    = "invalid_transition"
	CodeClaimLocked          = "claim_locked"
	CodeVersionMismatch      = "version_mismatch"
	CodePreconditionRequired = "precondition_required"
	CodeInvalidPrecondition  = "invalid_precondition"
	CodeEmptyPatch           = "empty_patch"
	CodeClaimNotFound        = "claim_not_found"
	CodeClaimExists          = "claim_exists"
	CodeClaimChanged         = "claim_changed"
	CodeClaimDecided         = "claim_decided"
	CodeDecisionRequired     = "decision_required"
	CodeClaimDeleted         = "claim_deleted"
	CodeHistoryNotFound      = "history_not_found"
	CodeNotPermitted         = "not_permitted"
)

// problem is how one error code is answered.
type problem struct {
	status  int
	message string
}

// problems is the claims service's one error-code table: every code it
// answers with, its status and its default message.
var problems = map[string]problem{
	CodeInvalidField:         {http.StatusBadRequest, "a field is invalid"},
	CodeInvalidParameter:     {http.StatusBadRequest, "a parameter is invalid"},
	CodeMissingParameter:     {http.StatusBadRequest, "a required parameter is missing"},
	CodeInvalidTransition:    {http.StatusConflict, "the status cannot move that way"},
	CodeClaimLocked:          {http.StatusConflict, "only pending claims can be edited; a decided claim may only change status"},
	CodeVersionMismatch:      {http.StatusPreconditionFailed, "the claim has changed since that version; fetch it again"},
	CodePreconditionRequired: {http.StatusPreconditionRequired, "If-Match with the claim's version (its ETag) is required"},
	CodeInvalidPrecondition:  {http.StatusBadRequest, "If-Match must be a claim version such as \"3\""},
	CodeEmptyPatch:           {http.StatusBadRequest, "the patch changes no field"},
	CodeClaimNotFound:        {http.StatusNotFound, "no such claim for this member"},
	CodeClaimExists:          {http.StatusConflict, "a claim with this id exists already; retry"},
	CodeClaimChanged:         {http.StatusConflict, "the claim changed while this request ran; retry"},
	CodeClaimDecided:         {http.StatusConflict, "only pending claims can be deleted; a decided or withdrawn claim is kept for good"},
	CodeDecisionRequired:     {http.StatusConflict, "a change of status is a decision: use POST /members/{memberId}/claims/{claimId}/approve, /reject, /pay or /withdraw"},
	CodeClaimDeleted:         {http.StatusGone, "the claim this request created has since been deleted"},
	CodeHistoryNotFound:      {http.StatusNotFound, "nothing was ever recorded for this claim"},
	CodeNotPermitted:         {http.StatusForbidden, "the caller's roles do not allow this operation"},
}

// apiError returns the error answered for code, with the table's status and
// message (message, when given, replaces the table's).
func apiError(code, message string) *httpapi.Error {
	p, ok := problems[code]
	if !ok {
		panic(fmt.Sprintf("claims api: error code %q is not in the table", code))
	}
	if message == "" {
		message = p.message
	}
	return httpapi.NewError(p.status, code, message)
}

func invalidParameter(name, message string) *httpapi.Error {
	return apiError(CodeInvalidParameter, message).WithDetail("parameter", name)
}

func missingParameter(name string) *httpapi.Error {
	return apiError(CodeMissingParameter, "query parameter "+name+" is required").WithDetail("parameter", name)
}

func invalidField(field, message string) *httpapi.Error {
	return apiError(CodeInvalidField, message).WithDetail("field", field)
}

// mapError turns domain and use-case errors into API errors; anything else
// goes on to httpapi.AsError at the edge.
func mapError(err error) error {
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		return invalidField(ve.Field, ve.Error())
	case errors.Is(err, domain.ErrInvalidTransition):
		return apiError(CodeInvalidTransition, "the status cannot move that way: "+after(err, domain.ErrInvalidTransition)).WithCause(err)
	case errors.Is(err, domain.ErrClaimLocked):
		return apiError(CodeClaimLocked, "").WithCause(err)
	case errors.Is(err, app.ErrVersionMismatch):
		return apiError(CodeVersionMismatch, "").WithCause(err)
	case errors.Is(err, app.ErrClaimNotFound):
		return apiError(CodeClaimNotFound, "").WithCause(err)
	case errors.Is(err, app.ErrClaimExists):
		return apiError(CodeClaimExists, "").WithCause(err)
	case errors.Is(err, domain.ErrClaimDecided):
		return apiError(CodeClaimDecided, "").WithCause(err)
	case errors.Is(err, app.ErrDecisionRequired):
		return apiError(CodeDecisionRequired, "").WithCause(err)
	case errors.Is(err, app.ErrChangedConcurrently):
		return apiError(CodeClaimChanged, "").WithCause(err)
	case errors.Is(err, app.ErrHistoryNotFound):
		return apiError(CodeHistoryNotFound, "").WithCause(err)
	default:
		return err
	}
}

// after returns what err says after sentinel's own text.
func after(err, sentinel error) string {
	msg := err.Error()
	if i := strings.Index(msg, sentinel.Error()+": "); i >= 0 {
		return msg[i+len(sentinel.Error())+2:]
	}
	return msg
}
