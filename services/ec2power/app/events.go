package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// EventSource is the source of every event ec2power publishes.
const EventSource = "hexlambda.ec2power"

// The kinds of event (their detail-type), documented with their fields in
// api/events.md.
const (
	EventInstanceStarted     = "Instance Started"
	EventInstanceStopped     = "Instance Stopped"
	EventInstanceStartFailed = "Instance Start Failed"
	EventInstanceStopFailed  = "Instance Stop Failed"
	EventLeaseGranted        = "Lease Granted"
	EventLeaseExtended       = "Lease Extended"
	EventLeaseReleased       = "Lease Released"
	EventLeaseExpired        = "Lease Expired"
	// EventScheduleActionSkipped: a window opened or closed on an
	// instance on hold (or, closing, holding a lease), which was left as
	// it was.
	EventScheduleActionSkipped = "Schedule Action Skipped"
)

// EventKinds lists every detail-type.
var EventKinds = []string{
	EventInstanceStarted, EventInstanceStopped, EventInstanceStartFailed, EventInstanceStopFailed,
	EventLeaseGranted, EventLeaseExtended, EventLeaseReleased, EventLeaseExpired, EventScheduleActionSkipped,
}

// What caused an action.
const (
	// TriggerAPI: a caller of the API.
	TriggerAPI = "api"
	// TriggerLease: the end of a lease.
	TriggerLease = "lease"
)

// Event is a state change ec2power caused or observed, published so that
// teams can route it to chat, mail or tickets.
type Event struct {
	DetailType string
	Detail     EventDetail
}

// EventDetail is an event's detail, as documented in api/events.md. Who
// asked is not in it (events reach wider audiences than the history);
// RequestID leads an auditor to the history entry.
type EventDetail struct {
	InstanceID    string       `json:"instanceId"`
	Name          string       `json:"name,omitempty"`
	Group         string       `json:"group,omitempty"`
	Action        string       `json:"action,omitempty"`
	Result        string       `json:"result,omitempty"`
	PreviousState string       `json:"previousState,omitempty"`
	State         string       `json:"state,omitempty"`
	Code          string       `json:"code,omitempty"`
	Reason        string       `json:"reason,omitempty"`
	Trigger       string       `json:"trigger"`
	Schedule      string       `json:"schedule,omitempty"`
	Until         string       `json:"until,omitempty"`
	RequestID     string       `json:"requestId,omitempty"`
	Lease         *LeaseDetail `json:"lease,omitempty"`
}

// LeaseDetail is the lease an event concerns.
type LeaseDetail struct {
	ExpiresAt         string `json:"expiresAt"`
	PreviousExpiresAt string `json:"previousExpiresAt,omitempty"`
	EndReason         string `json:"endReason,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Publisher sends events to where teams subscribe to them. Its contract
// is tested with its adapters.
type Publisher interface {
	Publish(ctx context.Context, events ...Event) error
}

// publish sends events; a failure never fails the action that caused
// them: it is logged (the adapter counts it in the metrics).
func (s *Power) publish(ctx context.Context, events ...Event) {
	if len(events) == 0 || s.fx.Events == nil {
		return
	}
	if err := s.fx.Events.Publish(context.WithoutCancel(ctx), events...); err != nil {
		kinds := make([]string, len(events))
		for i, e := range events {
			kinds[i] = e.DetailType
		}
		s.logger.ErrorContext(ctx, "events not published", slog.Any("detailTypes", kinds), slog.String("error", err.Error()))
	}
}

// resultEvent is the event of an action's result, if it changed anything
// or failed (a dry run or an instance left as it was publishes nothing).
func resultEvent(action domain.Action, in domain.Instance, group string, r domain.Result, opts ActOptions, who Who) (Event, bool) {
	if opts.DryRun || r.Outcome == domain.Unchanged {
		return Event{}, false
	}
	kind := map[bool]map[domain.Action]string{
		true:  {domain.Start: EventInstanceStarted, domain.Stop: EventInstanceStopped},
		false: {domain.Start: EventInstanceStartFailed, domain.Stop: EventInstanceStopFailed},
	}[r.OK()][action]
	d := EventDetail{
		InstanceID: r.InstanceID, Name: in.Tags["Name"], Group: group, Action: string(action), Result: string(r.Outcome),
		PreviousState: string(r.Previous), State: string(r.State), Code: r.Code, Trigger: opts.triggerName(), RequestID: who.RequestID,
		Schedule: opts.scheduleName,
	}
	if !r.OK() {
		d.Reason = r.Message
		if r.StateReason != "" {
			d.Reason = r.StateReason
		}
	}
	return Event{DetailType: kind, Detail: d}, true
}
