package memfleet_test

import (
	"testing"
	"time"

	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet/fleettest"
)

func TestFleetContract(t *testing.T) {
	t.Parallel()
	fleettest.FleetContract(t, func(*testing.T) fleettest.FleetUnderTest {
		f := memfleet.NewFleet(memfleet.WithTransitionDelays(30*time.Millisecond, 30*time.Millisecond))
		return fleettest.FleetUnderTest{
			Fleet: f,
			Launch: func(_ *testing.T, tags map[string]string, hibernation bool) string {
				return f.Launch(memfleet.InstanceSpec{Tags: tags, Hibernation: hibernation})
			},
		}
	})
}
