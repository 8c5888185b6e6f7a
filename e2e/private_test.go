package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
	claimsapi "github.com/hexlambda/hexlambda/services/claims/api"
)

// privateStage is the stage the private-mode test deploys, with its own
// network stack.
const privateStage = "e2epriv"

// The network stack and both services in private mode deploy; through the
// network's execute-api endpoint every claims route works, and ec2powerctl
// drives a stop and start with --api-id; from outside the VPC, or through
// another VPC's endpoint, every route answers API Gateway's denial and
// nothing is written. On the moto target a local gateway stands in for the
// endpoints (moto keeps no resource policy; the gateway enforces the one
// the stack's template declares).
func TestPrivateAPIsAnswerOnlyThroughTheirEndpoint(t *testing.T) {
	e := suite(t)
	e.need(t, enforcesResourcePolicy)
	if e.gateway == nil {
		t.Skipf("E2E_TARGET=%s: a private API is reachable only from inside its VPC, which this machine is not in; "+
			"the moto target stands a local gateway in for the VPC endpoint", e.target)
	}
	e.needInstances(t)
	ctx := context.Background()
	deploy := func(args ...string) {
		t.Helper()
		_, err := e.deploy(append(args, "--stage", privateStage, "--arch", "host", "--poll", "200ms")...)
		require.NoError(t, err)
	}
	deploy("deploy", "--service", "network")
	deploy("deploy", "--service", "claims", "--param", "Network=private", "--param", "Auth=AWS_IAM", "--param", "RoleMap="+e2eRoleMap(e.adjusterPrincipal))
	deploy("deploy", "--service", "ec2power", "--param", "Network=private", "--param", "Auth=AWS_IAM", "--param", "DefaultTarget=group:"+Group)
	t.Cleanup(func() {
		for _, s := range []string{"claims", "ec2power"} {
			_, _ = e.deploy("destroy", "--service", s, "--stage", privateStage)
		}
	})
	network, err := e.stageOutputs("network", privateStage)
	require.NoError(t, err)
	claims, err := e.stageOutputs("claims", privateStage)
	require.NoError(t, err)
	power, err := e.stageOutputs("ec2power", privateStage)
	require.NoError(t, err)

	// Every function runs in the network's private subnets, with its
	// security group.
	lam := lambda.NewFromConfig(e.cfg)
	for _, fn := range []string{"claims-" + privateStage + "-createClaim", "claims-" + privateStage + "-listClaims", "ec2power-" + privateStage + "-startInstance"} {
		c, err := lam.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(fn)})
		require.NoError(t, err)
		require.NotNil(t, c.VpcConfig, fn)
		assert.ElementsMatch(t, strings.Split(network["PrivateSubnetIds"], ","), c.VpcConfig.SubnetIds, fn)
		assert.Equal(t, []string{network["FunctionSecurityGroupId"]}, c.VpcConfig.SecurityGroupIds, fn)
	}

	// Another VPC's execute-api endpoint, which the APIs do not admit.
	ec := ec2.NewFromConfig(e.cfg)
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.99.0.0/16")})
	require.NoError(t, err)
	other, err := ec.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId: vpc.Vpc.VpcId, ServiceName: aws.String("com.amazonaws." + e.cfg.Region + ".execute-api"), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
	})
	require.NoError(t, err)
	otherID := aws.ToString(other.VpcEndpoint.VpcEndpointId)

	gw, targets, err := e.startGateway([]string{"claims-" + privateStage, "ec2power-" + privateStage}, localgw.Config{
		MaxProcesses: 2, Callers: []aws.Credentials{*e.adjuster}, FunctionRoles: true,
		Endpoints: []localgw.VpcEndpoint{{ID: network["ApiEndpointId"], VpcID: network["VpcId"]}, {ID: otherID, VpcID: aws.ToString(vpc.Vpc.VpcId)}},
	})
	require.NoError(t, err)
	t.Cleanup(gw.Close)
	require.Equal(t, claims["ApiId"], targets[0].APIID)
	through := gw.EndpointURLs[network["ApiEndpointId"]] + "/" + privateStage

	t.Run("claims through the endpoint", func(t *testing.T) {
		intake := caller{e: e, base: through, sign: true, apiID: claims["ApiId"]}
		adjuster := caller{e: e, base: through, sign: true, apiID: claims["ApiId"], creds: e.adjuster}
		// The private DNS name of the API, as a client in the VPC calls it.
		byName := caller{e: e, base: through, sign: true, host: claims["ApiId"] + ".execute-api." + e.cfg.Region + ".amazonaws.com"}
		routesWork(t, intake, adjuster, byName)
	})

	t.Run("claims from anywhere else", func(t *testing.T) {
		before := itemCount(t, e, claims["ClaimsTableName"])
		for name, c := range map[string]caller{
			"outside the VPC":         {e: e, base: gw.URLs[claims["ApiId"]], sign: true},
			"another VPC's endpoint":  {e: e, base: gw.EndpointURLs[otherID] + "/" + privateStage, sign: true, apiID: claims["ApiId"]},
			"the adjuster, elsewhere": {e: e, base: gw.URLs[claims["ApiId"]], sign: true, creds: e.adjuster},
		} {
			for _, route := range claimsapi.RouteTable() {
				path := strings.NewReplacer("{memberId}", "M-private", "{claimId}", "c-1", "{id}", "c-1").Replace(route.Pattern) + "?memberId=M-private"
				r := c.do(t, route.Method, path, newClaim, "If-Match", `"1"`)
				assert.Equal(t, http.StatusForbidden, r.status, "%s: %s %s: %s", name, route.Method, route.Pattern, r.raw)
				assert.Equal(t, "AccessDeniedException", r.header.Get("X-Amzn-Errortype"), "%s: %s %s", name, route.Method, route.Pattern)
				assert.Contains(t, r.body["Message"], "is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:"+e.cfg.Region+":")
				assert.Contains(t, r.body["Message"], "with an explicit deny")
			}
		}
		assert.Equal(t, before, itemCount(t, e, claims["ClaimsTableName"]), "nothing was written")
	})

	t.Run("ec2powerctl through the endpoint", func(t *testing.T) {
		id := e.instances["solo"]
		ctl := func(url string, args ...string) (int, string) {
			return e.ctl(t, []string{"EC2POWER_URL=" + url}, append([]string{"--sigv4", "--api-id", power["ApiId"]}, args...)...)
		}
		code, out := ctl(through, "--wait", "--timeout", "2m", "stop", id)
		require.Equal(t, 0, code, out)
		assert.Equal(t, "stopped", e.state(t, id))
		code, out = ctl(through, "--wait", "--timeout", "2m", "start", id)
		require.Equal(t, 0, code, out)
		assert.Equal(t, "running", e.state(t, id))
		code, out = ctl(gw.URLs[power["ApiId"]], "stop", id)
		assert.Equal(t, 4, code, "denied from outside: %s", out)
		assert.Contains(t, out, "with an explicit deny")
		assert.Equal(t, "running", e.state(t, id), "nothing was done")
	})
}

