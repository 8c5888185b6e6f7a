package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/awstest"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
)

func TestMain(m *testing.M) {
	code := awstest.Main(m)
	if code == 0 && validator != nil {
		if missing := validator.Unexercised(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "operations of openapi.yaml no test exercised: %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

// recorder is the SDK's HTTP client, noting the EC2 action of every request.
type recorder struct {
	mu      sync.Mutex
	actions []string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			r.mu.Lock()
			r.actions = append(r.actions, form.Get("Action"))
			r.mu.Unlock()
		}
	}
	return http.DefaultClient.Do(req)
}

func (r *recorder) count(action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.actions {
		if a == action {
			n++
		}
	}
	return n
}

func runInstance(t *testing.T, client *awsec2.Client, tags map[string]string) string {
	t.Helper()
	id, err := ec2test.RunInstance(t.Context(), client, tags, false)
	require.NoError(t, err)
	return id
}

func TestOnEC2TheGuardSendsNoStateChangingCall(t *testing.T) {
	t.Parallel()
	cfg := awstest.Config(t, awstest.Endpoint(t))
	rec := &recorder{}
	cfg.HTTPClient = rec
	client := awsec2.NewFromConfig(cfg)
	group := fmt.Sprintf("guard-%p", rec)
	unmanaged := runInstance(t, client, map[string]string{"Name": "prod", "ec2power:group": group})
	managedID := runInstance(t, client, map[string]string{"ec2power:managed": "true", "ec2power:group": group})

	h := newHarness(t, setup{fleet: ec2.NewFleet(client)})
	for _, target := range []string{"/instances/" + unmanaged + "/stop", "/instances/" + unmanaged + "/start?dryRun=true"} {
		r := h.do(http.MethodPost, target)
		assert.Equal(t, http.StatusForbidden, r.Status, target)
	}
	assert.Zero(t, rec.count("StopInstances"))
	assert.Zero(t, rec.count("StartInstances"))

	r := h.do(http.MethodPost, "/groups/"+group+"/stop?wait=true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	results := r.json()["results"].([]any)
	require.Len(t, results, 1, "only the managed member of the group acts")
	assert.Equal(t, managedID, results[0].(map[string]any)["instanceId"])
	assert.Equal(t, 1, rec.count("StopInstances"))

	out, err := client.DescribeInstances(t.Context(), &awsec2.DescribeInstancesInput{InstanceIds: []string{unmanaged, managedID}})
	require.NoError(t, err)
	states := map[string]types.InstanceStateName{}
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			states[aws.ToString(in.InstanceId)] = in.State.Name
		}
	}
	assert.Equal(t, types.InstanceStateNameRunning, states[unmanaged])
	assert.Equal(t, types.InstanceStateNameStopped, states[managedID])

	r = h.do(http.MethodPost, "/instances/"+managedID+"/start?wait=true&timeout=30s")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "succeeded", r.json()["result"])
	r = h.do(http.MethodPost, "/instances/"+managedID+"/stop?dryRun=true")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "would_succeed", r.json()["result"])
}
