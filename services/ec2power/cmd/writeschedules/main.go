// Command writeschedules is the writeSchedules Lambda function of the ec2power service.
package main

import "github.com/hexlambda/hexlambda/services/ec2power/providers"

func main() { providers.Start(initialize) }
