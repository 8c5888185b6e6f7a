package localgw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
)

// Limits of API Gateway (REST) and Lambda (synchronous invocation).
const (
	// MaxPayload is API Gateway's request payload limit.
	MaxPayload = 10 << 20
	// MaxEvent is Lambda's synchronous request payload limit, the whole
	// event included: a larger one is refused before the function runs.
	MaxEvent = 6 << 20
	// IntegrationTimeout is how long API Gateway waits for an integration.
	IntegrationTimeout = 29 * time.Second
)

// Invoker runs a function with an event.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) ([]byte, Invocation, error)
}

// Gateway serves one stage of one REST API.
type Gateway struct {
	api       atomic.Pointer[API] // the deployment served
	stage     string
	accountID string
	invokers  map[string]Invoker // by function ARN
	keys      *KeyStore
	iam       *IAMVerifier
	logger    *slog.Logger
	// integrationTimeout is IntegrationTimeout unless a test shortens it.
	integrationTimeout time.Duration
	watch              *Watch
	watchMu            sync.Mutex
	stale              error // set once the gateway can no longer follow the API
	// throttle is the stage's own (nil: none but the account's), as
	// throttleOf says.
	throttleMu sync.Mutex
	throttle   *bucket
	throttleOf StageThrottle
	// stackAPI is the resource policy and endpoint type the API's stack
	// declares, for an emulator that keeps neither (moto drops them).
	stackAPI *StackAPI
}

// StackAPI is what a stack's template declares of its API that an
// emulator may not keep.
type StackAPI struct {
	Policy  *ResourcePolicy
	Private bool
}

// WithStackAPI returns the gateway enforcing the resource policy and
// endpoint type the API's stack declares when the emulator reports none.
func (g *Gateway) WithStackAPI(s *StackAPI) *Gateway {
	g.stackAPI = s
	return g
}

// policy returns the resource policy and endpoint type in force for api.
func (g *Gateway) policy(api *API) (*ResourcePolicy, bool) {
	if api.Policy == nil && g.stackAPI != nil {
		return g.stackAPI.Policy, api.Private || g.stackAPI.Private
	}
	return api.Policy, api.Private
}

// Private reports whether the served API is a PRIVATE one.
func (g *Gateway) Private() bool {
	_, private := g.policy(g.api.Load())
	return private
}

type sourceKey struct{}

// WithSource marks a request as arriving from src (a VPC endpoint's
// listener does).
func WithSource(r *http.Request, src Source) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), sourceKey{}, src))
}

func sourceOf(r *http.Request) Source {
	if src, ok := r.Context().Value(sourceKey{}).(Source); ok {
		return src
	}
	return Source{IP: sourceIP(r.RemoteAddr)}
}

// authorize evaluates the API's resource policy for a request; it answers
// and returns false when the policy does not allow it.
func (g *Gateway) authorize(w http.ResponseWriter, r *http.Request, m *match, rest, principal string) bool {
	policy, _ := g.policy(m.api)
	if policy == nil {
		return true
	}
	region := "us-east-1"
	if g.iam != nil && g.iam.Region != "" {
		region = g.iam.Region
	}
	apiARN := "arn:aws:execute-api:" + region + ":" + g.accountID + ":" + m.api.ID
	resource := apiARN + "/" + g.stage + "/" + r.Method + "/" + rest
	decision := policy.Evaluate(apiARN, resource, principal, sourceOf(r))
	if decision == Allowed {
		return true
	}
	user := principal
	if user == "" {
		user = "anonymous"
	}
	masked := "arn:aws:execute-api:" + region + ":" + maskAccount(g.accountID) + ":" + strings.TrimPrefix(resource, apiARN[:strings.LastIndex(apiARN, ":")+1])
	why := "with an explicit deny"
	if decision == ImplicitDeny {
		why = "because no resource-based policy allows the execute-api:Invoke action"
	}
	w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	b, _ := json.Marshal(map[string]string{"Message": "User: " + user + " is not authorized to perform: execute-api:Invoke on resource: " + masked + " " + why})
	_, _ = w.Write(b)
	return false
}

// maskAccount hides an account id but its last four digits, as API
// Gateway's denials do.
func maskAccount(id string) string {
	if len(id) <= 4 {
		return id
	}
	return strings.Repeat("*", len(id)-4) + id[len(id)-4:]
}

// NewGateway returns the gateway of an API stage; invokers run the API's
// functions by ARN.
func NewGateway(api API, stage, accountID string, invokers map[string]Invoker, keys *KeyStore, iam *IAMVerifier, logger *slog.Logger) *Gateway {
	g := &Gateway{stage: stage, accountID: accountID, invokers: invokers, keys: keys, iam: iam, logger: logger,
		integrationTimeout: IntegrationTimeout}
	g.api.Store(&api)
	return g
}

