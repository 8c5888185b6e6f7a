package ports

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Port-level errors of the table port. Adapters wrap them with context; callers
// test with errors.Is.
var (
	// ErrNotFound means the item does not exist (or has expired).
	ErrNotFound = errors.New("item not found")
	// ErrConflict means a condition failed: the item already exists on
	// create, or its version is not the expected one.
	ErrConflict = errors.New("condition failed")
	// ErrThrottled means the store refused the request for capacity reasons
	// after the client's own retries; the caller may retry later.
	ErrThrottled = errors.New("store throttled the request")
	// ErrUnavailable means the store could not be reached, or failed on
	// its side, after the client's own retries; the caller may retry later.
	ErrUnavailable = errors.New("store unavailable")
	// ErrInvalidCursor means a pagination cursor was malformed, tampered
	// with, or issued for another query.
	ErrInvalidCursor = errors.New("invalid cursor")
	// ErrInvalidItem means an item breaks the port's rules (reserved or
	// unsupported attributes, empty keys).
	ErrInvalidItem = errors.New("invalid item")
)

// Key addresses one item: a partition and a sort key inside it.
type Key struct {
	Partition string
	Sort      string
}

// Attributes are an item's data. Values are string, int64 or bool; adapters
// store them natively (DynamoDB S, N and BOOL) and return the same types.
type Attributes map[string]any

// Item is one record in a table. Version is owned by the store: it is 1 after
// Create and grows by one on every Update. A non-zero ExpiresAt makes the item
// disappear for every operation once that instant has passed (the DynamoDB
// adapter also writes it to the table's TTL attribute).
type Item struct {
	Key        Key
	Version    int64
	ExpiresAt  time.Time
	Attributes Attributes
}

// Condition constrains one attribute: it must equal Equals, or, when OneOf
// is set, one of its values. Query filters take Equals only.
type Condition struct {
	Attribute string
	Equals    any
	OneOf     []any
}

// ConditionError reports a Patch refused because the item's version or a
// condition did not hold; Current is the item as it is, so the caller can
// say why. It matches ErrConflict.
type ConditionError struct {
	Current Item
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("condition failed on %v at version %d", e.Current.Key, e.Current.Version)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConditionError) Unwrap() error { return ErrConflict }

// Query selects items of one partition whose sort key starts with SortPrefix,
// in ascending sort-key order (descending with Reverse).
type Query struct {
	Partition  string
	SortPrefix string
	// Reverse returns the items in descending sort-key order.
	Reverse bool
	// Where keeps only the items whose attributes equal the given values.
	Where []Condition
	// Limit is the page size (1..1000).
	Limit int
	// ScanLimit bounds the items one query reads from the partition,
	// filtered out or not (0: DefaultScanLimit). When it stops before the
	// page is full, the page holds what matched so far (maybe nothing) and
	// NextCursor continues after the last item read: one partition full of
	// non-matching items cannot make one request read it all.
	ScanLimit int
	// Cursor continues a previous query; it must come from a Page of the
	// same query (same partition, prefix and filters).
	Cursor string
}

// Page is one page of a query. NextCursor is empty on the last page.
type Page struct {
	Items      []Item
	NextCursor string
}

// Table is a key-value document store with optimistic concurrency.
type Table interface {
	// Get returns the item or ErrNotFound.
	Get(ctx context.Context, key Key) (Item, error)
	// Create stores a new item with version 1, or returns ErrConflict when
	// an item with that key exists. It returns the stored item.
	Create(ctx context.Context, item Item) (Item, error)
	// Update replaces the item's attributes (and expiry) when its stored
	// version is expectedVersion, and returns it with the next version.
	// It returns ErrNotFound when the item is absent and ErrConflict when
	// the version differs.
	Update(ctx context.Context, item Item, expectedVersion int64) (Item, error)
	// Patch sets attrs on the live item, leaving its other attributes,
	// when its version is expectedVersion (any version when 0) and every
	// condition holds, in one atomic step; it advances the version and
	// returns the item as changed. It returns ErrNotFound when the item is
	// absent and a *ConditionError when it is there but does not qualify.
	Patch(ctx context.Context, key Key, attrs Attributes, expectedVersion int64, conds ...Condition) (Item, error)
	// Delete removes the item. With expectedVersion > 0 it only does so
	// when the stored version matches (ErrConflict otherwise). It returns
	// ErrNotFound when the item is absent.
	Delete(ctx context.Context, key Key, expectedVersion int64) error
	// Query returns one page of a partition.
	Query(ctx context.Context, q Query) (Page, error)
	// Transact applies writes (creates, patches, deletes of distinct keys)
	// atomically: all of them or none. When one does not qualify, nothing is
	// written and the error is a *TransactionError naming it.
	Transact(ctx context.Context, writes ...Write) error
}

// MaxQueryLimit is the largest page size a Query may ask for.
const MaxQueryLimit = 1000

// DefaultScanLimit is the ScanLimit of a query that sets none.
const DefaultScanLimit = 1000

// ScanBudget returns the query's scan limit: ScanLimit, DefaultScanLimit
// when unset, and never less than one page (Limit + 1 items).
func (q Query) ScanBudget() int {
	n := q.ScanLimit
	if n <= 0 {
		n = DefaultScanLimit
	}
	return max(n, q.Limit+1)
}
