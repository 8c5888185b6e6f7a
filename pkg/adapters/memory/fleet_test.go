package memory_test

import (
	"testing"
	"time"

	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
)

func TestFleetContract(t *testing.T) {
	t.Parallel()
	porttest.FleetContract(t, func(*testing.T) porttest.FleetUnderTest {
		f := memory.NewFleet(memory.WithTransitionDelays(30*time.Millisecond, 30*time.Millisecond))
		return porttest.FleetUnderTest{
			Fleet: f,
			Launch: func(_ *testing.T, tags map[string]string, hibernation bool) string {
				return f.Launch(memory.InstanceSpec{Tags: tags, Hibernation: hibernation})
			},
		}
	})
}