// WithWatch returns the gateway comparing the live API with the deployment
// it serves before each request (see Watch): a redeployed API is served
// anew, a change made without a deployment is refused loudly.
func (g *Gateway) WithWatch(w *Watch) *Gateway {
	g.watch = w
	return g
}

// followDeployment applies the watch's verdict; a non-nil error is the
// reason the request cannot be served as API Gateway would serve it.
func (g *Gateway) followDeployment(ctx context.Context) error {
	if g.watch == nil {
		return nil
	}
	g.watchMu.Lock()
	defer g.watchMu.Unlock()
	if g.stale != nil {
		return g.stale
	}
	api, err := g.watch.Check(ctx)
	g.setStageThrottle(g.watch.StageThrottle())
	if api != nil {
		for _, r := range api.Routes {
			if _, ok := g.invokers[r.FunctionARN]; !ok {
				g.stale = fmt.Errorf("API %s was redeployed with a method (%s) whose function %s the local gateway does not run: restart it to serve the new deployment",
					api.ID, r, r.FunctionARN)
				return g.stale
			}
		}
		g.api.Store(api)
		g.logger.Info("serving a new deployment", slog.String("apiId", api.ID), slog.Int("routes", len(api.Routes)))
	}
	return err
}

// WithIntegrationTimeout returns the gateway waiting d for its
// integrations instead of API Gateway's 29 s (tests use it).
func (g *Gateway) WithIntegrationTimeout(d time.Duration) *Gateway {
	g.integrationTimeout = d
	return g
}

// WithStageThrottle returns the gateway throttling the whole stage to rate
// requests per second with burst, as the stage's method settings say.
func (g *Gateway) WithStageThrottle(rate float64, burst int) *Gateway {
	g.setStageThrottle(StageThrottle{Rate: rate, Burst: burst})
	return g
}

// setStageThrottle applies the stage's throttle when it changed: a new
// bucket, full, as API Gateway applies new stage settings.
func (g *Gateway) setStageThrottle(t StageThrottle) {
	g.throttleMu.Lock()
	defer g.throttleMu.Unlock()
	if t == g.throttleOf {
		return
	}
	g.throttleOf, g.throttle = t, nil
	if t.Rate > 0 {
		g.throttle = newBucket(t.Rate, t.Burst, time.Now())
	}
}

// tooMany answers a throttled or over-quota request as API Gateway does.
func tooMany(w http.ResponseWriter, reason string) int {
	kind := "TooManyRequestsException"
	if reason == "Limit Exceeded" {
		kind = "LimitExceededException"
	}
	message(w, http.StatusTooManyRequests, reason, "X-Amzn-Errortype", kind)
	return http.StatusTooManyRequests
}

// API Gateway's answers of its own, with the x-amzn-ErrorType it sends.
func missingToken(w http.ResponseWriter) int {
	message(w, http.StatusForbidden, "Missing Authentication Token", "X-Amzn-Errortype", "MissingAuthenticationTokenException")
	return http.StatusForbidden
}

func internalError(w http.ResponseWriter, status int) int {
	message(w, status, "Internal server error", "X-Amzn-Errortype", "InternalServerErrorException")
	return status
}

func message(w http.ResponseWriter, status int, msg string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}

// match is a request's route in the deployment that serves the whole
// request, even if a new one is taken meanwhile.
type match struct {
	api    *API
	route  Route
	params map[string]string
}

// find picks the route for a path (segments after the stage) and method:
// the resource with the most literal segments wins, then plain parameters
// over a greedy {proxy+}; ANY matches every method.
func (g *Gateway) find(segs []string, method string) *match {
	type cand struct {
		path           string
		params         map[string]string
		literal, plain int
	}
	var best *cand
	api := g.api.Load()
	for _, r := range api.Routes {
		if best != nil && r.Path == best.path {
			continue
		}
		params, literal, plain, ok := matchPath(strings.Split(strings.Trim(r.Path, "/"), "/"), segs)
		if !ok {
			continue
		}
		if best == nil || literal > best.literal || (literal == best.literal && plain > best.plain) {
			best = &cand{path: r.Path, params: params, literal: literal, plain: plain}
		}
	}
	if best == nil {
		return nil
	}
	var anyRoute *Route
	for i := range api.Routes {
		r := api.Routes[i]
		if r.Path != best.path {
			continue
		}
		if r.Method == method {
			return &match{api: api, route: r, params: best.params}
		}
		if r.Method == "ANY" {
			anyRoute = &api.Routes[i]
		}
	}
	if anyRoute != nil {
		return &match{api: api, route: *anyRoute, params: best.params}
	}
	return nil
}

