package localgw_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// fakeKeys is an API Gateway with one usage plan for api/dev.
type fakeKeys struct {
	localgw.GatewayAPI
	mu     sync.Mutex
	keys   []types.ApiKey
	inPlan map[string]bool
}

func (f *fakeKeys) GetApiKeys( //nolint:revive // the SDK's method name
	context.Context, *apigateway.GetApiKeysInput, ...func(*apigateway.Options)) (*apigateway.GetApiKeysOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &apigateway.GetApiKeysOutput{Items: append([]types.ApiKey(nil), f.keys...)}, nil
}

func (f *fakeKeys) GetUsagePlans(context.Context, *apigateway.GetUsagePlansInput, ...func(*apigateway.Options)) (*apigateway.GetUsagePlansOutput, error) {
	return &apigateway.GetUsagePlansOutput{Items: []types.UsagePlan{
		{Id: aws.String("plan"), ApiStages: []types.ApiStage{{ApiId: aws.String("api"), Stage: aws.String("dev")}}},
		{Id: aws.String("other"), ApiStages: []types.ApiStage{{ApiId: aws.String("api"), Stage: aws.String("prod")}}},
		{
			Id: aws.String("slow"), ApiStages: []types.ApiStage{{ApiId: aws.String("api"), Stage: aws.String("dev")}},
			Throttle: &types.ThrottleSettings{RateLimit: 0.5, BurstLimit: 2},
		},
		{
			Id: aws.String("small"), ApiStages: []types.ApiStage{{ApiId: aws.String("api"), Stage: aws.String("dev")}},
			Quota: &types.QuotaSettings{Limit: 3, Period: types.QuotaPeriodTypeDay},
		},
	}}, nil
}

func (f *fakeKeys) GetUsagePlanKeys(_ context.Context, in *apigateway.GetUsagePlanKeysInput, _ ...func(*apigateway.Options)) (*apigateway.GetUsagePlanKeysOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &apigateway.GetUsagePlanKeysOutput{}
	switch aws.ToString(in.UsagePlanId) {
	case "plan":
	case "slow":
		out.Items = []types.UsagePlanKey{{Id: aws.String("k-slow")}}
		return out, nil
	case "small":
		out.Items = []types.UsagePlanKey{{Id: aws.String("k-small")}}
		return out, nil
	default:
		out.Items = []types.UsagePlanKey{{Id: aws.String("k-prod")}}
		return out, nil
	}
	for id := range f.inPlan {
		out.Items = append(out.Items, types.UsagePlanKey{Id: aws.String(id)})
	}
	return out, nil
}

type gwFixture struct {
	url  string
	keys *fakeKeys
}

func newGateway(t *testing.T, timeout time.Duration) gwFixture {
	t.Helper()
	return newGatewayWaiting(t, timeout, localgw.IntegrationTimeout)
}

// newGatewayWaiting is a gateway whose integration timeout is integration.
func newGatewayWaiting(t *testing.T, timeout, integration time.Duration) gwFixture {
	t.Helper()
	p := pool(t, timeout, 2, nil)
	api := localgw.API{ID: "api", Name: "test", BinaryMediaTypes: []string{"image/*", "application/octet-stream"}, Routes: []localgw.Route{
		{Method: "GET", Path: "/items", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "POST", Path: "/items", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "GET", Path: "/items/{id}", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "GET", Path: "/items/special", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "ANY", Path: "/files/{proxy+}", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "GET", Path: "/keyed", FunctionARN: "fn", FunctionName: "fake", APIKeyRequired: true, Authorization: "NONE"},
		{Method: "GET", Path: "/signed", FunctionARN: "fn", FunctionName: "fake", Authorization: "AWS_IAM"},
		{Method: "POST", Path: "/signed", FunctionARN: "fn", FunctionName: "fake", Authorization: "AWS_IAM"},
	}}
	keys := &fakeKeys{
		keys: []types.ApiKey{
			{Id: aws.String("k1"), Value: aws.String("good-key"), Enabled: true},
			{Id: aws.String("k2"), Value: aws.String("disabled-key"), Enabled: false},
			{Id: aws.String("k3"), Value: aws.String("planless-key"), Enabled: true},
			{Id: aws.String("k-prod"), Value: aws.String("prod-key"), Enabled: true},
			{Id: aws.String("k-slow"), Value: aws.String("slow-key"), Enabled: true},
			{Id: aws.String("k-small"), Value: aws.String("small-key"), Enabled: true},
		},
		inPlan: map[string]bool{"k1": true, "k2": true},
	}
	iam := &localgw.IAMVerifier{Region: "us-east-1", Principals: map[string]localgw.Principal{
		"AKIDTEST": {AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", ARN: "arn:aws:iam::123456789012:user/tester", ID: "AIDATESTER", Account: "123456789012"},
		"ASIATEMP": {
			AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "the-session",
			ARN: "arn:aws:sts::123456789012:assumed-role/adjuster/s1", ID: "AROAADJUSTER:s1", Account: "123456789012",
		},
	}}
	g := localgw.NewGateway(api, "dev", "123456789012", map[string]localgw.Invoker{"fn": p},
		localgw.NewKeyStore(keys, "api", "dev"), iam, slog.New(slog.NewJSONHandler(io.Discard, nil))).WithIntegrationTimeout(integration)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return gwFixture{url: srv.URL, keys: keys}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &m)
	return answer{status: resp.StatusCode, header: resp.Header, body: m}
}

