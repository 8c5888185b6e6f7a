package localgw_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// liveAPI is an emulator's API Gateway that, like moto, serves an API's
// live configuration and keeps no deployment snapshot.
type liveAPI struct {
	localgw.GatewayAPI
	mu          sync.Mutex
	methods     map[string]string // "METHOD PATH" -> authorization
	function    map[string]string // "METHOD PATH" -> function ARN
	policy      string
	deployments []string
	throttle    *types.MethodSetting // the stage's */* settings
}

func (f *liveAPI) GetStage(context.Context, *apigateway.GetStageInput, ...func(*apigateway.Options)) (*apigateway.GetStageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &apigateway.GetStageOutput{StageName: aws.String("dev"), MethodSettings: map[string]types.MethodSetting{}}
	if f.throttle != nil {
		out.MethodSettings["*/*"] = *f.throttle
	}
	return out, nil
}

func (f *liveAPI) GetRestApi(context.Context, *apigateway.GetRestApiInput, ...func(*apigateway.Options)) (*apigateway.GetRestApiOutput, error) { //nolint:revive // the SDK's method name
	f.mu.Lock()
	defer f.mu.Unlock()
	return &apigateway.GetRestApiOutput{Name: aws.String("live"), Policy: aws.String(f.policy)}, nil
}

func (f *liveAPI) GetResources(context.Context, *apigateway.GetResourcesInput, ...func(*apigateway.Options)) (*apigateway.GetResourcesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	byPath := map[string]map[string]types.Method{}
	for mp := range f.methods {
		method, path, _ := strings.Cut(mp, " ")
		if byPath[path] == nil {
			byPath[path] = map[string]types.Method{}
		}
		byPath[path][method] = types.Method{}
	}
	out := &apigateway.GetResourcesOutput{}
	for path, ms := range byPath {
		out.Items = append(out.Items, types.Resource{Id: aws.String(path), Path: aws.String(path), ResourceMethods: ms})
	}
	return out, nil
}

func (f *liveAPI) GetMethod(_ context.Context, in *apigateway.GetMethodInput, _ ...func(*apigateway.Options)) (*apigateway.GetMethodOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := aws.ToString(in.HttpMethod) + " " + aws.ToString(in.ResourceId)
	return &apigateway.GetMethodOutput{
		AuthorizationType: aws.String(f.methods[key]),
		MethodIntegration: &types.Integration{Type: types.IntegrationTypeAwsProxy, Uri: aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + f.function[key] + "/invocations")},
	}, nil
}

func (f *liveAPI) GetDeployments(context.Context, *apigateway.GetDeploymentsInput, ...func(*apigateway.Options)) (*apigateway.GetDeploymentsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &apigateway.GetDeploymentsOutput{}
	for _, d := range f.deployments {
		out.Items = append(out.Items, types.Deployment{Id: aws.String(d)})
	}
	return out, nil
}

// api is what a deployment of the live configuration serves.
func (f *liveAPI) api() localgw.API {
	f.mu.Lock()
	defer f.mu.Unlock()
	api := localgw.API{ID: "api", Name: "live"}
	for mp, auth := range f.methods {
		method, path, _ := strings.Cut(mp, " ")
		api.Routes = append(api.Routes, localgw.Route{Method: method, Path: path, Authorization: auth, FunctionARN: f.function[mp], FunctionName: "fake"})
	}
	sort.Slice(api.Routes, func(i, j int) bool {
		return api.Routes[i].Path+api.Routes[i].Method < api.Routes[j].Path+api.Routes[j].Method
	})
	return api
}

