package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// Codes specific to ec2power's HTTP API; the failure codes of an action on
// one instance are the domain's (domain.CodeIncorrectState, ...).
const (
	CodeInvalidParameter  = "invalid_parameter"
	CodeNotManaged        = "not_managed"
	CodeInstanceNotFound  = "instance_not_found"
	CodeGroupNotFound     = "group_not_found"
	CodeAuditUnavailable  = "audit_unavailable"
	CodeNoDefaultTarget   = "no_default_target"
	CodeHistoryNotFound   = "history_not_found"
	CodeNotPermitted      = "not_permitted"
	CodeGrantsUnavailable = "grants_unavailable"
	CodeLeaseTooLong      = "lease_too_long"
	CodeNoLease           = "no_lease"
	CodeLeaseExpiring     = "lease_expiring"
	CodeInvalidSchedule   = "invalid_schedule"
	CodeScheduleNotFound  = "schedule_not_found"
	CodeScheduleChanged   = "schedule_changed"
	CodeSchedulesUnavail  = "schedules_unavailable"
	CodeNoHold            = "no_hold"
	CodeInvalidHold       = "invalid_hold"
)

// problem is how one error code is answered.
type problem struct {
	status int
	// retryAfter, in seconds, is sent as Retry-After when positive.
	retryAfter int
	message    string
}

// problems is ec2power's one error-code table: every code the service
// answers with, its status, its Retry-After and its default message. The
// same code always gets the same status and Retry-After, whether it ends a
// request or fails one instance of a single-instance action.
var problems = map[string]problem{
	CodeInvalidParameter:  {http.StatusBadRequest, 0, "a parameter is invalid"},
	CodeNotManaged:        {http.StatusForbidden, 0, "this instance is not managed by ec2power"},
	CodeInstanceNotFound:  {http.StatusNotFound, 0, "no such managed instance"},
	CodeGroupNotFound:     {http.StatusNotFound, 0, "no managed instance belongs to this group"},
	CodeAuditUnavailable:  {http.StatusServiceUnavailable, 5, "the request could not be recorded, so nothing was done; retry"},
	CodeNoDefaultTarget:   {http.StatusNotFound, 0, "no default target is configured for this route"},
	CodeHistoryNotFound:   {http.StatusNotFound, 0, "nothing was ever recorded for this instance"},
	CodeNotPermitted:      {http.StatusForbidden, 0, "this instance or group is outside the caller's grant; nothing was done"},
	CodeGrantsUnavailable: {http.StatusServiceUnavailable, 5, "the caller's grant could not be read, so nothing was done; retry"},
	CodeLeaseTooLong:      {http.StatusBadRequest, 0, "the lease is longer than this stage allows"},
	CodeNoLease:           {http.StatusNotFound, 0, "the instance holds no lease"},
	CodeLeaseExpiring:     {http.StatusConflict, 0, "the lease is over and its instance is being stopped; start it again with a new lease"},
	CodeInvalidSchedule:   {http.StatusBadRequest, 0, "the schedule is invalid"},
	CodeScheduleNotFound:  {http.StatusNotFound, 0, "no such schedule"},
	CodeScheduleChanged:   {http.StatusPreconditionFailed, 0, "the schedule changed since the version given in If-Match; read it again"},
	CodeSchedulesUnavail:  {http.StatusServiceUnavailable, 5, "the schedule's EventBridge schedules could not be written; send it again"},
	CodeNoHold:            {http.StatusNotFound, 0, "the instance is not on hold"},
	CodeInvalidHold:       {http.StatusBadRequest, 0, "a hold ends in the future, within 31 days"},

	domain.CodeIncorrectState:       {http.StatusConflict, 5, domain.Message(domain.CodeIncorrectState)},
	domain.CodeInsufficientCapacity: {http.StatusServiceUnavailable, 60, domain.Message(domain.CodeInsufficientCapacity)},
	domain.CodeThrottled:            {http.StatusServiceUnavailable, 5, domain.Message(domain.CodeThrottled)},
	domain.CodeUpstreamDenied:       {http.StatusBadGateway, 0, domain.Message(domain.CodeUpstreamDenied)},
	domain.CodeNotFound:             {http.StatusNotFound, 0, domain.Message(domain.CodeNotFound)},
	domain.CodeStartFailed:          {http.StatusBadGateway, 0, domain.Message(domain.CodeStartFailed)},
	domain.CodeDryRunDenied:         {http.StatusForbidden, 0, domain.Message(domain.CodeDryRunDenied)},
	domain.CodeUpstreamError:        {http.StatusBadGateway, 0, domain.Message(domain.CodeUpstreamError)},
	domain.CodeUnavailable:          {http.StatusServiceUnavailable, 5, domain.Message(domain.CodeUnavailable)},
	domain.CodeLeaseUnavailable:     {http.StatusServiceUnavailable, 5, domain.Message(domain.CodeLeaseUnavailable)},
	domain.CodeInstanceBusy:         {http.StatusConflict, 2, domain.Message(domain.CodeInstanceBusy)},
}

