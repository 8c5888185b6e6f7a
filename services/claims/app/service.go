// Package app holds the claims use cases. It depends only on its ports: the
// claim store it declares (ClaimStore) and the platform's clock and ids.
// Every change reads the claim, lets the domain decide, and writes the
// result with its history entry in one conditional transaction.
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

// Errors of the use cases.
var (
	// ErrHistoryNotFound: nothing was ever recorded for the claim.
	ErrHistoryNotFound = errors.New("no history for this claim")
	// ErrDecisionRequired: an edit asked to change the status, which only
	// a decision (approve, reject, pay, withdraw) does.
	ErrDecisionRequired = errors.New("a change of status is a decision")
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

func (s *Service) entry(c domain.Claim, version int64, ev Event, by Actor, changes map[string]any) HistoryEntry {
	return HistoryEntry{
		ClaimID: c.ID, MemberID: c.MemberID, Version: version, Event: ev,
		At: s.clock.Now().UTC(), Actor: by, Changes: changes,
	}
}

// Create files a new pending claim for a member.
func (s *Service) Create(ctx context.Context, memberID string, d domain.Details, by Actor) (domain.Claim, error) {
	c, err := domain.New(s.ids.NewID(), memberID, d, s.clock.Now().UTC())
	if err != nil {
		return domain.Claim{}, err
	}
	created, err := s.store.Create(ctx, c, s.entry(c, 1, EventCreated, by, map[string]any{
		"memberName": d.MemberName, "policyId": d.PolicyID, "policyType": d.PolicyType,
		"amount": d.Amount, "currency": d.Currency, "description": d.Description,
	}))
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

// History returns a page of a claim's history, oldest first; it outlives
// the claim.
func (s *Service) History(ctx context.Context, memberID, claimID string, limit int, cursor string) (HistoryPage, error) {
	page, err := s.store.History(ctx, memberID, claimID, limit, cursor)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("claim history: %w", err)
	}
	if cursor == "" && len(page.Entries) == 0 {
		return HistoryPage{}, fmt.Errorf("claim %s of %s: %w", claimID, memberID, ErrHistoryNotFound)
	}
	return page, nil
}

// load reads a claim and checks the version the client expects (any when
// expectedVersion is 0).
func (s *Service) load(ctx context.Context, memberID, claimID string, expectedVersion int64) (domain.Claim, error) {
	c, err := s.store.Get(ctx, memberID, claimID)
	if err != nil {
		return domain.Claim{}, fmt.Errorf("read claim: %w", err)
	}
	if expectedVersion > 0 && c.Version != expectedVersion {
		return domain.Claim{}, fmt.Errorf("%w: expected %d, stored %d", ErrVersionMismatch, expectedVersion, c.Version)
	}
	return c, nil
}

// save writes a changed claim; a concurrent change between the read and
// the write is a version mismatch when the client named a version.
func (s *Service) save(ctx context.Context, c domain.Claim, h HistoryEntry, expectedVersion int64) (domain.Claim, error) {
	saved, err := s.store.Save(ctx, c, h)
	if errors.Is(err, ErrChangedConcurrently) && expectedVersion > 0 {
		return domain.Claim{}, fmt.Errorf("%w: %w", ErrVersionMismatch, err)
	}
	if err != nil {
		return domain.Claim{}, fmt.Errorf("save claim: %w", err)
	}
	return saved, nil
}

// Edit changes the details of a pending claim at expectedVersion (the
// latest when 0). An edit never changes the status.
func (s *Service) Edit(ctx context.Context, memberID, claimID string, e domain.Edit, expectedVersion int64, by Actor) (domain.Claim, error) {
	c, err := s.load(ctx, memberID, claimID, expectedVersion)
	if err != nil {
		return domain.Claim{}, err
	}
	return s.edit(ctx, c, e, expectedVersion, by)
}

func (s *Service) edit(ctx context.Context, c domain.Claim, e domain.Edit, expectedVersion int64, by Actor) (domain.Claim, error) {
	next, changed, err := c.Apply(e, s.clock.Now().UTC())
	if err != nil {
		return domain.Claim{}, err
	}
	if len(changed) == 0 {
		return c, nil
	}
	return s.save(ctx, next, s.entry(c, c.Version+1, EventDetailsChanged, by, changed), expectedVersion)
}

// Replace is the replaced API's full update: it sets the details of the
// latest version of a pending claim and states its status, which must be
// the claim's own (ErrDecisionRequired otherwise: decisions are their own
// operations).
func (s *Service) Replace(ctx context.Context, memberID, claimID string, e domain.Edit, status domain.Status, by Actor) (domain.Claim, error) {
	c, err := s.load(ctx, memberID, claimID, 0)
	if err != nil {
		return domain.Claim{}, err
	}
	if status != c.Status {
		return domain.Claim{}, fmt.Errorf("%w: %s -> %s", ErrDecisionRequired, c.Status, status)
	}
	return s.edit(ctx, c, e, 0, by)
}

var decisionEvents = map[domain.Status]Event{
	domain.StatusApproved:  EventApproved,
	domain.StatusRejected:  EventRejected,
	domain.StatusPaid:      EventPaid,
	domain.StatusWithdrawn: EventWithdrawn,
}

// Decide approves, rejects, pays or withdraws the claim at expectedVersion
// (required: a decision is always about the version the decider saw).
func (s *Service) Decide(ctx context.Context, memberID, claimID string, d domain.Decision, expectedVersion int64, by Actor) (domain.Claim, error) {
	if expectedVersion < 1 {
		return domain.Claim{}, fmt.Errorf("%w: a decision needs the claim's version", ErrVersionMismatch)
	}
	c, err := s.load(ctx, memberID, claimID, expectedVersion)
	if err != nil {
		return domain.Claim{}, err
	}
	next, err := c.Decide(d, s.clock.Now().UTC())
	if err != nil {
		return domain.Claim{}, err
	}
	changes := map[string]any{"status": string(d.To)}
	if next.Reason != c.Reason {
		changes["reason"] = next.Reason
	}
	if next.PaymentReference != c.PaymentReference {
		changes["paymentReference"] = next.PaymentReference
	}
	return s.save(ctx, next, s.entry(c, c.Version+1, decisionEvents[d.To], by, changes), expectedVersion)
}

// Delete removes a pending claim at expectedVersion (the latest when 0); a
// decided or withdrawn claim is never deleted (domain.ErrClaimDecided).
func (s *Service) Delete(ctx context.Context, memberID, claimID string, expectedVersion int64, by Actor) error {
	c, err := s.load(ctx, memberID, claimID, expectedVersion)
	if err != nil {
		return err
	}
	if err := c.CheckDeletable(); err != nil {
		return err
	}
	err = s.store.Delete(ctx, c, s.entry(c, c.Version+1, EventDeleted, by, nil))
	if errors.Is(err, ErrChangedConcurrently) && expectedVersion > 0 {
		return fmt.Errorf("%w: %w", ErrVersionMismatch, err)
	}
	if err != nil {
		return fmt.Errorf("delete claim: %w", err)
	}
	return nil
}
