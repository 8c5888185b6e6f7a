// Command applyschedule is the applySchedule Lambda function of the ec2power
// service: a schedule's windows invoke it when they open and close.
package main

import "github.com/hexlambda/hexlambda/services/ec2power/providers"

func main() { providers.StartScheduled(initialize) }
