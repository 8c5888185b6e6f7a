// Package domain holds the claims service's entities and rules: what a claim
// is, what makes one valid, and how its status may move.
package domain

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Status is a claim's place in its life cycle.
type Status string

// The statuses of a claim.
const (
	StatusPending   Status = "pending"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
	StatusPaid      Status = "paid"
	StatusWithdrawn Status = "withdrawn"
)

// Statuses lists every status, in life-cycle order.
var Statuses = []Status{StatusPending, StatusApproved, StatusRejected, StatusPaid, StatusWithdrawn}

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusPending:  {StatusApproved, StatusRejected, StatusWithdrawn},
	StatusApproved: {StatusPaid},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// CanMoveTo reports whether a claim in status s may move to next. Staying in
// the same status is not a move and is always allowed.
func (s Status) CanMoveTo(next Status) bool {
	if s == next {
		return true
	}
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// Limits of claim fields.
const (
	MaxAmount         = 1_000_000_000 // minor units, e.g. 10,000,000.00 USD
	MaxNameLength     = 200
	MaxPolicyType     = 64
	MaxDescription    = 2000
	maxIdentifierSize = 64
)

// Errors of the claims domain.
var (
	// ErrInvalidTransition: the status cannot move as asked.
	ErrInvalidTransition = errors.New("invalid status transition")
	// ErrClaimLocked: the claim is no longer pending; its details are final.
	ErrClaimLocked = errors.New("claim is no longer editable")
	// ErrClaimDecided: the claim is no longer pending, so it is kept for
	// good: it cannot be deleted.
	ErrClaimDecided = errors.New("claim is decided")
)

// ValidationError reports one invalid field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Claim is a health-insurance claim filed by a member.
type Claim struct {
	ID          string
	MemberID    string
	MemberName  string
	PolicyID    string
	PolicyType  string
	Amount      int64 // minor units of Currency
	Currency    string
	Description string
	Status      Status
	// Reason says why a claim was rejected or withdrawn.
	Reason string
	// PaymentReference identifies the payment of a paid claim.
	PaymentReference string
	Version          int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Details are the fields a client sets on a claim.
type Details struct {
	MemberName  string
	PolicyID    string
	PolicyType  string
	Amount      int64
	Currency    string
	Description string
}

var identifier = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// ValidateIdentifier checks a member or policy id: 1 to 64 letters, digits,
// '_', '.', '-', starting with a letter or digit.
func ValidateIdentifier(field, v string) error {
	if v == "" {
		return invalid(field, "is required")
	}
	if len(v) > maxIdentifierSize || !identifier.MatchString(v) {
		return invalid(field, "must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", maxIdentifierSize)
	}
	return nil
}

func validateText(field, v string, minLen, maxLen int, multiline bool) error {
	if !utf8.ValidString(v) {
		return invalid(field, "must be valid UTF-8")
	}
	n := utf8.RuneCountInString(v)
	if minLen > 0 && strings.TrimSpace(v) == "" {
		return invalid(field, "is required")
	}
	if n > maxLen {
		return invalid(field, "must be at most %d characters", maxLen)
	}
	for _, r := range v {
		if unicode.IsControl(r) && (!multiline || (r != '\n' && r != '\t' && r != '\r')) {
			return invalid(field, "must not contain control characters")
		}
		if unicode.Is(unicode.Cf, r) {
			// Bidirectional overrides and invisible characters make a
			// name read differently from what it is.
			return invalid(field, "must not contain invisible or bidirectional formatting characters (U+%04X)", r)
		}
	}
	return nil
}

// ValidateMemberName checks a member's name.
func ValidateMemberName(v string) error {
	return validateText("memberName", v, 1, MaxNameLength, false)
}

// ValidatePolicyType checks a policy type.
func ValidatePolicyType(v string) error {
	return validateText("policyType", v, 1, MaxPolicyType, false)
}

// ValidateDescription checks a description.
func ValidateDescription(v string) error {
	return validateText("description", v, 0, MaxDescription, true)
}

// ValidateAmount checks an amount in minor units.
func ValidateAmount(amount int64) error {
	if amount <= 0 || amount > MaxAmount {
		return invalid("amount", "must be between 1 and %d minor units", MaxAmount)
	}
	return nil
}

// ValidateCurrency checks an ISO 4217 code.
func ValidateCurrency(code string) error {
	if _, ok := MinorDigits(code); !ok {
		return invalid("currency", "must be an active ISO 4217 code such as USD or EUR")
	}
	return nil
}

// Validate checks every field of d.
func (d Details) Validate() error {
	if err := validateText("memberName", d.MemberName, 1, MaxNameLength, false); err != nil {
		return err
	}
	if err := ValidateIdentifier("policyId", d.PolicyID); err != nil {
		return err
	}
	if err := validateText("policyType", d.PolicyType, 1, MaxPolicyType, false); err != nil {
		return err
	}
	if err := ValidateAmount(d.Amount); err != nil {
		return err
	}
	if err := ValidateCurrency(d.Currency); err != nil {
		return err
	}
	return validateText("description", d.Description, 0, MaxDescription, true)
}

// New returns a pending claim for member with the given details.
func New(id, memberID string, d Details, now time.Time) (Claim, error) {
	if err := ValidateIdentifier("memberId", memberID); err != nil {
		return Claim{}, err
	}
	if err := d.Validate(); err != nil {
		return Claim{}, err
	}
	return Claim{
		ID: id, MemberID: memberID,
		MemberName: d.MemberName, PolicyID: d.PolicyID, PolicyType: d.PolicyType,
		Amount: d.Amount, Currency: d.Currency, Description: d.Description,
		Status: StatusPending, CreatedAt: now, UpdatedAt: now,
	}, nil
}

// Limits of decision fields.
const (
	MaxReason           = 500
	maxPaymentReference = 64
)

// Decision moves a claim's status: approve, reject (with a reason), pay
// (with a payment reference) or withdraw (with an optional reason).
type Decision struct {
	To               Status
	Reason           string
	PaymentReference string
}

// Validate checks the decision's own fields.
func (d Decision) Validate() error {
	switch d.To {
	case StatusApproved:
		return nil
	case StatusRejected:
		return validateText("reason", d.Reason, 1, MaxReason, true)
	case StatusWithdrawn:
		return validateText("reason", d.Reason, 0, MaxReason, true)
	case StatusPaid:
		if d.PaymentReference == "" {
			return invalid("paymentReference", "is required")
		}
		if len(d.PaymentReference) > maxPaymentReference || !identifier.MatchString(d.PaymentReference) {
			return invalid("paymentReference", "must be 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit", maxPaymentReference)
		}
		return nil
	default:
		return invalid("status", "a decision approves, rejects, pays or withdraws")
	}
}

// Decide returns c moved by d at now, or ErrInvalidTransition when its
// status cannot move that way.
func (c Claim) Decide(d Decision, now time.Time) (Claim, error) {
	if err := d.Validate(); err != nil {
		return Claim{}, err
	}
	if c.Status == d.To || !c.Status.CanMoveTo(d.To) {
		return Claim{}, fmt.Errorf("%w: %s -> %s", ErrInvalidTransition, c.Status, d.To)
	}
	c.Status, c.UpdatedAt = d.To, now
	switch d.To {
	case StatusRejected, StatusWithdrawn:
		c.Reason = d.Reason
	case StatusPaid:
		c.PaymentReference = d.PaymentReference
	}
	return c, nil
}

// Edit is a change of details; nil fields stay as they are.
type Edit struct {
	MemberName  *string
	PolicyID    *string
	PolicyType  *string
	Amount      *int64
	Currency    *string
	Description *string
}

// Empty reports whether the edit sets no field.
func (e Edit) Empty() bool { return e == Edit{} }

// Apply returns c with the edit's details at now and the fields that
// changed, by their API names. Only a pending claim's details may change
// (ErrClaimLocked otherwise).
func (c Claim) Apply(e Edit, now time.Time) (Claim, map[string]any, error) {
	d := Details{
		MemberName: c.MemberName, PolicyID: c.PolicyID, PolicyType: c.PolicyType,
		Amount: c.Amount, Currency: c.Currency, Description: c.Description,
	}
	changed := map[string]any{}
	set := func(name string, dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst, changed[name] = *v, *v
		}
	}
	set("memberName", &d.MemberName, e.MemberName)
	set("policyId", &d.PolicyID, e.PolicyID)
	set("policyType", &d.PolicyType, e.PolicyType)
	set("currency", &d.Currency, e.Currency)
	set("description", &d.Description, e.Description)
	if e.Amount != nil && *e.Amount != d.Amount {
		d.Amount, changed["amount"] = *e.Amount, *e.Amount
	}
	if err := d.Validate(); err != nil {
		return Claim{}, nil, err
	}
	if c.Status != StatusPending {
		return Claim{}, nil, fmt.Errorf("%w: claim is %s", ErrClaimLocked, c.Status)
	}
	c.MemberName, c.PolicyID, c.PolicyType = d.MemberName, d.PolicyID, d.PolicyType
	c.Amount, c.Currency, c.Description = d.Amount, d.Currency, d.Description
	c.UpdatedAt = now
	return c, changed, nil
}

// CheckDeletable refuses to delete a claim that is no longer pending: a
// decided or withdrawn claim is kept for good.
func (c Claim) CheckDeletable() error {
	if c.Status != StatusPending {
		return fmt.Errorf("%w: claim is %s", ErrClaimDecided, c.Status)
	}
	return nil
}
