package ports

import (
	"context"
	"errors"
	"time"
)

// Errors of the instance fleet port (ErrNotFound and ErrThrottled are
// shared with the table port).
var (
	// ErrIncorrectState: the instance is not in a state that allows the
	// action (EC2 IncorrectInstanceState).
	ErrIncorrectState = errors.New("instance is in the wrong state for this action")
	// ErrInsufficientCapacity: the provider has no capacity to start the
	// instance now.
	ErrInsufficientCapacity = errors.New("insufficient capacity")
	// ErrDenied: the provider refused the caller's permissions.
	ErrDenied = errors.New("permission denied by the provider")
	// ErrDryRunSucceeded: a dry run found that the action would succeed.
	ErrDryRunSucceeded = errors.New("dry run: the action would succeed")
	// ErrHibernationUnsupported: the instance cannot hibernate.
	ErrHibernationUnsupported = errors.New("instance does not support hibernation")
)

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

// StateChange reports what an action did to one instance.
type StateChange struct {
	ID       string
	Previous InstanceState
	Current  InstanceState
}

// ActionOptions modify Start and Stop.
type ActionOptions struct {
	// DryRun checks permissions without acting: the call returns
	// ErrDryRunSucceeded when it would succeed.
	DryRun bool
	// Hibernate hibernates instead of stopping (Stop only).
	Hibernate bool
}

// Fleet controls a set of instances. Start and Stop act on all the given
// instances in one provider call: a failure fails the whole call.
type Fleet interface {
	// Describe returns the given instances; ErrNotFound when any is
	// unknown.
	Describe(ctx context.Context, ids ...string) ([]Instance, error)
	// List returns the instances carrying every one of tags.
	List(ctx context.Context, tags map[string]string) ([]Instance, error)
	// Start starts instances.
	Start(ctx context.Context, ids []string, opts ActionOptions) ([]StateChange, error)
	// Stop stops (or hibernates) instances.
	Stop(ctx context.Context, ids []string, opts ActionOptions) ([]StateChange, error)
}
