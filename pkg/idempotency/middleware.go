package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Header is the request header that carries the client's key.
const Header = "Idempotency-Key"

// ReplayedHeader is set on a response replayed from a record.
const ReplayedHeader = "Idempotent-Replayed"

// Codes of idempotency failures.
const (
	CodeInvalidKey = "invalid_idempotency_key"
	CodeKeyReused  = "idempotency_key_reused"
	CodeInProgress = "idempotency_in_progress"
)

// MaxKeyLength bounds the Idempotency-Key header.
const MaxKeyLength = 255

// Middleware wraps handlers so that requests with an Idempotency-Key run at
// most once.
type Middleware struct {
	store  ports.IdempotencyStore
	clock  ports.Clock
	logger *slog.Logger
	// TTL is how long a completed answer is replayed (default 24 h).
	TTL time.Duration
	// InProgressTTL is how long an unfinished execution blocks its key, for
	// a process that died mid-request (default 60 s), and never past the
	// request's own deadline (a Lambda function's remaining time): a
	// request that timed out may be retried as soon as it is over.
	InProgressTTL time.Duration
	// Wait is how long a duplicate waits for the first to finish before it
	// gets 409 (default 2 s).
	Wait time.Duration
}

// NewMiddleware returns a middleware with the default durations.
func NewMiddleware(store ports.IdempotencyStore, clock ports.Clock, logger *slog.Logger) *Middleware {
	return &Middleware{
		store: store, clock: clock, logger: logger,
		TTL: 24 * time.Hour, InProgressTTL: time.Minute, Wait: 2 * time.Second,
	}
}

type storedResponse struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// ReplayCheck looks at a first answer before it is replayed: it returns the
// answer to give now (the stored one, or one that says what became of the
// resource since), or an error.
type ReplayCheck func(ctx context.Context, req ports.Request, stored ports.Response) (ports.Response, error)

