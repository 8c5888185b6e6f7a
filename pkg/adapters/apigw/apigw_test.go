package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/adapters/apigw"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/logging"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

func TestRequestConversion(t *testing.T) {
	t.Parallel()
	ev := events.APIGatewayProxyRequest{
		HTTPMethod: "POST",
		Path:       "/members/m1/orders",
		Headers:    map[string]string{"content-type": "application/json", "x-single": "only"},
		MultiValueHeaders: map[string][]string{
			"content-type": {"application/json"},
			"x-multi":      {"a", "b"},
		},
		QueryStringParameters:           map[string]string{"limit": "2", "solo": "x"},
		MultiValueQueryStringParameters: map[string][]string{"limit": {"2"}, "tag": {"a", "b"}},
		Body:                            base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)),
		IsBase64Encoded:                 true,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-9",
			Identity: events.APIGatewayRequestIdentity{
				APIKeyID: "key-1", UserArn: "arn:aws:iam::123:user/ci", SourceIP: "203.0.113.9",
			},
		},
	}
	req, err := apigw.Request(ev)
	require.NoError(t, err)
	assert.Equal(t, "POST", req.Method)
	assert.Equal(t, "/members/m1/orders", req.Path)
	assert.Equal(t, []string{"a", "b"}, req.Header.Values("X-Multi"))
	assert.Equal(t, "only", req.Header.Get("X-Single"))
	assert.Equal(t, "application/json", req.Header.Get("Content-Type"))
	assert.Equal(t, []string{"a", "b"}, req.Query["tag"])
	assert.Equal(t, []string{"2"}, req.Query["limit"])
	assert.Equal(t, "x", req.Query.Get("solo"))
	assert.JSONEq(t, `{"a":1}`, string(req.Body))
	assert.Equal(t, "req-9", req.RequestID)
	assert.Equal(t, ports.Caller{APIKeyID: "key-1", Principal: "arn:aws:iam::123:user/ci", SourceIP: "203.0.113.9"}, req.Caller)
}

func TestInvalidBase64IsA400(t *testing.T) {
	t.Parallel()
	called := false
	h := ports.HandlerFunc(func(context.Context, ports.Request) (ports.Response, error) {
		called = true
		return httpapi.NoContent(), nil
	})
	a := apigw.New(h, logging.New(&bytes.Buffer{}, 0))
	resp, err := a.Handle(t.Context(), events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/", Body: "***", IsBase64Encoded: true})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.False(t, called)
	assert.Contains(t, resp.Body, "invalid_body_encoding")
}

func TestResponseConversionAndRequestIDFallback(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := ports.HandlerFunc(func(context.Context, ports.Request) (ports.Response, error) {
		resp := httpapi.JSON(http.StatusCreated, map[string]string{"ok": "yes"})
		resp.Header.Add("Set-Cookie", "a=1")
		resp.Header.Add("Set-Cookie", "b=2")
		return resp, nil
	})
	a := apigw.New(h, logging.New(&logs, 0))
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req"})
	resp, err := a.Handle(ctx, events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/"})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.False(t, resp.IsBase64Encoded)
	assert.JSONEq(t, `{"ok":"yes"}`, resp.Body)
	assert.Equal(t, []string{"a=1", "b=2"}, resp.MultiValueHeaders["Set-Cookie"])
	assert.Equal(t, []string{"lambda-req"}, resp.MultiValueHeaders["X-Request-Id"])
	for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m))
		assert.Equal(t, "lambda-req", m["requestId"])
	}
}

func TestBinaryBodiesAreBase64Encoded(t *testing.T) {
	t.Parallel()
	resp := apigw.Response(ports.Response{Status: 200, Header: http.Header{"Content-Type": {"application/octet-stream"}}, Body: []byte{0, 1, 2}})
	assert.True(t, resp.IsBase64Encoded)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte{0, 1, 2}), resp.Body)
}

// Under a custom domain with a base path mapping the event's path carries
// the mapping's prefix; routing follows the resource and path parameters.
func TestRoutesUnderACustomDomainsBasePath(t *testing.T) {
	t.Parallel()
	router := httpapi.NewRouter(
		httpapi.Route{Operation: "get", Method: http.MethodGet, Pattern: "/members/{memberId}/claims/{claimId}", Handler: echoParams{}},
		httpapi.Route{Operation: "files", Method: http.MethodGet, Pattern: "/files/{proxy+}", Handler: echoParams{}},
		httpapi.Route{Operation: "root", Method: http.MethodGet, Pattern: "/", Handler: echoParams{}},
	)
	h := apigw.New(router, logging.New(&bytes.Buffer{}, 0))
	for _, c := range []struct {
		ev   events.APIGatewayProxyRequest
		want string
	}{
		{events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/v1/members/m1/claims/c9", Resource: "/members/{memberId}/claims/{claimId}",
			PathParameters: map[string]string{"memberId": "m1", "claimId": "c9"}}, `{"claimId":"c9","memberId":"m1"}`},
		{events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/api/v2/files/a/b/c.txt", Resource: "/files/{proxy+}",
			PathParameters: map[string]string{"proxy": "a/b/c.txt"}}, `{"proxy":"a/b/c.txt"}`},
		{events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/v1", Resource: "/"}, `{}`},
		// Without a custom domain the path is the resource's.
		{events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/members/m2/claims/c1", Resource: "/members/{memberId}/claims/{claimId}",
			PathParameters: map[string]string{"memberId": "m2", "claimId": "c1"}}, `{"claimId":"c1","memberId":"m2"}`},
		// An event naming no resource is routed on its path.
		{events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/members/m3/claims/c2"}, `{"claimId":"c2","memberId":"m3"}`},
	} {
		resp, err := h.Handle(context.Background(), c.ev)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", c.ev.Path, resp.Body)
		assert.JSONEq(t, c.want, resp.Body, c.ev.Path)
	}
}

// echoParams answers with the path parameters it was routed with.
type echoParams struct{}

func (echoParams) Handle(_ context.Context, req ports.Request) (ports.Response, error) {
	params := req.PathParams
	if params == nil {
		params = map[string]string{}
	}
	return httpapi.JSON(http.StatusOK, params), nil
}
