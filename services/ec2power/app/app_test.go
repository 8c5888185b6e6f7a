package app_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/audittable"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/grants"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// world is the use cases on the memory adapters.
type world struct {
	fleet   *memfleet.Fleet
	inv     *app.Inventory
	power   *app.Power
	history *app.History
}

func newWorld(t *testing.T, audit app.AuditLog) world {
	t.Helper()
	f := memfleet.NewFleet(memfleet.WithTransitionDelays(10*time.Millisecond, 10*time.Millisecond))
	if audit == nil {
		audit = audittable.New(memory.NewTable(), 0)
	}
	cfg := app.DefaultConfig()
	cfg.PollInterval = 2 * time.Millisecond
	inv := app.NewInventory(f, cfg)
	g, err := grants.Parse(nil, "ci web=apikey:key-1;*=apikey:key-ops", "apikey:key-ops")
	require.NoError(t, err)
	return world{
		fleet: f, inv: inv, history: app.NewHistory(audit, g, wallClock{}),
		power: app.NewPower(inv, audit, g, wallClock{}, cfg, logging.New(io.Discard, 0), app.Effects{}),
	}
}

func managed(group string) map[string]string {
	return map[string]string{"ec2power:managed": "true", "ec2power:group": group}
}

var (
	who = app.Who{Caller: ports.Caller{APIKeyID: "key-1", SourceIP: "192.0.2.9"}, RequestID: "req-1"}
	ops = app.Who{Caller: ports.Caller{APIKeyID: "key-ops"}, RequestID: "req-ops"}
)

func TestTheInventorySeesOnlyManagedInstances(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	mine := w.fleet.Launch(memfleet.InstanceSpec{Tags: managed("web")})
	other := w.fleet.Launch(memfleet.InstanceSpec{Tags: map[string]string{"Name": "prod-db"}})

	list, err := w.inv.List(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, mine, list[0].ID)

	_, err = w.inv.Get(t.Context(), other)
	require.ErrorIs(t, err, fleet.ErrNotFound, "an unmanaged instance is not found, not forbidden")
	_, err = w.inv.Group(t.Context(), "nobody")
	require.ErrorIs(t, err, app.ErrGroupNotFound)
}

func TestAnUnmanagedInstanceIsNeverActedOn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	other := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: map[string]string{"Name": "prod-db"}})
	_, err := w.power.ActOnInstance(t.Context(), domain.Start, other, app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrNotManaged)
	assert.Empty(t, w.fleet.Calls())
	_, err = w.history.History(t.Context(), other, 10, "", who)
	require.ErrorIs(t, err, app.ErrHistoryNotFound, "a refused request acted on nothing and recorded nothing")
}

func TestAnActionIsAuditedFromRequestToResult(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	id := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	r, err := w.power.ActOnInstance(t.Context(), domain.Start, id, app.ActOptions{Wait: true, Timeout: 5 * time.Second}, who)
	require.NoError(t, err)
	assert.Equal(t, domain.Succeeded, r.Outcome)
	assert.Equal(t, domain.StateRunning, r.State)
	assert.Equal(t, []string{"start [" + id + "]"}, w.fleet.Calls())

	page, err := w.history.History(t.Context(), id, 10, "", ops)
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	e := page.Entries[0]
	assert.Equal(t, domain.Start, e.Action)
	assert.Equal(t, "succeeded", e.Result)
	assert.Equal(t, domain.StateRunning, e.State)
	assert.Equal(t, "key-1", e.APIKeyID)
	assert.Equal(t, "req-1", e.RequestID)
	assert.False(t, e.FinishedAt.Before(e.RequestedAt))
}

// brokenLog is an audit log that cannot record.
type brokenLog struct{ app.AuditLog }

func (brokenLog) Open(context.Context, app.AuditEntry) error { return errors.New("table unavailable") }

