package pagecursor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func TestALazyCodecLoadsItsKeyOnFirstUseAndRetriesAFailedLoad(t *testing.T) {
	t.Parallel()
	down := errors.New("unreachable")
	loads := 0
	lazy := pagecursor.NewLazy(func(context.Context) ([]byte, error) {
		loads++
		if loads == 1 {
			return nil, down
		}
		return []byte("0123456789abcdef0123"), nil
	})
	q := ports.Query{Partition: "MEMBER#M-1", SortPrefix: "CLAIM#", Limit: 10}
	_, err := lazy.Decode(q, "anything")
	require.ErrorIs(t, err, ports.ErrInvalidCursor, "no cursor is valid before the key is loaded")
	assert.Equal(t, 0, loads, "nothing is loaded until Ready")

	require.ErrorIs(t, lazy.Ready(t.Context()), down)
	require.NoError(t, lazy.Ready(t.Context()), "a failed load is retried")
	require.NoError(t, lazy.Ready(t.Context()))
	assert.Equal(t, 2, loads, "a loaded key is kept")

	last := ports.Key{Partition: "MEMBER#M-1", Sort: "CLAIM#c-9"}
	got, err := lazy.Decode(q, lazy.Encode(q, last))
	require.NoError(t, err)
	assert.Equal(t, last, got)
	same, err := pagecursor.New([]byte("0123456789abcdef0123"))
	require.NoError(t, err)
	assert.Equal(t, same.Encode(q, last), lazy.Encode(q, last), "the same key signs the same cursors")
}

func TestALazyCodecRefusesAShortKey(t *testing.T) {
	t.Parallel()
	lazy := pagecursor.NewLazy(func(context.Context) ([]byte, error) { return []byte("short"), nil })
	require.Error(t, lazy.Ready(t.Context()))
}
