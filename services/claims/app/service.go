// Package app holds the claims use cases. It depends only on its ports: the
// claim store it declares (ClaimStore) and the platform's clock and ids.
package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// Service runs the claims use cases.
type Service struct {
	store ClaimStore
	clock ports.Clock
	ids   ports.IDGenerator
}

// NewService returns the claims service over a claim store.
func NewService(store ClaimStore, clock ports.Clock, ids ports.IDGenerator) *Service {
	return &Service{store: store, clock: clock, ids: ids}
}

// Create files a new pending claim for a member.
func (s *Service) Create(ctx context.Context, memberID string, d domain.Details) (domain.Claim, error) {
	c, err := domain.New(s.ids.NewID(), memberID, d, s.clock.Now())
	if err != nil {
		return domain.Claim{}, err
	}
	created, err := s.store.Create(ctx, c)
	if err != nil {
		return domain.Claim{}, fmt.Errorf("create claim: %w", err)
	}
	return created, nil
}

// Get returns one claim of a member.
func (s *Service) Get(ctx context.Context, memberID, claimID string) (domain.Claim, error) {
	c, err := s.store.Get(ctx, memberID, claimID)
	if err != nil {
		return domain.Claim{}, fmt.Errorf("get claim: %w", err)
	}
	return c, nil
}

// List returns a page of a member's claims.
func (s *Service) List(ctx context.Context, memberID string, opts ListOptions) (Page, error) {
	page, err := s.store.List(ctx, memberID, opts)
	if err != nil {
		return Page{}, fmt.Errorf("list claims: %w", err)
	}
	return page, nil
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

// validate checks every field the patch sets.
func (p Patch) validate() error {
	checks := []struct {
		value *string
		check func(string) error
	}{
		{p.MemberName, domain.ValidateMemberName},
		{p.PolicyID, func(v string) error { return domain.ValidateIdentifier("policyId", v) }},
		{p.PolicyType, domain.ValidatePolicyType},
		{p.Currency, domain.ValidateCurrency},
		{p.Description, domain.ValidateDescription},
	}
	for _, c := range checks {
		if c.value == nil {
			continue
		}
		if err := c.check(*c.value); err != nil {
			return err
		}
	}
	if p.Amount != nil {
		if err := domain.ValidateAmount(*p.Amount); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) patch(ctx context.Context, memberID, claimID string, p Patch, expectedVersion int64) (domain.Claim, error) {
	allowed, err := domain.AllowedFrom(p.Status, p.editsDetails())
	if err != nil {
		return domain.Claim{}, err
	}
	if err := p.validate(); err != nil {
		return domain.Claim{}, err
	}
	if len(allowed) == 0 {
		// No status allows this change (say, details and paid together):
		// read the claim only to say why.
		cur, err := s.store.Get(ctx, memberID, claimID)
		if err != nil {
			return domain.Claim{}, fmt.Errorf("update claim: %w", err)
		}
		return domain.Claim{}, explain(cur, p, expectedVersion)
	}
	c, err := s.store.Update(ctx, memberID, claimID, Change{Patch: p, UpdatedAt: s.clock.Now().UTC()}, expectedVersion, allowed)
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		return domain.Claim{}, explain(refused.Current, p, expectedVersion)
	case err != nil:
		return domain.Claim{}, fmt.Errorf("update claim: %w", err)
	}
	return c, nil
}

// explain says why a patch was refused, from the claim as it is.
func explain(cur domain.Claim, p Patch, expectedVersion int64) error {
	if expectedVersion > 0 && cur.Version != expectedVersion {
		return fmt.Errorf("%w: expected %d, stored %d", ErrVersionMismatch, expectedVersion, cur.Version)
	}
	if p.Status != nil && !cur.Status.CanMoveTo(*p.Status) {
		return fmt.Errorf("%w: %s -> %s", domain.ErrInvalidTransition, cur.Status, *p.Status)
	}
	if p.editsDetails() && cur.Status != domain.StatusPending {
		return fmt.Errorf("%w: claim is %s", domain.ErrClaimLocked, cur.Status)
	}
	if p.Status != nil && p.editsDetails() {
		// Details may change only while pending, and pending cannot move
		// to this status in the same change.
		return fmt.Errorf("%w: %s -> %s while editing details", domain.ErrInvalidTransition, cur.Status, *p.Status)
	}
	return fmt.Errorf("%w: changed concurrently", ErrVersionMismatch)
}

// Delete removes a claim; with expectedVersion > 0 only at that version.
func (s *Service) Delete(ctx context.Context, memberID, claimID string, expectedVersion int64) error {
	if err := s.store.Delete(ctx, memberID, claimID, expectedVersion); err != nil {
		return fmt.Errorf("delete claim: %w", err)
	}
	return nil
}
