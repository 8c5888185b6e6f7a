package audittable_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/audittable"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func scheduleContract(t *testing.T, table ports.Table) {
	store := audittable.NewSchedules(table)
	ctx := t.Context()
	_, err := store.Schedule(ctx, "office")
	require.ErrorIs(t, err, app.ErrScheduleNotFound)

	office := domain.Schedule{
		Name: "office", Description: "office hours", TimeZone: "Europe/Paris", UpdatedAt: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		Windows: []domain.Window{{Days: []time.Weekday{time.Monday, time.Friday}, Start: domain.TimeOfDay{Hour: 8}, Stop: domain.TimeOfDay{Hour: 19, Minute: 30}}},
	}
	stored, err := store.PutSchedule(ctx, office, 0)
	require.NoError(t, err)
	assert.EqualValues(t, 1, stored.Version)
	_, err = store.PutSchedule(ctx, office, 0)
	require.ErrorIs(t, err, app.ErrScheduleChanged, "created once")
	got, err := store.Schedule(ctx, "office")
	require.NoError(t, err)
	assert.Equal(t, stored, got)

	night := office
	night.Name = "night"
	_, err = store.PutSchedule(ctx, night, 0)
	require.NoError(t, err)
	all, err := store.Schedules(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"night", "office"}, []string{all[0].Name, all[1].Name})

	require.ErrorIs(t, store.DeleteSchedule(ctx, "office", 5), app.ErrScheduleChanged)
	require.NoError(t, store.DeleteSchedule(ctx, "office", 1))
	require.ErrorIs(t, store.DeleteSchedule(ctx, "office", 0), app.ErrScheduleNotFound)

	const id = "i-0123456789abcdef0"
	_, ok, err := store.Hold(ctx, id)
	require.NoError(t, err)
	assert.False(t, ok)
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	require.NoError(t, store.PutHold(ctx, domain.Hold{InstanceID: id, Until: until, APIKeyID: "key-1"}))
	require.NoError(t, store.PutHold(ctx, domain.Hold{InstanceID: id, Until: until.Add(time.Hour), APIKeyID: "key-2"}), "a hold replaces the one before")
	h, ok, err := store.Hold(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, h.Until.Equal(until.Add(time.Hour)))
	assert.Equal(t, "key-2", h.APIKeyID)
	gone, err := store.DeleteHold(ctx, id)
	require.NoError(t, err)
	assert.True(t, gone)
	gone, err = store.DeleteHold(ctx, id)
	require.NoError(t, err)
	assert.False(t, gone)
}

func TestSchedulesOnMemory(t *testing.T) {
	t.Parallel()
	scheduleContract(t, memory.NewTable())
}

func TestSchedulesOnDynamoDB(t *testing.T) {
	t.Parallel()
	scheduleContract(t, awstest.NewTable(t, nil))
}
