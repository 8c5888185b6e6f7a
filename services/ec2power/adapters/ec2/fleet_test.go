package ec2_test

import (
	"os"
	"testing"

	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet/fleettest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestFleetContract(t *testing.T) {
	t.Parallel()
	fleettest.FleetContract(t, func(t *testing.T) fleettest.FleetUnderTest {
		t.Helper()
		client := awsec2.NewFromConfig(awstest.Config(t, awstest.Endpoint(t)))
		return fleettest.FleetUnderTest{
			Fleet: ec2.NewFleet(client),
			Launch: func(t *testing.T, tags map[string]string, hibernation bool) string {
				t.Helper()
				id, err := ec2test.RunInstance(t.Context(), client, tags, hibernation)
				require.NoError(t, err)
				return id
			},
		}
	})
}
