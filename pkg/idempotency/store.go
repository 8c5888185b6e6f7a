// Package idempotency makes handlers safe to retry, in the spirit of
// Powertools' idempotency utility and the IETF Idempotency-Key header draft:
// a request carrying an Idempotency-Key runs once; a retry with the same key
// and payload replays the first answer; the same key with another payload is
// refused (422); a retry while the first is still running waits briefly, then
// gets 409.
//
// Records live in any ports.Table through TableStore, so the memory and
// DynamoDB table adapters are its adapters; the table's expiry (the DynamoDB
// TTL attribute) removes old records.
package idempotency

import (
	"context"
	"errors"
	"fmt"

	"github.com/hexlambda/hexlambda/pkg/ports"
)

// PartitionPrefix starts the partition key of every idempotency record, so
// records can share a single table with the service's entities.
const PartitionPrefix = "IDEMPOTENCY#"

const sortKey = "IDEMPOTENCY"

// TableStore implements ports.IdempotencyStore on a ports.Table.
type TableStore struct {
	table ports.Table
}

// NewTableStore returns a store keeping its records in table.
func NewTableStore(table ports.Table) *TableStore {
	return &TableStore{table: table}
}

var _ ports.IdempotencyStore = (*TableStore)(nil)

func recordKey(key string) ports.Key {
	return ports.Key{Partition: PartitionPrefix + key, Sort: sortKey}
}

// Begin implements ports.IdempotencyStore with a create-if-absent.
func (s *TableStore) Begin(ctx context.Context, rec ports.IdempotencyRecord) (ports.IdempotencyRecord, bool, error) {
	item := ports.Item{
		Key:       recordKey(rec.Key),
		ExpiresAt: rec.ExpiresAt,
		Attributes: ports.Attributes{
			"payloadHash": rec.PayloadHash,
			"status":      string(ports.IdempotencyInProgress),
		},
	}
	// A live record may expire or be released between the failed create
	// and the read; then the create is tried again.
	for range 3 {
		_, err := s.table.Create(ctx, item)
		if err == nil {
			return ports.IdempotencyRecord{}, true, nil
		}
		if !errors.Is(err, ports.ErrConflict) {
			return ports.IdempotencyRecord{}, false, fmt.Errorf("begin idempotent execution: %w", err)
		}
		existing, err := s.table.Get(ctx, item.Key)
		if errors.Is(err, ports.ErrNotFound) {
			continue
		}
		if err != nil {
			return ports.IdempotencyRecord{}, false, fmt.Errorf("read idempotency record: %w", err)
		}
		return fromItem(rec.Key, existing), false, nil
	}
	return ports.IdempotencyRecord{}, false, fmt.Errorf("begin idempotent execution: record kept changing: %w", ports.ErrConflict)
}

func fromItem(key string, it ports.Item) ports.IdempotencyRecord {
	hash, _ := it.Attributes["payloadHash"].(string)
	status, _ := it.Attributes["status"].(string)
	resp, _ := it.Attributes["response"].(string)
	return ports.IdempotencyRecord{
		Key:         key,
		PayloadHash: hash,
		Status:      ports.IdempotencyStatus(status),
		Response:    []byte(resp),
		ExpiresAt:   it.ExpiresAt,
	}
}

// Complete implements ports.IdempotencyStore: one write, conditional on
// the record being the one Begin created (version 1), no read first.
func (s *TableStore) Complete(ctx context.Context, rec ports.IdempotencyRecord) error {
	item := ports.Item{
		Key:       recordKey(rec.Key),
		ExpiresAt: rec.ExpiresAt,
		Attributes: ports.Attributes{
			"payloadHash": rec.PayloadHash,
			"status":      string(ports.IdempotencyCompleted),
			"response":    string(rec.Response),
		},
	}
	if _, err := s.table.Update(ctx, item, 1); err != nil {
		return fmt.Errorf("complete idempotent execution: %w", err)
	}
	return nil
}

// CompleteWrite is Complete as a write of another transaction: it holds
// only while the record is still the in-progress one of this request.
func (s *TableStore) CompleteWrite(rec ports.IdempotencyRecord) ports.Write {
	return ports.Write{Patch: &ports.PatchWrite{
		Key: recordKey(rec.Key), ExpectedVersion: 1, ExpiresAt: rec.ExpiresAt,
		Attributes: ports.Attributes{"status": string(ports.IdempotencyCompleted), "response": string(rec.Response)},
		Conditions: []ports.Condition{
			{Attribute: "status", Equals: string(ports.IdempotencyInProgress)},
			{Attribute: "payloadHash", Equals: rec.PayloadHash},
		},
	}}
}

// Release implements ports.IdempotencyStore.
func (s *TableStore) Release(ctx context.Context, key string) error {
	err := s.table.Delete(ctx, recordKey(key), 0)
	if err != nil && !errors.Is(err, ports.ErrNotFound) {
		return fmt.Errorf("release idempotent execution: %w", err)
	}
	return nil
}
