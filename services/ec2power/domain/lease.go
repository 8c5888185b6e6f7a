package domain

import (
	"fmt"
	"time"
)

// LeaseState is where a lease is in its life.
type LeaseState string

// Lease states. An active lease will stop its instance when it ends; an
// expiring one is being ended by its expiry (the instance is being
// stopped); an ended one does nothing.
const (
	LeaseActive   LeaseState = "active"
	LeaseExpiring LeaseState = "expiring"
	LeaseEnded    LeaseState = "ended"
)

// Why a lease ended.
const (
	LeaseExpired     = "expired"      // its time was up: the instance was stopped
	LeaseReleased    = "released"     // its owner (or someone it grants) ended it
	LeaseStopped     = "stopped"      // the instance was stopped
	LeaseStartFailed = "start_failed" // the start it came with failed
)

// Lease is the promise that a started instance is stopped at ExpiresAt,
// whoever is or is not around then. One lease per instance: a start with a
// lease replaces the one before. Version grows with every change; Schedule
// names the expiry scheduled for this lease, and an expiry for any other
// schedule is stale and does nothing.
type Lease struct {
	InstanceID string
	Version    int64
	State      LeaseState
	ExpiresAt  time.Time
	GrantedAt  time.Time
	// Owner is who asked for the lease, as the audit names them.
	APIKeyID, Principal string
	RequestID           string
	Schedule            string
	// EndReason says why an ended lease ended.
	EndReason string
}

// Live reports whether the lease still holds its instance.
func (l Lease) Live() bool { return l.State == LeaseActive || l.State == LeaseExpiring }

// Owner names who asked for the lease: the principal, else the API key.
func (l Lease) Owner() string {
	if l.Principal != "" {
		return l.Principal
	}
	if l.APIKeyID != "" {
		return "apikey:" + l.APIKeyID
	}
	return ""
}

// LeaseExpiry is what a lease's schedule delivers when its time is up.
type LeaseExpiry struct {
	InstanceID string    `json:"instanceId"`
	Schedule   string    `json:"schedule"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// LeaseLimits bound the leases of a stage.
type LeaseLimits struct {
	// Max is the longest a lease may still run (12h by default).
	Max time.Duration
	// Default is the lease of GET /start when it asks for none (0: none).
	Default time.Duration
}

// DefaultLeaseLimits are the documented defaults.
var DefaultLeaseLimits = LeaseLimits{Max: 12 * time.Hour}

// MinLease is the shortest lease.
const MinLease = time.Second

// Check refuses a lease of d, or one that would run until the end of d from
// now, past the stage's maximum.
func (l LeaseLimits) Check(d time.Duration) error {
	if d < MinLease {
		return fmt.Errorf("a lease must last at least %s", MinLease)
	}
	if l.Max > 0 && d > l.Max {
		return fmt.Errorf("a lease may run at most %s on this stage", l.Max)
	}
	return nil
}

// ScheduleName names the schedule of a lease version: unique per attempt
// (nonce), at most 64 characters as EventBridge Scheduler requires.
func ScheduleName(instanceID string, version int64, nonce string) string {
	return fmt.Sprintf("lease-%s-%d-%s", instanceID, version, nonce)
}
