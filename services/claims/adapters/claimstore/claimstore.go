// Package claimstore keeps claims and their history (app.ClaimStore) in a
// generic table (ports.Table), single-table style: one partition per member
// (MEMBER#<memberId>), one item per claim (CLAIM#<claimId>) and one per
// change of it (HISTORY#<claimId>#<version>), each change and its history
// item written in one transaction. The storage layout and attribute names
// live here and nowhere else.
package claimstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/app"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// The layout in the table.
const (
	memberPrefix  = "MEMBER#"
	claimPrefix   = "CLAIM#"
	historyPrefix = "HISTORY#"
	entity        = "claim"
	historyEntity = "claim_history"
	timeLayout    = time.RFC3339Nano
)

// historyKey is the key of a claim's history entry: in the member's
// partition, beside the claims but outside their prefix, one per version.
func historyKey(memberID, claimID string, version int64) ports.Key {
	return ports.Key{Partition: memberPrefix + memberID, Sort: fmt.Sprintf("%s%s#%010d", historyPrefix, claimID, version)}
}

// ListScanLimit bounds the claims one list request reads: a filtered list
// of a member with many claims answers a short page (maybe an empty one)
// with a cursor rather than read the whole partition.
const ListScanLimit = 200

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

// Create implements app.ClaimStore: the claim and its first history entry
// in one transaction.
func (s *Store) Create(ctx context.Context, c domain.Claim, h app.HistoryEntry) (domain.Claim, error) {
	c.Version = 1
	it := toItem(c)
	hist, err := historyItem(h)
	if err != nil {
		return domain.Claim{}, err
	}
	writes := []ports.Write{{Create: &it}, {Create: &hist}}
	// What must commit with the claim (its idempotency record's
	// completion) joins the transaction.
	if join := ports.JoinerOf(ctx); join != nil {
		extra, err := join(c)
		if err != nil {
			return domain.Claim{}, fmt.Errorf("claim %s of %s: %w", c.ID, c.MemberID, err)
		}
		writes = append(writes, extra...)
	}
	err = s.table.Transact(ctx, writes...)
	var te *ports.TransactionError
	if errors.As(err, &te) && te.Index >= 2 {
		return domain.Claim{}, fmt.Errorf("claim %s of %s: %w: %w", c.ID, c.MemberID, ports.ErrJoinedWrite, err)
	}
	if errors.Is(err, ports.ErrConflict) {
		return domain.Claim{}, fmt.Errorf("claim %s of %s: %w", c.ID, c.MemberID, app.ErrClaimExists)
	}
	if err != nil {
		return domain.Claim{}, fmt.Errorf("put claim %s of %s: %w", c.ID, c.MemberID, err)
	}
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
	q := ports.Query{Partition: memberPrefix + memberID, SortPrefix: claimPrefix, Limit: opts.Limit, Cursor: opts.Cursor, ScanLimit: ListScanLimit}
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

// Save implements app.ClaimStore: one transaction patches the claim at
// the version it was read and creates its history entry.
func (s *Store) Save(ctx context.Context, c domain.Claim, h app.HistoryEntry) (domain.Claim, error) {
	hist, err := historyItem(h)
	if err != nil {
		return domain.Claim{}, err
	}
	attrs := toItem(c).Attributes
	for _, k := range []string{"entity", "claimId", "memberId", "createdAt"} {
		delete(attrs, k) // fixed at creation
	}
	err = s.table.Transact(ctx,
		ports.Write{Patch: &ports.PatchWrite{
			Key: Key(c.MemberID, c.ID), Attributes: attrs, ExpectedVersion: c.Version,
			Conditions: []ports.Condition{{Attribute: "entity", Equals: entity}},
		}},
		ports.Write{Create: &hist})
	if err != nil {
		return domain.Claim{}, s.refused(ctx, c, "save", err)
	}
	c.Version++
	return c, nil
}

// Delete implements app.ClaimStore: one transaction deletes the claim,
// still pending at the version it was read, and records the deletion.
func (s *Store) Delete(ctx context.Context, c domain.Claim, h app.HistoryEntry) error {
	hist, err := historyItem(h)
	if err != nil {
		return err
	}
	err = s.table.Transact(ctx,
		ports.Write{Delete: &ports.DeleteWrite{
			Key: Key(c.MemberID, c.ID), ExpectedVersion: c.Version,
			Conditions: []ports.Condition{{Attribute: "entity", Equals: entity}, {Attribute: "status", Equals: string(domain.StatusPending)}},
		}},
		ports.Write{Create: &hist})
	if err != nil {
		return s.refused(ctx, c, "delete", err)
	}
	return nil
}

// refused explains a failed transaction: the claim is gone, or it changed
// since it was read.
func (s *Store) refused(ctx context.Context, c domain.Claim, op string, err error) error {
	if !errors.Is(err, ports.ErrConflict) {
		return fmt.Errorf("%s claim %s of %s: %w", op, c.ID, c.MemberID, err)
	}
	if _, gerr := s.table.Get(ctx, Key(c.MemberID, c.ID)); errors.Is(gerr, ports.ErrNotFound) {
		return fmt.Errorf("%s claim %s of %s: %w", op, c.ID, c.MemberID, app.ErrClaimNotFound)
	}
	return fmt.Errorf("%s claim %s of %s at version %d: %w: %w", op, c.ID, c.MemberID, c.Version, app.ErrChangedConcurrently, err)
}

// History implements app.ClaimStore.
func (s *Store) History(ctx context.Context, memberID, claimID string, limit int, cursor string) (app.HistoryPage, error) {
	page, err := s.table.Query(ctx, ports.Query{
		Partition: memberPrefix + memberID, SortPrefix: historyPrefix + claimID + "#", Limit: limit, Cursor: cursor,
	})
	if err != nil {
		return app.HistoryPage{}, fmt.Errorf("query history of claim %s of %s: %w", claimID, memberID, err)
	}
	out := app.HistoryPage{Entries: make([]app.HistoryEntry, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		h, err := fromHistoryItem(it)
		if err != nil {
			return app.HistoryPage{}, err
		}
		out.Entries = append(out.Entries, h)
	}
	return out, nil
}

func historyItem(h app.HistoryEntry) (ports.Item, error) {
	changes, err := json.Marshal(h.Changes)
	if err != nil {
		return ports.Item{}, fmt.Errorf("history of claim %s: %w", h.ClaimID, err)
	}
	attrs := ports.Attributes{
		"entity": historyEntity, "claimId": h.ClaimID, "memberId": h.MemberID,
		"claimVersion": h.Version, "event": string(h.Event), "at": h.At.UTC().Format(timeLayout),
		"requestId": h.Actor.RequestID, "changes": string(changes),
	}
	for k, v := range map[string]string{"principal": h.Actor.Principal, "apiKeyId": h.Actor.APIKeyID, "sourceIp": h.Actor.SourceIP} {
		if v != "" {
			attrs[k] = v
		}
	}
	return ports.Item{Key: historyKey(h.MemberID, h.ClaimID, h.Version), Attributes: attrs}, nil
}

func fromHistoryItem(it ports.Item) (app.HistoryEntry, error) {
	a := it.Attributes
	str := func(k string) string { s, _ := a[k].(string); return s }
	version, _ := a["claimVersion"].(int64)
	at, err := time.Parse(timeLayout, str("at"))
	if str("entity") != historyEntity || err != nil {
		return app.HistoryEntry{}, fmt.Errorf("item %v is not a history entry", it.Key)
	}
	h := app.HistoryEntry{
		ClaimID: str("claimId"), MemberID: str("memberId"), Version: version, Event: app.Event(str("event")), At: at,
		Actor: app.Actor{Principal: str("principal"), APIKeyID: str("apiKeyId"), SourceIP: str("sourceIp"), RequestID: str("requestId")},
	}
	if c := str("changes"); c != "" && c != "null" {
		dec := json.NewDecoder(strings.NewReader(c))
		dec.UseNumber()
		if err := dec.Decode(&h.Changes); err != nil {
			return app.HistoryEntry{}, fmt.Errorf("history entry %v changes: %w", it.Key, err)
		}
		for k, v := range h.Changes {
			if n, ok := v.(json.Number); ok {
				if i, err := n.Int64(); err == nil {
					h.Changes[k] = i
				}
			}
		}
	}
	return h, nil
}

func toItem(c domain.Claim) ports.Item {
	return ports.Item{
		Key:     Key(c.MemberID, c.ID),
		Version: c.Version,
		Attributes: ports.Attributes{
			"entity":           entity,
			"claimId":          c.ID,
			"memberId":         c.MemberID,
			"memberName":       c.MemberName,
			"policyId":         c.PolicyID,
			"policyType":       c.PolicyType,
			"amount":           c.Amount,
			"currency":         c.Currency,
			"description":      c.Description,
			"status":           string(c.Status),
			"reason":           c.Reason,
			"paymentReference": c.PaymentReference,
			"createdAt":        c.CreatedAt.UTC().Format(timeLayout),
			"updatedAt":        c.UpdatedAt.UTC().Format(timeLayout),
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
		Status: domain.Status(str("status")), Reason: str("reason"), PaymentReference: str("paymentReference"),
		Version:   it.Version,
		CreatedAt: created, UpdatedAt: updated,
	}, nil
}
