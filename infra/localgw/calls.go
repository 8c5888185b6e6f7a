package localgw

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// CallRecorder stands between the functions and the emulator: it forwards
// every AWS call and records it as service:Action under the function whose
// credentials signed it (each function runs with its own role's), so a
// suite can check each call against that role's policy.
type CallRecorder struct {
	proxy *httputil.ReverseProxy
	srv   *http.Server
	url   string

	// Account is the account the functions' resources are in, for the
	// ARNs of their accesses (default 123456789012).
	Account string

	mu       sync.Mutex
	owners   map[string]string         // access key id -> function name
	calls    map[string]map[string]int // function -> action -> count
	accesses map[string]map[Access]int // function -> access -> count
	faults   []*Fault
}

// Fault is what the recorder does to a function's calls of one operation,
// in place of plain forwarding: answer them itself (an error the emulator
// cannot produce, such as throttling), or forward them and run After once
// the emulator has answered, before the function reads the answer (to
// kill the function between a write and its reply).
type Fault struct {
	// Function is the deployed function's name; Operation the API
	// operation (TransactWriteItems, StartInstances).
	Function, Operation string
	// Times is how many calls it applies to; 0 is every call.
	Times int
	// Status, when set, answers with Body (of ContentType) instead of
	// forwarding.
	Status      int
	Body        string
	ContentType string
	// After runs once the emulator answered a forwarded call.
	After func()

	applied int
}

// Inject adds a fault; remove takes it away.
func (c *CallRecorder) Inject(f *Fault) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, f)
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.faults {
			if x == f {
				c.faults = append(c.faults[:i], c.faults[i+1:]...)
				return
			}
		}
	}
}

// Applied is how many calls a fault has applied to.
func (c *CallRecorder) Applied(f *Fault) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return f.applied
}

// fault returns the fault for a call, counting it applied.
func (c *CallRecorder) fault(function, operation string) *Fault {
	for _, f := range c.faults {
		if f.Function == function && f.Operation == operation && (f.Times == 0 || f.applied < f.Times) {
			f.applied++
			return f
		}
	}
	return nil
}

// afterAnswer calls after once, before the answer's header is written.
type afterAnswer struct {
	http.ResponseWriter
	once  sync.Once
	after func()
}

func (a *afterAnswer) WriteHeader(code int) {
	a.once.Do(a.after)
	a.ResponseWriter.WriteHeader(code)
}

func (a *afterAnswer) Write(b []byte) (int, error) {
	a.once.Do(a.after)
	return a.ResponseWriter.Write(b) //nolint:wrapcheck // a ResponseWriter passing writes through
}

// NewCallRecorder listens on loopback and forwards to endpoint.
func NewCallRecorder(ctx context.Context, endpoint string) (*CallRecorder, error) {
	target, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("emulator endpoint: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	c := &CallRecorder{
		proxy: httputil.NewSingleHostReverseProxy(target), url: "http://" + ln.Addr().String(),
		Account: "123456789012",
		owners:  map[string]string{}, calls: map[string]map[string]int{}, accesses: map[string]map[Access]int{},
	}
	c.srv = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// URL is the endpoint to give the functions.
func (c *CallRecorder) URL() string { return c.url }

// Own records calls signed with an access key as a function's.
func (c *CallRecorder) Own(accessKeyID, function string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owners[accessKeyID] = function
}

// Calls returns each function's recorded actions with their counts.
func (c *CallRecorder) Calls() map[string]map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneCounts(c.calls)
}

// Accesses returns each function's recorded accesses with their counts:
// what IAM would authorize for each call, action by resource.
func (c *CallRecorder) Accesses() map[string]map[Access]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cloneCounts(c.accesses)
}

func cloneCounts[K comparable](m map[string]map[K]int) map[string]map[K]int {
	out := make(map[string]map[K]int, len(m))
	for fn, counts := range m {
		out[fn] = maps.Clone(counts)
	}
	return out
}

// Close stops the recorder.
func (c *CallRecorder) Close() { _ = c.srv.Close() }