func get(t *testing.T, url string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	return call(t, req)
}

func event(t *testing.T, a answer) map[string]any {
	t.Helper()
	ev, ok := a.body["event"].(map[string]any)
	require.True(t, ok, "%v", a.body)
	return ev
}

func TestRoutingFollowsRESTSemantics(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	a := get(t, f.url+"/dev/items/42?tag=a&tag=b&one=1", "X-Multi", "x", "X-Multi", "y")
	require.Equal(t, 201, a.status)
	ev := event(t, a)
	assert.Equal(t, "/items/{id}", ev["resource"])
	assert.Equal(t, "/items/42", ev["path"])
	assert.Equal(t, map[string]any{"id": "42"}, ev["pathParameters"])
	assert.Equal(t, []any{"a", "b"}, ev["multiValueQueryStringParameters"].(map[string]any)["tag"])
	assert.Equal(t, "b", ev["queryStringParameters"].(map[string]any)["tag"])
	assert.Equal(t, []any{"x", "y"}, ev["multiValueHeaders"].(map[string]any)["X-Multi"])
	rc := ev["requestContext"].(map[string]any)
	assert.Equal(t, "dev", rc["stage"])
	assert.Equal(t, "/dev/items/42", rc["path"])
	assert.Equal(t, "127.0.0.1", rc["identity"].(map[string]any)["sourceIp"])
	assert.Equal(t, a.header.Get("X-Amzn-Requestid"), rc["requestId"])
	assert.Equal(t, []string{"a", "b"}, a.header.Values("X-Multi"), "multi-value response headers")
	assert.Equal(t, "hello", a.body["env"])
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:fake", a.body["functionArn"], "the runtime names the invoked function")

	assert.Equal(t, "/items/special", event(t, get(t, f.url+"/dev/items/special"))["resource"], "a literal segment beats a parameter")
	greedy := event(t, get(t, f.url+"/dev/files/a/b/c.txt"))
	assert.Equal(t, map[string]any{"proxy": "a/b/c.txt"}, greedy["pathParameters"])
	del, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, f.url+"/dev/files/x", nil)
	require.NoError(t, err)
	assert.Equal(t, 201, call(t, del).status, "ANY matches every method")

	put, err := http.NewRequestWithContext(t.Context(), http.MethodPut, f.url+"/dev/items", nil)
	require.NoError(t, err)
	unknown := map[string]answer{}
	for _, path := range []string{"/dev/nope", "/prod/items", "/dev/items/1/2", "/dev/files", "/", "/dev"} {
		unknown["GET "+path] = get(t, f.url+path)
	}
	unknown["PUT /dev/items"] = call(t, put)
	for what, a := range unknown {
		assert.Equal(t, 403, a.status, "API Gateway does not say which paths, methods or stages exist: %s", what)
		assert.Equal(t, "Missing Authentication Token", a.body["message"], what)
		assert.Equal(t, "MissingAuthenticationTokenException", a.header.Get("X-Amzn-Errortype"), what)
		assert.Empty(t, a.header.Get("Allow"), what)
	}
}

