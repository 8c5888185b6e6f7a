// Package app holds the claims use cases. It depends only on the ports.
package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// ErrVersionMismatch means the client's expected version is not the stored
// one: someone else changed the claim first.
var ErrVersionMismatch = errors.New("claim version does not match")

// Service runs the claims use cases.
type Service struct {
	table ports.Table
	clock ports.Clock
	ids   ports.IDGenerator
}

// NewService returns the claims service over a table.
func NewService(table ports.Table, clock ports.Clock, ids ports.IDGenerator) *Service {
	return &Service{table: table, clock: clock, ids: ids}
}

// Create files a new pending claim for a member.
func (s *Service) Create(ctx context.Context, memberID string, d domain.Details) (domain.Claim, error) {
	c, err := domain.New(s.ids.NewID(), memberID, d, s.clock.Now())
	if err != nil {
		return domain.Claim{}, err
	}
	it, err := s.table.Create(ctx, toItem(c))
	if err != nil {
		return domain.Claim{}, fmt.Errorf("create claim: %w", err)
	}
	c.Version = it.Version
	return c, nil
}

// Get returns one claim of a member.
func (s *Service) Get(ctx context.Context, memberID, claimID string) (domain.Claim, error) {
	it, err := s.table.Get(ctx, ClaimKey(memberID, claimID))
	if err != nil {
		return domain.Claim{}, fmt.Errorf("get claim: %w", err)
	}
	return fromItem(it)
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

// List returns a page of a member's claims.
func (s *Service) List(ctx context.Context, memberID string, opts ListOptions) (Page, error) {
	q := ports.Query{
		Partition:  memberPrefix + memberID,
		SortPrefix: claimPrefix,
		Limit:      opts.Limit,
		Cursor:     opts.Cursor,
	}
	if opts.Status != "" {
		q.Where = []ports.Condition{{Attribute: "status", Equals: string(opts.Status)}}
	}
	page, err := s.table.Query(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list claims: %w", err)
	}
	out := Page{Claims: make([]domain.Claim, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		c, err := fromItem(it)
		if err != nil {
			return Page{}, err
		}
		out.Claims = append(out.Claims, c)
	}
	return out, nil
}

// Patch is a partial change; nil fields stay as they are.
type Patch struct {
	MemberName  *string
	PolicyID    *string
	PolicyType  *string
	Amount      *int64
	Currency    *string
	Description *string
	Status      *domain.Status
}

func (p Patch) apply(c domain.Claim) (domain.Details, domain.Status) {
	d, st := c.Details(), c.Status
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&d.MemberName, p.MemberName)
	set(&d.PolicyID, p.PolicyID)
	set(&d.PolicyType, p.PolicyType)
	set(&d.Currency, p.Currency)
	set(&d.Description, p.Description)
	if p.Amount != nil {
		d.Amount = *p.Amount
	}
	if p.Status != nil {
		st = *p.Status
	}
	return d, st
}

// Update applies a patch to the claim at expectedVersion. It fails with
// ErrVersionMismatch when the claim is at another version, also when another
// writer wins the race between the read and the conditional write.
func (s *Service) Update(ctx context.Context, memberID, claimID string, p Patch, expectedVersion int64) (domain.Claim, error) {
	cur, err := s.Get(ctx, memberID, claimID)
	if err != nil {
		return domain.Claim{}, err
	}
	if cur.Version != expectedVersion {
		return domain.Claim{}, fmt.Errorf("%w: expected %d, stored %d", ErrVersionMismatch, expectedVersion, cur.Version)
	}
	d, st := p.apply(cur)
	return s.write(ctx, cur, d, st)
}

// Replace applies a patch to the latest version of a claim, whatever it is
// (the legacy PUT, which knows no versions). The write is still conditional:
// if another writer changes the claim between the read and the write, it
// reads again and retries, so the status rules always hold against the
// latest state and fields the patch leaves alone are never reverted.
func (s *Service) Replace(ctx context.Context, memberID, claimID string, p Patch) (domain.Claim, error) {
	const attempts = 5
	for range attempts {
		cur, err := s.Get(ctx, memberID, claimID)
		if err != nil {
			return domain.Claim{}, err
		}
		d, st := p.apply(cur)
		c, err := s.write(ctx, cur, d, st)
		if !errors.Is(err, ErrVersionMismatch) {
			return c, err
		}
	}
	return domain.Claim{}, fmt.Errorf("replace claim after %d attempts: %w", attempts, ports.ErrConflict)
}

func (s *Service) write(ctx context.Context, cur domain.Claim, d domain.Details, st domain.Status) (domain.Claim, error) {
	next, err := cur.Change(d, st, s.clock.Now())
	if err != nil {
		return domain.Claim{}, err
	}
	it, err := s.table.Update(ctx, toItem(next), cur.Version)
	switch {
	case errors.Is(err, ports.ErrConflict):
		return domain.Claim{}, fmt.Errorf("%w: changed concurrently", ErrVersionMismatch)
	case err != nil:
		return domain.Claim{}, fmt.Errorf("update claim: %w", err)
	}
	next.Version = it.Version
	return next, nil
}

// Delete removes a claim; with expectedVersion > 0 only at that version.
func (s *Service) Delete(ctx context.Context, memberID, claimID string, expectedVersion int64) error {
	err := s.table.Delete(ctx, ClaimKey(memberID, claimID), expectedVersion)
	if errors.Is(err, ports.ErrConflict) {
		return fmt.Errorf("%w: delete refused", ErrVersionMismatch)
	}
	if err != nil {
		return fmt.Errorf("delete claim: %w", err)
	}
	return nil
}