func (f *liveAPI) change(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func TestTheGatewayServesTheDeploymentNotTheLiveAPI(t *testing.T) {
	t.Parallel()
	live := &liveAPI{
		methods:     map[string]string{"GET /items": "NONE", "GET /old": "NONE"},
		function:    map[string]string{"GET /items": "fn", "GET /old": "fn"},
		deployments: []string{"d1"},
	}
	watch, err := localgw.NewWatch(t.Context(), live, "api", 0, func(context.Context) (localgw.API, error) { return live.api(), nil })
	require.NoError(t, err)
	g := localgw.NewGateway(live.api(), "dev", "123456789012", map[string]localgw.Invoker{"fn": pool(t, 5*time.Second, 1, nil)},
		localgw.NewKeyStore(live, "api", "dev"), &localgw.IAMVerifier{Region: "us-east-1"}, slog.New(slog.NewJSONHandler(io.Discard, nil))).WithWatch(watch)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	require.Equal(t, 201, get(t, srv.URL+"/dev/items").status)

	// Auth switched in place, no new deployment: AWS would still serve the
	// open method; the emulator would serve the signed one. Neither silently.
	live.change(func() { live.methods["GET /items"] = "AWS_IAM" })
	a := get(t, srv.URL+"/dev/items")
	assert.Equal(t, 500, a.status)
	assert.Contains(t, a.body["message"], `GET /items authorization: "NONE" -> "AWS_IAM"`)
	assert.Contains(t, a.body["message"], "without a new deployment")
	live.change(func() { live.policy = `{"Statement":[]}` })
	assert.Contains(t, get(t, srv.URL+"/dev/old").body["message"], "resource policy", "a policy change is snapshotted too")

	// Deployed: the new auth is live.
	live.change(func() { live.deployments = []string{"d2"} })
	a = get(t, srv.URL+"/dev/items")
	assert.Equal(t, 403, a.status, "%v", a.body)
	assert.Equal(t, "Missing Authentication Token", a.body["message"])
	assert.Equal(t, 201, get(t, srv.URL+"/dev/old").status)

	// A route removed and deployed is gone.
	live.change(func() {
		delete(live.methods, "GET /old")
		live.deployments = []string{"d3"}
	})
	assert.Equal(t, 403, get(t, srv.URL+"/dev/old").status)

	// A deployment naming a function the gateway does not run cannot be
	// followed: it says so until restarted.
	live.change(func() {
		live.methods["GET /new"], live.function["GET /new"] = "NONE", "other-fn"
		live.deployments = []string{"d4"}
	})
	a = get(t, srv.URL+"/dev/items")
	assert.Equal(t, 500, a.status)
	assert.Contains(t, a.body["message"], "restart")
}

// Stage settings are not snapshotted: a new stage throttle applies as soon
// as the stage has it, without a deployment.
func TestTheStageThrottleFollowsTheStagesSettings(t *testing.T) {
	t.Parallel()
	live := &liveAPI{
		methods: map[string]string{"GET /items": "NONE"}, function: map[string]string{"GET /items": "fn"}, deployments: []string{"d1"},
		throttle: &types.MethodSetting{ThrottlingRateLimit: 0.01, ThrottlingBurstLimit: 1},
	}
	watch, err := localgw.NewWatch(t.Context(), live, "api", 0, func(context.Context) (localgw.API, error) { return live.api(), nil })
	require.NoError(t, err)
	throttle, err := localgw.ReadStageThrottle(t.Context(), live, "api", "dev")
	require.NoError(t, err)
	assert.Equal(t, localgw.StageThrottle{Rate: 0.01, Burst: 1}, throttle)
	g := localgw.NewGateway(live.api(), "dev", "123456789012", map[string]localgw.Invoker{"fn": pool(t, 5*time.Second, 1, nil)},
		localgw.NewKeyStore(live, "api", "dev"), &localgw.IAMVerifier{Region: "us-east-1"}, slog.New(slog.NewJSONHandler(io.Discard, nil))).
		WithWatch(watch.FollowStage("dev", throttle)).WithStageThrottle(throttle.Rate, throttle.Burst)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	assert.Equal(t, 201, get(t, srv.URL+"/dev/items").status, "the burst")
	a := get(t, srv.URL+"/dev/items")
	assert.Equal(t, 429, a.status)
	assert.Equal(t, "Too Many Requests", a.body["message"])

	live.change(func() { live.throttle = &types.MethodSetting{ThrottlingRateLimit: 0.02, ThrottlingBurstLimit: 5} })
	for range 5 {
		assert.Equal(t, 201, get(t, srv.URL+"/dev/items").status, "the new limit applies without a deployment")
	}
	assert.Equal(t, 429, get(t, srv.URL+"/dev/items").status, "past the new burst")

	live.change(func() { live.throttle = nil })
	for range 10 {
		assert.Equal(t, 201, get(t, srv.URL+"/dev/items").status, "a stage without settings is not throttled")
	}
}
