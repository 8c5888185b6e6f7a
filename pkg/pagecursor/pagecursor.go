// Package pagecursor encodes query positions as opaque, tamper-evident
// cursors: a position (the key of the last item returned) signed with
// HMAC-SHA256 over the query it belongs to, so a cursor cannot be forged,
// edited, or replayed against another partition, prefix or filter.
package pagecursor

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// MinKeyBytes is the shortest signing key accepted.
const MinKeyBytes = 16

// maxCursorLen bounds the input accepted by Decode.
const maxCursorLen = 2048

// Codec signs and verifies cursors with one key. Every process serving the
// same table must use the same key, or cursors fail across them.
type Codec struct {
	key []byte
}

// New returns a codec using key (at least MinKeyBytes).
func New(key []byte) (*Codec, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("cursor signing key must be at least %d bytes, got %d", MinKeyBytes, len(key))
	}
	return &Codec{key: append([]byte(nil), key...)}, nil
}

// NewRandom returns a codec with a random key, for a single process (the
// local run, tests).
func NewRandom() *Codec {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
	return &Codec{key: key}
}

type position struct {
	P string `json:"p"`
	S string `json:"s"`
}

// Scope identifies a query for signing: its partition, prefix and filters.
func Scope(q ports.Query) string {
	var b strings.Builder
	b.WriteString(q.Partition)
	b.WriteByte(0)
	b.WriteString(q.SortPrefix)
	if q.Reverse {
		b.WriteString("\x00reverse")
	}
	for _, c := range q.Where {
		b.WriteByte(0)
		b.WriteString(c.Attribute)
		b.WriteByte('=')
		fmt.Fprintf(&b, "%T:%v", c.Equals, c.Equals)
	}
	return b.String()
}

// Encode returns the cursor continuing query q after key last.
func (c *Codec) Encode(q ports.Query, last ports.Key) string {
	payload, _ := json.Marshal(position{P: last.Partition, S: last.Sort}) // strings always marshal
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(c.sign(Scope(q), p))
}

// Decode verifies a cursor for query q and returns the key to continue
// after. Any failure wraps ports.ErrInvalidCursor.
func (c *Codec) Decode(q ports.Query, cursor string) (ports.Key, error) {
	if len(cursor) > maxCursorLen {
		return ports.Key{}, fmt.Errorf("%w: too long", ports.ErrInvalidCursor)
	}
	p, sig, ok := strings.Cut(cursor, ".")
	if !ok {
		return ports.Key{}, fmt.Errorf("%w: malformed", ports.ErrInvalidCursor)
	}
	gotSig, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return ports.Key{}, fmt.Errorf("%w: malformed signature", ports.ErrInvalidCursor)
	}
	if !hmac.Equal(gotSig, c.sign(Scope(q), p)) {
		return ports.Key{}, fmt.Errorf("%w: signature mismatch", ports.ErrInvalidCursor)
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return ports.Key{}, fmt.Errorf("%w: malformed payload", ports.ErrInvalidCursor)
	}
	var pos position
	if err := json.Unmarshal(payload, &pos); err != nil {
		return ports.Key{}, fmt.Errorf("%w: malformed payload", ports.ErrInvalidCursor)
	}
	if pos.P != q.Partition || !strings.HasPrefix(pos.S, q.SortPrefix) {
		return ports.Key{}, errors.Join(ports.ErrInvalidCursor, errors.New("cursor is for another query"))
	}
	return ports.Key{Partition: pos.P, Sort: pos.S}, nil
}

func (c *Codec) sign(scope, payload string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(scope))
	m.Write([]byte{0})
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// Lazy is a codec whose key is loaded on first use: a secret read from a
// store that may be unreachable when the process starts. A failed load is
// retried by the next use; a loaded key is kept for the process's life.
type Lazy struct {
	load  func(context.Context) ([]byte, error)
	mu    sync.Mutex
	codec *Codec
}

// NewLazy returns a codec whose key load returns on first use.
func NewLazy(load func(context.Context) ([]byte, error)) *Lazy { return &Lazy{load: load} }

// Ready loads the key if it is not loaded yet; Encode and Decode need it.
func (l *Lazy) Ready(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.codec != nil {
		return nil
	}
	key, err := l.load(ctx)
	if err != nil {
		return err
	}
	c, err := New(key)
	if err != nil {
		return err
	}
	l.codec = c
	return nil
}

func (l *Lazy) loaded() *Codec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codec
}

// Encode is Codec.Encode, once Ready; it panics before, which is a bug of
// the caller.
func (l *Lazy) Encode(q ports.Query, last ports.Key) string {
	c := l.loaded()
	if c == nil {
		panic("pagecursor: Encode before Ready")
	}
	return c.Encode(q, last)
}

// Decode is Codec.Decode, once Ready; before, every cursor is invalid.
func (l *Lazy) Decode(q ports.Query, cursor string) (ports.Key, error) {
	c := l.loaded()
	if c == nil {
		return ports.Key{}, fmt.Errorf("%w: the cursor key is not loaded", ports.ErrInvalidCursor)
	}
	return c.Decode(q, cursor)
}
