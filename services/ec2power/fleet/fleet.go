// Package fleet is ec2power's outbound port to the machines it controls:
// the Fleet interface, what its calls take and return, and the errors every
// adapter reports. Its contract suite is package fleettest; the adapters are
// ec2 (the EC2 API) and memfleet (in memory, for tests and the local run).
package fleet

import (
	"context"
	"errors"

	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Errors of the fleet port. Adapters wrap them with context; callers test
// with errors.Is.
var (
	// ErrNotFound: an instance does not exist.
	ErrNotFound = errors.New("instance not found")
	// ErrThrottled: the provider refused the request for rate reasons after
	// the client's own retries; the caller may retry later.
	ErrThrottled = errors.New("provider throttled the request")
	// ErrIncorrectState: the instance is not in a state that allows the
	// action (EC2 IncorrectInstanceState).
	ErrIncorrectState = errors.New("instance is in the wrong state for this action")
	// ErrInsufficientCapacity: the provider has no capacity to start the
	// instance now.
	ErrInsufficientCapacity = errors.New("insufficient capacity")
	// ErrUnavailable: the provider could not be reached, or failed on its
	// side, after the client's own retries; the caller may retry later.
	ErrUnavailable = errors.New("provider unavailable")
	// ErrDenied: the provider refused the caller's permissions.
	ErrDenied = errors.New("permission denied by the provider")
	// ErrDryRunSucceeded: a dry run found that the action would succeed.
	ErrDryRunSucceeded = errors.New("dry run: the action would succeed")
	// ErrHibernationUnsupported: the instance cannot hibernate.
	ErrHibernationUnsupported = errors.New("instance does not support hibernation")
)

// StateChange reports what an action did to one instance.
type StateChange struct {
	ID       string
	Previous domain.InstanceState
	Current  domain.InstanceState
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
	Describe(ctx context.Context, ids ...string) ([]domain.Instance, error)
	// List returns the instances carrying every one of tags.
	List(ctx context.Context, tags map[string]string) ([]domain.Instance, error)
	// Start starts instances.
	Start(ctx context.Context, ids []string, opts ActionOptions) ([]StateChange, error)
	// Stop stops (or hibernates) instances.
	Stop(ctx context.Context, ids []string, opts ActionOptions) ([]StateChange, error)
}
