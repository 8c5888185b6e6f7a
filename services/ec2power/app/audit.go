package app

import (
	"context"
	"fmt"
	"time"

	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// The audit data model: one partition per instance, one item per request
// that asked to change it, newest last by sort key.
const (
	auditPartition = "INSTANCE#"
	auditPrefix    = "AUDIT#"
	// auditTime sorts lexically in time order.
	auditTime = "2006-01-02T15:04:05.000000000Z"
)

// Who identifies the request behind an action.
type Who struct {
	ports.Caller
	RequestID string
}

// AuditEntry is one recorded request.
type AuditEntry struct {
	InstanceID  string
	Action      domain.Action
	DryRun      bool
	Group       string
	RequestID   string
	APIKeyID    string
	Principal   string
	SourceIP    string
	RequestedAt time.Time
	// Result is "requested" until the action finishes, then its outcome.
	Result     string
	Code       string
	State      ports.InstanceState
	FinishedAt time.Time
}

type auditLog struct {
	table ports.Table
	clock ports.Clock
	ttl   time.Duration
}

type openEntry struct {
	item  ports.Item
	entry AuditEntry
}

func (a auditLog) begin(ctx context.Context, instanceID string, action domain.Action, dryRun bool, group string, who Who) (openEntry, error) {
	now := a.clock.Now().UTC()
	e := AuditEntry{
		InstanceID: instanceID, Action: action, DryRun: dryRun, Group: group,
		RequestID: who.RequestID, APIKeyID: who.APIKeyID, Principal: who.Principal, SourceIP: who.SourceIP,
		RequestedAt: now, Result: "requested",
	}
	it, err := a.table.Create(ctx, ports.Item{
		Key:        ports.Key{Partition: auditPartition + instanceID, Sort: auditPrefix + now.Format(auditTime) + "#" + who.RequestID},
		ExpiresAt:  now.Add(a.ttl),
		Attributes: entryAttributes(e),
	})
	if err != nil {
		return openEntry{}, fmt.Errorf("record audit entry: %w", err)
	}
	return openEntry{item: it, entry: e}, nil
}

func (a auditLog) finish(ctx context.Context, o openEntry, r domain.Result) error {
	o.entry.Result, o.entry.Code, o.entry.State = string(r.Outcome), r.Code, r.State
	o.entry.FinishedAt = a.clock.Now().UTC()
	o.item.Attributes = entryAttributes(o.entry)
	if _, err := a.table.Update(ctx, o.item, o.item.Version); err != nil {
		return fmt.Errorf("complete audit entry: %w", err)
	}
	return nil
}

func entryAttributes(e AuditEntry) ports.Attributes {
	attrs := ports.Attributes{
		"entity":      "audit",
		"instanceId":  e.InstanceID,
		"action":      string(e.Action),
		"dryRun":      e.DryRun,
		"requestId":   e.RequestID,
		"requestedAt": e.RequestedAt.Format(time.RFC3339Nano),
		"result":      e.Result,
	}
	for k, v := range map[string]string{
		"group": e.Group, "apiKeyId": e.APIKeyID, "principal": e.Principal, "sourceIp": e.SourceIP,
		"code": e.Code, "state": string(e.State),
	} {
		if v != "" {
			attrs[k] = v
		}
	}
	if !e.FinishedAt.IsZero() {
		attrs["finishedAt"] = e.FinishedAt.Format(time.RFC3339Nano)
	}
	return attrs
}

func entryFromItem(it ports.Item) AuditEntry {
	s := func(k string) string { v, _ := it.Attributes[k].(string); return v }
	dry, _ := it.Attributes["dryRun"].(bool)
	req, _ := time.Parse(time.RFC3339Nano, s("requestedAt"))
	fin, _ := time.Parse(time.RFC3339Nano, s("finishedAt"))
	return AuditEntry{
		InstanceID: s("instanceId"), Action: domain.Action(s("action")), DryRun: dry, Group: s("group"),
		RequestID: s("requestId"), APIKeyID: s("apiKeyId"), Principal: s("principal"), SourceIP: s("sourceIp"),
		RequestedAt: req, Result: s("result"), Code: s("code"), State: ports.InstanceState(s("state")), FinishedAt: fin,
	}
}

// HistoryPage is one page of an instance's audit entries, newest first.
type HistoryPage struct {
	Entries    []AuditEntry
	NextCursor string
}

func (a auditLog) history(ctx context.Context, instanceID string, limit int, cursor string) (HistoryPage, error) {
	page, err := a.table.Query(ctx, ports.Query{
		Partition: auditPartition + instanceID, SortPrefix: auditPrefix, Reverse: true, Limit: limit, Cursor: cursor,
	})
	if err != nil {
		return HistoryPage{}, fmt.Errorf("read audit history: %w", err)
	}
	out := HistoryPage{Entries: make([]AuditEntry, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		out.Entries = append(out.Entries, entryFromItem(it))
	}
	return out, nil
}