func TestNothingIsDoneWhenTheRequestCannotBeRecorded(t *testing.T) {
	t.Parallel()
	w := newWorld(t, brokenLog{})
	id := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	_, err := w.power.ActOnInstance(t.Context(), domain.Start, id, app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrAuditUnavailable)
	_, err = w.power.ActOnGroup(t.Context(), domain.Start, "ci", app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrAuditUnavailable)
	assert.Empty(t, w.fleet.Calls())
}

func TestAGroupFailureIsIsolatedToItsInstance(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	var ids []string
	for range 4 {
		ids = append(ids, w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")}))
	}
	w.fleet.Fail("start", ids[2], fleet.ErrInsufficientCapacity)
	results, err := w.power.ActOnGroup(t.Context(), domain.Start, "ci", app.ActOptions{}, who)
	require.NoError(t, err)
	require.Len(t, results, 4)
	for _, r := range results {
		if r.InstanceID == ids[2] {
			assert.Equal(t, domain.Failed, r.Outcome)
			assert.Equal(t, domain.CodeInsufficientCapacity, r.Code)
		} else {
			assert.Equal(t, domain.Accepted, r.Outcome, r.InstanceID)
		}
	}
}

func TestTheLegacyRoutesNeedADefaultTarget(t *testing.T) {
	t.Parallel()
	_, err := newWorld(t, nil).power.DefaultTarget()
	require.ErrorIs(t, err, app.ErrNoDefaultTarget)
}

func TestCallersActOnlyWithinTheirGrant(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	ci := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	db := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("databases")})
	loose := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: map[string]string{"ec2power:managed": "true"}})

	_, err := w.power.ActOnInstance(t.Context(), domain.Start, db, app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrNotPermitted)
	_, err = w.power.ActOnGroup(t.Context(), domain.Start, "databases", app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrNotPermitted)
	_, err = w.power.ActOnInstance(t.Context(), domain.Start, loose, app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrNotPermitted, "an instance in no group needs a grant of every group")
	_, err = w.power.ActOnInstances(t.Context(), domain.Start, []string{ci, db}, app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrNotPermitted, "one instance outside the grant refuses the whole request")
	assert.Empty(t, w.fleet.Calls(), "nothing was done")
	_, err = w.history.History(t.Context(), db, 10, "", ops)
	require.ErrorIs(t, err, app.ErrHistoryNotFound, "nor recorded")

	_, err = w.power.ActOnInstance(t.Context(), domain.Start, ci, app.ActOptions{}, who)
	require.NoError(t, err)
	_, err = w.power.ActOnInstance(t.Context(), domain.Start, loose, app.ActOptions{}, ops)
	require.NoError(t, err, "a grant of every group covers it")
}

func TestOnlyAuditorsSeeWhoAsked(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	id := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	_, err := w.power.ActOnInstance(t.Context(), domain.Start, id, app.ActOptions{}, who)
	require.NoError(t, err)
	seen, err := w.history.History(t.Context(), id, 10, "", who)
	require.NoError(t, err)
	require.Len(t, seen.Entries, 1)
	assert.Empty(t, seen.Entries[0].APIKeyID+seen.Entries[0].Principal+seen.Entries[0].SourceIP)
	assert.Equal(t, "req-1", seen.Entries[0].RequestID, "the rest of the entry is shown")
	audited, err := w.history.History(t.Context(), id, 10, "", ops)
	require.NoError(t, err)
	assert.Equal(t, "key-1", audited.Entries[0].APIKeyID)
	assert.Equal(t, "192.0.2.9", audited.Entries[0].SourceIP)
}

