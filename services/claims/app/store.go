package app

import (
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/domain"
)

// The claims data model in the single table: one partition per member, one
// item per claim.
const (
	memberPrefix = "MEMBER#"
	claimPrefix  = "CLAIM#"
	entityClaim  = "claim"
)

// ClaimKey returns the table key of a claim.
func ClaimKey(memberID, claimID string) ports.Key {
	return ports.Key{Partition: memberPrefix + memberID, Sort: claimPrefix + claimID}
}

const timeLayout = time.RFC3339Nano

func toItem(c domain.Claim) ports.Item {
	return ports.Item{
		Key:     ClaimKey(c.MemberID, c.ID),
		Version: c.Version,
		Attributes: ports.Attributes{
			"entity":      entityClaim,
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
	if !ok || str("entity") != entityClaim {
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
