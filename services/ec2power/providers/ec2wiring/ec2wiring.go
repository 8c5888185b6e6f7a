// Package ec2wiring is the Wire wiring of the ec2power functions that drive
// EC2 (describeInstances, startInstance, stopInstance, extendLease,
// releaseLease, expireLease): apart from the
// providers package, so the functions and the local run that do not drive
// EC2 do not compile its SDK client.
package ec2wiring

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/wire"

	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2"
	"github.com/hexlambda/hexlambda/services/ec2power/api"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
	"github.com/hexlambda/hexlambda/services/ec2power/providers"
)

// NewFleet returns the EC2 fleet adapter.
func NewFleet(cfg aws.Config) *ec2.Fleet { return ec2.NewFleet(awsec2.NewFromConfig(cfg)) }

// Fleet is the EC2 fleet and the inventory over it.
var Fleet = wire.NewSet(NewFleet, wire.Bind(new(fleet.Fleet), new(*ec2.Fleet)), providers.NewInventory)

// Describe builds describeInstances: the fleet, and the leases with the
// grants that say who sees their owners.
var Describe = wire.NewSet(providers.Base, Fleet, providers.AuditLog, providers.AuditTable, providers.OnTable,
	providers.Leases, providers.NewLeaseReader, wire.Struct(new(api.Deps), "Inventory", "Leases"))

// ApplySchedule builds applySchedule, which a schedule's windows invoke.
// It reads the instances' histories, paging within the invocation.
var ApplySchedule = wire.NewSet(providers.ConfigFromEnv, providers.NewLogger, providers.NewAWSConfig, power, onPagedAuditTable,
	providers.NewScheduleRunner, providers.NewWindows)

// power is what acts: the fleet, the audit log (written, never paged),
// the leases with their expiries, and the events.
var power = wire.NewSet(Fleet, providers.Clock, providers.AuditLog, providers.Effects, providers.NewPower)

// The audit tables: written only, or paged too (within the invocation).
var (
	onAuditTable      = wire.NewSet(providers.AuditTable, providers.OnTable)
	onPagedAuditTable = wire.NewSet(providers.InProcessPagedAuditTable, providers.OnTable)
)

// Act builds startInstance, stopInstance, extendLease and releaseLease.
var Act = wire.NewSet(providers.Base, power, onAuditTable, wire.Struct(new(api.Deps), "Power"))

// Expire builds expireLease, which a lease's schedule invokes.
var Expire = wire.NewSet(providers.ConfigFromEnv, providers.NewLogger, providers.NewAWSConfig, power, onAuditTable, providers.NewExpiry)