// An entry whose function stopped before recording the result (killed, or
// past its timeout) is not shown as requested forever: once no function
// can still be working on it, the history says it was interrupted.
func TestAnEntryNobodyFinishedIsShownInterrupted(t *testing.T) {
	t.Parallel()
	audit := audittable.New(memory.NewTable(), 0)
	start := time.Now().Add(-time.Hour)
	g, err := grants.Parse(nil, "*=*", "*")
	require.NoError(t, err)
	open := func(id string, at, deadline time.Time) {
		require.NoError(t, audit.Open(t.Context(), app.AuditEntry{
			InstanceID: id, Action: domain.Start, RequestID: "r-" + id, RequestedAt: at, Result: app.ResultRequested, Deadline: deadline,
		}))
	}
	open("i-0000000000000000a", start, time.Time{})
	open("i-0000000000000000b", time.Now().Add(-time.Minute), time.Time{})
	open("i-0000000000000000c", time.Now().Add(-time.Minute), time.Now().Add(-30*time.Second))
	h := app.NewHistory(audit, g, wallClock{})
	page, err := h.History(t.Context(), "i-0000000000000000a", 10, "", who)
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	assert.Equal(t, "timed_out", page.Entries[0].Result, "requested an hour ago and never finished")
	assert.Equal(t, app.CodeInterrupted, page.Entries[0].Code)
	page, err = h.History(t.Context(), "i-0000000000000000b", 10, "", who)
	require.NoError(t, err)
	assert.Equal(t, app.ResultRequested, page.Entries[0].Result, "a function may still be working on it")
	page, err = h.History(t.Context(), "i-0000000000000000c", 10, "", who)
	require.NoError(t, err)
	assert.Equal(t, app.CodeInterrupted, page.Entries[0].Code, "its function's deadline has passed")
}

func TestActionsOnOneInstanceRunOneAtATime(t *testing.T) {
	t.Parallel()
	audit := audittable.New(memory.NewTable(), 0)
	w := newWorld(t, audit)
	a := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	b := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	// Another action on a is in flight: its entry is open.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	inFlight := app.AuditEntry{InstanceID: a, Action: domain.Stop, RequestID: "req-other", RequestedAt: time.Now().UTC(), Result: app.ResultRequested}
	require.NoError(t, audit.Open(ctx, inFlight))

	_, err := w.power.ActOnInstance(t.Context(), domain.Start, a, app.ActOptions{}, who)
	require.ErrorIs(t, err, app.ErrInstanceBusy)
	_, err = w.power.ActOnGroup(t.Context(), domain.Start, "ci", app.ActOptions{}, ops)
	require.ErrorIs(t, err, app.ErrInstanceBusy, "a group action waits for all of its instances")
	assert.Empty(t, w.fleet.Calls(), "nothing was started")
	// b has no entry when the group action found a busy first.
	page, err := w.history.History(t.Context(), b, 10, "", ops)
	if !errors.Is(err, app.ErrHistoryNotFound) {
		require.NoError(t, err)
	}
	for _, e := range page.Entries {
		assert.Equal(t, "failed", e.Result, "an entry the refused group action opened is closed")
		assert.Equal(t, domain.CodeInstanceBusy, e.Code)
	}

	inFlight.Result, inFlight.FinishedAt = "unchanged", time.Now().UTC()
	require.NoError(t, audit.Complete(t.Context(), inFlight))
	results, err := w.power.ActOnGroup(t.Context(), domain.Start, "ci", app.ActOptions{}, ops)
	require.NoError(t, err, "both instances are free again")
	require.Len(t, results, 2)
	for _, r := range results {
		assert.Equal(t, domain.Accepted, r.Outcome)
	}
}

func TestConcurrentStartsAndStopsCallTheFleetOnlyFromTheStateTheyLeave(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	id := w.fleet.Launch(memfleet.InstanceSpec{State: domain.StateStopped, Tags: managed("ci")})
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			action := []domain.Action{domain.Start, domain.Stop}[i%2]
			for {
				r, err := w.power.ActOnInstance(t.Context(), action, id, app.ActOptions{Wait: true, Timeout: 5 * time.Second}, who)
				if errors.Is(err, app.ErrInstanceBusy) {
					time.Sleep(time.Millisecond)
					continue
				}
				if assert.NoError(t, err) && r.Outcome == domain.Succeeded {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
				return
			}
		})
	}
	wg.Wait()
	assert.Len(t, w.fleet.Calls(), accepted, "one call per action that changed the instance, none that found it where it leads")
	assert.Positive(t, accepted)
}
