// Package memory holds in-process adapters of the ports, for tests and the
// local run. They follow the same contracts as the cloud adapters.
package memory

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Table is an in-memory ports.Table, safe for concurrent use.
type Table struct {
	mu      sync.Mutex
	items   map[ports.Key]ports.Item
	cursors *pagecursor.Codec
	now     func() time.Time
}

// TableOption configures a Table.
type TableOption func(*Table)

// WithClock sets the clock used for expiry.
func WithClock(c ports.Clock) TableOption {
	return func(t *Table) { t.now = c.Now }
}

// WithCursorCodec sets the codec that signs cursors.
func WithCursorCodec(c *pagecursor.Codec) TableOption {
	return func(t *Table) { t.cursors = c }
}

// NewTable returns an empty table.
func NewTable(opts ...TableOption) *Table {
	t := &Table{items: make(map[ports.Key]ports.Item), now: time.Now}
	for _, o := range opts {
		o(t)
	}
	if t.cursors == nil {
		t.cursors = pagecursor.NewRandom()
	}
	return t
}

var _ ports.Table = (*Table)(nil)

func (t *Table) live(key ports.Key) (ports.Item, bool) {
	it, ok := t.items[key]
	if !ok {
		return ports.Item{}, false
	}
	if !ports.Live(it.ExpiresAt, t.now()) {
		delete(t.items, key)
		return ports.Item{}, false
	}
	return it, true
}

func clone(it ports.Item) ports.Item {
	it.Attributes = maps.Clone(it.Attributes)
	return it
}

