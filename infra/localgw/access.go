package localgw

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Access is one authorization a call needs, as IAM evaluates it: an action
// on one resource, with the request's condition keys the recorder can
// tell. A call on several resources (StartInstances of two instances, a
// transaction over two tables) needs one access for each.
type Access struct {
	Action string
	// Resource is the ARN IAM authorizes the action on; "*" for an action
	// IAM authorizes on no resource (ec2:DescribeInstances), "" where the
	// recorder cannot tell (a call it does not know).
	Resource string
	// Context holds condition keys of the request, "key=value" joined by
	// "&" (iam:PassedToService of a role passed to a service).
	Context string
}

// ContextValues returns the access's condition keys and their values.
func (a Access) ContextValues() map[string]string {
	out := map[string]string{}
	if a.Context == "" {
		return out
	}
	for _, kv := range strings.Split(a.Context, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// arn is where a call's resources live: its partition, region and account.
type arn struct{ region, account string }

func (a arn) of(service, resource string) string {
	return "arn:aws:" + service + ":" + a.region + ":" + a.account + ":" + resource
}

// accesses names what a call needs authorized, for the calls of the
// services the functions use; another call is one access on "".
func (a arn) accesses(service, operation string, actions []string, body []byte, query url.Values, path string) []Access {
	var out []Access
	switch service {
	case "dynamodb":
		out = a.dynamodb(operation, actions, body)
	case "ssm":
		var in struct{ Name string }
		if json.Unmarshal(body, &in) == nil && in.Name != "" {
			out = []Access{{Action: actions[0], Resource: a.of("ssm", "parameter/"+strings.TrimPrefix(in.Name, "/"))}}
		}
	case "ec2":
		out = a.ec2(actions[0], query)
	case "scheduler":
		out = a.scheduler(actions[0], body, query, path)
	case "events":
		out = a.events(actions[0], body)
	}
	if out == nil {
		for _, action := range actions {
			out = append(out, Access{Action: action})
		}
	}
	return out
}

func (a arn) table(name, index string) string {
	if strings.HasPrefix(name, "arn:") {
		return name
	}
	r := a.of("dynamodb", "table/"+name)
	if index != "" {
		r += "/index/" + index
	}
	return r
}

// dynamodb: a request's table (and index), or each item's table in a
// transaction, in the order of actions.
func (a arn) dynamodb(operation string, actions []string, body []byte) []Access {
	if operation == "TransactWriteItems" || operation == "TransactGetItems" {
		var tx struct {
			TransactItems []map[string]struct{ TableName string }
		}
		if json.Unmarshal(body, &tx) != nil || len(tx.TransactItems) != len(actions) {
			return nil
		}
		out := make([]Access, 0, len(actions))
		for i, item := range tx.TransactItems {
			for _, v := range item {
				out = append(out, Access{Action: actions[i], Resource: a.table(v.TableName, "")})
			}
		}
		return out
	}
	var in struct {
		TableName, IndexName string
		RequestItems         map[string]json.RawMessage
	}
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	if in.TableName != "" {
		return []Access{{Action: actions[0], Resource: a.table(in.TableName, in.IndexName)}}
	}
	var out []Access
	for _, name := range sortedKeys(in.RequestItems) {
		out = append(out, Access{Action: actions[0], Resource: a.table(name, "")})
	}
	return out
}

// ec2: the instances a call names (InstanceId.N); a Describe is
// authorized on no resource.
func (a arn) ec2(action string, query url.Values) []Access {
	if strings.HasPrefix(action, "ec2:Describe") {
		return []Access{{Action: action, Resource: "*"}}
	}
	var out []Access
	for _, k := range sortedKeys(query) {
		if strings.HasPrefix(k, "InstanceId.") {
			out = append(out, Access{Action: action, Resource: a.of("ec2", "instance/"+query.Get(k))})
		}
	}
	return out
}

// scheduler: the schedule in the path, in its group (the body's on a
// write, the query's otherwise; "default" where none is named); a create
// or update also passes its target's role to the scheduler.
func (a arn) scheduler(action string, body []byte, query url.Values, path string) []Access {
	name, ok := strings.CutPrefix(path, "/schedules/")
	if !ok {
		return nil
	}
	var in struct {
		GroupName string
		Target    struct{ RoleArn string }
	}
	_ = json.Unmarshal(body, &in)
	group := in.GroupName
	if group == "" {
		group = query.Get("groupName")
	}
	if group == "" {
		group = "default"
	}
	out := []Access{{Action: action, Resource: a.of("scheduler", "schedule/"+group+"/"+name)}}
	if in.Target.RoleArn != "" {
		out = append(out, Access{Action: "iam:PassRole", Resource: in.Target.RoleArn, Context: "iam:PassedToService=scheduler.amazonaws.com"})
	}
	return out
}

// events: the bus of each entry ("default" where none is named).
func (a arn) events(action string, body []byte) []Access {
	var in struct {
		Entries []struct{ EventBusName string }
	}
	if json.Unmarshal(body, &in) != nil || len(in.Entries) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []Access
	for _, e := range in.Entries {
		bus := e.EventBusName
		switch {
		case bus == "":
			bus = a.of("events", "event-bus/default")
		case !strings.HasPrefix(bus, "arn:"):
			bus = a.of("events", "event-bus/"+bus)
		}
		if !seen[bus] {
			seen[bus] = true
			out = append(out, Access{Action: action, Resource: bus})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
