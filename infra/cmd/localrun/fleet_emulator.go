//go:build !memoryonly

package main

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// emulatorFleet is the emulator's EC2 instances.
func emulatorFleet(cfg aws.Config) (fleet.Fleet, error) {
	return ec2.NewFleet(awsec2.NewFromConfig(cfg)), nil
}
