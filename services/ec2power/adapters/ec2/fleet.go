// Package ec2 implements the instance fleet port on Amazon EC2 with
// aws-sdk-go-v2, mapping EC2's error codes to the port's errors.
package ec2

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/hexlambda/hexlambda/pkg/netfail"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
	"github.com/hexlambda/hexlambda/services/ec2power/fleet"
)

// API is the part of the EC2 client the adapter uses.
type API interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, opts ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	StartInstances(ctx context.Context, in *ec2.StartInstancesInput, opts ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error)
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, opts ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
}

// Fleet is a fleet.Fleet on EC2.
type Fleet struct {
	api API
}

// NewFleet returns the adapter.
func NewFleet(api API) *Fleet { return &Fleet{api: api} }

var _ fleet.Fleet = (*Fleet)(nil)

// errorKinds maps EC2 error codes to port errors.
var errorKinds = map[string]error{
	"InvalidInstanceID.NotFound":             fleet.ErrNotFound,
	"InvalidInstanceID.Malformed":            fleet.ErrNotFound,
	"IncorrectInstanceState":                 fleet.ErrIncorrectState,
	"IncorrectState":                         fleet.ErrIncorrectState,
	"InsufficientInstanceCapacity":           fleet.ErrInsufficientCapacity,
	"InsufficientCapacity":                   fleet.ErrInsufficientCapacity,
	"InsufficientHostCapacity":               fleet.ErrInsufficientCapacity,
	"RequestLimitExceeded":                   fleet.ErrThrottled,
	"Throttling":                             fleet.ErrThrottled,
	"ThrottlingException":                    fleet.ErrThrottled,
	"UnauthorizedOperation":                  fleet.ErrDenied,
	"AuthFailure":                            fleet.ErrDenied,
	"AccessDenied":                           fleet.ErrDenied,
	"AccessDeniedException":                  fleet.ErrDenied,
	"DryRunOperation":                        fleet.ErrDryRunSucceeded,
	"UnsupportedHibernationConfiguration":    fleet.ErrHibernationUnsupported,
	"UnsupportedOperation.HibernationConfig": fleet.ErrHibernationUnsupported,
	"InternalError":                          fleet.ErrUnavailable,
	"InternalFailure":                        fleet.ErrUnavailable,
	"Unavailable":                            fleet.ErrUnavailable,
	"ServiceUnavailable":                     fleet.ErrUnavailable,
}

// mapErr wraps an SDK error with the port error its code means (the SDK
// has already retried throttling and server errors).
func mapErr(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if kind, ok := errorKinds[ae.ErrorCode()]; ok {
			return fmt.Errorf("ec2 %s: %w: %w", op, kind, err)
		}
	}
	if netfail.Unreachable(err) {
		return fmt.Errorf("ec2 %s: %w: %w", op, fleet.ErrUnavailable, err)
	}
	return fmt.Errorf("ec2 %s: %w", op, err)
}

func toInstance(in types.Instance) domain.Instance {
	out := domain.Instance{
		ID:         aws.ToString(in.InstanceId),
		Type:       string(in.InstanceType),
		Tags:       make(map[string]string, len(in.Tags)),
		LaunchTime: aws.ToTime(in.LaunchTime),
	}
	if in.State != nil {
		out.State = domain.InstanceState(in.State.Name)
	}
	if in.StateReason != nil {
		out.StateReason = aws.ToString(in.StateReason.Message)
	}
	for _, t := range in.Tags {
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if in.HibernationOptions != nil {
		out.HibernationConfigured = aws.ToBool(in.HibernationOptions.Configured)
	}
	return out
}

func (f *Fleet) describe(ctx context.Context, in *ec2.DescribeInstancesInput) ([]domain.Instance, error) {
	var out []domain.Instance
	p := ec2.NewDescribeInstancesPaginator(f.api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, mapErr("describe", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				out = append(out, toInstance(i))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Describe implements fleet.Fleet.
func (f *Fleet) Describe(ctx context.Context, ids ...string) ([]domain.Instance, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return f.describe(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
}

// List implements fleet.Fleet with tag filters.
func (f *Fleet) List(ctx context.Context, tags map[string]string) ([]domain.Instance, error) {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	filters := make([]types.Filter, 0, len(tags))
	for _, k := range keys {
		filters = append(filters, types.Filter{Name: aws.String("tag:" + k), Values: []string{tags[k]}})
	}
	return f.describe(ctx, &ec2.DescribeInstancesInput{Filters: filters})
}

func changes(in []types.InstanceStateChange) []fleet.StateChange {
	out := make([]fleet.StateChange, 0, len(in))
	for _, c := range in {
		sc := fleet.StateChange{ID: aws.ToString(c.InstanceId)}
		if c.PreviousState != nil {
			sc.Previous = domain.InstanceState(c.PreviousState.Name)
		}
		if c.CurrentState != nil {
			sc.Current = domain.InstanceState(c.CurrentState.Name)
		}
		out = append(out, sc)
	}
	return out
}

// Start implements fleet.Fleet with one StartInstances call.
func (f *Fleet) Start(ctx context.Context, ids []string, opts fleet.ActionOptions) ([]fleet.StateChange, error) {
	out, err := f.api.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: ids, DryRun: aws.Bool(opts.DryRun)})
	if err != nil {
		return nil, mapErr("start", err)
	}
	return changes(out.StartingInstances), nil
}

// Stop implements fleet.Fleet with one StopInstances call.
func (f *Fleet) Stop(ctx context.Context, ids []string, opts fleet.ActionOptions) ([]fleet.StateChange, error) {
	out, err := f.api.StopInstances(ctx, &ec2.StopInstancesInput{
		InstanceIds: ids, DryRun: aws.Bool(opts.DryRun), Hibernate: aws.Bool(opts.Hibernate),
	})
	if err != nil {
		return nil, mapErr("stop", err)
	}
	return changes(out.StoppingInstances), nil
}