// routesWork calls every claims route through c, the deciding ones as
// adjuster, and the compatibility routes by the API's private DNS name.
func routesWork(t *testing.T, c, adjuster, byName caller) {
	t.Helper()
	called := map[string]bool{}
	ok := func(route string, r reply, want int) reply {
		t.Helper()
		require.Equal(t, want, r.status, "%s: %s", route, r.raw)
		called[route] = true
		return r
	}
	member := "/members/M-private/claims"
	claim := func() string {
		r := ok("POST /members/{memberId}/claims", c.do(t, http.MethodPost, member, newClaim), http.StatusCreated)
		return member + "/" + r.body["claimId"].(string)
	}
	one := claim()
	item := "/members/{memberId}/claims/{claimId}"
	ok("GET /members/{memberId}/claims", c.do(t, http.MethodGet, member, ""), http.StatusOK)
	ok("GET "+item, c.do(t, http.MethodGet, one, ""), http.StatusOK)
	ok("PATCH "+item, c.do(t, http.MethodPatch, one, `{"description":"MRI and consult"}`, "If-Match", `"1"`), http.StatusOK)
	ok("POST "+item+"/approve", adjuster.do(t, http.MethodPost, one+"/approve", "", "If-Match", `"2"`), http.StatusOK)
	ok("POST "+item+"/pay", adjuster.do(t, http.MethodPost, one+"/pay", `{"paymentReference":"PAY-private-1"}`, "If-Match", `"3"`), http.StatusOK)
	ok("GET "+item+"/history", adjuster.do(t, http.MethodGet, one+"/history", ""), http.StatusOK)
	ok("POST "+item+"/reject", adjuster.do(t, http.MethodPost, claim()+"/reject", `{"reason":"not covered"}`, "If-Match", `"1"`), http.StatusOK)
	ok("POST "+item+"/withdraw", c.do(t, http.MethodPost, claim()+"/withdraw", `{"reason":"filed twice"}`, "If-Match", `"1"`), http.StatusOK)
	ok("DELETE "+item, c.do(t, http.MethodDelete, claim(), ""), http.StatusNoContent)

	r := ok("POST /claim", byName.do(t, http.MethodPost, "/claim?memberId=M-private&policyId=P-9&memberName=Grace%20Hopper",
		`{"policyType":"HMO","claimAmount":150.75,"description":"x-ray","status":"pending"}`), http.StatusCreated)
	legacy := "/claim/" + r.body["claimId"].(string) + "?memberId=M-private"
	ok("GET /claim/{id}", byName.do(t, http.MethodGet, legacy, ""), http.StatusOK)
	ok("PUT /claim/{id}", byName.do(t, http.MethodPut, legacy, `{"policyType":"PPO","claimAmount":99,"status":"pending"}`), http.StatusOK)
	ok("DELETE /claim/{id}", byName.do(t, http.MethodDelete, legacy, ""), http.StatusNoContent)

	for _, route := range claimsapi.RouteTable() {
		assert.True(t, called[route.Method+" "+route.Pattern], "route %s %s was called through the endpoint", route.Method, route.Pattern)
	}
}

// itemCount counts a table's items.
func itemCount(t *testing.T, e *env, table string) int32 {
	t.Helper()
	var n int32
	p := dynamodb.NewScanPaginator(dynamodb.NewFromConfig(e.cfg), &dynamodb.ScanInput{TableName: aws.String(table), Select: ddbtypes.SelectCount, ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(t, err)
		n += page.Count
	}
	return n
}
