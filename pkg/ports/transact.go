package ports

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxTransactWrites is the most writes one transaction may hold.
const MaxTransactWrites = 25

// Write is one write of a transaction: exactly one of Create, Patch and
// Delete is set. Each follows the rules of the method of the same name.
type Write struct {
	// Create stores a new item at version 1; its key must be free.
	Create *Item
	// Patch sets attributes on a live item whose version is
	// ExpectedVersion (any when 0) and whose attributes meet Conditions,
	// and advances its version.
	Patch *PatchWrite
	// Delete removes a live item whose version is ExpectedVersion (any
	// when 0) and whose attributes meet Conditions.
	Delete *DeleteWrite
}

// PatchWrite is the patch of one item in a transaction.
type PatchWrite struct {
	Key             Key
	Attributes      Attributes
	ExpectedVersion int64
	Conditions      []Condition
	// ExpiresAt, when set, replaces the item's expiry.
	ExpiresAt time.Time
}

// DeleteWrite is the deletion of one item in a transaction.
type DeleteWrite struct {
	Key             Key
	ExpectedVersion int64
	Conditions      []Condition
}

// TransactionError reports a transaction refused because the write at Index
// did not qualify: the key of a create was taken, or the item of a patch or
// delete was absent, at another version or failed a condition. Nothing was
// written. It matches ErrConflict.
type TransactionError struct {
	Index int
}

func (e *TransactionError) Error() string {
	return fmt.Sprintf("transaction refused: write %d did not qualify", e.Index)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *TransactionError) Unwrap() error { return ErrConflict }

// CheckWrites validates a transaction and returns its writes with their
// items and attributes checked (integers as int64). Errors wrap
// ErrInvalidItem.
func CheckWrites(writes []Write) ([]Write, error) {
	if len(writes) == 0 || len(writes) > MaxTransactWrites {
		return nil, fmt.Errorf("%w: a transaction holds 1 to %d writes, not %d", ErrInvalidItem, MaxTransactWrites, len(writes))
	}
	out := make([]Write, len(writes))
	seen := make(map[Key]bool, len(writes))
	for i, w := range writes {
		var key Key
		set := 0
		if w.Create != nil {
			it, err := CheckItem(*w.Create)
			if err != nil {
				return nil, fmt.Errorf("write %d: %w", i, err)
			}
			out[i].Create, key = &it, it.Key
			set++
		}
		if w.Patch != nil {
			attrs, err := CheckPatch(w.Patch.Key, w.Patch.Attributes, w.Patch.Conditions)
			if err != nil {
				return nil, fmt.Errorf("write %d: %w", i, err)
			}
			p := *w.Patch
			p.Attributes = attrs
			out[i].Patch, key = &p, p.Key
			set++
		}
		if w.Delete != nil {
			if w.Delete.Key.Partition == "" || w.Delete.Key.Sort == "" {
				return nil, fmt.Errorf("%w: write %d: partition and sort key are required", ErrInvalidItem, i)
			}
			if _, err := CheckPatch(w.Delete.Key, Attributes{"_": true}, w.Delete.Conditions); err != nil {
				return nil, fmt.Errorf("write %d: %w", i, err)
			}
			d := *w.Delete
			out[i].Delete, key = &d, d.Key
			set++
		}
		if set != 1 {
			return nil, fmt.Errorf("%w: write %d must be exactly one of create, patch and delete", ErrInvalidItem, i)
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: write %d: two writes to %v in one transaction", ErrInvalidItem, i, key)
		}
		seen[key] = true
	}
	return out, nil
}

// Joiner gives the writes that must commit in the same transaction as a
// request's own write, for what that write stores (result): an idempotency
// record completed in the commit that does the action, so no moment shows
// the action done and its record still in progress. The store that makes
// the request's write asks for them (JoinerOf) and adds them.
type Joiner func(result any) ([]Write, error)

// ErrJoinedWrite means a write a Joiner added did not qualify, so the
// transaction, the request's own write included, was not applied.
var ErrJoinedWrite = errors.New("a write joined to the transaction did not qualify")

type joinerKey struct{}

// WithJoiner returns ctx carrying j.
func WithJoiner(ctx context.Context, j Joiner) context.Context {
	return context.WithValue(ctx, joinerKey{}, j)
}

// JoinerOf returns the Joiner ctx carries, or nil.
func JoinerOf(ctx context.Context) Joiner {
	j, _ := ctx.Value(joinerKey{}).(Joiner)
	return j
}
