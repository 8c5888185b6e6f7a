package porttest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// NewTableFunc returns a fresh, empty table whose expiry follows clock.
type NewTableFunc func(t *testing.T, clock ports.Clock) ports.Table

// TableContract runs the table port's contract against the tables newTable
// returns.
func TableContract(t *testing.T, newTable NewTableFunc) {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	setup := func(t *testing.T) (ports.Table, *Clock, context.Context) {
		t.Helper()
		clock := NewClock(start)
		return newTable(t, clock), clock, t.Context()
	}
	key := func(p, s string) ports.Key { return ports.Key{Partition: p, Sort: s} }

	t.Run("create then get round-trips attributes", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		in := ports.Item{Key: key("P#1", "S#1"), Attributes: ports.Attributes{
			"name": "Ada", "amount": int64(12345), "small": 7, "flag": true, "off": false, "empty": "",
			"negative": int64(-42), "big": int64(1) << 53,
		}}
		created, err := tbl.Create(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, int64(1), created.Version)
		got, err := tbl.Get(ctx, in.Key)
		require.NoError(t, err)
		assert.Equal(t, in.Key, got.Key)
		assert.Equal(t, int64(1), got.Version)
		assert.True(t, got.ExpiresAt.IsZero())
		assert.Equal(t, ports.Attributes{
			"name": "Ada", "amount": int64(12345), "small": int64(7), "flag": true, "off": false, "empty": "",
			"negative": int64(-42), "big": int64(1) << 53,
		}, got.Attributes)
	})

	t.Run("get of a missing item is not found", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		_, err := tbl.Get(ctx, key("P#none", "S#none"))
		require.ErrorIs(t, err, ports.ErrNotFound)
	})

	t.Run("create of an existing key conflicts and keeps the first", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#dup", "S#1")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"v": "first"}})
		require.NoError(t, err)
		_, err = tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"v": "second"}})
		require.ErrorIs(t, err, ports.ErrConflict)
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "first", got.Attributes["v"])
	})

	t.Run("update replaces attributes and advances the version", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#upd", "S#1")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"a": "1", "b": "2"}})
		require.NoError(t, err)
		upd, err := tbl.Update(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"a": "changed"}}, 1)
		require.NoError(t, err)
		assert.Equal(t, int64(2), upd.Version)
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.Equal(t, ports.Attributes{"a": "changed"}, got.Attributes)
	})

	t.Run("update with a stale version conflicts and changes nothing", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#stale", "S#1")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"a": "1"}})
		require.NoError(t, err)
		_, err = tbl.Update(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"a": "2"}}, 1)
		require.NoError(t, err)
		_, err = tbl.Update(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"a": "3"}}, 1)
		require.ErrorIs(t, err, ports.ErrConflict)
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, "2", got.Attributes["a"])
		assert.Equal(t, int64(2), got.Version)
	})

	t.Run("update of a missing item is not found", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		_, err := tbl.Update(ctx, ports.Item{Key: key("P#ghost", "S#1"), Attributes: ports.Attributes{"a": "1"}}, 1)
		require.ErrorIs(t, err, ports.ErrNotFound)
		_, err = tbl.Get(ctx, key("P#ghost", "S#1"))
		require.ErrorIs(t, err, ports.ErrNotFound, "a failed update must not create the item")
	})

	t.Run("patch changes some attributes atomically under conditions", func(t *testing.T) {
		t.Parallel()
		tbl, clock, ctx := setup(t)
		k := key("P#patch", "S#1")
		_, err := tbl.Create(ctx, ports.Item{Key: k, ExpiresAt: start.Add(time.Hour), Attributes: ports.Attributes{"status": "pending", "amount": int64(5), "note": "keep"}})
		require.NoError(t, err)

		got, err := tbl.Patch(ctx, k, ports.Attributes{"amount": 7, "status": "approved"}, 1,
			ports.Condition{Attribute: "status", OneOf: []any{"pending", "approved"}})
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.Equal(t, ports.Attributes{"status": "approved", "amount": int64(7), "note": "keep"}, got.Attributes, "other attributes stay")
		assert.Equal(t, start.Add(time.Hour).Unix(), got.ExpiresAt.Unix(), "the expiry stays")
		stored, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, got.Attributes, stored.Attributes)

		_, err = tbl.Patch(ctx, k, ports.Attributes{"amount": int64(8)}, 1)
		var ce *ports.ConditionError
		require.ErrorAs(t, err, &ce, "a stale version is refused")
		require.ErrorIs(t, err, ports.ErrConflict)
		assert.Equal(t, int64(2), ce.Current.Version, "the refusal tells the current version")

		_, err = tbl.Patch(ctx, k, ports.Attributes{"amount": int64(8)}, 2, ports.Condition{Attribute: "status", Equals: "pending"})
		require.ErrorAs(t, err, &ce, "a failed condition is refused")
		assert.Equal(t, "approved", ce.Current.Attributes["status"])

		got, err = tbl.Patch(ctx, k, ports.Attributes{"note": "changed"}, 0)
		require.NoError(t, err, "version 0 patches whatever the version")
		assert.Equal(t, int64(3), got.Version)

		_, err = tbl.Patch(ctx, key("P#patch", "S#none"), ports.Attributes{"a": "b"}, 0)
		require.ErrorIs(t, err, ports.ErrNotFound)
		_, err = tbl.Patch(ctx, k, ports.Attributes{"version": int64(1)}, 0)
		require.ErrorIs(t, err, ports.ErrInvalidItem)
		_, err = tbl.Patch(ctx, k, ports.Attributes{}, 0)
		require.ErrorIs(t, err, ports.ErrInvalidItem)

		clock.Advance(2 * time.Hour)
		_, err = tbl.Patch(ctx, k, ports.Attributes{"note": "late"}, 0)
		require.ErrorIs(t, err, ports.ErrNotFound, "an expired item cannot be patched")
	})

	t.Run("concurrent patches at one version have one winner", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#patchrace", "S#1")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"n": int64(0)}})
		require.NoError(t, err)
		won := race(t, 20, func(i int) error {
			_, err := tbl.Patch(ctx, k, ports.Attributes{"n": int64(i)}, 1)
			return err
		}, ports.ErrConflict)
		assert.Equal(t, int32(1), won)
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
	})

	t.Run("delete honours existence and version", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#del", "S#1")
		require.ErrorIs(t, tbl.Delete(ctx, k, 0), ports.ErrNotFound)
		_, err := tbl.Create(ctx, ports.Item{Key: k})
		require.NoError(t, err)
		require.ErrorIs(t, tbl.Delete(ctx, k, 7), ports.ErrConflict)
		_, err = tbl.Get(ctx, k)
		require.NoError(t, err, "a refused delete keeps the item")
		require.NoError(t, tbl.Delete(ctx, k, 1))
		_, err = tbl.Get(ctx, k)
		require.ErrorIs(t, err, ports.ErrNotFound)
		require.ErrorIs(t, tbl.Delete(ctx, k, 0), ports.ErrNotFound)

		k2 := key("P#del", "S#2")
		_, err = tbl.Create(ctx, ports.Item{Key: k2})
		require.NoError(t, err)
		require.NoError(t, tbl.Delete(ctx, k2, 0), "version 0 deletes unconditionally")
	})

	t.Run("invalid items are refused and not written", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for _, it := range []ports.Item{
			{Key: key("", "S")},
			{Key: key("P#inv", "")},
			{Key: key("P#inv", "S#1"), Attributes: ports.Attributes{"PK": "x"}},
			{Key: key("P#inv", "S#2"), Attributes: ports.Attributes{"version": int64(9)}},
			{Key: key("P#inv", "S#3"), Attributes: ports.Attributes{"f": 1.5}},
			{Key: key("P#inv", "S#4"), Attributes: ports.Attributes{"": "x"}},
		} {
			_, err := tbl.Create(ctx, it)
			require.ErrorIs(t, err, ports.ErrInvalidItem, "%+v", it)
		}
		page, err := tbl.Query(ctx, ports.Query{Partition: "P#inv", Limit: 10})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
	})

	t.Run("expired items are absent for every operation", func(t *testing.T) {
		t.Parallel()
		tbl, clock, ctx := setup(t)
		k := key("P#ttl", "S#1")
		created, err := tbl.Create(ctx, ports.Item{Key: k, ExpiresAt: start.Add(time.Hour), Attributes: ports.Attributes{"a": "1"}})
		require.NoError(t, err)
		assert.Equal(t, start.Add(time.Hour).Unix(), created.ExpiresAt.Unix())
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, start.Add(time.Hour).Unix(), got.ExpiresAt.Unix())
		_, err = tbl.Create(ctx, ports.Item{Key: key("P#ttl", "S#2"), Attributes: ports.Attributes{"a": "2"}})
		require.NoError(t, err)

		clock.Advance(time.Hour)
		_, err = tbl.Get(ctx, k)
		require.ErrorIs(t, err, ports.ErrNotFound)
		_, err = tbl.Update(ctx, ports.Item{Key: k}, 1)
		require.ErrorIs(t, err, ports.ErrNotFound)
		require.ErrorIs(t, tbl.Delete(ctx, k, 0), ports.ErrNotFound)
		page, err := tbl.Query(ctx, ports.Query{Partition: "P#ttl", Limit: 10})
		require.NoError(t, err)
		require.Len(t, page.Items, 1)
		assert.Equal(t, "S#2", page.Items[0].Key.Sort)

		recreated, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"a": "new"}})
		require.NoError(t, err, "an expired item does not block a create")
		assert.Equal(t, int64(1), recreated.Version)
	})

	t.Run("query pages through a prefix in sort order", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for i := range 7 {
			_, err := tbl.Create(ctx, ports.Item{Key: key("P#q", fmt.Sprintf("ITEM#%02d", 6-i)), Attributes: ports.Attributes{"n": int64(6 - i)}})
			require.NoError(t, err)
		}
		_, err := tbl.Create(ctx, ports.Item{Key: key("P#q", "OTHER#1")})
		require.NoError(t, err)
		_, err = tbl.Create(ctx, ports.Item{Key: key("P#q2", "ITEM#00")})
		require.NoError(t, err)

		var sorts []string
		pages := 0
		q := ports.Query{Partition: "P#q", SortPrefix: "ITEM#", Limit: 3}
		for {
			page, err := tbl.Query(ctx, q)
			require.NoError(t, err)
			pages++
			require.LessOrEqual(t, len(page.Items), 3)
			for _, it := range page.Items {
				sorts = append(sorts, it.Key.Sort)
			}
			if page.NextCursor == "" {
				break
			}
			require.Len(t, page.Items, 3, "only the last page may be short")
			q.Cursor = page.NextCursor
		}
		assert.Equal(t, 3, pages)
		assert.Equal(t, []string{"ITEM#00", "ITEM#01", "ITEM#02", "ITEM#03", "ITEM#04", "ITEM#05", "ITEM#06"}, sorts)

		page, err := tbl.Query(ctx, ports.Query{Partition: "P#q", SortPrefix: "ITEM#", Limit: 7})
		require.NoError(t, err)
		assert.Len(t, page.Items, 7)
		assert.Empty(t, page.NextCursor, "a page that ends the partition has no cursor")

		page, err = tbl.Query(ctx, ports.Query{Partition: "P#none", Limit: 7})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
		assert.Empty(t, page.NextCursor)
	})

	t.Run("reverse query pages newest first", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for i := range 5 {
			_, err := tbl.Create(ctx, ports.Item{Key: key("P#rev", fmt.Sprintf("E#%d", i))})
			require.NoError(t, err)
		}
		_, err := tbl.Create(ctx, ports.Item{Key: key("P#rev", "F#9")})
		require.NoError(t, err)
		q := ports.Query{Partition: "P#rev", SortPrefix: "E#", Limit: 2, Reverse: true}
		var got []string
		for {
			page, err := tbl.Query(ctx, q)
			require.NoError(t, err)
			for _, it := range page.Items {
				got = append(got, it.Key.Sort)
			}
			if page.NextCursor == "" {
				break
			}
			forward := q
			forward.Reverse = false
			forward.Cursor = page.NextCursor
			_, err = tbl.Query(ctx, forward)
			require.ErrorIs(t, err, ports.ErrInvalidCursor, "a cursor is bound to its direction")
			q.Cursor = page.NextCursor
		}
		assert.Equal(t, []string{"E#4", "E#3", "E#2", "E#1", "E#0"}, got)
	})

	t.Run("query filters by attribute equality across pages", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for i := range 10 {
			status := "pending"
			if i%3 == 0 {
				status = "approved"
			}
			_, err := tbl.Create(ctx, ports.Item{Key: key("P#f", fmt.Sprintf("C#%02d", i)), Attributes: ports.Attributes{"status": status, "odd": i%2 == 1}})
			require.NoError(t, err)
		}
		q := ports.Query{Partition: "P#f", SortPrefix: "C#", Limit: 2, Where: []ports.Condition{{Attribute: "status", Equals: "approved"}}}
		var got []string
		for {
			page, err := tbl.Query(ctx, q)
			require.NoError(t, err)
			for _, it := range page.Items {
				got = append(got, it.Key.Sort)
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		assert.Equal(t, []string{"C#00", "C#03", "C#06", "C#09"}, got)

		page, err := tbl.Query(ctx, ports.Query{Partition: "P#f", Limit: 10, Where: []ports.Condition{
			{Attribute: "status", Equals: "pending"}, {Attribute: "odd", Equals: true},
		}})
		require.NoError(t, err)
		var odd []string
		for _, it := range page.Items {
			odd = append(odd, it.Key.Sort)
		}
		assert.Equal(t, []string{"C#01", "C#05", "C#07"}, odd)
	})

	t.Run("cursors are tamper-evident and bound to their query", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for i := range 3 {
			_, err := tbl.Create(ctx, ports.Item{Key: key("P#c", fmt.Sprintf("S#%d", i))})
			require.NoError(t, err)
			_, err = tbl.Create(ctx, ports.Item{Key: key("P#other", fmt.Sprintf("S#%d", i))})
			require.NoError(t, err)
		}
		page, err := tbl.Query(ctx, ports.Query{Partition: "P#c", Limit: 1})
		require.NoError(t, err)
		require.NotEmpty(t, page.NextCursor)
		cur := page.NextCursor

		flipped := []byte(cur)
		i := strings.IndexByte(cur, '.') - 2
		if flipped[i] == 'A' {
			flipped[i] = 'B'
		} else {
			flipped[i] = 'A'
		}
		for name, q := range map[string]ports.Query{
			"edited":          {Partition: "P#c", Limit: 1, Cursor: string(flipped)},
			"garbage":         {Partition: "P#c", Limit: 1, Cursor: "not-a-cursor"},
			"empty signature": {Partition: "P#c", Limit: 1, Cursor: strings.SplitN(cur, ".", 2)[0] + "."},
			"long":            {Partition: "P#c", Limit: 1, Cursor: strings.Repeat("x", 5000)},
			"other partition": {Partition: "P#other", Limit: 1, Cursor: cur},
			"other prefix":    {Partition: "P#c", SortPrefix: "S#2", Limit: 1, Cursor: cur},
			"other filter":    {Partition: "P#c", Limit: 1, Cursor: cur, Where: []ports.Condition{{Attribute: "a", Equals: "b"}}},
		} {
			_, err := tbl.Query(ctx, q)
			require.ErrorIs(t, err, ports.ErrInvalidCursor, name)
		}
		next, err := tbl.Query(ctx, ports.Query{Partition: "P#c", Limit: 1, Cursor: cur})
		require.NoError(t, err)
		require.Len(t, next.Items, 1)
		assert.Equal(t, "S#1", next.Items[0].Key.Sort)
	})

	t.Run("invalid queries are refused", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for _, q := range []ports.Query{
			{Partition: "P", Limit: 0},
			{Partition: "P", Limit: ports.MaxQueryLimit + 1},
			{Partition: "", Limit: 1},
			{Partition: "P", Limit: 1, Where: []ports.Condition{{Attribute: "a", Equals: 1.5}}},
		} {
			_, err := tbl.Query(ctx, q)
			require.ErrorIs(t, err, ports.ErrInvalidItem, "%+v", q)
		}
	})

	t.Run("concurrent conditional writes have exactly one winner", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		const n = 20
		k := key("P#race", "S#1")
		created := race(t, n, func(i int) error {
			_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"writer": int64(i)}})
			return err
		}, ports.ErrConflict)
		require.Equal(t, int32(1), created)
		updated := race(t, n, func(i int) error {
			_, err := tbl.Update(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"writer": int64(100 + i)}}, 1)
			return err
		}, ports.ErrConflict)
		assert.Equal(t, int32(1), updated)
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
	})

	t.Run("a filtered query reads a bounded number of items per page", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		for i := range 40 {
			kind := "miss"
			if i == 5 || i == 37 {
				kind = "hit"
			}
			_, err := tbl.Create(ctx, ports.Item{Key: key("P#scan", fmt.Sprintf("ITEM#%02d", i)), Attributes: ports.Attributes{"kind": kind}})
			require.NoError(t, err)
		}
		q := ports.Query{Partition: "P#scan", SortPrefix: "ITEM#", Where: []ports.Condition{{Attribute: "kind", Equals: "hit"}}, Limit: 5, ScanLimit: 10}
		var hits []string
		pages, empty := 0, 0
		for {
			page, err := tbl.Query(ctx, q)
			require.NoError(t, err)
			pages++
			assert.LessOrEqual(t, len(page.Items), 5)
			if len(page.Items) == 0 {
				empty++
			}
			for _, it := range page.Items {
				hits = append(hits, it.Key.Sort)
			}
			if page.NextCursor == "" {
				break
			}
			require.Less(t, pages, 10, "the cursor moves on")
			q.Cursor = page.NextCursor
		}
		assert.Equal(t, []string{"ITEM#05", "ITEM#37"}, hits, "every match once, in order")
		assert.GreaterOrEqual(t, pages, 4, "40 items at 10 a page take at least 4 pages")
		assert.Positive(t, empty, "a page that read only misses is empty but goes on")
	})

	t.Run("a transaction writes all or nothing", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		_, err := tbl.Create(ctx, ports.Item{Key: key("P#tx", "S#taken"), Attributes: ports.Attributes{"n": int64(1)}})
		require.NoError(t, err)
		err = tbl.Transact(ctx,
			ports.Write{Create: &ports.Item{Key: key("P#tx", "S#new"), Attributes: ports.Attributes{"n": int64(2)}}},
			ports.Write{Create: &ports.Item{Key: key("P#tx", "S#taken"), Attributes: ports.Attributes{"n": int64(3)}}})
		var te *ports.TransactionError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 1, te.Index, "the write that did not qualify is named")
		require.ErrorIs(t, err, ports.ErrConflict)
		_, err = tbl.Get(ctx, key("P#tx", "S#new"))
		require.ErrorIs(t, err, ports.ErrNotFound, "the write that qualified was not applied either")

		require.NoError(t, tbl.Transact(ctx,
			ports.Write{Create: &ports.Item{Key: key("P#tx", "S#new"), Attributes: ports.Attributes{"n": int64(2)}}},
			ports.Write{Create: &ports.Item{Key: key("P#tx", "S#other"), Attributes: ports.Attributes{"n": 4}}}))
		got, err := tbl.Get(ctx, key("P#tx", "S#other"))
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
		assert.Equal(t, int64(4), got.Attributes["n"])
	})

	t.Run("a transaction patches and creates under conditions", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#txp", "S#item")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"status": "open", "keep": "me"}})
		require.NoError(t, err)
		patch := func(version int64, from string, log string) error {
			return tbl.Transact(ctx,
				ports.Write{Patch: &ports.PatchWrite{Key: k, Attributes: ports.Attributes{"status": "closed"}, ExpectedVersion: version,
					Conditions: []ports.Condition{{Attribute: "status", OneOf: []any{from}}}}},
				ports.Write{Create: &ports.Item{Key: key("P#txp", log), Attributes: ports.Attributes{"event": "closed"}}})
		}
		var te *ports.TransactionError
		require.ErrorAs(t, patch(7, "open", "LOG#1"), &te, "a stale version")
		assert.Equal(t, 0, te.Index)
		require.ErrorAs(t, patch(1, "shut", "LOG#1"), &te, "a failed condition")
		_, err = tbl.Get(ctx, key("P#txp", "LOG#1"))
		require.ErrorIs(t, err, ports.ErrNotFound)

		require.NoError(t, patch(1, "open", "LOG#1"))
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.Equal(t, ports.Attributes{"status": "closed", "keep": "me"}, got.Attributes)
		_, err = tbl.Get(ctx, key("P#txp", "LOG#1"))
		require.NoError(t, err)

		require.ErrorAs(t, patch(0, "closed", "LOG#1"), &te, "the log item exists: the patch is undone too")
		assert.Equal(t, 1, te.Index)
		got, err = tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)

		err = tbl.Transact(ctx, ports.Write{Patch: &ports.PatchWrite{Key: key("P#txp", "S#absent"), Attributes: ports.Attributes{"a": "b"}}})
		require.ErrorAs(t, err, &te, "a patch of an absent item")
	})

	t.Run("a transaction deletes under conditions", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#txd", "S#item")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"status": "decided"}})
		require.NoError(t, err)
		del := func(status string) error {
			return tbl.Transact(ctx,
				ports.Write{Delete: &ports.DeleteWrite{Key: k, ExpectedVersion: 1, Conditions: []ports.Condition{{Attribute: "status", Equals: status}}}},
				ports.Write{Create: &ports.Item{Key: key("P#txd", "LOG#"+status), Attributes: ports.Attributes{"event": "deleted"}}})
		}
		var te *ports.TransactionError
		require.ErrorAs(t, del("pending"), &te)
		_, err = tbl.Get(ctx, k)
		require.NoError(t, err, "not deleted")
		require.NoError(t, del("decided"))
		_, err = tbl.Get(ctx, k)
		require.ErrorIs(t, err, ports.ErrNotFound)
		_, err = tbl.Get(ctx, key("P#txd", "LOG#decided"))
		require.NoError(t, err)
	})

	t.Run("a transaction may create over an expired item", func(t *testing.T) {
		t.Parallel()
		tbl, clock, ctx := setup(t)
		k := key("P#txe", "S#item")
		_, err := tbl.Create(ctx, ports.Item{Key: k, ExpiresAt: start.Add(time.Minute), Attributes: ports.Attributes{"n": int64(1)}})
		require.NoError(t, err)
		clock.Advance(2 * time.Minute)
		require.NoError(t, tbl.Transact(ctx, ports.Write{Create: &ports.Item{Key: k, Attributes: ports.Attributes{"n": int64(2)}}}))
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Attributes["n"])
	})

	t.Run("a transaction's patch may move the item's expiry", func(t *testing.T) {
		t.Parallel()
		tbl, clock, ctx := setup(t)
		k := key("P#txx", "S#item")
		_, err := tbl.Create(ctx, ports.Item{Key: k, ExpiresAt: start.Add(time.Minute), Attributes: ports.Attributes{"status": "running"}})
		require.NoError(t, err)
		require.NoError(t, tbl.Transact(ctx, ports.Write{Patch: &ports.PatchWrite{
			Key: k, Attributes: ports.Attributes{"status": "done"}, ExpectedVersion: 1, ExpiresAt: start.Add(time.Hour),
		}}))
		clock.Advance(2 * time.Minute)
		got, err := tbl.Get(ctx, k)
		require.NoError(t, err, "alive past its first expiry")
		assert.Equal(t, "done", got.Attributes["status"])
		assert.True(t, got.ExpiresAt.Equal(start.Add(time.Hour)), "expires %s", got.ExpiresAt)
		clock.Advance(time.Hour)
		_, err = tbl.Get(ctx, k)
		require.ErrorIs(t, err, ports.ErrNotFound, "gone at its new expiry")
	})

	t.Run("invalid transactions are refused", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#txi", "S#1")
		for name, writes := range map[string][]ports.Write{
			"none":        nil,
			"empty write": {{}},
			"two kinds":   {{Create: &ports.Item{Key: k}, Delete: &ports.DeleteWrite{Key: k}}},
			"same key":    {{Create: &ports.Item{Key: k}}, {Patch: &ports.PatchWrite{Key: k, Attributes: ports.Attributes{"a": "b"}}}},
			"reserved":    {{Create: &ports.Item{Key: k, Attributes: ports.Attributes{"version": int64(9)}}}},
		} {
			require.ErrorIs(t, tbl.Transact(ctx, writes...), ports.ErrInvalidItem, name)
		}
		_, err := tbl.Get(ctx, k)
		require.ErrorIs(t, err, ports.ErrNotFound)
	})

	t.Run("concurrent transactions at one version have one winner", func(t *testing.T) {
		t.Parallel()
		tbl, _, ctx := setup(t)
		k := key("P#txc", "S#item")
		_, err := tbl.Create(ctx, ports.Item{Key: k, Attributes: ports.Attributes{"status": "open"}})
		require.NoError(t, err)
		const n = 10
		won := race(t, n, func(i int) error {
			return tbl.Transact(ctx,
				ports.Write{Patch: &ports.PatchWrite{Key: k, Attributes: ports.Attributes{"winner": int64(i)}, ExpectedVersion: 1}},
				ports.Write{Create: &ports.Item{Key: key("P#txc", fmt.Sprintf("LOG#%02d", i)), Attributes: ports.Attributes{"i": int64(i)}}})
		}, ports.ErrConflict, ports.ErrThrottled)
		assert.Equal(t, int32(1), won)
		page, err := tbl.Query(ctx, ports.Query{Partition: "P#txc", SortPrefix: "LOG#", Limit: 100})
		require.NoError(t, err)
		assert.Len(t, page.Items, 1, "only the winner's log item exists")
	})
}
