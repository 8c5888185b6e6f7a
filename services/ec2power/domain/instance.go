package domain

import "time"

// InstanceState is the life-cycle state of an instance, as EC2 names it.
type InstanceState string

// Instance states.
const (
	StatePending      InstanceState = "pending"
	StateRunning      InstanceState = "running"
	StateStopping     InstanceState = "stopping"
	StateStopped      InstanceState = "stopped"
	StateShuttingDown InstanceState = "shutting-down"
	StateTerminated   InstanceState = "terminated"
)

// Instance is one machine of the fleet.
type Instance struct {
	ID    string
	Type  string
	State InstanceState
	// StateReason explains the last state change when the provider gives
	// one (for example why a start fell back to stopped).
	StateReason string
	Tags        map[string]string
	LaunchTime  time.Time
	// HibernationConfigured tells whether the instance can hibernate.
	HibernationConfigured bool
}
