package main

import (
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInitFailsClearlyWithoutConfiguration(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "TABLE_NAME is required")
}

func TestInitBuildsTheHandler(t *testing.T) {
	t.Setenv("TABLE_NAME", "claims")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("CURSOR_SIGNING_KEY", "0123456789abcdef0123")
	h, err := initialize(t.Context())
	require.NoError(t, err)
	assert.NotNil(t, h)
}

func TestInitNeedsTheCursorKey(t *testing.T) {
	t.Setenv("TABLE_NAME", "claims")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("CURSOR_SIGNING_KEY", "")
	_, err := initialize(t.Context())
	require.ErrorContains(t, err, "CURSOR_KEY_PARAMETER or CURSOR_SIGNING_KEY is required")
}

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// Deployed, the key is in Parameter Store, read once per process, on its
// first request: it is in no function's configuration, and a process
// starting while SSM cannot be reached answers 503 instead of failing its
// init.
func TestTheCursorKeyIsReadFromParameterStoreOnFirstUse(t *testing.T) {
	ep := awstest.Endpoint(t)
	awstest.PutSecureString(t, ep, "/hexlambda/claims-test/cursor-signing-key", "0123456789abcdef0123456789")
	require.NoError(t, dynamodb.EnsureTable(t.Context(), awsdynamodb.NewFromConfig(awstest.Config(t, ep)), "claims-cursor-test"))
	t.Setenv("TABLE_NAME", "claims-cursor-test")
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ENDPOINT_URL", ep)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("CURSOR_SIGNING_KEY", "")
	list := func(t *testing.T) events.APIGatewayProxyResponse {
		t.Helper()
		h, err := initialize(t.Context())
		require.NoError(t, err, "init reads no key")
		r, err := h.Handle(t.Context(), events.APIGatewayProxyRequest{
			HTTPMethod: "GET", Resource: "/members/{memberId}/claims", Path: "/members/M-1/claims",
			PathParameters: map[string]string{"memberId": "M-1"}, RequestContext: events.APIGatewayProxyRequestContext{RequestID: "req-1"},
		})
		require.NoError(t, err)
		return r
	}

	t.Setenv("CURSOR_KEY_PARAMETER", "/hexlambda/claims-test/cursor-signing-key")
	assert.Equal(t, 200, list(t).StatusCode)

	t.Setenv("CURSOR_KEY_PARAMETER", "/hexlambda/claims-test/missing")
	r := list(t)
	assert.Equal(t, 500, r.StatusCode, "a parameter that does not exist is a misconfiguration: %s", r.Body)

	t.Setenv("CURSOR_KEY_PARAMETER", "/hexlambda/claims-test/cursor-signing-key")
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	r = list(t)
	assert.Equal(t, 503, r.StatusCode, "%s", r.Body)
	assert.Contains(t, r.Body, "dependency_unavailable")
	assert.NotEmpty(t, r.MultiValueHeaders["Retry-After"])
}
