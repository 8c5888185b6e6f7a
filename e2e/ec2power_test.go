package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (e *env) needInstances(t *testing.T) {
	t.Helper()
	if e.instances == nil {
		t.Skip("this target has no instances made by the suite")
	}
}

// state reads an instance's state from EC2 itself.
func (e *env) state(t *testing.T, id string) string {
	t.Helper()
	out, err := ec2.NewFromConfig(e.cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	require.NoError(t, err)
	return string(out.Reservations[0].Instances[0].State.Name)
}

func TestEC2PowerNeedsAValidAPIKey(t *testing.T) {
	e := suite(t)
	for _, key := range []string{"", "not-a-key"} {
		r := caller{e: e, base: e.powerURL, apiKey: key}.do(t, http.MethodGet, "/instances", "")
		assert.Equal(t, http.StatusForbidden, r.status, "key %q", key)
		assert.Equal(t, "Forbidden", r.body["message"])
	}
	_, value, err := e.issueKey("e2e-revoked", Group, false)
	require.NoError(t, err)
	c := caller{e: e, base: e.powerURL, apiKey: value}
	require.Equal(t, http.StatusOK, c.do(t, http.MethodGet, "/instances", "").status, "a freshly issued key works")
	require.NoError(t, e.revokeKey("e2e-revoked"))
	assert.Eventually(t, func() bool { return c.do(t, http.MethodGet, "/instances", "").status == http.StatusForbidden },
		defaultWait, pollEvery, "a revoked key is refused")
}

// A key issued for some groups acts on those only, and does not see who
// asked in the history.
func TestEC2PowerKeysActWithinTheirGrant(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	_, value, err := e.issueKey("e2e-team-a", "some-other-group", false)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.revokeKey("e2e-team-a") })
	c := caller{e: e, base: e.powerURL, apiKey: value}
	for _, path := range []string{"/groups/" + Group + "/start?dryRun=true", "/instances/" + e.instances["a"] + "/start?dryRun=true", "/instances/" + e.instances["solo"] + "/stop?dryRun=true"} {
		r := c.do(t, http.MethodPost, path, "")
		assert.Equal(t, http.StatusForbidden, r.status, "%s: %s", path, r.raw)
		assert.Equal(t, "not_permitted", r.errorCode(), path)
	}
	r := c.do(t, http.MethodGet, "/instances", "")
	assert.Equal(t, http.StatusOK, r.status, "reading is not acting")

	r = e.powerClient().do(t, http.MethodPost, "/instances/"+e.instances["a"]+"/start?dryRun=true", "")
	require.Less(t, r.status, 300, "%s", r.raw)
	r = c.do(t, http.MethodGet, "/instances/"+e.instances["a"]+"/history", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	for _, it := range r.body["items"].([]any) {
		assert.NotContains(t, it.(map[string]any), "apiKeyId", "who asked is shown to auditors only")
	}
}

