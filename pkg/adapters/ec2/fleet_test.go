package ec2_test

import (
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/ec2"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/pkg/ports/porttest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// launch runs one instance with tags on the emulator.
func launch(t *testing.T, client *awsec2.Client, tags map[string]string, hibernation bool) string {
	t.Helper()
	var tt []types.Tag
	for k, v := range tags {
		tt = append(tt, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := client.RunInstances(t.Context(), &awsec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType:       types.InstanceTypeT3Micro,
		TagSpecifications:  []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: tt}},
		HibernationOptions: &types.HibernationOptionsRequest{Configured: aws.Bool(hibernation)},
	})
	require.NoError(t, err)
	return aws.ToString(out.Instances[0].InstanceId)
}

func TestFleetContract(t *testing.T) {
	t.Parallel()
	porttest.FleetContract(t, func(t *testing.T) porttest.FleetUnderTest {
		t.Helper()
		client := awsec2.NewFromConfig(awstest.Config(t, awstest.Endpoint(t)))
		return porttest.FleetUnderTest{
			Fleet: ec2.NewFleet(client),
			Launch: func(t *testing.T, tags map[string]string, hibernation bool) string {
				t.Helper()
				return launch(t, client, tags, hibernation)
			},
		}
	})
}