func TestResponseHeadersMergeAsAPIGatewayMergesThem(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	a := get(t, f.url+"/dev/items?action=merge")
	require.Equal(t, 200, a.status)
	assert.Equal(t, []string{"s"}, a.header.Values("X-Single"))
	assert.Equal(t, []string{"a", "b"}, a.header.Values("X-Multi"))
	assert.Equal(t, []string{"m1", "m2"}, a.header.Values("X-Both"), "where both name a header, the multi-value list is sent")
}

func TestOnlyBinaryMediaTypesAreDecoded(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	raw := func(accept string) (string, string) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+"/dev/items?action=binary", nil)
		require.NoError(t, err)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b), resp.Header.Get("Content-Type")
	}
	body, _ := raw("image/png, */*")
	assert.Equal(t, "\x00\x01\x02", body, "a client accepting a binary media type gets the bytes")
	body, _ = raw("application/json")
	assert.Equal(t, "AAEC", body, "any other client gets the base64 text as the function wrote it")
}

func TestAnEventOverLambdasPayloadLimitIsRefused(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	post := func(n int) answer {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/dev/items", strings.NewReader(strings.Repeat("a", n)))
		require.NoError(t, err)
		return call(t, req)
	}
	a := post(localgw.MaxEvent + 1)
	assert.Equal(t, 413, a.status, "under API Gateway's 10 MB but over Lambda's 6 MB")
	assert.Equal(t, "Request Too Long", a.body["message"])
	assert.Equal(t, 201, post(1<<20).status)
	a = get(t, f.url+"/dev/items?action=huge")
	assert.Equal(t, 502, a.status, "a response over Lambda's limit fails the invocation")
}

func TestOnlyBinaryMediaTypesArriveBase64Encoded(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	post := func(contentType string, body []byte) map[string]any {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/dev/items", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		return event(t, call(t, req))
	}
	ev := post("application/octet-stream", []byte{0xff, 0xfe, 0})
	assert.Equal(t, true, ev["isBase64Encoded"])
	assert.Equal(t, "//4A", ev["body"])
	ev = post("image/png", []byte("PNG"))
	assert.Equal(t, true, ev["isBase64Encoded"], "wildcards match")
	assert.Equal(t, "UE5H", ev["body"])
	ev = post("application/json", []byte(`{"a":1}`))
	assert.NotEqual(t, true, ev["isBase64Encoded"])
	assert.Equal(t, `{"a":1}`, ev["body"])
	ev = post("text/plain", []byte{'a', 0xff, 'b'})
	assert.NotEqual(t, true, ev["isBase64Encoded"], "other types pass as text, invalid bytes replaced")
	assert.Equal(t, "a\uFFFDb", ev["body"])
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	for _, key := range []string{"", "wrong", "disabled-key", "planless-key", "prod-key"} {
		a := get(t, f.url+"/dev/keyed", "X-Api-Key", key)
		assert.Equal(t, 403, a.status, key)
		assert.Equal(t, "Forbidden", a.body["message"])
	}
	a := get(t, f.url+"/dev/keyed", "X-Api-Key", "good-key")
	require.Equal(t, 201, a.status)
	id := event(t, a)["requestContext"].(map[string]any)["identity"].(map[string]any)
	assert.Equal(t, "k1", id["apiKeyId"])

	f.keys.mu.Lock()
	delete(f.keys.inPlan, "k1")
	f.keys.mu.Unlock()
	require.Eventually(t, func() bool { return get(t, f.url+"/dev/keyed", "X-Api-Key", "good-key").status == 403 },
		5*time.Second, 50*time.Millisecond, "a revoked key stops working")
}

