package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/deploy"
	"github.com/hexlambda/hexlambda/infra/localgw"
)

// ownStage is a stage of a service deployed for one test alone, served on
// the moto target by a local gateway of its own, which follows
// deployments and refuses changes made without one.
type ownStage struct {
	e              *env
	t              *testing.T
	service, stage string
	always         []string // the parameters of every deploy
	c              caller
}

// deployOwnStage deploys a stage of service with the parameters of every
// deploy and the first's, destroys it when the test ends, and serves it.
func (e *env) deployOwnStage(t *testing.T, service, stage string, always []string, first ...string) *ownStage {
	t.Helper()
	s := &ownStage{e: e, t: t, service: service, stage: stage, always: always}
	s.redeploy(first...)
	t.Cleanup(func() { _, _ = e.deploy("destroy", "--service", service, "--stage", stage) })
	s.c = caller{e: e, base: s.outputs()["ApiUrl"]}
	if e.gateway != nil {
		gw, targets, err := e.startGateway([]string{service + "-" + stage}, localgw.Config{MaxProcesses: 2})
		require.NoError(t, err)
		t.Cleanup(gw.Close)
		s.c.base = gw.URLs[targets[0].APIID]
	}
	return s
}

// redeploy deploys the stage again with these parameters too.
func (s *ownStage) redeploy(params ...string) {
	s.t.Helper()
	args := append(append([]string{"deploy", "--service", s.service, "--stage", s.stage, "--poll", "200ms"}, s.always...), params...)
	if s.e.gateway != nil {
		args = append(args, "--arch", "host")
	}
	_, err := s.e.deploy(args...)
	require.NoError(s.t, err)
}

func (s *ownStage) outputs() map[string]string {
	s.t.Helper()
	out, err := s.e.stageOutputs(s.service, s.stage)
	require.NoError(s.t, err)
	return out
}

// Switching Auth on a deployed stage goes live: the deployment's identity
// covers what API Gateway snapshots, so the deploy makes a new deployment
// and the stage serves the new auth. On the moto target the stage is served
// by a local gateway of its own, which follows deployments and refuses
// changes made without one.
func TestSwitchingAuthGoesLive(t *testing.T) {
	e := suite(t)
	ctx := context.Background()
	s := e.deployOwnStage(t, "ec2power", "e2eauth", []string{"--param", "DefaultTarget=group:" + Group}, "--param", "Auth=NONE", "--allow-anonymous")
	c, apiID := s.c, s.outputs()["ApiId"]
	apis := apigateway.NewFromConfig(e.cfg)
	before, err := localgw.ReadSnapshot(ctx, apis, apiID)
	require.NoError(t, err)
	r := c.do(t, http.MethodGet, "/groups/"+Group, "")
	require.Equal(t, http.StatusOK, r.status, "an open stage serves anyone: %s", r.raw)

	s.redeploy("--param", "Auth=API_KEY")
	after, err := localgw.ReadSnapshot(ctx, apis, apiID)
	require.NoError(t, err)
	newDeployment := slices.ContainsFunc(after.Deployments, func(d string) bool { return !slices.Contains(before.Deployments, d) })
	require.True(t, newDeployment, "switching Auth makes a new deployment (before %v, after %v)", before.Deployments, after.Deployments)
	const keyRequired = "GET /groups/{group} API key required"
	if e.gateway != nil && after.Entries[keyRequired] == before.Entries[keyRequired] {
		t.Skipf("E2E_TARGET=moto: the deploy made a new deployment, but the emulator at AWS_ENDPOINT_URL updates no AWS::ApiGateway::Method "+
			"under CloudFormation (a plain moto_server; the one the suite starts has pkg/awstest/motoapigw.py), so %q is still %s and no "+
			"gateway over it can show the new auth", keyRequired, after.Entries[keyRequired])
	}
	require.Eventually(t, func() bool {
		r = c.do(t, http.MethodGet, "/groups/"+Group, "")
		return r.status != http.StatusOK
	}, 60*time.Second, 500*time.Millisecond, "the new auth goes live")
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.raw)
	assert.Equal(t, "Forbidden", r.body["message"], "a call without a key is refused (%s)", r.raw)
}

