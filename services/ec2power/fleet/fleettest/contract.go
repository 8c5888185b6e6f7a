// Package fleettest is the contract suite of ec2power's fleet port
// (fleet.Fleet): every adapter must pass it.
package fleettest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FleetUnderTest is a fleet and a way to add instances to it.
type FleetUnderTest struct {
	Fleet fleet.Fleet
	// Launch creates a running instance with tags and returns its id.
	Launch func(t *testing.T, tags map[string]string, hibernation bool) string
}

// NewFleetFunc returns a fleet for one test.
type NewFleetFunc func(t *testing.T) FleetUnderTest

var fleetRun atomic.Int64

// FleetContract runs the fleet port's contract. Instances move between
// states over time in real fleets, so the suite polls Describe (up to 30 s)
// for the states it expects.
func FleetContract(t *testing.T, newFleet NewFleetFunc) {
	t.Helper()
	// A tag unique to this run keeps tests apart on a shared emulator.
	unique := func() map[string]string {
		return map[string]string{"contract": fmt.Sprintf("run-%d-%d", time.Now().UnixNano(), fleetRun.Add(1))}
	}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	waitFor := func(t *testing.T, f fleet.Fleet, id string, want domain.InstanceState) domain.Instance {
		t.Helper()
		var last domain.Instance
		require.Eventually(t, func() bool {
			got, err := f.Describe(context.Background(), id)
			require.NoError(t, err)
			last = got[0]
			return last.State == want
		}, 30*time.Second, 20*time.Millisecond, "instance %s never became %s", id, want)
		return last
	}

	t.Run("list selects by every tag and describes instances", func(t *testing.T) {
		t.Parallel()
		fu := newFleet(t)
		base := unique()
		a := fu.Launch(t, with(with(base, "ec2power:managed", "true"), "Name", "alpha"), false)
		b := fu.Launch(t, with(with(base, "ec2power:managed", "true"), "ec2power:group", "web"), true)
		c := fu.Launch(t, with(base, "ec2power:managed", "false"), false)

		managed, err := fu.Fleet.List(t.Context(), with(base, "ec2power:managed", "true"))
		require.NoError(t, err)
		var ids []string
		for _, in := range managed {
			ids = append(ids, in.ID)
		}
		assert.ElementsMatch(t, []string{a, b}, ids)

		web, err := fu.Fleet.List(t.Context(), with(with(base, "ec2power:managed", "true"), "ec2power:group", "web"))
		require.NoError(t, err)
		require.Len(t, web, 1)
		assert.Equal(t, b, web[0].ID)
		assert.True(t, web[0].HibernationConfigured)

		got, err := fu.Fleet.Describe(t.Context(), a, c)
		require.NoError(t, err)
		require.Len(t, got, 2)
		byID := map[string]domain.Instance{got[0].ID: got[0], got[1].ID: got[1]}
		assert.Equal(t, "alpha", byID[a].Tags["Name"])
		assert.Equal(t, "false", byID[c].Tags["ec2power:managed"])
		assert.NotEmpty(t, byID[a].Type)
		assert.False(t, byID[a].LaunchTime.IsZero())
		assert.Contains(t, []domain.InstanceState{domain.StatePending, domain.StateRunning}, byID[a].State)
	})

	t.Run("unknown and malformed ids are not found", func(t *testing.T) {
		t.Parallel()
		fu := newFleet(t)
		for _, id := range []string{"i-0123456789abcdef0", "not-an-id"} {
			_, err := fu.Fleet.Describe(t.Context(), id)
			require.ErrorIs(t, err, fleet.ErrNotFound, id)
			_, err = fu.Fleet.Start(t.Context(), []string{id}, fleet.ActionOptions{})
			require.ErrorIs(t, err, fleet.ErrNotFound, id)
		}
	})

	t.Run("stop then start move through the states", func(t *testing.T) {
		t.Parallel()
		fu := newFleet(t)
		tags := with(unique(), "ec2power:managed", "true")
		a := fu.Launch(t, tags, false)
		b := fu.Launch(t, tags, false)
		waitFor(t, fu.Fleet, a, domain.StateRunning)
		waitFor(t, fu.Fleet, b, domain.StateRunning)

		changes, err := fu.Fleet.Stop(t.Context(), []string{a, b}, fleet.ActionOptions{})
		require.NoError(t, err, "one call acts on the whole batch")
		require.Len(t, changes, 2)
		for _, c := range changes {
			assert.Equal(t, domain.StateRunning, c.Previous)
			assert.Contains(t, []domain.InstanceState{domain.StateStopping, domain.StateStopped}, c.Current)
		}
		waitFor(t, fu.Fleet, a, domain.StateStopped)
		waitFor(t, fu.Fleet, b, domain.StateStopped)

		changes, err = fu.Fleet.Stop(t.Context(), []string{a}, fleet.ActionOptions{})
		require.NoError(t, err, "stopping a stopped instance is no error")
		require.Len(t, changes, 1)
		assert.Equal(t, domain.StateStopped, changes[0].Previous)

		changes, err = fu.Fleet.Start(t.Context(), []string{a}, fleet.ActionOptions{})
		require.NoError(t, err)
		require.Len(t, changes, 1)
		assert.Equal(t, domain.StateStopped, changes[0].Previous)
		assert.Contains(t, []domain.InstanceState{domain.StatePending, domain.StateRunning}, changes[0].Current)
		waitFor(t, fu.Fleet, a, domain.StateRunning)

		_, err = fu.Fleet.Start(t.Context(), []string{a}, fleet.ActionOptions{})
		require.NoError(t, err, "starting a running instance is no error")
		waitFor(t, fu.Fleet, a, domain.StateRunning)
	})

	t.Run("dry runs check without acting", func(t *testing.T) {
		t.Parallel()
		fu := newFleet(t)
		a := fu.Launch(t, with(unique(), "ec2power:managed", "true"), false)
		waitFor(t, fu.Fleet, a, domain.StateRunning)
		_, err := fu.Fleet.Stop(t.Context(), []string{a}, fleet.ActionOptions{DryRun: true})
		require.ErrorIs(t, err, fleet.ErrDryRunSucceeded)
		got := waitFor(t, fu.Fleet, a, domain.StateRunning)
		assert.Equal(t, domain.StateRunning, got.State)
	})

	t.Run("a batch with an unknown id fails whole", func(t *testing.T) {
		t.Parallel()
		fu := newFleet(t)
		a := fu.Launch(t, with(unique(), "ec2power:managed", "true"), false)
		waitFor(t, fu.Fleet, a, domain.StateRunning)
		_, err := fu.Fleet.Stop(t.Context(), []string{a, "i-0fffffffffffffff0"}, fleet.ActionOptions{})
		require.ErrorIs(t, err, fleet.ErrNotFound)
		got, err := fu.Fleet.Describe(t.Context(), a)
		require.NoError(t, err)
		assert.Equal(t, domain.StateRunning, got[0].State)
	})

	t.Run("hibernation on a configured instance", func(t *testing.T) {
		t.Parallel()
		fu := newFleet(t)
		a := fu.Launch(t, with(unique(), "ec2power:managed", "true"), true)
		waitFor(t, fu.Fleet, a, domain.StateRunning)
		_, err := fu.Fleet.Stop(t.Context(), []string{a}, fleet.ActionOptions{Hibernate: true})
		require.NoError(t, err)
		waitFor(t, fu.Fleet, a, domain.StateStopped)
	})
}