// Wrap returns h made idempotent. scope separates the keys of different
// operations; keys are further scoped to the caller (its IAM principal or
// API key), so two callers never share a record. A replay is a request like
// any other to the handlers around Wrap (authorization runs again); check,
// when given, may revise the answer before it is replayed.
func (m *Middleware) Wrap(scope string, h ports.Handler, check ...ReplayCheck) ports.Handler {
	return ports.HandlerFunc(func(ctx context.Context, req ports.Request) (ports.Response, error) {
		key := req.Header.Get(Header)
		if key == "" {
			return h.Handle(ctx, req)
		}
		if !validKey(key) {
			return ports.Response{}, httpapi.Errorf(http.StatusBadRequest, CodeInvalidKey,
				"%s must be 1 to %d printable ASCII characters", Header, MaxKeyLength)
		}
		inProgress := m.InProgressTTL
		if deadline, ok := ctx.Deadline(); ok {
			inProgress = max(min(inProgress, time.Until(deadline)), 0)
		}
		rec := ports.IdempotencyRecord{
			Key:         scope + "#" + callerScope(req.Caller) + "#" + key,
			PayloadHash: payloadHash(req),
			Status:      ports.IdempotencyInProgress,
			// Tables keep expiries in whole seconds: rounded up, so a
			// record never expires before its request's time is over.
			ExpiresAt: ceilSecond(m.clock.Now().Add(inProgress)),
		}
		deadline := time.Now().Add(m.Wait)
		for {
			existing, started, err := m.store.Begin(ctx, rec)
			if err != nil {
				return ports.Response{}, fmt.Errorf("idempotency: %w", err)
			}
			if started {
				return m.run(ctx, h, req, rec)
			}
			if existing.PayloadHash != rec.PayloadHash {
				return ports.Response{}, httpapi.Errorf(http.StatusUnprocessableEntity, CodeKeyReused,
					"this %s was already used with a different request", Header)
			}
			if existing.Status == ports.IdempotencyCompleted {
				resp, err := replay(existing.Response)
				for _, c := range check {
					if err == nil {
						resp, err = c(ctx, req, resp)
					}
				}
				return resp, err
			}
			if time.Now().After(deadline) {
				return ports.Response{}, httpapi.Errorf(http.StatusConflict, CodeInProgress,
					"a request with this %s is still being processed; retry", Header).WithRetryAfter(1)
			}
			select {
			case <-ctx.Done():
				return ports.Response{}, fmt.Errorf("idempotency wait: %w", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// joinable is a store whose completion can join another transaction.
type joinable interface {
	CompleteWrite(rec ports.IdempotencyRecord) ports.Write
}

// pending is an execution whose record the handler's own transaction may
// complete (Completion).
type pending struct {
	m      *Middleware
	store  joinable
	rec    ports.IdempotencyRecord
	joined atomic.Bool
}

type pendingKey struct{}

// Completion returns the write that completes the running request's
// record with resp, to commit in the same transaction as the request's
// action: an idempotent request then costs its record's creation and that
// one transaction. ok is false when the request carries no key (or its
// store cannot join a transaction); the middleware then completes the
// record itself after the handler.
func Completion(ctx context.Context, resp ports.Response) (ports.Write, bool, error) {
	p, _ := ctx.Value(pendingKey{}).(*pending)
	if p == nil || p.store == nil {
		return ports.Write{}, false, nil
	}
	stored, err := json.Marshal(storedResponse{Status: resp.Status, Header: resp.Header, Body: resp.Body})
	if err != nil {
		return ports.Write{}, false, fmt.Errorf("idempotency: store the answer: %w", err)
	}
	rec := p.rec
	rec.Status, rec.Response, rec.ExpiresAt = ports.IdempotencyCompleted, stored, p.m.clock.Now().Add(p.m.TTL)
	p.joined.Store(true)
	return p.store.CompleteWrite(rec), true, nil
}

func (m *Middleware) run(ctx context.Context, h ports.Handler, req ports.Request, rec ports.IdempotencyRecord) (ports.Response, error) {
	p := &pending{m: m, rec: rec}
	p.store, _ = m.store.(joinable)
	resp, err := h.Handle(context.WithValue(ctx, pendingKey{}, p), req)
	if errors.Is(err, ports.ErrJoinedWrite) {
		// The record expired (or was taken over) before the action could
		// commit with it: nothing was done; the client retries.
		return ports.Response{}, httpapi.Errorf(http.StatusConflict, CodeInProgress,
			"the request outlived its %s record; nothing was done, retry", Header).WithRetryAfter(1).WithCause(err)
	}
	if err == nil && resp.Status >= 200 && resp.Status <= 299 && p.joined.Load() {
		return resp, nil // completed in the handler's own transaction
	}
	if err != nil || resp.Status < 200 || resp.Status > 299 {
		// Only successes are remembered; a failed request may be retried.
		if rerr := m.store.Release(context.WithoutCancel(ctx), rec.Key); rerr != nil {
			m.logger.ErrorContext(ctx, "idempotency record not released", slog.String("error", rerr.Error()))
		}
		return resp, err
	}
	stored, err := json.Marshal(storedResponse{Status: resp.Status, Header: resp.Header, Body: resp.Body})
	if err == nil {
		rec.Status, rec.Response, rec.ExpiresAt = ports.IdempotencyCompleted, stored, m.clock.Now().Add(m.TTL)
		err = m.store.Complete(context.WithoutCancel(ctx), rec)
	}
	if err != nil {
		// The action happened; answer it. A retry before the in-progress
		// record expires gets 409.
		m.logger.ErrorContext(ctx, "idempotency record not completed", slog.String("error", err.Error()))
	}
	return resp, nil
}

func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

func replay(raw []byte) (ports.Response, error) {
	var s storedResponse
	if err := json.Unmarshal(raw, &s); err != nil {
		return ports.Response{}, fmt.Errorf("idempotency: stored response unreadable: %w", err)
	}
	h := s.Header
	if h == nil {
		h = make(http.Header, 1)
	}
	h.Set(ReplayedHeader, "true")
	return ports.Response{Status: s.Status, Header: h, Body: s.Body}, nil
}

func validKey(k string) bool {
	if len(k) > MaxKeyLength {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// callerScope names the caller a key belongs to: its IAM principal, else
// its API key id, else "anonymous"; hashed, so records hold no identities.
func callerScope(c ports.Caller) string {
	id := "anonymous"
	switch {
	case c.Principal != "":
		id = "principal:" + c.Principal
	case c.APIKeyID != "":
		id = "apikey:" + c.APIKeyID
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// payloadHash identifies the request: method, path (so the route and its
// path parameters), query string (in canonical order) and body (JSON bodies
// compacted, so whitespace does not matter).
func payloadHash(req ports.Request) string {
	body := req.Body
	var compact bytes.Buffer
	if json.Compact(&compact, body) == nil {
		body = compact.Bytes()
	}
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\n%s\n%s\n", req.Method, req.Path, req.Query.Encode())
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
