package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

type windowJSON struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	Stop  string   `json:"stop"`
}

type scheduleJSON struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	TimeZone    string       `json:"timeZone"`
	Windows     []windowJSON `json:"windows"`
	Version     int64        `json:"version"`
	UpdatedAt   string       `json:"updatedAt,omitempty"`
}

func toScheduleJSON(s domain.Schedule) scheduleJSON {
	out := scheduleJSON{Name: s.Name, Description: s.Description, TimeZone: s.TimeZone, Version: s.Version, Windows: make([]windowJSON, len(s.Windows))}
	for i, w := range s.Windows {
		days := make([]string, len(w.Days))
		for j, d := range w.Days {
			days[j] = domain.DayName(d)
		}
		out.Windows[i] = windowJSON{Days: days, Start: w.Start.String(), Stop: w.Stop.String()}
	}
	if !s.UpdatedAt.IsZero() {
		out.UpdatedAt = s.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return out
}

func scheduleResponse(status int, s domain.Schedule) ports.Response {
	r := httpapi.JSON(status, toScheduleJSON(s))
	r.Header.Set("ETag", `"`+strconv.FormatInt(s.Version, 10)+`"`)
	return r
}

func scheduleName(req ports.Request) (string, error) {
	n := req.PathParams["name"]
	if !domain.ValidScheduleName(n) {
		return "", invalidParameter("name", "a schedule's name is 1 to 48 letters, digits, '_', '.' or '-'")
	}
	return n, nil
}

// ifMatch reads an optional If-Match: "N" (0 when absent).
func ifMatch(req ports.Request) (int64, error) {
	v := strings.TrimSpace(req.Header.Get("If-Match"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(v, "W/"), `"`), 10, 64)
	if err != nil || n < 1 {
		return 0, invalidParameter("If-Match", `If-Match must be the schedule's ETag, such as "3"`)
	}
	return n, nil
}

func (a *API) listSchedules(ctx context.Context, _ ports.Request) (ports.Response, error) {
	all, err := a.deps.Schedules.List(ctx)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	out := struct {
		Items []scheduleJSON `json:"items"`
	}{Items: make([]scheduleJSON, 0, len(all))}
	for _, s := range all {
		out.Items = append(out.Items, toScheduleJSON(s))
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (a *API) getSchedule(ctx context.Context, req ports.Request) (ports.Response, error) {
	name, err := scheduleName(req)
	if err != nil {
		return ports.Response{}, err
	}
	s, err := a.deps.Schedules.Get(ctx, name)
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return scheduleResponse(http.StatusOK, s), nil
}

func (a *API) putSchedule(ctx context.Context, req ports.Request) (ports.Response, error) {
	name, err := scheduleName(req)
	if err != nil {
		return ports.Response{}, err
	}
	version, err := ifMatch(req)
	if err != nil {
		return ports.Response{}, err
	}
	var body struct {
		Description string       `json:"description"`
		TimeZone    string       `json:"timeZone"`
		Windows     []windowJSON `json:"windows"`
	}
	if err := httpapi.DecodeJSON(req, &body, "name", "version", "updatedAt"); err != nil {
		return ports.Response{}, err
	}
	s := domain.Schedule{Name: name, Description: body.Description, TimeZone: body.TimeZone}
	for i, w := range body.Windows {
		days, err := domain.ParseDays(strings.Join(w.Days, ","))
		if err == nil && len(w.Days) == 0 {
			err = errors.New("no days")
		}
		start, err1 := domain.ParseTimeOfDay(w.Start)
		stop, err2 := domain.ParseTimeOfDay(w.Stop)
		if err := errors.Join(err, err1, err2); err != nil {
			return ports.Response{}, invalidSchedule("window " + strconv.Itoa(i+1) + ": days are sun to sat, times HH:MM")
		}
		s.Windows = append(s.Windows, domain.Window{Days: days, Start: start, Stop: stop})
	}
	stored, err := a.deps.Schedules.Put(ctx, s, version, who(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	status := http.StatusOK
	if stored.Version == 1 {
		status = http.StatusCreated
	}
	return scheduleResponse(status, stored), nil
}

func (a *API) deleteSchedule(ctx context.Context, req ports.Request) (ports.Response, error) {
	name, err := scheduleName(req)
	if err != nil {
		return ports.Response{}, err
	}
	version, err := ifMatch(req)
	if err != nil {
		return ports.Response{}, err
	}
	if err := a.deps.Schedules.Delete(ctx, name, version, who(req)); err != nil {
		return ports.Response{}, mapError(err)
	}
	return httpapi.NoContent(), nil
}

type holdJSON struct {
	InstanceID string `json:"instanceId"`
	Until      string `json:"until"`
}

// holdInstance suspends the schedule actions on the instance until a time
// (RFC 3339) or for a duration (8h).
func (a *API) holdInstance(ctx context.Context, req ports.Request) (ports.Response, error) {
	id, err := instanceID(req)
	if err != nil {
		return ports.Response{}, err
	}
	v := req.Query.Get("until")
	until, perr := time.Parse(time.RFC3339, v)
	if perr != nil {
		d, derr := duration(v)
		if derr != nil || d <= 0 {
			return ports.Response{}, invalidParameter("until", "until is required: a time such as 2026-11-24T08:00:00Z, or a duration such as 8h")
		}
		until = time.Now().Add(d)
	}
	h, err := a.deps.Power.HoldInstance(ctx, id, until, who(req))
	if err != nil {
		return ports.Response{}, mapError(err)
	}
	return httpapi.JSON(http.StatusOK, holdJSON{InstanceID: id, Until: h.Until.UTC().Format(time.RFC3339)}), nil
}

func (a *API) releaseHold(ctx context.Context, req ports.Request) (ports.Response, error) {
	id, err := instanceID(req)
	if err != nil {
		return ports.Response{}, err
	}
	if err := a.deps.Power.ReleaseHold(ctx, id, who(req)); err != nil {
		return ports.Response{}, mapError(err)
	}
	return httpapi.NoContent(), nil
}