func (c *CallRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a, ok := parseAuthorization(r.Header.Get("Authorization")); ok {
		akid, region, service := a.scope[0], a.scope[2], a.scope[3]
		op, actions, body := call(r, service)
		query := r.URL.Query()
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			query, _ = url.ParseQuery(string(body))
		}
		accesses := arn{region: region, account: c.Account}.accesses(service, op, actions, body, query, r.URL.Path)
		c.mu.Lock()
		fn, ok := c.owners[akid]
		if !ok {
			fn = "unknown key " + akid
		}
		if c.calls[fn] == nil {
			c.calls[fn], c.accesses[fn] = map[string]int{}, map[Access]int{}
		}
		for _, a := range actions {
			c.calls[fn][a]++
		}
		for _, a := range accesses {
			c.accesses[fn][a]++
		}
		f := c.fault(fn, op)
		c.mu.Unlock()
		switch {
		case f != nil && f.Status != 0:
			w.Header().Set("Content-Type", f.ContentType)
			w.WriteHeader(f.Status)
			_, _ = io.WriteString(w, f.Body)
			return
		case f != nil && f.After != nil:
			w = &afterAnswer{ResponseWriter: w, after: f.After}
		}
	}
	c.proxy.ServeHTTP(w, r)
}

// call names a call's API operation (X-Amz-Target of the JSON protocols,
// the query protocols' Action parameter, or a REST route), and what IAM
// authorizes for it: service:Operation, except a DynamoDB transaction,
// authorized by its items' actions (dynamodb:TransactWriteItems is no IAM
// action).
func call(r *http.Request, service string) (operation string, actions []string, body []byte) {
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return "", []string{service + ":unreadable request"}, nil
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		_, op, _ := strings.Cut(t, ".")
		if service == "dynamodb" && (op == "TransactWriteItems" || op == "TransactGetItems") {
			return op, transactionActions(body), body
		}
		return op, []string{service + ":" + op}, body
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if q, err := url.ParseQuery(string(body)); err == nil && q.Get("Action") != "" {
			return q.Get("Action"), []string{service + ":" + q.Get("Action")}, body
		}
	}
	if a, ok := restAction(service, r.Method, r.URL.Path); ok {
		return a, []string{service + ":" + a}, body
	}
	return "", []string{service + ":" + r.Method + " " + r.URL.Path}, body // a protocol not named here
}

// restActions name the calls of the REST-JSON services the functions use,
// by method and path: "/x/" matches /x/{name}, "/x" matches itself.
var restActions = map[string][]struct{ method, path, action string }{
	"scheduler": {
		{"POST", "/schedules/", "CreateSchedule"}, {"PUT", "/schedules/", "UpdateSchedule"},
		{"DELETE", "/schedules/", "DeleteSchedule"}, {"GET", "/schedules/", "GetSchedule"}, {"GET", "/schedules", "ListSchedules"},
		{"POST", "/schedule-groups/", "CreateScheduleGroup"}, {"DELETE", "/schedule-groups/", "DeleteScheduleGroup"},
		{"GET", "/schedule-groups/", "GetScheduleGroup"}, {"GET", "/schedule-groups", "ListScheduleGroups"},
	},
}

func restAction(service, method, path string) (string, bool) {
	for _, a := range restActions[service] {
		if a.method != method {
			continue
		}
		if name, ok := strings.CutPrefix(path, a.path); (ok && strings.HasSuffix(a.path, "/") && name != "" && !strings.Contains(name, "/")) || path == a.path {
			return a.action, true
		}
	}
	return "", false
}

// transactionActions are the item actions of a DynamoDB transaction.
func transactionActions(body []byte) []string {
	var tx struct {
		TransactItems []map[string]json.RawMessage
	}
	if json.Unmarshal(body, &tx) != nil {
		return []string{"dynamodb:unreadable transaction"}
	}
	names := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
	var out []string
	for _, item := range tx.TransactItems {
		for kind := range item {
			if n, ok := names[kind]; ok {
				out = append(out, "dynamodb:"+n)
			} else {
				out = append(out, "dynamodb:Transact"+kind)
			}
		}
	}
	return out
}
