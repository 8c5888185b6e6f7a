package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

func TestDays(t *testing.T) {
	for in, want := range map[string][]time.Weekday{
		"mon-fri":     {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
		"sat,sun":     {time.Saturday, time.Sunday},
		"fri-mon":     {time.Friday, time.Saturday, time.Sunday, time.Monday},
		"MON,wed-thu": {time.Monday, time.Wednesday, time.Thursday},
	} {
		got, err := domain.ParseDays(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "funday", "mon-", "mon,,tue"} {
		_, err := domain.ParseDays(bad)
		assert.ErrorIs(t, err, domain.ErrInvalidSchedule, bad)
	}
}

func TestTheNextInstantIsInTheScheduleTimeZone(t *testing.T) {
	w := domain.Weekly{Days: []time.Weekday{time.Monday}, Hour: 8, Minute: 0, TimeZone: "Europe/Paris"}
	// Sunday 29 March 2026 is the switch to summer time in Paris.
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC), w.Next(from).UTC(), "08:00 CEST is 06:00 UTC")
	at := time.Date(2026, 3, 30, 6, 0, 0, 0, time.UTC)
	assert.Equal(t, at.AddDate(0, 0, 7), w.Next(at).UTC(), "strictly after")
}

func TestOvernightWindowsCloseTheNextDay(t *testing.T) {
	s := domain.Schedule{Name: "night", TimeZone: "UTC", Windows: []domain.Window{{
		Days: []time.Weekday{time.Saturday}, Start: domain.TimeOfDay{Hour: 22}, Stop: domain.TimeOfDay{Hour: 2},
	}}}
	require.NoError(t, s.Check())
	assert.Equal(t, []time.Weekday{time.Saturday}, s.StartAt(s.Windows[0]).Days)
	assert.Equal(t, []time.Weekday{time.Sunday}, s.StopAt(s.Windows[0]).Days)
}

func TestSchedulesAreChecked(t *testing.T) {
	ok := domain.Window{Days: []time.Weekday{time.Monday}, Start: domain.TimeOfDay{Hour: 8}, Stop: domain.TimeOfDay{Hour: 9}}
	for name, s := range map[string]domain.Schedule{
		"bad name":        {Name: "no spaces", TimeZone: "UTC", Windows: []domain.Window{ok}},
		"no zone":         {Name: "a", Windows: []domain.Window{ok}},
		"unknown zone":    {Name: "a", TimeZone: "Mars/Olympus", Windows: []domain.Window{ok}},
		"local zone":      {Name: "a", TimeZone: "Local", Windows: []domain.Window{ok}},
		"no window":       {Name: "a", TimeZone: "UTC"},
		"repeated day":    {Name: "a", TimeZone: "UTC", Windows: []domain.Window{{Days: []time.Weekday{1, 1}, Stop: domain.TimeOfDay{Hour: 1}}}},
		"same start/stop": {Name: "a", TimeZone: "UTC", Windows: []domain.Window{{Days: []time.Weekday{1}}}},
		"hour 24":         {Name: "a", TimeZone: "UTC", Windows: []domain.Window{{Days: []time.Weekday{1}, Start: domain.TimeOfDay{Hour: 24}}}},
	} {
		require.ErrorIs(t, s.Check(), domain.ErrInvalidSchedule, name)
	}
	require.NoError(t, domain.Schedule{Name: "office", TimeZone: "Europe/Paris", Windows: []domain.Window{ok}}.Check())
}

func TestThePreviousInstant(t *testing.T) {
	w := domain.Weekly{Days: []time.Weekday{time.Monday, time.Wednesday}, Hour: 8, TimeZone: "UTC"}
	tuesday := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC), w.Prev(tuesday))
	monday8 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	assert.Equal(t, monday8, w.Prev(monday8), "at or before")
	assert.Equal(t, time.Date(2026, 11, 18, 8, 0, 0, 0, time.UTC), w.Prev(monday8.Add(-time.Second)))
}
