package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// ResultRequested is the Result of an audit entry whose action has not
// finished yet.
const ResultRequested = "requested"

// CodeInterrupted is how the history shows an entry still requested after
// its function's deadline: result timed_out, code interrupted. The function acting
// on it stopped (killed, or past its timeout) before it recorded the
// result; whether the action happened is in the instance's state, and a
// retry acts and records as usual.
const CodeInterrupted = "interrupted"

// InterruptedAfter is Lambda's longest run: no function still works on an
// entry requested longer ago.
const InterruptedAfter = 15 * time.Minute

// ErrAuditEntryNotOpen means Complete found no open entry to complete: the
// entry does not exist or was completed already. Entries are append-only.
var ErrAuditEntryNotOpen = errors.New("audit entry is not open")

// ErrInstanceBusy means another action on the instance is open: actions
// on one instance run one at a time, each deciding on the state it reads
// once the instance is its own, so EC2 never receives a start or a stop
// that the state machine forbids. The other action's entry is closed
// when it finishes, or when its function's deadline passes.
var ErrInstanceBusy = errors.New("another start or stop of the instance is in progress")

// Who identifies the request behind an action.
type Who struct {
	ports.Caller
	RequestID string
}

// AuditEntry is one recorded request to start or stop one instance. An
// entry is identified by its instance, its RequestedAt and its RequestID.
type AuditEntry struct {
	InstanceID  string
	Action      domain.Action
	DryRun      bool
	Group       string
	RequestID   string
	APIKeyID    string
	Principal   string
	SourceIP    string
	RequestedAt time.Time
	// Result is ResultRequested until the action finishes, then its
	// outcome.
	Result     string
	Code       string
	State      domain.InstanceState
	FinishedAt time.Time
	// LeaseExpiresAt is the end of the lease a start came with.
	LeaseExpiresAt time.Time
	// Trigger is what caused the action: TriggerLease for a lease's
	// expiry; empty for a caller of the API.
	Trigger string
	// Deadline is when the function acting on it stops at the latest:
	// the log records it at Open from the context's deadline (zero:
	// RequestedAt + InterruptedAfter). An entry still requested after it
	// was interrupted, and its instance is free again.
	Deadline time.Time
}

// deadline is when the entry's function stops at the latest.
func (e AuditEntry) deadline() time.Time {
	if e.Deadline.IsZero() {
		return e.RequestedAt.Add(InterruptedAfter)
	}
	return e.Deadline
}

// HistoryPage is one page of an instance's audit entries, newest first.
type HistoryPage struct {
	Entries    []AuditEntry
	NextCursor string
}

// AuditLog is the audit trail of start and stop requests, append-only:
// an entry is opened before anything is done and completed once, from its
// open state, with the result. Its contract suite is package audittest.
type AuditLog interface {
	// Open records e (Result ResultRequested) and marks its instance busy
	// until the entry is completed or ctx's deadline passes. It never
	// overwrites an entry: opening one that exists fails; while another
	// entry of the instance is open it fails with ErrInstanceBusy.
	Open(ctx context.Context, e AuditEntry) error
	// Complete records the result fields of e (Result, Code, State,
	// FinishedAt) on the open entry with e's identity, and frees its
	// instance; it fails with ErrAuditEntryNotOpen when there is none.
	Complete(ctx context.Context, e AuditEntry) error
	// History returns a page of limit entries of an instance, newest
	// first, continuing after cursor (a NextCursor of the same instance).
	History(ctx context.Context, instanceID string, limit int, cursor string) (HistoryPage, error)
}

// History reads the audit trail: the use case of instanceHistory.
type History struct {
	audit  AuditLog
	grants Grants
	clock  ports.Clock
}

// NewHistory returns the history use case over the audit log.
func NewHistory(audit AuditLog, grants Grants, clock ports.Clock) *History {
	return &History{audit: audit, grants: grants, clock: clock}
}

// History returns a page of an instance's audit entries, newest first;
// ErrHistoryNotFound when nothing was ever recorded for it. Who asked (API
// key, principal, source address) is shown only to callers whose grant
// allows auditing.
func (h *History) History(ctx context.Context, id string, limit int, cursor string, who Who) (HistoryPage, error) {
	g, err := h.grants.Of(ctx, who.Caller)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("%w: %w", ErrGrantsUnavailable, err)
	}
	page, err := h.audit.History(ctx, id, limit, cursor)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("read audit history of %s: %w", id, err)
	}
	if cursor == "" && len(page.Entries) == 0 {
		return HistoryPage{}, fmt.Errorf("instance %s: %w", id, ErrHistoryNotFound)
	}
	now := h.clock.Now()
	for i := range page.Entries {
		e := &page.Entries[i]
		if e.Result == ResultRequested && now.After(e.deadline()) {
			e.Result, e.Code = string(domain.TimedOut), CodeInterrupted
		}
		if !g.Audit {
			e.APIKeyID, e.Principal, e.SourceIP = "", "", ""
		}
	}
	return page, nil
}
