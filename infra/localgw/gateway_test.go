package localgw_test

import (
	"bytes"
	"context"
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
	}}, nil
}

func (f *fakeKeys) GetUsagePlanKeys(_ context.Context, in *apigateway.GetUsagePlanKeysInput, _ ...func(*apigateway.Options)) (*apigateway.GetUsagePlanKeysOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &apigateway.GetUsagePlanKeysOutput{}
	if aws.ToString(in.UsagePlanId) != "plan" {
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
	p := pool(t, timeout, 2, nil)
	api := localgw.API{ID: "api", Name: "test", Routes: []localgw.Route{
		{Method: "GET", Path: "/items", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "POST", Path: "/items", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "GET", Path: "/items/{id}", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "GET", Path: "/items/special", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "ANY", Path: "/files/{proxy+}", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
		{Method: "GET", Path: "/keyed", FunctionARN: "fn", FunctionName: "fake", APIKeyRequired: true, Authorization: "NONE"},
		{Method: "GET", Path: "/signed", FunctionARN: "fn", FunctionName: "fake", Authorization: "AWS_IAM"},
	}}
	keys := &fakeKeys{
		keys: []types.ApiKey{
			{Id: aws.String("k1"), Value: aws.String("good-key"), Enabled: true},
			{Id: aws.String("k2"), Value: aws.String("disabled-key"), Enabled: false},
			{Id: aws.String("k3"), Value: aws.String("planless-key"), Enabled: true},
			{Id: aws.String("k-prod"), Value: aws.String("prod-key"), Enabled: true},
		},
		inPlan: map[string]bool{"k1": true, "k2": true},
	}
	iam := &localgw.IAMVerifier{Region: "us-east-1", Secrets: map[string]string{"AKIDTEST": "secret"}}
	g := localgw.NewGateway(api, "dev", "123456789012", map[string]localgw.Invoker{"fn": p},
		localgw.NewKeyStore(keys, "api", "dev"), iam, slog.New(slog.NewJSONHandler(io.Discard, nil)))
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

	assert.Equal(t, "/items/special", event(t, get(t, f.url+"/dev/items/special"))["resource"], "a literal segment beats a parameter")
	greedy := event(t, get(t, f.url+"/dev/files/a/b/c.txt"))
	assert.Equal(t, map[string]any{"proxy": "a/b/c.txt"}, greedy["pathParameters"])
	del, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, f.url+"/dev/files/x", nil)
	require.NoError(t, err)
	assert.Equal(t, 201, call(t, del).status, "ANY matches every method")

	for path, status := range map[string]int{"/dev/nope": 404, "/prod/items": 404, "/dev/items/1/2": 404, "/dev/files": 404} {
		a := get(t, f.url+path)
		assert.Equal(t, status, a.status, path)
		assert.Equal(t, "Not Found", a.body["message"])
	}
	put, err := http.NewRequestWithContext(t.Context(), http.MethodPut, f.url+"/dev/items", nil)
	require.NoError(t, err)
	a = call(t, put)
	assert.Equal(t, 405, a.status)
	assert.Equal(t, "GET, POST", a.header.Get("Allow"))
}

func TestBinaryBodiesArriveBase64Encoded(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/dev/items", bytes.NewReader([]byte{0xff, 0xfe, 0}))
	require.NoError(t, err)
	ev := event(t, call(t, req))
	assert.Equal(t, true, ev["isBase64Encoded"])
	assert.Equal(t, "//4A", ev["body"])
	req, err = http.NewRequestWithContext(t.Context(), http.MethodPost, f.url+"/dev/items", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	ev = event(t, call(t, req))
	assert.NotEqual(t, true, ev["isBase64Encoded"])
	assert.Equal(t, `{"a":1}`, ev["body"])
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

func signed(t *testing.T, url, akid, secret, service string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	sum := sha256.Sum256(nil)
	require.NoError(t, v4.NewSigner().SignHTTP(t.Context(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), service, "us-east-1", at))
	return req
}

func TestIAMAuthorization(t *testing.T) {
	t.Parallel()
	f := newGateway(t, 5*time.Second)
	a := get(t, f.url+"/dev/signed")
	assert.Equal(t, 403, a.status)
	assert.Equal(t, "Missing Authentication Token", a.body["message"])

	ok := call(t, signed(t, f.url+"/dev/signed?x=1", "AKIDTEST", "secret", "execute-api", time.Now()))
	require.Equal(t, 201, ok.status, "%v", ok.body)
	id := event(t, ok)["requestContext"].(map[string]any)["identity"].(map[string]any)
	assert.Equal(t, "AKIDTEST", id["accessKey"])
	assert.Equal(t, "arn:aws:iam::123456789012:user/AKIDTEST", id["userArn"])

	for name, req := range map[string]*http.Request{
		"wrong secret":  signed(t, f.url+"/dev/signed", "AKIDTEST", "nope", "execute-api", time.Now()),
		"unknown key":   signed(t, f.url+"/dev/signed", "AKIDOTHER", "secret", "execute-api", time.Now()),
		"other service": signed(t, f.url+"/dev/signed", "AKIDTEST", "secret", "s3", time.Now()),
		"stale":         signed(t, f.url+"/dev/signed", "AKIDTEST", "secret", "execute-api", time.Now().Add(-time.Hour)),
	} {
		assert.Equal(t, 403, call(t, req).status, name)
	}
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
	assert.Equal(t, 504, a.status, "a function past its timeout is a 504")
	assert.Equal(t, "Endpoint request timed out", a.body["message"])
	assert.Equal(t, 201, get(t, f.url+"/dev/items").status, "and the next request gets a fresh process")
}
