package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

// Switching Auth on a deployed stage goes live: the deployment's identity
// covers what API Gateway snapshots, so the deploy makes a new deployment
// and the stage serves the new auth. On the moto target the stage is served
// by a local gateway of its own, which follows deployments and refuses
// changes made without one.
func TestSwitchingAuthGoesLive(t *testing.T) {
	e := suite(t)
	const stage = "e2eauth"
	ctx := context.Background()
	deploy := func(params ...string) {
		t.Helper()
		args := append([]string{"deploy", "--service", "ec2power", "--stage", stage, "--poll", "200ms",
			"--param", "DefaultTarget=group:" + Group}, params...)
		if e.gateway != nil {
			args = append(args, "--arch", "host")
		}
		_, err := e.deploy(args...)
		require.NoError(t, err)
	}
	deploy("--param", "Auth=NONE", "--allow-anonymous")
	t.Cleanup(func() { _, _ = e.deploy("destroy", "--service", "ec2power", "--stage", stage) })
	outputs, err := e.stageOutputs("ec2power", stage)
	require.NoError(t, err)
	apis := apigateway.NewFromConfig(e.cfg)
	before, err := localgw.ReadSnapshot(ctx, apis, outputs["ApiId"])
	require.NoError(t, err)

	c := caller{e: e, base: outputs["ApiUrl"]}
	if e.gateway != nil {
		gw, targets, err := e.startGateway([]string{"ec2power-" + stage}, localgw.Config{MaxProcesses: 1})
		require.NoError(t, err)
		t.Cleanup(gw.Close)
		c.base = gw.URLs[targets[0].APIID]
	}
	r := c.do(t, http.MethodGet, "/groups/"+Group, "")
	require.Equal(t, http.StatusOK, r.status, "an open stage serves anyone: %s", r.raw)

	deploy("--param", "Auth=API_KEY")
	after, err := localgw.ReadSnapshot(ctx, apis, outputs["ApiId"])
	require.NoError(t, err)
	newDeployment := slices.ContainsFunc(after.Deployments, func(d string) bool { return !slices.Contains(before.Deployments, d) })
	require.True(t, newDeployment, "switching Auth makes a new deployment (before %v, after %v)", before.Deployments, after.Deployments)
	const keyRequired = "GET /groups/{group} API key required"
	if e.gateway != nil && after.Entries[keyRequired] == before.Entries[keyRequired] {
		t.Skipf("E2E_TARGET=moto: the deploy made a new deployment, but moto's CloudFormation updates no AWS::ApiGateway::Method in place "+
			"(its API Gateway models have no CloudFormation update), so %q is still %s and no gateway over moto can show the new auth; "+
			"TestTheGatewayServesTheDeploymentNotTheLiveAPI shows the gateway following a deployment", keyRequired, after.Entries[keyRequired])
	}
	require.Eventually(t, func() bool {
		r = c.do(t, http.MethodGet, "/groups/"+Group, "")
		return r.status != http.StatusOK
	}, 60*time.Second, 500*time.Millisecond, "the new auth goes live")
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.raw)
	assert.Equal(t, "Forbidden", r.body["message"], "a call without a key is refused (%s)", r.raw)
}
