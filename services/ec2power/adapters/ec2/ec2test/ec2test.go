// Package ec2test holds what tests of ec2power need from the EC2 emulator.
package ec2test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// RunInstance launches one t3.micro instance with tags on the emulator and
// returns its id.
func RunInstance(ctx context.Context, client *ec2.Client, tags map[string]string, hibernation bool) (string, error) {
	tt := make([]ec2types.Tag, 0, len(tags))
	for k, v := range tags {
		tt = append(tt, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType:       ec2types.InstanceTypeT3Micro,
		TagSpecifications:  []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tt}},
		HibernationOptions: &ec2types.HibernationOptionsRequest{Configured: aws.Bool(hibernation)},
	})
	if err != nil {
		return "", fmt.Errorf("run instance: %w", err)
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}
