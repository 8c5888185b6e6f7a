package ports

import (
	"context"
	"time"
)

// IdempotencyStatus is the state of one idempotent execution.
type IdempotencyStatus string

// The states of an idempotency record.
const (
	IdempotencyInProgress IdempotencyStatus = "in_progress"
	IdempotencyCompleted  IdempotencyStatus = "completed"
)

// IdempotencyRecord remembers one execution keyed by a client-chosen key.
// PayloadHash identifies the request the key was first used with; Response is
// the serialized answer once Status is completed.
type IdempotencyRecord struct {
	Key         string
	PayloadHash string
	Status      IdempotencyStatus
	Response    []byte
	ExpiresAt   time.Time
}

// IdempotencyStore records executions so that a retried request replays the
// first answer instead of acting twice.
type IdempotencyStore interface {
	// Begin records rec as in progress when no live record has its key and
	// reports started=true. Otherwise it returns the live record and
	// started=false; exactly one of any number of concurrent callers with
	// the same key starts.
	Begin(ctx context.Context, rec IdempotencyRecord) (existing IdempotencyRecord, started bool, err error)
	// Complete stores rec's Response on the record Begin made for rec.Key,
	// in one conditional write, and keeps it until rec.ExpiresAt. It fails
	// when the record is gone (released, or expired). The in-progress
	// record expires no later than its request's deadline, so an execution
	// does not outlive it to complete a later one's.
	Complete(ctx context.Context, rec IdempotencyRecord) error
	// Release forgets a started execution that failed, so the client may
	// retry it.
	Release(ctx context.Context, key string) error
}
