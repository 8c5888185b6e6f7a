// Package audittable keeps ec2power's audit log (app.AuditLog) in a generic
// table (ports.Table): one partition per instance, one item per request,
// sorted by request time. The storage layout lives here and nowhere else.
package audittable

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/app"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// The layout: partition INSTANCE#<id>, sort key AUDIT#<time>#<request id>.
const (
	partitionPrefix = "INSTANCE#"
	sortPrefix      = "AUDIT#"
	entity          = "audit"
	// sortTime sorts lexically in time order.
	sortTime = "2006-01-02T15:04:05.000000000Z"
)

// DefaultRetention is how long entries are kept when New is given no
// retention: 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// Log is an app.AuditLog over a table.
type Log struct {
	table     ports.Table
	retention time.Duration
}

var _ app.AuditLog = (*Log)(nil)

// New returns the audit log kept in table; entries expire retention after
// they were requested (DefaultRetention when retention is 0).
func New(table ports.Table, retention time.Duration) *Log {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Log{table: table, retention: retention}
}

func key(e app.AuditEntry) ports.Key {
	return ports.Key{
		Partition: partitionPrefix + e.InstanceID,
		Sort:      sortPrefix + e.RequestedAt.UTC().Format(sortTime) + "#" + e.RequestID,
	}
}

// busySort is the sort key of the item that marks an instance busy while
// an action on it is open; it expires with the acting function's deadline.
const busySort = "BUSY"

func busyKey(id string) ports.Key { return ports.Key{Partition: partitionPrefix + id, Sort: busySort} }

// Open implements app.AuditLog: one transaction creates the entry (never
// overwriting one) and the instance's busy marker, which only a marker
// past its expiry may replace; a live marker is app.ErrInstanceBusy.
func (l *Log) Open(ctx context.Context, e app.AuditEntry) error {
	// The entry records when its function stops at the latest: ctx's
	// deadline, which also ends the busy marker.
	until := e.RequestedAt.Add(app.InterruptedAfter)
	if !e.Deadline.IsZero() {
		until = e.Deadline
	}
	if d, ok := ctx.Deadline(); ok && d.Before(until) {
		until = d
	}
	// In whole seconds, as the table keeps the marker's expiry: the
	// history shows the entry interrupted from the moment the marker
	// lets another action in, not up to a second later.
	until = until.UTC().Truncate(time.Second)
	e.Deadline = until
	err := l.table.Transact(ctx,
		ports.Write{Create: &ports.Item{Key: key(e), ExpiresAt: e.RequestedAt.Add(l.retention), Attributes: attributes(e)}},
		ports.Write{Create: &ports.Item{Key: busyKey(e.InstanceID), ExpiresAt: until, Attributes: ports.Attributes{
			"entity": "busy", "requestId": e.RequestID, "action": string(e.Action),
		}}})
	var te *ports.TransactionError
	if errors.As(err, &te) && te.Index == 1 {
		return fmt.Errorf("open audit entry for %s: %w", e.InstanceID, app.ErrInstanceBusy)
	}
	if err != nil {
		return fmt.Errorf("open audit entry for %s: %w", e.InstanceID, err)
	}
	return nil
}

// Complete implements app.AuditLog: one transaction records the result,
// holding only while the entry is still open, and removes the instance's
// busy marker. A marker that expired (the action outlived its function's
// deadline, maybe another action holds the instance now) is left alone.
func (l *Log) Complete(ctx context.Context, e app.AuditEntry) error {
	done := ports.Attributes{"result": e.Result}
	if e.Code != "" {
		done["code"] = e.Code
	}
	if e.State != "" {
		done["state"] = string(e.State)
	}
	if !e.FinishedAt.IsZero() {
		done["finishedAt"] = e.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	patch := ports.Write{Patch: &ports.PatchWrite{Key: key(e), Attributes: done, Conditions: []ports.Condition{
		{Attribute: "entity", Equals: entity}, {Attribute: "result", Equals: app.ResultRequested},
	}}}
	err := l.table.Transact(ctx, patch, ports.Write{Delete: &ports.DeleteWrite{
		Key: busyKey(e.InstanceID), Conditions: []ports.Condition{{Attribute: "requestId", Equals: e.RequestID}},
	}})
	var te *ports.TransactionError
	if errors.As(err, &te) && te.Index == 1 {
		err = l.table.Transact(ctx, patch)
	}
	if errors.As(err, &te) || errors.Is(err, ports.ErrNotFound) || errors.Is(err, ports.ErrConflict) {
		return fmt.Errorf("complete audit entry for %s: %w: %w", e.InstanceID, app.ErrAuditEntryNotOpen, err)
	}
	if err != nil {
		return fmt.Errorf("complete audit entry for %s: %w", e.InstanceID, err)
	}
	return nil
}

// History implements app.AuditLog.
func (l *Log) History(ctx context.Context, instanceID string, limit int, cursor string) (app.HistoryPage, error) {
	page, err := l.table.Query(ctx, ports.Query{
		Partition: partitionPrefix + instanceID, SortPrefix: sortPrefix, Reverse: true, Limit: limit, Cursor: cursor,
	})
	if err != nil {
		return app.HistoryPage{}, fmt.Errorf("query audit entries of %s: %w", instanceID, err)
	}
	out := app.HistoryPage{Entries: make([]app.AuditEntry, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		out.Entries = append(out.Entries, entry(it))
	}
	return out, nil
}

func attributes(e app.AuditEntry) ports.Attributes {
	attrs := ports.Attributes{
		"entity":      entity,
		"instanceId":  e.InstanceID,
		"action":      string(e.Action),
		"dryRun":      e.DryRun,
		"requestId":   e.RequestID,
		"requestedAt": e.RequestedAt.UTC().Format(time.RFC3339Nano),
		"result":      e.Result,
	}
	for k, v := range map[string]string{
		"group": e.Group, "apiKeyId": e.APIKeyID, "principal": e.Principal, "sourceIp": e.SourceIP,
		"code": e.Code, "state": string(e.State), "trigger": e.Trigger,
	} {
		if v != "" {
			attrs[k] = v
		}
	}
	if !e.FinishedAt.IsZero() {
		attrs["finishedAt"] = e.FinishedAt.UTC().Format(time.RFC3339Nano)
	}
	if !e.LeaseExpiresAt.IsZero() {
		attrs["leaseExpiresAt"] = e.LeaseExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if !e.Deadline.IsZero() {
		attrs["deadline"] = e.Deadline.UTC().Format(time.RFC3339Nano)
	}
	return attrs
}

func entry(it ports.Item) app.AuditEntry {
	s := func(k string) string { v, _ := it.Attributes[k].(string); return v }
	dry, _ := it.Attributes["dryRun"].(bool)
	req, _ := time.Parse(time.RFC3339Nano, s("requestedAt"))
	fin, _ := time.Parse(time.RFC3339Nano, s("finishedAt"))
	lease, _ := time.Parse(time.RFC3339Nano, s("leaseExpiresAt"))
	deadline, _ := time.Parse(time.RFC3339Nano, s("deadline"))
	return app.AuditEntry{
		LeaseExpiresAt: lease, Trigger: s("trigger"), Deadline: deadline,
		InstanceID: s("instanceId"), Action: domain.Action(s("action")), DryRun: dry, Group: s("group"),
		RequestID: s("requestId"), APIKeyID: s("apiKeyId"), Principal: s("principal"), SourceIP: s("sourceIp"),
		RequestedAt: req, Result: s("result"), Code: s("code"), State: domain.InstanceState(s("state")), FinishedAt: fin,
	}
}
