// Package app holds the claims use cases. It depends only on the ports.
package app

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// Update applies a patch to the claim at expectedVersion, in one
// conditional write: the version must match and the claim's status must
// allow the change. It fails with ErrVersionMismatch on another version,
// and with the domain's ErrInvalidTransition or ErrClaimLocked otherwise.
func (s *Service) Update(ctx context.Context, memberID, claimID string, p Patch, expectedVersion int64) (domain.Claim, error) {
	return s.patch(ctx, memberID, claimID, p, expectedVersion)
}

// Replace applies a patch to the latest version of a claim, whatever it is
// (the legacy PUT, which knows no versions), still in one conditional
// write: the status rules hold against the claim as it is at that moment,
// and fields the patch leaves alone are never reverted.
func (s *Service) Replace(ctx context.Context, memberID, claimID string, p Patch) (domain.Claim, error) {
	return s.patch(ctx, memberID, claimID, p, 0)
}

func (p Patch) editsDetails() bool {
	return p.MemberName != nil || p.PolicyID != nil || p.PolicyType != nil || p.Amount != nil || p.Currency != nil || p.Description != nil
}

// attributes validates the patch and returns what it writes.
func (p Patch) attributes(now time.Time) (ports.Attributes, error) {
	attrs := ports.Attributes{"updatedAt": now.UTC().Format(timeLayout)}
	checks := []struct {
		name  string
		value *string
		check func(string) error
	}{
		{"memberName", p.MemberName, domain.ValidateMemberName},
		{"policyId", p.PolicyID, func(v string) error { return domain.ValidateIdentifier("policyId", v) }},
		{"policyType", p.PolicyType, domain.ValidatePolicyType},
		{"currency", p.Currency, domain.ValidateCurrency},
		{"description", p.Description, domain.ValidateDescription},
	}
	for _, c := range checks {
		if c.value == nil {
			continue
		}
		if err := c.check(*c.value); err != nil {
			return nil, err
		}
		attrs[c.name] = *c.value
	}
	if p.Amount != nil {
		if err := domain.ValidateAmount(*p.Amount); err != nil {
			return nil, err
		}
		attrs["amount"] = *p.Amount
	}
	if p.Status != nil {
		attrs["status"] = string(*p.Status)
	}
	return attrs, nil
}

func (s *Service) patch(ctx context.Context, memberID, claimID string, p Patch, expectedVersion int64) (domain.Claim, error) {
	allowed, err := domain.AllowedFrom(p.Status, p.editsDetails())
	if err != nil {
		return domain.Claim{}, err
	}
	attrs, err := p.attributes(s.clock.Now())
	if err != nil {
		return domain.Claim{}, err
	}
	if len(allowed) == 0 {
		// No status allows this change (say, details and paid together):
		// read the claim only to say why.
		cur, err := s.table.Get(ctx, ClaimKey(memberID, claimID))
		if err != nil {
			return domain.Claim{}, fmt.Errorf("update claim: %w", err)
		}
		return domain.Claim{}, explain(cur, p, expectedVersion)
	}
	from := make([]any, 0, len(allowed))
	for _, st := range allowed {
		from = append(from, string(st))
	}
	it, err := s.table.Patch(ctx, ClaimKey(memberID, claimID), attrs, expectedVersion,
		ports.Condition{Attribute: "entity", Equals: entityClaim},
		ports.Condition{Attribute: "status", OneOf: from})
	var ce *ports.ConditionError
	switch {
	case errors.As(err, &ce):
		return domain.Claim{}, explain(ce.Current, p, expectedVersion)
	case err != nil:
		return domain.Claim{}, fmt.Errorf("update claim: %w", err)
	}
	return fromItem(it)
}

// explain says why a patch was refused, from the claim as it is.
func explain(current ports.Item, p Patch, expectedVersion int64) error {
	if expectedVersion > 0 && current.Version != expectedVersion {
		return fmt.Errorf("%w: expected %d, stored %d", ErrVersionMismatch, expectedVersion, current.Version)
	}
	status, _ := current.Attributes["status"].(string)
	cur := domain.Status(status)
	if p.Status != nil && !cur.CanMoveTo(*p.Status) {
		return fmt.Errorf("%w: %s -> %s", domain.ErrInvalidTransition, cur, *p.Status)
	}
	if p.editsDetails() && cur != domain.StatusPending {
		return fmt.Errorf("%w: claim is %s", domain.ErrClaimLocked, cur)
	}
	if p.Status != nil && p.editsDetails() {
		// Details may change only while pending, and pending cannot move
		// to this status in the same change.
		return fmt.Errorf("%w: %s -> %s while editing details", domain.ErrInvalidTransition, cur, *p.Status)
	}
	return fmt.Errorf("%w: changed concurrently", ErrVersionMismatch)
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
