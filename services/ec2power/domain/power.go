// Package domain holds the ec2power rules: which instance states allow a
// start or a stop, what each action aims for, and how an outcome is named.
package domain

import (
	"fmt"
	"regexp"
	"time"
)

// Action is a power action.
type Action string

// The actions.
const (
	Start Action = "start"
	Stop  Action = "stop"
)

// Target returns the state the action aims for.
func (a Action) Target() InstanceState {
	if a == Start {
		return StateRunning
	}
	return StateStopped
}

// Disposition is what an action will do to an instance in a given state.
type Disposition int

// Dispositions.
const (
	// Act: call the provider.
	Act Disposition = iota
	// AlreadyThere: the instance is in (or moving to) the target state.
	AlreadyThere
	// RetryLater: the instance is moving the other way; try again soon.
	RetryLater
	// Never: the instance is gone.
	Never
)

// Classify says what action does to an instance in state.
func Classify(a Action, state InstanceState) Disposition {
	switch state {
	case StateShuttingDown, StateTerminated:
		return Never
	}
	switch a {
	case Start:
		switch state {
		case StateRunning, StatePending:
			return AlreadyThere
		case StateStopping:
			return RetryLater
		}
	case Stop:
		switch state {
		case StateStopped, StateStopping:
			return AlreadyThere
		case StatePending:
			return RetryLater
		}
	}
	return Act
}

// Outcome names the result of an action on one instance.
type Outcome string

// Outcomes.
const (
	// Succeeded: the instance reached the target state (waited for).
	Succeeded Outcome = "succeeded"
	// Accepted: the provider accepted the action; the instance is on its way.
	Accepted Outcome = "accepted"
	// Unchanged: the instance was already in (or moving to) the target state.
	Unchanged Outcome = "unchanged"
	// TimedOut: the wait ended before the instance reached the target state.
	TimedOut Outcome = "timed_out"
	// Failed: the action failed; Code and Message say why.
	Failed Outcome = "failed"
	// WouldSucceed: a dry run found the action permitted.
	WouldSucceed Outcome = "would_succeed"
)

// Codes of failures, shared by the API and the CLI.
const (
	CodeIncorrectState       = "incorrect_state"
	CodeInsufficientCapacity = "insufficient_capacity"
	CodeThrottled            = "throttled"
	CodeUpstreamDenied       = "upstream_denied"
	CodeNotFound             = "not_found"
	CodeStartFailed          = "start_failed"
	CodeDryRunDenied         = "dry_run_denied"
	CodeUpstreamError        = "upstream_error"
	CodeUnavailable          = "upstream_unavailable"
	CodeLeaseUnavailable     = "lease_unavailable"
	CodeInstanceBusy         = "instance_busy"
)

// Result is the outcome of an action on one instance.
type Result struct {
	InstanceID  string
	Name        string
	Previous    InstanceState
	State       InstanceState
	Outcome     Outcome
	Code        string
	Message     string
	StateReason string
	// Hibernated is set for stops that asked to hibernate.
	Hibernated *bool
	// LeaseExpiresAt is when the lease a start came with stops the
	// instance.
	LeaseExpiresAt time.Time
}

// Changed reports whether the action changed the instance.
func (r Result) Changed() bool {
	return r.Outcome == Succeeded || r.Outcome == Accepted || r.Outcome == TimedOut
}

// OK reports whether the result is not a failure.
func (r Result) OK() bool { return r.Outcome != Failed }

// Messages for failure codes, safe to show.
var messages = map[string]string{
	CodeIncorrectState:       "the instance is not in a state that allows this action",
	CodeInsufficientCapacity: "EC2 has no capacity for this instance type now; retry later",
	CodeThrottled:            "EC2 is throttling requests; retry later",
	CodeUpstreamDenied:       "EC2 denied the action to this service's role",
	CodeNotFound:             "the instance does not exist",
	CodeStartFailed:          "the instance started but fell back to stopped",
	CodeDryRunDenied:         "the action would be denied",
	CodeUpstreamError:        "EC2 failed the request",
	CodeUnavailable:          "EC2 could not be reached; retry later",
	CodeLeaseUnavailable:     "the lease could not be recorded, so nothing was started; retry later",
	CodeInstanceBusy:         "another start or stop of this instance is in progress; nothing was done, retry when it has finished",
}

// Message returns the message for a code.
func Message(code string) string { return messages[code] }

var (
	instanceID = regexp.MustCompile(`^i-[0-9a-f]{8}([0-9a-f]{9})?$`)
	groupName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)
)

// ValidInstanceID reports whether id looks like an EC2 instance id.
func ValidInstanceID(id string) bool { return instanceID.MatchString(id) }

// ValidGroup reports whether name is a valid group name.
func ValidGroup(name string) bool { return groupName.MatchString(name) }

// Selector says which instances the service may see and control.
type Selector struct {
	ManagedKey   string
	ManagedValue string
	GroupKey     string
	// ScheduleKey is the tag naming the schedule an instance follows.
	ScheduleKey string
}

// DefaultSelector is ec2power:managed=true with groups in ec2power:group
// and schedules in ec2power:schedule.
var DefaultSelector = Selector{ManagedKey: "ec2power:managed", ManagedValue: "true", GroupKey: "ec2power:group", ScheduleKey: "ec2power:schedule"}

// ParseManagedTag reads "key=value".
func ParseManagedTag(s string) (key, value string, err error) {
	for i := range len(s) {
		if s[i] == '=' && i > 0 && i < len(s)-1 {
			return s[:i], s[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("managed tag %q must be key=value", s)
}

// Managed reports whether in carries the managed tag.
func (s Selector) Managed(in Instance) bool {
	return in.Tags[s.ManagedKey] == s.ManagedValue
}

// Group returns in's group name ("" when none).
func (s Selector) Group(in Instance) string { return in.Tags[s.GroupKey] }

// Grant is what a caller may do: control the instances of some groups (or
// of every group, and those in none) and, when Audit is set, see who asked
// for what in the history.
type Grant struct {
	AllGroups bool
	Groups    []string
	Audit     bool
}

// Controls reports whether the grant covers an instance of group ("" for
// an instance in no group: only a grant of every group covers it).
func (g Grant) Controls(group string) bool {
	if g.AllGroups {
		return true
	}
	for _, allowed := range g.Groups {
		if group != "" && allowed == group {
			return true
		}
	}
	return false
}
