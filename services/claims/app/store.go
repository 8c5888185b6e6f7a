package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// Errors of the claim store.
var (
	// ErrClaimNotFound: the member has no claim with that id.
	ErrClaimNotFound = errors.New("claim not found")
	// ErrClaimExists: a claim with that id exists already.
	ErrClaimExists = errors.New("claim exists")
	// ErrVersionMismatch means the client's expected version is not the
	// stored one: someone else changed the claim first.
	ErrVersionMismatch = errors.New("claim version does not match")
)

// RefusedError is a store's answer to an Update whose version or status
// condition did not hold: Current is the claim as it is, so the use case
// can say why. It matches ErrVersionMismatch only through the use case's
// explanation, never by itself.
type RefusedError struct {
	Current domain.Claim
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("claim %s refused the change at version %d (status %s)", e.Current.ID, e.Current.Version, e.Current.Status)
}

// Change is what an Update writes: the fields a patch sets (nil fields
// stay as they are) and the time of the change.
type Change struct {
	Patch
	UpdatedAt time.Time
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

// ClaimStore keeps claims, each in one atomic unit. Its contract suite is
// package claimstest; the adapter is package claimstore.
type ClaimStore interface {
	// Create stores a new claim at version 1 and returns it; ErrClaimExists
	// when the member has a claim with its id.
	Create(ctx context.Context, c domain.Claim) (domain.Claim, error)
	// Get returns one claim of a member, or ErrClaimNotFound.
	Get(ctx context.Context, memberID, claimID string) (domain.Claim, error)
	// List returns a page of a member's claims in id order; a cursor
	// continues the query that returned it (same member and status).
	List(ctx context.Context, memberID string, opts ListOptions) (Page, error)
	// Update writes ch in one atomic step when the stored version is
	// expectedVersion (any version when 0) and the status is one of from,
	// and returns the claim as changed with the next version. It returns
	// ErrClaimNotFound, or a *RefusedError when a condition did not hold.
	Update(ctx context.Context, memberID, claimID string, ch Change, expectedVersion int64, from []domain.Status) (domain.Claim, error)
	// Delete removes a claim; with expectedVersion > 0 only at that
	// version (ErrVersionMismatch otherwise). ErrClaimNotFound when absent.
	Delete(ctx context.Context, memberID, claimID string, expectedVersion int64) error
}
