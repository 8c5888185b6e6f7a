package localgw_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

const apiARN = "arn:aws:execute-api:us-east-1:123456789012:api"

func mustPolicy(t *testing.T, doc string) *localgw.ResourcePolicy {
	t.Helper()
	p, err := localgw.ParseResourcePolicy(doc)
	require.NoError(t, err)
	return p
}

func TestResourcePolicyDecidesAsAPIGatewayDoes(t *testing.T) {
	t.Parallel()
	private := mustPolicy(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
		{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*",
		 "Condition":{"StringNotEquals":{"aws:SourceVpce":["vpce-one","vpce-peer"]}}}]}`)
	byVpc := mustPolicy(t, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"execute-api:*","Resource":"execute-api:/dev/GET/*",
		"Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}]}`)
	byIP := mustPolicy(t, `{"Statement":[
		{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":["arn:aws:execute-api:us-east-1:123456789012:api/*/*/items*"]},
		{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.7"]}}}]}`)
	byPrincipal := mustPolicy(t, `{"Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root"]},"Action":"execute-api:Invoke","Resource":"execute-api:/dev/*/items/?"},
		{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"StringNotLikeIfExists":{"aws:SourceVpce":"vpce-a*"}}}]}`)
	items := apiARN + "/dev/GET/items"
	vpceABC := localgw.Source{Vpce: "vpce-abc", Vpc: "vpc-1"}
	cases := []struct {
		name      string
		policy    *localgw.ResourcePolicy
		resource  string
		principal string
		src       localgw.Source
		want      localgw.Decision
	}{
		{"through the endpoint", private, items, "", localgw.Source{Vpce: "vpce-one", Vpc: "vpc-1"}, localgw.Allowed},
		{"through a peered endpoint", private, items, "", localgw.Source{Vpce: "vpce-peer", Vpc: "vpc-2"}, localgw.Allowed},
		{"through another endpoint", private, items, "", localgw.Source{Vpce: "vpce-other", Vpc: "vpc-1"}, localgw.ExplicitDeny},
		{"from outside any VPC", private, items, "", localgw.Source{IP: "203.0.113.9"}, localgw.ExplicitDeny},
		{"the VPC allowed, GET", byVpc, items, "", localgw.Source{Vpce: "vpce-x", Vpc: "vpc-1"}, localgw.Allowed},
		{"the VPC allowed, POST", byVpc, apiARN + "/dev/POST/items", "", localgw.Source{Vpce: "vpce-x", Vpc: "vpc-1"}, localgw.ImplicitDeny},
		{"another stage", byVpc, apiARN + "/prod/GET/items", "", localgw.Source{Vpce: "vpce-x", Vpc: "vpc-1"}, localgw.ImplicitDeny},
		{"another VPC", byVpc, items, "", localgw.Source{Vpce: "vpce-x", Vpc: "vpc-2"}, localgw.ImplicitDeny},
		{"outside has no aws:SourceVpc", byVpc, items, "", localgw.Source{IP: "10.1.2.3"}, localgw.ImplicitDeny},
		{"an allowed network", byIP, apiARN + "/dev/GET/items/7", "", localgw.Source{IP: "10.1.2.3"}, localgw.Allowed},
		{"an allowed address", byIP, items, "", localgw.Source{IP: "192.0.2.7"}, localgw.Allowed},
		{"another address", byIP, items, "", localgw.Source{IP: "192.0.2.8"}, localgw.ExplicitDeny},
		{"an address through an endpoint has no aws:SourceIp", byIP, items, "", localgw.Source{Vpce: "vpce-1", Vpc: "vpc-1", IP: "10.1.2.3"}, localgw.ExplicitDeny},
		{"a path the resource does not name", byIP, apiARN + "/dev/GET/claims", "", localgw.Source{IP: "10.1.2.3"}, localgw.ImplicitDeny},
		{"the account's principal", byPrincipal, apiARN + "/dev/GET/items/7", "arn:aws:sts::123456789012:assumed-role/r/s", vpceABC, localgw.Allowed},
		{"? is one character", byPrincipal, apiARN + "/dev/GET/items/77", "arn:aws:sts::123456789012:assumed-role/r/s", vpceABC, localgw.ImplicitDeny},
		{"another account's principal", byPrincipal, apiARN + "/dev/GET/items/7", "arn:aws:iam::210987654321:user/u", vpceABC, localgw.ImplicitDeny},
		{"anonymous", byPrincipal, apiARN + "/dev/GET/items/7", "", vpceABC, localgw.ImplicitDeny},
		{"a wrong endpoint", byPrincipal, apiARN + "/dev/GET/items/7", "arn:aws:iam::123456789012:user/u", localgw.Source{Vpce: "vpce-bcd", Vpc: "vpc-1"}, localgw.ExplicitDeny},
		{"IfExists holds without the key", byPrincipal, apiARN + "/dev/GET/items/7", "arn:aws:iam::123456789012:user/u", localgw.Source{IP: "198.51.100.1"}, localgw.ExplicitDeny},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.policy.Evaluate(apiARN, c.resource, c.principal, c.src), c.name)
	}
}

