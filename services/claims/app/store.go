package app

import (
	"context"
	"errors"
	"time"

	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// Errors of the claim store.
var (
	// ErrClaimNotFound: the member has no claim with that id.
	ErrClaimNotFound = errors.New("claim not found")
	// ErrClaimExists: a claim with that id exists already.
	ErrClaimExists = errors.New("claim exists")
	// ErrChangedConcurrently: the claim changed between its read and the
	// write that depended on it; nothing was written.
	ErrChangedConcurrently = errors.New("claim changed concurrently")
)

// Event names a change in a claim's history.
type Event string

// The events of a claim's history.
const (
	EventCreated        Event = "created"
	EventDetailsChanged Event = "details_changed"
	EventApproved       Event = "approved"
	EventRejected       Event = "rejected"
	EventPaid           Event = "paid"
	EventWithdrawn      Event = "withdrawn"
	EventDeleted        Event = "deleted"
)

// Actor is who asked for a change, as the transport verified it.
type Actor struct {
	Principal string
	APIKeyID  string
	SourceIP  string
	RequestID string
}

// HistoryEntry is one change of a claim, kept for good: created, details
// changed, approved, rejected, paid, withdrawn or deleted. Version is the
// claim's version the change produced (for a deletion, the version deleted
// plus one), so entries are ordered and unique.
type HistoryEntry struct {
	ClaimID  string
	MemberID string
	Version  int64
	Event    Event
	At       time.Time
	Actor    Actor
	// Changes are the fields the change set, by their API names.
	Changes map[string]any
}

// ListOptions select a page of a member's claims.
type ListOptions struct {
	Status domain.Status // empty for all
	Limit  int
	Cursor string
}

// Page is one page of claims, oldest first (claim ids are time-ordered).
type Page struct {
	Claims     []domain.Claim
	NextCursor string
}

// HistoryPage is one page of a claim's history, oldest first.
type HistoryPage struct {
	Entries    []HistoryEntry
	NextCursor string
}

// ClaimStore keeps claims and their history. Every write stores the change
// and its history entry in one atomic transaction. Its contract suite is
// package claimstest; the adapter is package claimstore.
type ClaimStore interface {
	// Create stores a new claim at version 1 with its history entry and
	// returns it; ErrClaimExists when the member has a claim with its id.
	Create(ctx context.Context, c domain.Claim, h HistoryEntry) (domain.Claim, error)
	// Get returns one claim of a member, or ErrClaimNotFound.
	Get(ctx context.Context, memberID, claimID string) (domain.Claim, error)
	// List returns a page of a member's claims in id order; a cursor
	// continues the query that returned it (same member and status).
	List(ctx context.Context, memberID string, opts ListOptions) (Page, error)
	// Save writes c, read at c.Version, as version c.Version+1 with its
	// history entry, and returns it. It returns ErrClaimNotFound, or
	// ErrChangedConcurrently when the stored claim is no longer at
	// c.Version.
	Save(ctx context.Context, c domain.Claim, h HistoryEntry) (domain.Claim, error)
	// Delete removes c, read at c.Version, while it is still at that
	// version and pending, and records h; ErrChangedConcurrently otherwise.
	Delete(ctx context.Context, c domain.Claim, h HistoryEntry) error
	// History returns a page of a claim's history, oldest first.
	History(ctx context.Context, memberID, claimID string, limit int, cursor string) (HistoryPage, error)
}