func matchPath(pattern, segs []string) (map[string]string, int, int, bool) {
	if len(pattern) == 1 && pattern[0] == "" {
		pattern = nil
	}
	params := map[string]string{}
	literal, plain := 0, 0
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(segs) {
				return nil, 0, 0, false
			}
			params[p[1:len(p)-2]] = strings.Join(segs[i:], "/")
			return params, literal, plain, true
		}
		if i >= len(segs) || segs[i] == "" {
			return nil, 0, 0, false
		}
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			params[p[1:len(p)-1]] = segs[i]
			plain++
		case p == segs[i]:
			literal++
		default:
			return nil, 0, 0, false
		}
	}
	return params, literal, plain, len(pattern) == len(segs)
}

// ServeHTTP implements http.Handler with API Gateway's REST semantics.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	requestID := uuid.NewString()
	w.Header().Set("X-Amzn-Requestid", requestID)
	status, fn, cold := g.serve(w, r, requestID)
	g.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("requestId", requestID), slog.String("api", g.api.Load().Name), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("function", fn), slog.Bool("cold", cold),
		slog.Float64("latencyMs", float64(time.Since(start).Microseconds())/1000))
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, requestID string) (int, string, bool) {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	stage, rest, _ := strings.Cut(path, "/")
	if stage != g.stage {
		return missingToken(w), "", false
	}
	if err := g.followDeployment(r.Context()); err != nil {
		g.logger.Error("not serving the API as API Gateway would", slog.String("reason", err.Error()))
		message(w, http.StatusInternalServerError, err.Error(), "X-Amzn-Errortype", "LocalGatewaySnapshotException")
		return http.StatusInternalServerError, "", false
	}
	var segs []string
	for _, s := range strings.Split(rest, "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			u = s
		}
		segs = append(segs, u)
	}
	if rest == "" {
		segs = nil
	}
	// A REST API answers a path or method it does not have as it answers
	// an unsigned call: it does not tell which resources exist.
	m := g.find(segs, r.Method)
	if m == nil {
		return missingToken(w), "", false
	}
	g.throttleMu.Lock()
	ok := g.throttle == nil || g.throttle.take(time.Now())
	g.throttleMu.Unlock()
	if !ok {
		return tooMany(w, "Too Many Requests"), "", false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		message(w, http.StatusBadRequest, "Bad Request")
		return http.StatusBadRequest, "", false
	}
	if len(body) > MaxPayload {
		message(w, http.StatusRequestEntityTooLarge, "Request Too Long")
		return http.StatusRequestEntityTooLarge, "", false
	}
	identity := events.APIGatewayRequestIdentity{SourceIP: sourceOf(r).IP, UserAgent: r.UserAgent()}
	if m.route.APIKeyRequired {
		value := r.Header.Get("X-Api-Key")
		key, ok, err := g.keys.Lookup(r.Context(), value)
		if err != nil {
			g.logger.Error("API keys unavailable", slog.String("error", err.Error()))
			return internalError(w, http.StatusInternalServerError), "", false
		}
		if !ok {
			message(w, http.StatusForbidden, "Forbidden", "X-Amzn-Errortype", "ForbiddenException")
			return http.StatusForbidden, "", false
		}
		if reason := g.keys.Admit(key, time.Now()); reason != "" {
			return tooMany(w, reason), "", false
		}
		identity.APIKey, identity.APIKeyID = value, key.ID
	}
	if m.route.Authorization == "AWS_IAM" {
		p, err := g.iam.Verify(r, body)
		if err != nil {
			var refusal *authError
			if errors.As(err, &refusal) {
				message(w, http.StatusForbidden, refusal.message, "X-Amzn-Errortype", refusal.kind)
			} else {
				message(w, http.StatusForbidden, err.Error())
			}
			return http.StatusForbidden, "", false
		}
		identity.AccessKey, identity.Caller, identity.User = p.AccessKeyID, p.ID, p.ID
		identity.UserArn, identity.AccountID = p.ARN, p.Account
	}
	if !g.authorize(w, r, m, rest, identity.UserArn) {
		return http.StatusForbidden, "", false
	}
	ev := g.event(r, m, rest, body, identity, requestID)
	payload, err := json.Marshal(ev)
	if err != nil {
		return internalError(w, http.StatusInternalServerError), m.route.FunctionName, false
	}
	if len(payload) > MaxEvent {
		// Lambda refuses the invocation; API Gateway passes its 413 on.
		message(w, http.StatusRequestEntityTooLarge, "Request Too Long")
		return http.StatusRequestEntityTooLarge, m.route.FunctionName, false
	}
	inv, ok := g.invokers[m.route.FunctionARN]
	if !ok {
		return internalError(w, http.StatusInternalServerError), m.route.FunctionName, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.integrationTimeout)
	defer cancel()
	out, info, err := inv.Invoke(ctx, payload)
	if err != nil {
		var initErr *InitError
		switch {
		case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
			// Past the integration timeout API Gateway gives up on the
			// function (which runs on to its own timeout).
			message(w, http.StatusGatewayTimeout, "Endpoint request timed out")
			return http.StatusGatewayTimeout, m.route.FunctionName, info.Cold
		case errors.Is(err, ErrTimeout):
			// A function that times out first is a failed invocation.
			g.logger.Error("function timed out", slog.String("function", m.route.FunctionName))
		case errors.As(err, &initErr):
			g.logger.Error("function init failed", slog.String("function", m.route.FunctionName), slog.String("reason", initErr.Reason), slog.String("output", initErr.Output))
		default:
			g.logger.Error("invocation failed", slog.String("function", m.route.FunctionName), slog.String("error", err.Error()))
		}
		return internalError(w, http.StatusBadGateway), m.route.FunctionName, info.Cold
	}
	status, ok := writeProxyResponse(w, out, m.api.binary(firstMediaType(r.Header.Get("Accept"))))
	if !ok {
		g.logger.Error("malformed Lambda proxy response", slog.String("function", m.route.FunctionName), slog.String("response", truncate(string(out), 200)))
		return internalError(w, http.StatusBadGateway), m.route.FunctionName, info.Cold
	}
	return status, m.route.FunctionName, info.Cold
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func sourceIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