// The policy the claims template declares, resolved for a private and a
// public stage as the gateway resolves it where the emulator dropped it.
func TestTheStacksDeclaredPolicyIsResolved(t *testing.T) {
	t.Parallel()
	tpl, err := os.ReadFile("../cloudformation/claims.json")
	require.NoError(t, err)
	pseudo := map[string]string{"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::StackName": "claims-dev"}
	private, err := localgw.StackAPIOf(tpl, map[string]string{
		"Network": "private", "ApiEndpointId": "vpce-own", "ExtraVpcEndpointIds": "vpce-peer", "SubnetIds": "subnet-1,subnet-2",
	}, pseudo)
	require.NoError(t, err)
	assert.True(t, private.Private)
	require.NotNil(t, private.Policy)
	for vpce, want := range map[string]localgw.Decision{"vpce-own": localgw.Allowed, "vpce-peer": localgw.Allowed, "vpce-else": localgw.ExplicitDeny, "": localgw.ExplicitDeny} {
		assert.Equal(t, want, private.Policy.Evaluate(apiARN, apiARN+"/dev/POST/members/m1/claims", "", localgw.Source{Vpce: vpce, Vpc: "vpc-1"}), vpce)
	}
	own, err := localgw.StackAPIOf(tpl, map[string]string{"Network": "private", "ApiEndpointId": "vpce-own", "ExtraVpcEndpointIds": ""}, pseudo)
	require.NoError(t, err)
	assert.Equal(t, localgw.ExplicitDeny, own.Policy.Evaluate(apiARN, apiARN+"/dev/GET/claim", "", localgw.Source{Vpce: "vpce-peer"}), "no extra endpoint")
	assert.Equal(t, localgw.Allowed, own.Policy.Evaluate(apiARN, apiARN+"/dev/GET/claim", "", localgw.Source{Vpce: "vpce-own"}))
	public, err := localgw.StackAPIOf(tpl, map[string]string{"Network": "public"}, pseudo)
	require.NoError(t, err)
	assert.False(t, public.Private)
	assert.Nil(t, public.Policy)
}

// A private API answers a caller from outside, or through another
// endpoint, with API Gateway's denial, and runs nothing.
func TestAPrivateAPIDeniesEveryOtherSource(t *testing.T) {
	t.Parallel()
	p := pool(t, 5*time.Second, 1, nil)
	api := localgw.API{ID: "api", Name: "private", Private: true, Routes: []localgw.Route{
		{Method: "GET", Path: "/items", FunctionARN: "fn", FunctionName: "fake", Authorization: "NONE"},
	}, Policy: mustPolicy(t, `{"Statement":[
		{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"},
		{"Effect":"Deny","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-one"}}}]}`)}
	runs := &counting{inner: p}
	g := localgw.NewGateway(api, "dev", "123456789012", map[string]localgw.Invoker{"fn": runs}, nil,
		&localgw.IAMVerifier{Region: "us-east-1"}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	outside := httptest.NewServer(g)
	t.Cleanup(outside.Close)
	through := func(vpce string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.ServeHTTP(w, localgw.WithSource(r, localgw.Source{Vpce: vpce, Vpc: "vpc-1"}))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	a := get(t, through("vpce-one")+"/dev/items")
	assert.Less(t, a.status, 300, "%v", a.body)
	for name, url := range map[string]string{"outside": outside.URL, "another endpoint": through("vpce-two")} {
		a := get(t, url+"/dev/items")
		assert.Equal(t, http.StatusForbidden, a.status, name)
		assert.Equal(t, "AccessDeniedException", a.header.Get("X-Amzn-Errortype"), name)
		assert.Equal(t, "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "+
			"arn:aws:execute-api:us-east-1:********9012:api/dev/GET/items with an explicit deny", a.body["Message"], name)
	}
	assert.Equal(t, int32(1), runs.n.Load(), "only the allowed call ran the function")
}

// counting counts a function's invocations.
type counting struct {
	inner localgw.Invoker
	n     atomic.Int32
}

func (c *counting) Invoke(ctx context.Context, event []byte) ([]byte, localgw.Invocation, error) {
	c.n.Add(1)
	return c.inner.Invoke(ctx, event)
}
