package localgw

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// Snapshot is what API Gateway copies into a deployment and a stage then
// serves until the next one: every method with its authorization, API key
// requirement and integration, the resource policy, the endpoint type and
// the binary media types. An emulator that keeps no such copy (moto) serves
// the API's live configuration instead, so a change made without a new
// deployment, which would not be live on AWS, would silently be live here.
type Snapshot struct {
	// Entries name each snapshotted setting, e.g. "GET /items auth" or
	// "policy", with its value.
	Entries map[string]string
	// Deployments are the API's deployment ids.
	Deployments []string
}

// ReadSnapshot reads the parts of an API that a deployment snapshots,
// as they are now, and the API's deployments.
func ReadSnapshot(ctx context.Context, gw GatewayAPI, apiID string) (Snapshot, error) {
	rest, routes, err := readMethods(ctx, gw, apiID)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Entries: map[string]string{
		"resource policy":    aws.ToString(rest.Policy),
		"binary media types": strings.Join(rest.BinaryMediaTypes, ","),
	}}
	if ec := rest.EndpointConfiguration; ec != nil {
		var types []string
		for _, t := range ec.Types {
			types = append(types, string(t))
		}
		s.Entries["endpoint type"] = strings.Join(types, ",") + " " + strings.Join(ec.VpcEndpointIds, ",")
	}
	for _, r := range routes {
		m := r.Method + " " + r.Path
		s.Entries[m] = "present"
		s.Entries[m+" authorization"] = r.Authorization
		s.Entries[m+" API key required"] = fmt.Sprint(r.APIKeyRequired)
		s.Entries[m+" integration"] = r.Integration
	}
	p := apigateway.NewGetDeploymentsPaginator(gw, &apigateway.GetDeploymentsInput{RestApiId: aws.String(apiID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Snapshot{}, fmt.Errorf("read deployments of %s: %w", apiID, err)
		}
		for _, d := range page.Items {
			s.Deployments = append(s.Deployments, aws.ToString(d.Id))
		}
	}
	sort.Strings(s.Deployments)
	return s, nil
}

// Changes lists what differs from s to now, sorted.
func (s Snapshot) Changes(now Snapshot) []string {
	var out []string
	for k, v := range s.Entries {
		switch w, ok := now.Entries[k]; {
		case !ok && v == "present":
			out = append(out, k+": removed")
		case !ok:
		case w != v:
			out = append(out, fmt.Sprintf("%s: %q -> %q", k, v, w))
		}
	}
	for k, w := range now.Entries {
		if _, ok := s.Entries[k]; !ok && w == "present" {
			out = append(out, k+": added")
		}
	}
	sort.Strings(out)
	return out
}

// redeployed reports whether now has a deployment s does not.
func (s Snapshot) redeployed(now Snapshot) bool {
	return slices.ContainsFunc(now.Deployments, func(d string) bool { return !slices.Contains(s.Deployments, d) })
}

// DriftError says the API changed without a deployment: API Gateway would
// still serve the deployed snapshot, the emulator serves the change.
type DriftError struct {
	APIID   string
	Changes []string
}

func (e *DriftError) Error() string {
	return fmt.Sprintf("API %s changed without a new deployment, so API Gateway would still serve the deployed snapshot "+
		"while the emulator serves the change; the local gateway refuses to serve either silently. "+
		"Changed: %s. Deploy the change with a new AWS::ApiGateway::Deployment (the deploy tool's deployment identity covers these).",
		e.APIID, strings.Join(e.Changes, "; "))
}

// Watch follows one API: it remembers the snapshot the gateway serves and
// compares the live API with it, at most once per interval.
type Watch struct {
	gw       GatewayAPI
	apiID    string
	interval time.Duration
	// reload reads the API again when it was redeployed.
	reload func(ctx context.Context) (API, error)

	// stage, when set, is the stage whose settings the watch follows:
	// unlike methods, they apply as soon as they change.
	stage string

	mu        sync.Mutex
	base      Snapshot
	checkedAt time.Time
	verdict   error
	api       *API // a reloaded API not yet taken by the gateway
	throttle  StageThrottle
}

// StageThrottle is a stage's own throttle, from its "*/*" method
// settings; a zero Rate is none.
type StageThrottle struct {
	Rate  float64
	Burst int
}

// StageReader reads a stage; the watch follows a stage's settings where
// its client can.
type StageReader interface {
	GetStage(ctx context.Context, in *apigateway.GetStageInput, opts ...func(*apigateway.Options)) (*apigateway.GetStageOutput, error)
}

// ReadStageThrottle reads a stage's own throttle.
func ReadStageThrottle(ctx context.Context, gw StageReader, apiID, stage string) (StageThrottle, error) {
	st, err := gw.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(apiID), StageName: aws.String(stage)})
	if err != nil {
		return StageThrottle{}, fmt.Errorf("read stage %s of %s: %w", stage, apiID, err)
	}
	all, ok := st.MethodSettings["*/*"]
	if !ok {
		return StageThrottle{}, nil
	}
	return StageThrottle{Rate: all.ThrottlingRateLimit, Burst: int(all.ThrottlingBurstLimit)}, nil
}

// FollowStage makes the watch read the stage's settings at each check,
// starting from throttle.
func (w *Watch) FollowStage(stage string, throttle StageThrottle) *Watch {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stage, w.throttle = stage, throttle
	return w
}

// StageThrottle is the stage's throttle as last read.
func (w *Watch) StageThrottle() StageThrottle {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.throttle
}

// NewWatch starts watching an API from its current snapshot; reload reads
// the API again after a new deployment.
func NewWatch(ctx context.Context, gw GatewayAPI, apiID string, interval time.Duration, reload func(ctx context.Context) (API, error)) (*Watch, error) {
	base, err := ReadSnapshot(ctx, gw, apiID)
	if err != nil {
		return nil, err
	}
	return &Watch{gw: gw, apiID: apiID, interval: interval, reload: reload, base: base, checkedAt: time.Now()}, nil
}

// Check compares the live API with the served snapshot. It returns a new
// API to serve when the API was redeployed, or a *DriftError when it
// changed without a deployment.
func (w *Watch) Check(ctx context.Context) (*API, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.checkedAt) < w.interval {
		return w.take(), w.verdict
	}
	w.checkedAt = time.Now()
	if sr, ok := w.gw.(StageReader); ok && w.stage != "" {
		// A stage that cannot be read keeps the throttle it had.
		if t, err := ReadStageThrottle(ctx, sr, w.apiID, w.stage); err == nil {
			w.throttle = t
		}
	}
	now, err := ReadSnapshot(ctx, w.gw, w.apiID)
	if err != nil {
		w.verdict = fmt.Errorf("read the API to compare it with its deployment: %w", err)
		return nil, w.verdict
	}
	changes := w.base.Changes(now)
	if w.base.redeployed(now) {
		// What a new deployment snapshots is what the stage serves.
		if len(changes) > 0 {
			api, err := w.reload(ctx)
			if err != nil {
				w.verdict = fmt.Errorf("read the redeployed API %s: %w", w.apiID, err)
				return nil, w.verdict
			}
			w.api = &api
		}
		w.base, w.verdict = now, nil
		return w.take(), nil
	}
	w.base.Deployments = now.Deployments // a deleted deployment changes nothing served
	if len(changes) > 0 {
		w.verdict = &DriftError{APIID: w.apiID, Changes: changes}
	} else {
		w.verdict = nil
	}
	return w.take(), w.verdict
}

func (w *Watch) take() *API {
	api := w.api
	w.api = nil
	return api
}