func TestUsagePlanThrottlesAndQuotasAnswer429(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	// Burst 2 at 0.5/s: two pass at once, the third is throttled.
	for i := range 2 {
		assert.Equal(t, 201, get(t, f.url+"/dev/keyed", "X-Api-Key", "slow-key").status, i)
	}
	a := get(t, f.url+"/dev/keyed", "X-Api-Key", "slow-key")
	assert.Equal(t, 429, a.status)
	assert.Equal(t, "Too Many Requests", a.body["message"])
	assert.Equal(t, "TooManyRequestsException", a.header.Get("X-Amzn-Errortype"))
	assert.Equal(t, 201, get(t, f.url+"/dev/keyed", "X-Api-Key", "good-key").status, "other keys have their own buckets")

	// A quota of 3 a day: the fourth request is over it.
	for i := range 3 {
		assert.Equal(t, 201, get(t, f.url+"/dev/keyed", "X-Api-Key", "small-key").status, i)
	}
	a = get(t, f.url+"/dev/keyed", "X-Api-Key", "small-key")
	assert.Equal(t, 429, a.status)
	assert.Equal(t, "Limit Exceeded", a.body["message"])
	assert.Equal(t, "LimitExceededException", a.header.Get("X-Amzn-Errortype"))
}

func TestTheStageThrottleHoldsForEveryCaller(t *testing.T) {
	t.Parallel()
	p := pool(t, 5*time.Second, 1, nil)
	api := localgw.API{ID: "api", Name: "test", Routes: []localgw.Route{{Method: "GET", Path: "/items", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"}}}
	g := localgw.NewGateway(api, "dev", "123456789012", map[string]localgw.Invoker{"fn": p}, localgw.NewKeyStore(&fakeKeys{}, "api", "dev"),
		&localgw.IAMVerifier{Region: "us-east-1"}, slog.New(slog.NewJSONHandler(io.Discard, nil))).WithStageThrottle(0.1, 3)
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	var statuses []int
	for range 5 {
		statuses = append(statuses, get(t, srv.URL+"/dev/items").status)
	}
	assert.Equal(t, []int{201, 201, 201, 429, 429}, statuses)
}

func signed(t *testing.T, url, akid, secret, service string, at time.Time) *http.Request {
	t.Helper()
	return signedAs(t, url, aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, service, "us-east-1", at)
}

func signedAs(t *testing.T, url string, creds aws.Credentials, service, region string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	sum := sha256.Sum256(nil)
	require.NoError(t, v4.NewSigner().SignHTTP(t.Context(), creds, req, hex.EncodeToString(sum[:]), service, region, at))
	return req
}

func TestIAMAuthorization(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	a := get(t, f.url+"/dev/signed")
	assert.Equal(t, 403, a.status)
	assert.Equal(t, "Missing Authentication Token", a.body["message"])

	ok := call(t, signed(t, f.url+"/dev/signed?x=1&b=2&b=1&sp=a%20b", "AKIDTEST", "secret", "execute-api", time.Now()))
	require.Equal(t, 201, ok.status, "%v", ok.body)
	id := event(t, ok)["requestContext"].(map[string]any)["identity"].(map[string]any)
	assert.Equal(t, "AKIDTEST", id["accessKey"])
	assert.Equal(t, "arn:aws:iam::123456789012:user/tester", id["userArn"], "the principal the emulator's STS names")
	assert.Equal(t, "AIDATESTER", id["caller"])

	temp := signedAs(t, f.url+"/dev/signed", aws.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "the-session"}, "execute-api", "us-east-1", time.Now())
	a = call(t, temp)
	require.Equal(t, 201, a.status, "%v", a.body)
	id = event(t, a)["requestContext"].(map[string]any)["identity"].(map[string]any)
	assert.Equal(t, "arn:aws:sts::123456789012:assumed-role/adjuster/s1", id["userArn"])

	invalidToken := map[string]*http.Request{
		"unknown key":                signed(t, f.url+"/dev/signed", "AKIDOTHER", "secret", "execute-api", time.Now()),
		"other service":              signed(t, f.url+"/dev/signed", "AKIDTEST", "secret", "s3", time.Now()),
		"other region":               signedAs(t, f.url+"/dev/signed", aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, "execute-api", "eu-west-1", time.Now()),
		"unknown session":            signedAs(t, f.url+"/dev/signed", aws.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret", SessionToken: "forged"}, "execute-api", "us-east-1", time.Now()),
		"session left out":           signedAs(t, f.url+"/dev/signed", aws.Credentials{AccessKeyID: "ASIATEMP", SecretAccessKey: "temp-secret"}, "execute-api", "us-east-1", time.Now()),
		"token on a key without one": signedAs(t, f.url+"/dev/signed", aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", SessionToken: "x"}, "execute-api", "us-east-1", time.Now()),
	}
	for name, req := range invalidToken {
		a := call(t, req)
		assert.Equal(t, 403, a.status, name)
		assert.Equal(t, "The security token included in the request is invalid.", a.body["message"], "answered alike: %s", name)
		assert.Equal(t, "UnrecognizedClientException", a.header.Get("X-Amzn-Errortype"), name)
	}
	for name, req := range map[string]*http.Request{
		"wrong secret": signed(t, f.url+"/dev/signed", "AKIDTEST", "nope", "execute-api", time.Now()),
		"stale":        signed(t, f.url+"/dev/signed", "AKIDTEST", "secret", "execute-api", time.Now().Add(-time.Hour)),
	} {
		a := call(t, req)
		assert.Equal(t, 403, a.status, name)
		assert.Equal(t, "InvalidSignatureException", a.header.Get("X-Amzn-Errortype"), name)
	}
	tampered := signed(t, f.url+"/dev/signed?x=1", "AKIDTEST", "secret", "execute-api", time.Now())
	tampered.URL.RawQuery = "x=2"
	assert.Equal(t, 403, call(t, tampered).status, "a signed query cannot be changed")
	extra := signed(t, f.url+"/dev/signed", "AKIDTEST", "secret", "execute-api", time.Now())
	extra.Header.Set("Accept", "text/plain")
	assert.Equal(t, 403, call(t, extra).status, "nor a signed header")
}

// A client decides which headers it signs: a request signing only host and
// x-amz-date, carrying other headers unsigned, is valid.
func TestSignaturesCoverTheHeadersTheClientSigned(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/dev/signed", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	at := time.Now().UTC()
	amzDate := at.Format("20060102T150405Z")
	host := strings.TrimPrefix(f.url, "http://")
	body := sha256.Sum256([]byte(`{"a":1}`))
	canonical := strings.Join([]string{"POST", "/dev/signed", "", "host:" + host + "\nx-amz-date:" + amzDate + "\n", "host;x-amz-date", hex.EncodeToString(body[:])}, "\n")
	scope := at.Format("20060102") + "/us-east-1/execute-api/aws4_request"
	creq := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	key := []byte("AWS4secret")
	for _, part := range strings.Split(scope, "/") {
		key = mac(key, part)
	}
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "unsigned/1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/"+scope+", SignedHeaders=host;x-amz-date, Signature="+hex.EncodeToString(mac(key, toSign)))
	a := call(t, req)
	assert.Equal(t, 201, a.status, "%v", a.body)
	req2, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/dev/signed", strings.NewReader(`{"a":2}`))
	require.NoError(t, err)
	req2.Header = req.Header.Clone()
	assert.Equal(t, 403, call(t, req2).status, "the body is signed")
}

func mac(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func TestFunctionFailuresMapToGatewayErrors(t *testing.T) {
	t.Parallel()
	f := newGateway(t, time.Second)
	for action, status := range map[string]int{"badproxy": 502, "error": 502, "crash": 502} {
		a := get(t, f.url+"/dev/items?action="+action)
		assert.Equal(t, status, a.status, action)
		assert.Equal(t, "Internal server error", a.body["message"])
	}
	a := get(t, f.url+"/dev/items?action=sleep")
	assert.Equal(t, 502, a.status, "an answer that is no proxy response is a 502")
	a = get(t, f.url+"/dev/items?action=slowproxy")
	assert.Equal(t, 502, a.status, "a function that times out before the integration does is a failed invocation")
	assert.Equal(t, "Internal server error", a.body["message"])
	assert.Equal(t, "InternalServerErrorException", a.header.Get("X-Amzn-Errortype"))
	assert.Equal(t, 201, get(t, f.url+"/dev/items").status, "and the next request gets a fresh process")
}

func TestOnlyAnIntegrationPastItsTimeoutIsA504(t *testing.T) {
	t.Parallel()
	// The function may run 10 s; the gateway waits 1 s (29 s on AWS).
	f := newGatewayWaiting(t, 10*time.Second, time.Second)
	a := get(t, f.url+"/dev/items?action=slowproxy")
	assert.Equal(t, 504, a.status)
	assert.Equal(t, "Endpoint request timed out", a.body["message"])
}