func TestEC2PowerSeesOnlyManagedInstances(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	r := e.powerClient().do(t, http.MethodGet, "/instances", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	ids := map[any]bool{}
	for _, it := range r.body["items"].([]any) {
		ids[it.(map[string]any)["instanceId"]] = true
	}
	for _, role := range []string{"a", "b", "solo"} {
		assert.True(t, ids[e.instances[role]], role)
	}
	assert.False(t, ids[e.instances["unmanaged"]])
	r = e.powerClient().do(t, http.MethodGet, "/instances/"+e.instances["unmanaged"], "")
	assert.Equal(t, http.StatusNotFound, r.status)
	r = e.powerClient().do(t, http.MethodGet, "/groups/"+Group, "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Len(t, r.body["items"], 2)
}

func TestEC2PowerNeverTouchesUnmanagedInstances(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	id := e.instances["unmanaged"]
	before := e.state(t, id)
	for _, path := range []string{"/instances/" + id + "/stop", "/instances/" + id + "/stop?wait=true", "/instances/" + id + "/start?dryRun=true"} {
		r := e.powerClient().do(t, http.MethodPost, path, "")
		assert.Equal(t, http.StatusForbidden, r.status, path)
		assert.Equal(t, "not_managed", r.errorCode())
	}
	assert.Equal(t, before, e.state(t, id), "the instance's state is unchanged in EC2")
}

func TestEC2PowerStartAndStopWithWait(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	c := e.powerClient()
	id := e.instances["solo"]
	r := c.do(t, http.MethodPost, "/instances/"+id+"/stop?wait=true&timeout=60s", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "stopped", r.body["state"])
	assert.Equal(t, "stopped", e.state(t, id))
	r = c.do(t, http.MethodPost, "/instances/"+id+"/stop", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, false, r.body["changed"], "stopping a stopped instance changes nothing")

	r = c.do(t, http.MethodPost, "/instances/"+id+"/start?dryRun=true", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "would_succeed", r.body["result"])
	assert.Equal(t, "stopped", e.state(t, id), "a dry run does nothing")

	r = c.do(t, http.MethodPost, "/instances/"+id+"/start?wait=true", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "running", r.body["state"])
	assert.Equal(t, "running", e.state(t, id))

	h := c.do(t, http.MethodGet, "/instances/"+id+"/history", "")
	require.Equal(t, http.StatusOK, h.status, "%s", h.raw)
	items := h.body["items"].([]any)
	require.GreaterOrEqual(t, len(items), 4)
	newest := items[0].(map[string]any)
	assert.Equal(t, "start", newest["action"])
	assert.Equal(t, "succeeded", newest["result"])
	assert.Equal(t, e.apiKeyID, newest["apiKeyId"], "the caller's API key id is recorded")
	assert.NotEmpty(t, newest["sourceIp"])
}

func TestEC2PowerGroupsAndTheCompatibilityRoutes(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	c := e.powerClient()
	r := c.do(t, http.MethodPost, "/groups/"+Group+"/stop?wait=true", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	results := r.body["results"].([]any)
	require.Len(t, results, 2, "the unmanaged group member is left out")
	for _, role := range []string{"a", "b"} {
		assert.Equal(t, "stopped", e.state(t, e.instances[role]), role)
	}
	assert.Equal(t, "running", e.state(t, e.instances["unmanaged"]))

	r = c.do(t, http.MethodPost, "/groups/"+Group+"/start?wait=true", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	for _, role := range []string{"a", "b"} {
		assert.Equal(t, "running", e.state(t, e.instances[role]), role)
	}

	r = c.do(t, http.MethodGet, "/stop?wait=true", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, Group, r.body["group"], "GET /stop acts on the configured default target")
	for _, role := range []string{"a", "b"} {
		assert.Equal(t, "stopped", e.state(t, e.instances[role]), role)
	}
	r = c.do(t, http.MethodGet, "/start?wait=true", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, Group, r.body["group"], "GET /start acts on the configured default target")
	for _, role := range []string{"a", "b"} {
		assert.Equal(t, "running", e.state(t, e.instances[role]), role)
	}
	r = c.do(t, http.MethodPost, "/instances/i-bad/start", "")
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "invalid_parameter", r.errorCode())
	r = c.do(t, http.MethodDelete, "/instances", "")
	assert.Equal(t, http.StatusForbidden, r.status, "a method the API lacks is answered as API Gateway answers it")
	assert.Equal(t, "Missing Authentication Token", r.body["message"])
}

func TestEC2PowerCtlDrivesARealStopAndStart(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	id := e.instances["solo"]
	ctl := func(args ...string) (int, string) {
		return e.ctl(t, []string{"EC2POWER_URL=" + e.powerURL, "EC2POWER_API_KEY=" + e.apiKey}, args...)
	}
	code, out := ctl("--wait", "--timeout", "2m", "stop", id)
	require.Equal(t, 0, code, out)
	assert.Equal(t, "stopped", e.state(t, id))
	code, out = ctl("--wait", "--timeout", "2m", "start", id)
	require.Equal(t, 0, code, out)
	assert.Equal(t, "running", e.state(t, id))
	code, out = ctl("stop", e.instances["unmanaged"])
	assert.Equal(t, 4, code, "denied: %s", out)
	code, _ = ctl("--group", Group, "status")
	assert.Equal(t, 0, code)
}
