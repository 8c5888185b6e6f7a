// Package claimstore keeps claims (app.ClaimStore) in a generic table
// (ports.Table), single-table style: one partition per member
// (MEMBER#<memberId>), one item per claim (CLAIM#<claimId>). The storage
// layout and attribute names live here and nowhere else.
package claimstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// The layout in the table.
const (
	memberPrefix = "MEMBER#"
	claimPrefix  = "CLAIM#"
	entity       = "claim"
	timeLayout   = time.RFC3339Nano
)

// Store is an app.ClaimStore over a table.
type Store struct {
	table ports.Table
}

var _ app.ClaimStore = (*Store)(nil)

// New returns the claim store kept in table.
func New(table ports.Table) *Store { return &Store{table: table} }

// Key returns the table key of a claim.
func Key(memberID, claimID string) ports.Key {
	return ports.Key{Partition: memberPrefix + memberID, Sort: claimPrefix + claimID}
}

// Create implements app.ClaimStore.
func (s *Store) Create(ctx context.Context, c domain.Claim) (domain.Claim, error) {
	it, err := s.table.Create(ctx, toItem(c))
	if errors.Is(err, ports.ErrConflict) {
		return domain.Claim{}, fmt.Errorf("claim %s of %s: %w", c.ID, c.MemberID, app.ErrClaimExists)
	}
	if err != nil {
		return domain.Claim{}, fmt.Errorf("put claim %s of %s: %w", c.ID, c.MemberID, err)
	}
	c.Version = it.Version
	return c, nil
}

// Get implements app.ClaimStore.
func (s *Store) Get(ctx context.Context, memberID, claimID string) (domain.Claim, error) {
	it, err := s.table.Get(ctx, Key(memberID, claimID))
	if errors.Is(err, ports.ErrNotFound) {
		return domain.Claim{}, fmt.Errorf("claim %s of %s: %w", claimID, memberID, app.ErrClaimNotFound)
	}
	if err != nil {
		return domain.Claim{}, fmt.Errorf("get claim %s of %s: %w", claimID, memberID, err)
	}
	return fromItem(it)
}

// List implements app.ClaimStore.
func (s *Store) List(ctx context.Context, memberID string, opts app.ListOptions) (app.Page, error) {
	q := ports.Query{Partition: memberPrefix + memberID, SortPrefix: claimPrefix, Limit: opts.Limit, Cursor: opts.Cursor}
	if opts.Status != "" {
		q.Where = []ports.Condition{{Attribute: "status", Equals: string(opts.Status)}}
	}
	page, err := s.table.Query(ctx, q)
	if err != nil {
		return app.Page{}, fmt.Errorf("query claims of %s: %w", memberID, err)
	}
	out := app.Page{Claims: make([]domain.Claim, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		c, err := fromItem(it)
		if err != nil {
			return app.Page{}, err
		}
		out.Claims = append(out.Claims, c)
	}
	return out, nil
}

// Update implements app.ClaimStore: one conditional patch of the item.
func (s *Store) Update(ctx context.Context, memberID, claimID string, ch app.Change, expectedVersion int64, from []domain.Status) (domain.Claim, error) {
	statuses := make([]any, 0, len(from))
	for _, st := range from {
		statuses = append(statuses, string(st))
	}
	it, err := s.table.Patch(ctx, Key(memberID, claimID), changeAttributes(ch), expectedVersion,
		ports.Condition{Attribute: "entity", Equals: entity},
		ports.Condition{Attribute: "status", OneOf: statuses})
	var ce *ports.ConditionError
	switch {
	case errors.As(err, &ce):
		cur, cerr := fromItem(ce.Current)
		if cerr != nil {
			return domain.Claim{}, cerr
		}
		return domain.Claim{}, &app.RefusedError{Current: cur}
	case errors.Is(err, ports.ErrNotFound):
		return domain.Claim{}, fmt.Errorf("claim %s of %s: %w", claimID, memberID, app.ErrClaimNotFound)
	case err != nil:
		return domain.Claim{}, fmt.Errorf("update claim %s of %s: %w", claimID, memberID, err)
	}
	return fromItem(it)
}

// Delete implements app.ClaimStore.
func (s *Store) Delete(ctx context.Context, memberID, claimID string, expectedVersion int64) error {
	err := s.table.Delete(ctx, Key(memberID, claimID), expectedVersion)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return fmt.Errorf("claim %s of %s: %w", claimID, memberID, app.ErrClaimNotFound)
	case errors.Is(err, ports.ErrConflict):
		return fmt.Errorf("delete claim %s of %s: %w", claimID, memberID, app.ErrVersionMismatch)
	case err != nil:
		return fmt.Errorf("delete claim %s of %s: %w", claimID, memberID, err)
	}
	return nil
}

func changeAttributes(ch app.Change) ports.Attributes {
	attrs := ports.Attributes{"updatedAt": ch.UpdatedAt.UTC().Format(timeLayout)}
	for name, v := range map[string]*string{
		"memberName": ch.MemberName, "policyId": ch.PolicyID, "policyType": ch.PolicyType,
		"currency": ch.Currency, "description": ch.Description,
	} {
		if v != nil {
			attrs[name] = *v
		}
	}
	if ch.Amount != nil {
		attrs["amount"] = *ch.Amount
	}
	if ch.Status != nil {
		attrs["status"] = string(*ch.Status)
	}
	return attrs
}

func toItem(c domain.Claim) ports.Item {
	return ports.Item{
		Key:     Key(c.MemberID, c.ID),
		Version: c.Version,
		Attributes: ports.Attributes{
			"entity":      entity,
			"claimId":     c.ID,
			"memberId":    c.MemberID,
			"memberName":  c.MemberName,
			"policyId":    c.PolicyID,
			"policyType":  c.PolicyType,
			"amount":      c.Amount,
			"currency":    c.Currency,
			"description": c.Description,
			"status":      string(c.Status),
			"createdAt":   c.CreatedAt.UTC().Format(timeLayout),
			"updatedAt":   c.UpdatedAt.UTC().Format(timeLayout),
		},
	}
}

func fromItem(it ports.Item) (domain.Claim, error) {
	a := it.Attributes
	str := func(k string) string { s, _ := a[k].(string); return s }
	amount, ok := a["amount"].(int64)
	if !ok || str("entity") != entity {
		return domain.Claim{}, fmt.Errorf("item %v is not a claim", it.Key)
	}
	created, err := time.Parse(timeLayout, str("createdAt"))
	if err != nil {
		return domain.Claim{}, fmt.Errorf("claim %v createdAt: %w", it.Key, err)
	}
	updated, err := time.Parse(timeLayout, str("updatedAt"))
	if err != nil {
		return domain.Claim{}, fmt.Errorf("claim %v updatedAt: %w", it.Key, err)
	}
	return domain.Claim{
		ID: str("claimId"), MemberID: str("memberId"),
		MemberName: str("memberName"), PolicyID: str("policyId"), PolicyType: str("policyType"),
		Amount: amount, Currency: str("currency"), Description: str("description"),
		Status: domain.Status(str("status")), Version: it.Version,
		CreatedAt: created, UpdatedAt: updated,
	}, nil
}