func (g *Gateway) event(r *http.Request, m *match, rest string, body []byte, identity events.APIGatewayRequestIdentity, requestID string) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		Resource:   m.route.Path,
		Path:       "/" + rest,
		HTTPMethod: r.Method,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: g.accountID, ResourceID: m.route.ResourceID, Stage: g.stage, RequestID: requestID,
			Identity: identity, ResourcePath: m.route.Path, HTTPMethod: r.Method, APIID: m.api.ID,
			Path: "/" + g.stage + "/" + rest, Protocol: r.Proto, RequestTimeEpoch: time.Now().UnixMilli(),
		},
	}
	if len(m.params) > 0 {
		ev.PathParameters = m.params
	}
	if len(r.Header) > 0 || r.Host != "" {
		ev.Headers = map[string]string{}
		ev.MultiValueHeaders = map[string][]string{}
		if r.Host != "" {
			ev.Headers["Host"] = r.Host
			ev.MultiValueHeaders["Host"] = []string{r.Host}
		}
		for k, vs := range r.Header {
			ev.Headers[k] = vs[len(vs)-1]
			ev.MultiValueHeaders[k] = append([]string(nil), vs...)
		}
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	if len(body) > 0 {
		// Only a body of one of the API's binary media types arrives
		// base64-encoded; any other is passed on as text.
		if m.api.binary(r.Header.Get("Content-Type")) {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		} else {
			ev.Body = strings.ToValidUTF8(string(body), "\uFFFD")
		}
	}
	return ev
}

// binary reports whether a media type is one of the API's binary media
// types (which may hold wildcards: image/*, */*).
func (a *API) binary(mediaType string) bool {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return false
	}
	typ, sub, _ := strings.Cut(mt, "/")
	for _, b := range a.BinaryMediaTypes {
		bt, bs, _ := strings.Cut(strings.ToLower(b), "/")
		if (bt == "*" || bt == typ) && (bs == "*" || bs == sub) {
			return true
		}
	}
	return false
}

// firstMediaType is the first media type of an Accept header.
func firstMediaType(accept string) string {
	first, _, _ := strings.Cut(accept, ",")
	return strings.TrimSpace(first)
}

// writeProxyResponse writes a Lambda proxy response; ok is false when the
// payload is not one. A base64 body is decoded only when the client
// accepts a binary media type; otherwise the client gets the text as is.
// Headers and multiValueHeaders merge; where both name a header, the
// multi-value list is what is sent.
func writeProxyResponse(w http.ResponseWriter, payload []byte, decode bool) (int, bool) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(payload, &raw) != nil {
		return 0, false
	}
	var resp events.APIGatewayProxyResponse
	if json.Unmarshal(payload, &resp) != nil || resp.StatusCode < 100 || resp.StatusCode > 599 {
		return 0, false
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded && decode {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return 0, false
		}
		body = b
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		w.Header().Del(k)
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return resp.StatusCode, true
}

// ErrNoAPI is returned when a stack has no REST API.
var ErrNoAPI = errors.New("no REST API")

// describe formats a route for logs.
func (r Route) String() string { return fmt.Sprintf("%s %s -> %s", r.Method, r.Path, r.FunctionName) }
