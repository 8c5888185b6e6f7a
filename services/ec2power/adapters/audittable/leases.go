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

// A lease is one item per instance, beside its audit entries: partition
// INSTANCE#<id>, sort key LEASE. It is never deleted (an ended lease keeps
// its version), so versions only grow.
const (
	leaseSort   = "LEASE"
	leaseEntity = "lease"
)

// Leases is an app.LeaseStore over the audit table.
type Leases struct {
	table ports.Table
}

var _ app.LeaseStore = (*Leases)(nil)

// NewLeases returns the leases kept in table.
func NewLeases(table ports.Table) *Leases { return &Leases{table: table} }

func leaseKey(id string) ports.Key {
	return ports.Key{Partition: partitionPrefix + id, Sort: leaseSort}
}

// Lease implements app.LeaseStore.
func (l *Leases) Lease(ctx context.Context, id string) (domain.Lease, error) {
	it, err := l.table.Get(ctx, leaseKey(id))
	if errors.Is(err, ports.ErrNotFound) {
		return domain.Lease{InstanceID: id}, nil
	}
	if err != nil {
		return domain.Lease{}, fmt.Errorf("read lease of %s: %w", id, err)
	}
	s := func(k string) string { v, _ := it.Attributes[k].(string); return v }
	t := func(k string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s(k)); return v }
	return domain.Lease{
		InstanceID: id, Version: it.Version, State: domain.LeaseState(s("state")),
		ExpiresAt: t("leaseEndsAt"), GrantedAt: t("grantedAt"),
		APIKeyID: s("apiKeyId"), Principal: s("principal"), RequestID: s("requestId"),
		Schedule: s("schedule"), EndReason: s("endReason"),
	}, nil
}

// PutLease implements app.LeaseStore: a conditional create at version 0,
// else a conditional update of the version read.
func (l *Leases) PutLease(ctx context.Context, lease domain.Lease, expected int64) (domain.Lease, error) {
	attrs := ports.Attributes{
		"entity": leaseEntity, "instanceId": lease.InstanceID, "state": string(lease.State),
		"leaseEndsAt": lease.ExpiresAt.UTC().Format(time.RFC3339Nano), "grantedAt": lease.GrantedAt.UTC().Format(time.RFC3339Nano),
	}
	for k, v := range map[string]string{
		"apiKeyId": lease.APIKeyID, "principal": lease.Principal, "requestId": lease.RequestID,
		"schedule": lease.Schedule, "endReason": lease.EndReason,
	} {
		if v != "" {
			attrs[k] = v
		}
	}
	item := ports.Item{Key: leaseKey(lease.InstanceID), Attributes: attrs}
	var err error
	if expected == 0 {
		item, err = l.table.Create(ctx, item)
	} else {
		item, err = l.table.Update(ctx, item, expected)
	}
	if errors.Is(err, ports.ErrConflict) || errors.Is(err, ports.ErrNotFound) {
		return domain.Lease{}, fmt.Errorf("lease of %s at version %d: %w: %w", lease.InstanceID, expected, app.ErrLeaseChanged, err)
	}
	if err != nil {
		return domain.Lease{}, fmt.Errorf("write lease of %s: %w", lease.InstanceID, err)
	}
	lease.Version = item.Version
	return lease, nil
}
