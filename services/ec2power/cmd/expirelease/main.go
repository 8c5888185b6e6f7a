// Command expirelease is the expireLease Lambda function of the ec2power
// service: a lease's schedule invokes it when the lease's time is up.
package main

import "github.com/hexlambda/hexlambda/services/ec2power/providers"

func main() { providers.StartScheduled(initialize) }
