package memory_test

import (
	"testing"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/idempotency"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
)

func TestTableContract(t *testing.T) {
	t.Parallel()
	porttest.TableContract(t, func(_ *testing.T, clock ports.Clock) ports.Table {
		return memory.NewTable(memory.WithClock(clock))
	})
}

func TestIdempotencyContract(t *testing.T) {
	t.Parallel()
	porttest.IdempotencyContract(t, func(_ *testing.T, clock ports.Clock) ports.IdempotencyStore {
		return idempotency.NewTableStore(memory.NewTable(memory.WithClock(clock)))
	})
}
