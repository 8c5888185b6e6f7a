// Package schedtest is the contract suite of app.Scheduler: every adapter
// runs it (the in-memory one, and EventBridge Scheduler's on an emulator).
package schedtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Observer reads back a pending schedule: its time and input, false when
// there is none of that name.
type Observer interface {
	Scheduled(ctx context.Context, name string) (time.Time, []byte, bool, error)
}

// Run runs the contract against the schedulers newScheduler makes. The
// schedules it makes are an hour or more away: none fires while it runs.
func Run(t *testing.T, newScheduler func(t *testing.T) (app.Scheduler, Observer)) {
	name := func() string { return fmt.Sprintf("contract-%d", time.Now().UnixNano()) }
	at := time.Now().UTC().Add(2 * time.Hour).Truncate(time.Second)

	t.Run("a schedule is kept with its time and input", func(t *testing.T) {
		s, obs := newScheduler(t)
		n := name()
		require.NoError(t, s.At(t.Context(), n, at, []byte(`{"instanceId":"i-0123456789abcdef0"}`)))
		got, input, ok, err := obs.Scheduled(t.Context(), n)
		require.NoError(t, err)
		require.True(t, ok, "the schedule is pending")
		assert.True(t, got.Equal(at), "time %s, want %s", got, at)
		assert.JSONEq(t, `{"instanceId":"i-0123456789abcdef0"}`, string(input))
	})

	t.Run("a name is scheduled once", func(t *testing.T) {
		s, obs := newScheduler(t)
		n := name()
		require.NoError(t, s.At(t.Context(), n, at, []byte(`{"n":1}`)))
		require.Error(t, s.At(t.Context(), n, at.Add(time.Hour), []byte(`{"n":2}`)))
		got, input, ok, err := obs.Scheduled(t.Context(), n)
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, got.Equal(at), "the first schedule stands")
		assert.JSONEq(t, `{"n":1}`, string(input))
	})

	t.Run("a cancelled schedule is gone, and cancelling again is no error", func(t *testing.T) {
		s, obs := newScheduler(t)
		n := name()
		require.NoError(t, s.At(t.Context(), n, at, []byte(`{}`)))
		require.NoError(t, s.Cancel(t.Context(), n))
		_, _, ok, err := obs.Scheduled(t.Context(), n)
		require.NoError(t, err)
		assert.False(t, ok)
		require.NoError(t, s.Cancel(t.Context(), n))
		require.NoError(t, s.Cancel(t.Context(), name()), "a name never scheduled")
	})

	t.Run("a recurring schedule is kept, and replaced by name", func(t *testing.T) {
		s, obs := newScheduler(t)
		n := name()
		w := domain.Weekly{Days: []time.Weekday{time.Monday, time.Friday}, Hour: 8, Minute: 30, TimeZone: "Europe/Paris"}
		require.NoError(t, s.Every(t.Context(), n, w, []byte(`{"v":1}`)))
		w.Hour = 9
		require.NoError(t, s.Every(t.Context(), n, w, []byte(`{"v":2}`)), "putting it again replaces it")
		_, input, ok, err := obs.Scheduled(t.Context(), n)
		require.NoError(t, err)
		require.True(t, ok)
		assert.JSONEq(t, `{"v":2}`, string(input))
		require.NoError(t, s.Cancel(t.Context(), n))
		_, _, ok, err = obs.Scheduled(t.Context(), n)
		require.NoError(t, err)
		assert.False(t, ok)
	})

	t.Run("schedules are independent", func(t *testing.T) {
		s, obs := newScheduler(t)
		a, b := name(), name()+"-b"
		require.NoError(t, s.At(t.Context(), a, at, []byte(`{"n":"a"}`)))
		require.NoError(t, s.At(t.Context(), b, at.Add(time.Minute), []byte(`{"n":"b"}`)))
		require.NoError(t, s.Cancel(t.Context(), a))
		got, input, ok, err := obs.Scheduled(t.Context(), b)
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, got.Equal(at.Add(time.Minute)))
		assert.JSONEq(t, `{"n":"b"}`, string(input))
	})
}
