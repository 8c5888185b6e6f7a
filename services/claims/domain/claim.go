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
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusPaid     Status = "paid"
)

// Statuses lists every status, in life-cycle order.
var Statuses = []Status{StatusPending, StatusApproved, StatusRejected, StatusPaid}

// transitions lists, for each status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusPending:  {StatusApproved, StatusRejected},
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
	// ErrClaimLocked: the claim is decided; only its status may still move.
	ErrClaimLocked = errors.New("claim is no longer editable")
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
	Version     int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
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

// AllowedFrom returns the statuses a claim may be in for a change that
// moves it to target (nil: no status change) and, when editsDetails,
// changes its details (only pending claims' details may change).
func AllowedFrom(target *Status, editsDetails bool) ([]Status, error) {
	var out []Status
	for _, s := range Statuses {
		if target != nil && !s.CanMoveTo(*target) {
			continue
		}
		if editsDetails && s != StatusPending {
			continue
		}
		out = append(out, s)
	}
	if target != nil && !target.Valid() {
		return nil, invalid("status", "must be one of pending, approved, rejected, paid")
	}
	return out, nil
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
