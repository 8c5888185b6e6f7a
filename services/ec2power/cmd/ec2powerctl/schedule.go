package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// scheduleCommand manages the named schedules: schedule list|get|put|delete.
func (c *cli) scheduleCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "schedule",
		Short: "Manage the schedules whose windows start and stop the instances tagged ec2power:schedule=NAME",
		RunE: func(*cobra.Command, []string) error {
			return fail(exitUsage, "schedule needs a command: list, get, put or delete")
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List the schedules", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error { return c.showSchedules(ctx, "/schedules") })
		},
	}
	get := &cobra.Command{
		Use: "get NAME", Short: "Show a schedule", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.showSchedules(ctx, "/schedules/"+url.PathEscape(args[0]))
			})
		},
	}
	var tz, description string
	var windows []string
	put := &cobra.Command{
		Use:   "put NAME --tz ZONE --window DAYS=HH:MM-HH:MM [--window ...]",
		Short: "Create or replace a schedule",
		Long: "Create or replace a schedule: each --window opens at the first time and closes at the second on the days given\n" +
			"(mon-fri, sat,sun, ...; a window that closes before it opens closes the next day), in the time zone --tz.\n" +
			"Example: ec2powerctl schedule put office --tz Europe/Paris --window mon-fri=08:00-19:00",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := scheduleBody(tz, description, windows)
			if err != nil {
				return err
			}
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				r, err := c.doBody(ctx, http.MethodPut, "/schedules/"+url.PathEscape(args[0]), body)
				if err != nil {
					return err
				}
				if r.status != http.StatusOK && r.status != http.StatusCreated {
					return classify(r)
				}
				c.print(r, func(w io.Writer) { printSchedule(w, r.body) })
				return nil
			})
		},
	}
	put.Flags().StringVar(&tz, "tz", "", "IANA time zone of the windows (Europe/Paris, UTC)")
	put.Flags().StringVar(&description, "description", "", "what the schedule is for")
	put.Flags().StringArrayVar(&windows, "window", nil, "a window: DAYS=HH:MM-HH:MM (repeatable)")
	del := &cobra.Command{
		Use: "delete NAME", Short: "Delete a schedule and its windows", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.send(ctx, http.MethodDelete, "/schedules/"+url.PathEscape(args[0]), "schedule "+args[0]+" deleted")
			})
		},
	}
	root.AddCommand(list, get, put, del)
	return root
}

// scheduleBody is the JSON of a schedule from the command's flags.
func scheduleBody(tz, description string, windows []string) ([]byte, error) {
	if tz == "" || len(windows) == 0 {
		return nil, fail(exitUsage, "schedule put needs --tz and at least one --window DAYS=HH:MM-HH:MM")
	}
	type window struct {
		Days  []string `json:"days"`
		Start string   `json:"start"`
		Stop  string   `json:"stop"`
	}
	body := struct {
		Description string   `json:"description,omitempty"`
		TimeZone    string   `json:"timeZone"`
		Windows     []window `json:"windows"`
	}{Description: description, TimeZone: tz}
	for _, w := range windows {
		days, times, ok := strings.Cut(w, "=")
		start, stop, ok2 := strings.Cut(times, "-")
		if !ok || !ok2 || days == "" {
			return nil, fail(exitUsage, "--window %q: the form is DAYS=HH:MM-HH:MM, such as mon-fri=08:00-19:00", w)
		}
		body.Windows = append(body.Windows, window{Days: strings.Split(days, ","), Start: start, Stop: stop})
	}
	out, err := json.Marshal(body)
	if err != nil {
		return nil, fail(exitUsage, "schedule: %v", err)
	}
	return out, nil
}

func (c *cli) showSchedules(ctx context.Context, path string) error {
	r, err := c.do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return classify(r)
	}
	c.print(r, func(w io.Writer) {
		if items, ok := r.body["items"].([]any); ok {
			for _, it := range items {
				m, _ := it.(map[string]any)
				printSchedule(w, m)
			}
			return
		}
		printSchedule(w, r.body)
	})
	return nil
}

// printSchedule prints a schedule on one line: name, zone, windows.
func printSchedule(w io.Writer, m map[string]any) {
	var ws []string
	windows, _ := m["windows"].([]any)
	for _, it := range windows {
		win, _ := it.(map[string]any)
		var days []string
		list, _ := win["days"].([]any)
		for _, d := range list {
			days = append(days, fmt.Sprint(d))
		}
		ws = append(ws, fmt.Sprintf("%s=%v-%v", strings.Join(days, ","), win["start"], win["stop"]))
	}
	_, _ = fmt.Fprintln(w, printable(fmt.Sprintf("name=%v timeZone=%v version=%v windows=%s", m["name"], m["timeZone"], m["version"], strings.Join(ws, " "))))
}

// holdCommand suspends an instance's schedule actions.
func (c *cli) holdCommand() *cobra.Command {
	var until string
	cmd := &cobra.Command{
		Use: "hold INSTANCE_ID --until TIME|DURATION", Short: "Suspend the schedule actions on an instance until a time (or for a duration)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if until == "" {
				return fail(exitUsage, "hold needs --until, a time such as 2026-11-24T08:00:00Z or a duration such as 8h")
			}
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.send(ctx, http.MethodPost, "/instances/"+url.PathEscape(args[0])+"/hold?until="+url.QueryEscape(until), "")
			})
		},
	}
	cmd.Flags().StringVar(&until, "until", "", "when the hold ends: a time (RFC 3339) or a duration from now")
	return cmd
}

// unholdCommand ends an instance's hold.
func (c *cli) unholdCommand() *cobra.Command {
	return &cobra.Command{
		Use: "unhold INSTANCE_ID", Short: "End an instance's hold: its schedule acts on it again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.send(ctx, http.MethodDelete, "/instances/"+url.PathEscape(args[0])+"/hold", args[0]+": hold ended")
			})
		},
	}
}