// Retiring the legacy routes of a deployed stage takes them off it: the
// deploy removes their methods and deploys the stage anew after the
// cleanup, so API Gateway answers them as paths it does not know, while
// the other routes still reach the functions.
func TestRetiredRoutesAreGoneFromTheStage(t *testing.T) {
	e := suite(t)
	ctx := context.Background()
	s := e.deployOwnStage(t, "claims", "e2elegacy", []string{"--param", "Auth=NONE", "--allow-anonymous"})
	assert.Equal(t, "true", s.outputs()["LegacyRoutes"])
	c := s.c
	const none = "0b8e2a9c-3f4d-4e5a-9b6c-7d8e9f0a1b2c"
	const legacy, current = "/claim/" + none + "?memberId=M-1", "/members/M-1/claims/" + none
	for _, path := range []string{legacy, current} {
		r := c.do(t, http.MethodGet, path, "")
		require.Equal(t, http.StatusNotFound, r.status, "%s reaches the function: %s", path, r.raw)
		require.Equal(t, "claim_not_found", r.errorCode(), "%s: %s", path, r.raw)
	}

	s.redeploy("--param", "LegacyRoutes=false")
	outputs := s.outputs()
	assert.Equal(t, "false", outputs["LegacyRoutes"])
	apis := apigateway.NewFromConfig(e.cfg)
	snap, err := localgw.ReadSnapshot(ctx, apis, outputs["ApiId"])
	require.NoError(t, err)
	assert.NotContains(t, snap.Entries, "GET /claim/{id}", "the retired method is off the API")
	assert.Contains(t, snap.Entries, "GET /members/{memberId}/claims/{claimId}")
	// CloudFormation makes the template's new deployment before it deletes
	// the retired methods; the stage serves the one made after that.
	st, err := apis.GetStage(ctx, &apigateway.GetStageInput{RestApiId: aws.String(outputs["ApiId"]), StageName: aws.String(s.stage)})
	require.NoError(t, err)
	d, err := apis.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: aws.String(outputs["ApiId"]), DeploymentId: st.DeploymentId})
	require.NoError(t, err)
	assert.Equal(t, deploy.AfterRemovingRoutes, aws.ToString(d.Description), "the stage serves the deployment made after the cleanup")

	var r reply
	require.Eventually(t, func() bool {
		r = c.do(t, http.MethodGet, legacy, "")
		return r.status != http.StatusNotFound
	}, 60*time.Second, 500*time.Millisecond, "the retired route leaves the stage")
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.raw)
	assert.Equal(t, "Missing Authentication Token", r.body["message"], "API Gateway knows the path no more: %s", r.raw)
	r = c.do(t, http.MethodGet, current, "")
	assert.Equal(t, http.StatusNotFound, r.status, "the current routes stay: %s", r.raw)
	assert.Equal(t, "claim_not_found", r.errorCode(), "%s", r.raw)
}

// A stage's throttle holds on the deployed stage and follows its settings
// without a new deployment: a stage deployed at one request a second
// answers a burst 429 "Too Many Requests" before any function runs, and
// the same stage redeployed with the default limits serves it.
func TestTheStageThrottleOfADeployedStage(t *testing.T) {
	e := suite(t)
	limits := func(rate, burst string) []string {
		return []string{"--param", "ThrottleRateLimit=" + rate, "--param", "ThrottleBurstLimit=" + burst}
	}
	s := e.deployOwnStage(t, "claims", "e2ethrottle", []string{
		"--param", "Auth=NONE", "--allow-anonymous", "--param", "KeyThrottleRateLimit=1", "--param", "KeyThrottleBurstLimit=1",
	}, limits("1", "1")...)
	c := s.c
	burst := func() (throttled int, other []string) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				r, err := c.send(t.Context(), http.MethodGet, "/members/M-1/claims", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					other = append(other, err.Error())
				case r.status == http.StatusTooManyRequests && r.body["message"] == "Too Many Requests":
					throttled++
				case r.status != http.StatusOK:
					other = append(other, fmt.Sprintf("%d %s", r.status, r.raw))
				}
			})
		}
		wg.Wait()
		return throttled, other
	}
	throttled, other := burst()
	assert.Empty(t, other)
	assert.Positive(t, throttled, "five at once against one a second")

	s.redeploy(limits("50", "100")...)
	require.Eventually(t, func() bool {
		throttled, other = burst()
		return throttled == 0
	}, 30*time.Second, time.Second, "the stage's new limits apply")
	assert.Empty(t, other)
}
