package memsched_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/app/schedtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestContract(t *testing.T) {
	schedtest.Run(t, func(t *testing.T) (app.Scheduler, schedtest.Observer) {
		s := memsched.New(nil, quiet)
		t.Cleanup(s.Close)
		return s, s
	})
}

func TestAScheduleFiresOnceAtItsTimeAndIsGone(t *testing.T) {
	fired := make(chan []byte, 2)
	s := memsched.New(func(_ context.Context, input []byte) error { fired <- input; return nil }, quiet)
	t.Cleanup(s.Close)
	at := time.Now().Add(time.Second).Truncate(time.Second).Add(time.Second)
	require.NoError(t, s.At(t.Context(), "soon", at, []byte(`{"x":1}`)))
	select {
	case in := <-fired:
		assert.False(t, time.Now().Before(at), "fired before its time")
		assert.JSONEq(t, `{"x":1}`, string(in))
	case <-time.After(5 * time.Second):
		t.Fatal("the schedule never fired")
	}
	_, _, ok, err := s.Scheduled(t.Context(), "soon")
	require.NoError(t, err)
	assert.False(t, ok, "a fired schedule is deleted")
	select {
	case <-fired:
		t.Fatal("fired twice")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestACancelledScheduleNeverFires(t *testing.T) {
	var calls atomic.Int32
	s := memsched.New(func(context.Context, []byte) error { calls.Add(1); return nil }, quiet)
	t.Cleanup(s.Close)
	// Two seconds away: far enough that a loaded machine cancels it first.
	require.NoError(t, s.At(t.Context(), "x", time.Now().Add(2*time.Second), nil))
	require.NoError(t, s.Cancel(t.Context(), "x"))
	time.Sleep(3 * time.Second)
	assert.Zero(t, calls.Load())
}

func TestAFailingTargetIsRetried(t *testing.T) {
	var calls atomic.Int32
	done := make(chan struct{})
	s := memsched.New(func(context.Context, []byte) error {
		if calls.Add(1) < 2 {
			return errors.New("dependency down")
		}
		close(done)
		return nil
	}, quiet)
	t.Cleanup(s.Close)
	require.NoError(t, s.At(t.Context(), "x", time.Now(), nil))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the target was not retried")
	}
	assert.EqualValues(t, 2, calls.Load())
}
