package domain

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Schedule is a named set of weekly windows in a time zone: the instances
// tagged with its name (Selector.ScheduleKey) are started when a window
// opens and stopped when it closes.
type Schedule struct {
	Name        string
	Description string
	TimeZone    string
	Windows     []Window
	Version     int64
	UpdatedAt   time.Time
}

// Window opens at Start on each of Days and closes at Stop: the same day,
// or the next one when Stop is not after Start (an overnight window).
type Window struct {
	Days        []time.Weekday
	Start, Stop TimeOfDay
}

// TimeOfDay is an hour and a minute.
type TimeOfDay struct{ Hour, Minute int }

func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// Weekly is a recurring instant: at Hour:Minute on each of Days, in
// TimeZone (an IANA name).
type Weekly struct {
	Days     []time.Weekday
	Hour     int
	Minute   int
	TimeZone string
}

// Limits of a schedule.
const (
	MaxWindows     = 14
	maxDescription = 256
)

var scheduleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$`)

// ValidScheduleName reports whether name can name a schedule (and its
// EventBridge schedules, whose names it is part of).
func ValidScheduleName(name string) bool { return scheduleName.MatchString(name) }

// ErrInvalidSchedule wraps every reason a schedule is refused.
var ErrInvalidSchedule = errors.New("invalid schedule")

// Check validates a schedule, saying what is wrong.
func (s Schedule) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSchedule, fmt.Sprintf(format, args...))
	}
	if !ValidScheduleName(s.Name) {
		return bad("the name must be 1 to 48 letters, digits, '_', '.' or '-'")
	}
	if len(s.Description) > maxDescription {
		return bad("the description is longer than %d characters", maxDescription)
	}
	if s.TimeZone == "" {
		return bad("timeZone is required (an IANA name such as Europe/Paris or UTC)")
	}
	if _, err := time.LoadLocation(s.TimeZone); err != nil || strings.EqualFold(s.TimeZone, "local") {
		return bad("timeZone %q is not an IANA time zone such as Europe/Paris or UTC", s.TimeZone)
	}
	if len(s.Windows) == 0 || len(s.Windows) > MaxWindows {
		return bad("a schedule has 1 to %d windows", MaxWindows)
	}
	for i, w := range s.Windows {
		if len(w.Days) == 0 {
			return bad("window %d has no days", i+1)
		}
		seen := map[time.Weekday]bool{}
		for _, d := range w.Days {
			if d < time.Sunday || d > time.Saturday || seen[d] {
				return bad("window %d repeats a day or names no day", i+1)
			}
			seen[d] = true
		}
		for _, t := range []TimeOfDay{w.Start, w.Stop} {
			if t.Hour < 0 || t.Hour > 23 || t.Minute < 0 || t.Minute > 59 {
				return bad("window %d: %s is not a time of day", i+1, t)
			}
		}
		if w.Start == w.Stop {
			return bad("window %d starts and stops at the same time", i+1)
		}
	}
	return nil
}

// StartAt is when a window opens, each week.
func (s Schedule) StartAt(w Window) Weekly {
	return Weekly{Days: w.Days, Hour: w.Start.Hour, Minute: w.Start.Minute, TimeZone: s.TimeZone}
}

// StopAt is when a window closes, each week: the next day for an
// overnight window.
func (s Schedule) StopAt(w Window) Weekly {
	days := w.Days
	if w.Stop.Hour*60+w.Stop.Minute < w.Start.Hour*60+w.Start.Minute {
		days = make([]time.Weekday, len(w.Days))
		for i, d := range w.Days {
			days[i] = (d + 1) % 7
		}
	}
	return Weekly{Days: days, Hour: w.Stop.Hour, Minute: w.Stop.Minute, TimeZone: s.TimeZone}
}

// on returns w's instant on the day of day (in w's time zone), false when
// w does not fall on that weekday.
func (w Weekly) on(day time.Time) (time.Time, bool) {
	if !slices.Contains(w.Days, day.Weekday()) {
		return time.Time{}, false
	}
	return time.Date(day.Year(), day.Month(), day.Day(), w.Hour, w.Minute, 0, 0, day.Location()), true
}

// local is t in w's time zone (UTC when the zone is unknown).
func (w Weekly) local(t time.Time) time.Time {
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc)
}

// Next returns the first instant of w strictly after t.
func (w Weekly) Next(t time.Time) time.Time {
	local := w.local(t)
	for i := range 8 {
		if at, ok := w.on(local.AddDate(0, 0, i)); ok && at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// Prev returns the last instant of w at or before t (zero when none in
// the week before).
func (w Weekly) Prev(t time.Time) time.Time {
	local := w.local(t)
	for i := range 8 {
		if at, ok := w.on(local.AddDate(0, 0, -i)); ok && !at.After(t) {
			return at
		}
	}
	return time.Time{}
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// DayName is a weekday's three-letter name.
func DayName(d time.Weekday) string { return dayNames[d] }

// ParseDays reads "mon-fri", "sat,sun" or "mon,wed-fri".
func ParseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	day := func(name string) (time.Weekday, error) {
		i := slices.Index(dayNames, strings.ToLower(strings.TrimSpace(name)))
		if i < 0 {
			return 0, fmt.Errorf("%w: %q is not a day (sun, mon, ... sat)", ErrInvalidSchedule, name)
		}
		return time.Weekday(i), nil
	}
	for _, part := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := day(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = day(to); err != nil {
				return nil, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			if !slices.Contains(out, d) {
				out = append(out, d)
			}
			if d == b {
				break
			}
		}
	}
	return out, nil
}

// ParseTimeOfDay reads "HH:MM".
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return TimeOfDay{}, fmt.Errorf("%w: %q is not a time such as 08:00", ErrInvalidSchedule, s)
	}
	return TimeOfDay{Hour: t.Hour(), Minute: t.Minute()}, nil
}

// Hold suspends the schedule actions on one instance until Until.
type Hold struct {
	InstanceID          string
	Until               time.Time
	APIKeyID, Principal string
	RequestID           string
}

// MaxHold is the longest a hold may last.
const MaxHold = 31 * 24 * time.Hour