// apiError returns the error answered for code, with the table's status,
// Retry-After and message (message, when given, replaces the table's).
func apiError(code, message string) *httpapi.Error {
	p, ok := problems[code]
	if !ok {
		p = problems[domain.CodeUpstreamError]
	}
	if message == "" {
		message = p.message
	}
	e := httpapi.NewError(p.status, code, message)
	if p.retryAfter > 0 {
		e = e.WithRetryAfter(p.retryAfter)
	}
	return e
}

// invalidSchedule is a 400 saying what is wrong with a schedule.
func invalidSchedule(message string) *httpapi.Error { return apiError(CodeInvalidSchedule, message) }

// invalidParameter is a 400 naming the parameter.
func invalidParameter(name, message string) *httpapi.Error {
	return apiError(CodeInvalidParameter, message).WithDetail("parameter", name)
}

// errorCodes maps the use cases' and the fleet's errors to codes, first
// match wins.
var errorCodes = []struct {
	err  error
	code string
}{
	{app.ErrNotManaged, CodeNotManaged},
	{app.ErrGroupNotFound, CodeGroupNotFound},
	{app.ErrAuditUnavailable, CodeAuditUnavailable},
	{app.ErrInstanceBusy, domain.CodeInstanceBusy},
	{app.ErrNoDefaultTarget, CodeNoDefaultTarget},
	{app.ErrHistoryNotFound, CodeHistoryNotFound},
	{app.ErrNotPermitted, CodeNotPermitted},
	{app.ErrGrantsUnavailable, CodeGrantsUnavailable},
	{app.ErrNoLease, CodeNoLease},
	{app.ErrLeaseExpiring, CodeLeaseExpiring},
	{app.ErrLeasesUnavailable, domain.CodeLeaseUnavailable},
	{app.ErrScheduleNotFound, CodeScheduleNotFound},
	{app.ErrScheduleChanged, CodeScheduleChanged},
	{app.ErrSchedulesUnavailable, CodeSchedulesUnavail},
	{app.ErrNoHold, CodeNoHold},
	{app.ErrInvalidHold, CodeInvalidHold},
	{fleet.ErrNotFound, CodeInstanceNotFound},
	{fleet.ErrThrottled, domain.CodeThrottled},
	{fleet.ErrUnavailable, domain.CodeUnavailable},
	{fleet.ErrDenied, domain.CodeUpstreamDenied},
}

// mapError turns use-case errors into API errors; anything else goes on
// to httpapi.AsError at the edge.
func mapError(err error) error {
	if errors.Is(err, domain.ErrInvalidSchedule) {
		return invalidSchedule(strings.TrimPrefix(err.Error(), domain.ErrInvalidSchedule.Error()+": ")).WithCause(err)
	}
	var limit *app.LeaseLimitError
	if errors.As(err, &limit) {
		return apiError(CodeLeaseTooLong, limit.Reason).WithDetail("maxLease", limit.Max.String()).WithCause(err)
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return apiError(c.code, "").WithCause(err)
		}
	}
	return err
}
