//go:build memoryonly

package main

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// emulatorFleet is not in a memory-only build (-tags memoryonly, which
// go tool task run makes when AWS_ENDPOINT_URL is not set, as it compiles
// in a fraction of the time without the EC2 client).
func emulatorFleet(aws.Config) (fleet.Fleet, error) {
	return nil, errors.New("this build serves from memory only (-tags memoryonly): build without the tag to use the emulator at AWS_ENDPOINT_URL")
}
