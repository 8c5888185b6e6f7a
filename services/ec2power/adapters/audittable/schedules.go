package audittable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Schedules live in one partition, SCHEDULES, one item each (sort key
// SCHEDULE#<name>), so listing them is one query; a hold is an item of its
// instance's partition (sort key HOLD) that expires with the hold.
const (
	schedulesPartition = "SCHEDULES"
	schedulePrefix     = "SCHEDULE#"
	holdSort           = "HOLD"
)

// Schedules is an app.ScheduleStore and an app.HoldStore over the audit
// table.
type Schedules struct {
	table ports.Table
}

var (
	_ app.ScheduleStore = (*Schedules)(nil)
	_ app.HoldStore     = (*Schedules)(nil)
)

// NewSchedules returns the schedules and holds kept in table.
func NewSchedules(table ports.Table) *Schedules { return &Schedules{table: table} }

func scheduleKey(name string) ports.Key {
	return ports.Key{Partition: schedulesPartition, Sort: schedulePrefix + name}
}

type windowJSON struct {
	Days  []time.Weekday `json:"days"`
	Start string         `json:"start"`
	Stop  string         `json:"stop"`
}

func toSchedule(it ports.Item) (domain.Schedule, error) {
	s := func(k string) string { v, _ := it.Attributes[k].(string); return v }
	var ws []windowJSON
	if err := json.Unmarshal([]byte(s("windows")), &ws); err != nil {
		return domain.Schedule{}, fmt.Errorf("schedule %s: windows: %w", s("name"), err)
	}
	out := domain.Schedule{Name: s("name"), Description: s("description"), TimeZone: s("timeZone"), Version: it.Version}
	out.UpdatedAt, _ = time.Parse(time.RFC3339Nano, s("updatedAt"))
	for _, w := range ws {
		start, err1 := domain.ParseTimeOfDay(w.Start)
		stop, err2 := domain.ParseTimeOfDay(w.Stop)
		if err := errors.Join(err1, err2); err != nil {
			return domain.Schedule{}, fmt.Errorf("schedule %s: %w", out.Name, err)
		}
		out.Windows = append(out.Windows, domain.Window{Days: w.Days, Start: start, Stop: stop})
	}
	return out, nil
}

// Schedule implements app.ScheduleStore.
func (s *Schedules) Schedule(ctx context.Context, name string) (domain.Schedule, error) {
	it, err := s.table.Get(ctx, scheduleKey(name))
	if errors.Is(err, ports.ErrNotFound) {
		return domain.Schedule{}, fmt.Errorf("schedule %s: %w", name, app.ErrScheduleNotFound)
	}
	if err != nil {
		return domain.Schedule{}, fmt.Errorf("read schedule %s: %w", name, err)
	}
	return toSchedule(it)
}

// PutSchedule implements app.ScheduleStore.
func (s *Schedules) PutSchedule(ctx context.Context, sc domain.Schedule, expected int64) (domain.Schedule, error) {
	ws := make([]windowJSON, len(sc.Windows))
	for i, w := range sc.Windows {
		ws[i] = windowJSON{Days: w.Days, Start: w.Start.String(), Stop: w.Stop.String()}
	}
	windows, err := json.Marshal(ws)
	if err != nil {
		return domain.Schedule{}, fmt.Errorf("schedule %s: %w", sc.Name, err)
	}
	item := ports.Item{Key: scheduleKey(sc.Name), Attributes: ports.Attributes{
		"entity": "schedule", "name": sc.Name, "timeZone": sc.TimeZone, "windows": string(windows),
		"updatedAt": sc.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}}
	if sc.Description != "" {
		item.Attributes["description"] = sc.Description
	}
	if expected == 0 {
		item, err = s.table.Create(ctx, item)
	} else {
		item, err = s.table.Update(ctx, item, expected)
	}
	if errors.Is(err, ports.ErrConflict) || errors.Is(err, ports.ErrNotFound) {
		return domain.Schedule{}, fmt.Errorf("schedule %s at version %d: %w: %w", sc.Name, expected, app.ErrScheduleChanged, err)
	}
	if err != nil {
		return domain.Schedule{}, fmt.Errorf("write schedule %s: %w", sc.Name, err)
	}
	sc.Version = item.Version
	return sc, nil
}

// DeleteSchedule implements app.ScheduleStore.
func (s *Schedules) DeleteSchedule(ctx context.Context, name string, expected int64) error {
	err := s.table.Delete(ctx, scheduleKey(name), expected)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		return fmt.Errorf("schedule %s: %w", name, app.ErrScheduleNotFound)
	case errors.Is(err, ports.ErrConflict):
		return fmt.Errorf("schedule %s: %w: %w", name, app.ErrScheduleChanged, err)
	case err != nil:
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	return nil
}

// Schedules implements app.ScheduleStore.
func (s *Schedules) Schedules(ctx context.Context) ([]domain.Schedule, error) {
	var out []domain.Schedule
	cursor := ""
	for {
		page, err := s.table.Query(ctx, ports.Query{Partition: schedulesPartition, SortPrefix: schedulePrefix, Limit: 100, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		for _, it := range page.Items {
			sc, err := toSchedule(it)
			if err != nil {
				return nil, err
			}
			out = append(out, sc)
		}
		if cursor = page.NextCursor; cursor == "" {
			return out, nil
		}
	}
}

func holdKey(id string) ports.Key { return ports.Key{Partition: partitionPrefix + id, Sort: holdSort} }

// Hold implements app.HoldStore.
func (s *Schedules) Hold(ctx context.Context, id string) (domain.Hold, bool, error) {
	it, err := s.table.Get(ctx, holdKey(id))
	if errors.Is(err, ports.ErrNotFound) {
		return domain.Hold{}, false, nil
	}
	if err != nil {
		return domain.Hold{}, false, fmt.Errorf("read the hold of %s: %w", id, err)
	}
	str := func(k string) string { v, _ := it.Attributes[k].(string); return v }
	until, _ := time.Parse(time.RFC3339Nano, str("until"))
	return domain.Hold{InstanceID: id, Until: until, APIKeyID: str("apiKeyId"), Principal: str("principal"), RequestID: str("requestId")}, true, nil
}

// PutHold implements app.HoldStore: the hold replaces the instance's, and
// disappears when it ends.
func (s *Schedules) PutHold(ctx context.Context, h domain.Hold) error {
	attrs := ports.Attributes{"entity": "hold", "instanceId": h.InstanceID, "until": h.Until.UTC().Format(time.RFC3339Nano)}
	for k, v := range map[string]string{"apiKeyId": h.APIKeyID, "principal": h.Principal, "requestId": h.RequestID} {
		if v != "" {
			attrs[k] = v
		}
	}
	item := ports.Item{Key: holdKey(h.InstanceID), ExpiresAt: h.Until, Attributes: attrs}
	cur, err := s.table.Get(ctx, item.Key)
	switch {
	case errors.Is(err, ports.ErrNotFound):
		_, err = s.table.Create(ctx, item)
	case err == nil:
		_, err = s.table.Update(ctx, item, cur.Version)
	}
	if err != nil {
		return fmt.Errorf("write the hold of %s: %w", h.InstanceID, err)
	}
	return nil
}

// DeleteHold implements app.HoldStore.
func (s *Schedules) DeleteHold(ctx context.Context, id string) (bool, error) {
	err := s.table.Delete(ctx, holdKey(id), 0)
	if errors.Is(err, ports.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete the hold of %s: %w", id, err)
	}
	return true, nil
}