// Get implements ports.Table.
func (t *Table) Get(ctx context.Context, key ports.Key) (ports.Item, error) {
	if err := ctx.Err(); err != nil {
		return ports.Item{}, fmt.Errorf("memory table: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.live(key)
	if !ok {
		return ports.Item{}, fmt.Errorf("get %v: %w", key, ports.ErrNotFound)
	}
	return clone(it), nil
}

// Create implements ports.Table.
func (t *Table) Create(ctx context.Context, item ports.Item) (ports.Item, error) {
	if err := ctx.Err(); err != nil {
		return ports.Item{}, fmt.Errorf("memory table: %w", err)
	}
	item, err := ports.CheckItem(item)
	if err != nil {
		return ports.Item{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.live(item.Key); ok {
		return ports.Item{}, fmt.Errorf("create %v: %w", item.Key, ports.ErrConflict)
	}
	item.Version = 1
	t.items[item.Key] = item
	return clone(item), nil
}

// Update implements ports.Table.
func (t *Table) Update(ctx context.Context, item ports.Item, expectedVersion int64) (ports.Item, error) {
	if err := ctx.Err(); err != nil {
		return ports.Item{}, fmt.Errorf("memory table: %w", err)
	}
	item, err := ports.CheckItem(item)
	if err != nil {
		return ports.Item{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.live(item.Key)
	if !ok {
		return ports.Item{}, fmt.Errorf("update %v: %w", item.Key, ports.ErrNotFound)
	}
	if cur.Version != expectedVersion {
		return ports.Item{}, fmt.Errorf("update %v at version %d (stored %d): %w", item.Key, expectedVersion, cur.Version, ports.ErrConflict)
	}
	item.Version = expectedVersion + 1
	t.items[item.Key] = item
	return clone(item), nil
}

// Patch implements ports.Table.
func (t *Table) Patch(ctx context.Context, key ports.Key, attrs ports.Attributes, expectedVersion int64, conds ...ports.Condition) (ports.Item, error) {
	if err := ctx.Err(); err != nil {
		return ports.Item{}, fmt.Errorf("memory table: %w", err)
	}
	attrs, err := ports.CheckPatch(key, attrs, conds)
	if err != nil {
		return ports.Item{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.live(key)
	if !ok {
		return ports.Item{}, fmt.Errorf("patch %v: %w", key, ports.ErrNotFound)
	}
	if (expectedVersion > 0 && cur.Version != expectedVersion) || !ports.Holds(cur.Attributes, conds) {
		return ports.Item{}, fmt.Errorf("patch %v: %w", key, &ports.ConditionError{Current: clone(cur)})
	}
	next := clone(cur)
	for k, v := range attrs {
		next.Attributes[k] = v
	}
	next.Version = cur.Version + 1
	t.items[key] = next
	return clone(next), nil
}

// Delete implements ports.Table.
func (t *Table) Delete(ctx context.Context, key ports.Key, expectedVersion int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory table: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.live(key)
	if !ok {
		return fmt.Errorf("delete %v: %w", key, ports.ErrNotFound)
	}
	if expectedVersion > 0 && cur.Version != expectedVersion {
		return fmt.Errorf("delete %v at version %d (stored %d): %w", key, expectedVersion, cur.Version, ports.ErrConflict)
	}
	delete(t.items, key)
	return nil
}

// Query implements ports.Table.
func (t *Table) Query(ctx context.Context, q ports.Query) (ports.Page, error) {
	if err := ctx.Err(); err != nil {
		return ports.Page{}, fmt.Errorf("memory table: %w", err)
	}
	if err := ports.CheckQuery(q); err != nil {
		return ports.Page{}, err
	}
	var after string
	if q.Cursor != "" {
		k, err := t.cursors.Decode(q, q.Cursor)
		if err != nil {
			return ports.Page{}, fmt.Errorf("query %s: %w", q.Partition, err)
		}
		after = k.Sort
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var keys []ports.Key
	for k := range t.items {
		if k.Partition == q.Partition && strings.HasPrefix(k.Sort, q.SortPrefix) && beyond(k.Sort, after, q) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return (keys[i].Sort < keys[j].Sort) != q.Reverse })
	// Read in key order as DynamoDB does: live items count against the
	// scan budget whether they match or not.
	var matches []ports.Item
	scanned, budget := 0, q.ScanBudget()
	for _, k := range keys {
		if len(matches) > q.Limit {
			break
		}
		it, ok := t.live(k)
		if !ok {
			continue
		}
		if scanned == budget {
			page := ports.Page{Items: matches}
			if len(matches) > 0 || scanned > 0 {
				page.NextCursor = t.cursors.Encode(q, lastRead(keys, k))
			}
			return page, nil
		}
		scanned++
		if matchesAll(it, q.Where) {
			matches = append(matches, clone(it))
		}
	}
	page := ports.Page{Items: matches}
	if len(matches) > q.Limit {
		page.Items = matches[:q.Limit]
		page.NextCursor = t.cursors.Encode(q, page.Items[q.Limit-1].Key)
	}
	return page, nil
}

// beyond reports whether sort key s comes after the cursor position in the
// query's order.
func beyond(s, after string, q ports.Query) bool {
	switch {
	case q.Cursor == "":
		return true
	case q.Reverse:
		return s < after
	default:
		return s > after
	}
}

func matchesAll(it ports.Item, where []ports.Condition) bool {
	for _, c := range where {
		if it.Attributes[c.Attribute] != c.Equals {
			return false
		}
	}
	return true
}

// Transact implements ports.Table: every write is checked against the items
// as they are, under the table's lock, before any is applied.
func (t *Table) Transact(ctx context.Context, writes ...ports.Write) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory table: %w", err)
	}
	writes, err := ports.CheckWrites(writes)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	qualifies := func(key ports.Key, version int64, conds []ports.Condition) bool {
		cur, ok := t.live(key)
		return ok && (version == 0 || cur.Version == version) && ports.Holds(cur.Attributes, conds)
	}
	for i, w := range writes {
		var ok bool
		switch {
		case w.Create != nil:
			_, taken := t.live(w.Create.Key)
			ok = !taken
		case w.Patch != nil:
			ok = qualifies(w.Patch.Key, w.Patch.ExpectedVersion, w.Patch.Conditions)
		default:
			ok = qualifies(w.Delete.Key, w.Delete.ExpectedVersion, w.Delete.Conditions)
		}
		if !ok {
			return fmt.Errorf("transact: %w", &ports.TransactionError{Index: i})
		}
	}
	for _, w := range writes {
		switch {
		case w.Create != nil:
			it := clone(*w.Create)
			it.Version = 1
			t.items[it.Key] = it
		case w.Patch != nil:
			next := clone(t.items[w.Patch.Key])
			for k, v := range w.Patch.Attributes {
				next.Attributes[k] = v
			}
			if !w.Patch.ExpiresAt.IsZero() {
				next.ExpiresAt = w.Patch.ExpiresAt
			}
			next.Version++
			t.items[next.Key] = next
		default:
			delete(t.items, w.Delete.Key)
		}
	}
	return nil
}

// lastRead returns the key read just before next in keys.
func lastRead(keys []ports.Key, next ports.Key) ports.Key {
	for i, k := range keys {
		if k == next && i > 0 {
			return keys[i-1]
		}
	}
	return next
}
