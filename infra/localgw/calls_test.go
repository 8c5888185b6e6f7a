package localgw_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

func TestTheRecorderNamesCallsAsIAMAuthorizesThem(t *testing.T) {
	t.Parallel()
	var forwarded []string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forwarded = append(forwarded, r.Header.Get("X-Amz-Target"))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(backend.Close)
	rec, err := localgw.NewCallRecorder(t.Context(), backend.URL)
	require.NoError(t, err)
	t.Cleanup(rec.Close)
	rec.Own("ASIAFN", "createClaim")
	send := func(akid, service, target, contentType, body string) {
		method, path := http.MethodPost, "/"
		if m, p, ok := strings.Cut(target, " "); ok && strings.HasPrefix(p, "/") {
			method, path, target = m, p, ""
		}
		req, err := http.NewRequestWithContext(t.Context(), method, rec.URL()+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/20261123/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
		req.Header.Set("Content-Type", contentType)
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
	}
	send("ASIAFN", "dynamodb", "DynamoDB_20120810.GetItem", "application/x-amz-json-1.0", `{}`)
	send("ASIAFN", "dynamodb", "DynamoDB_20120810.TransactWriteItems", "application/x-amz-json-1.0",
		`{"TransactItems":[{"Put":{}},{"Update":{}},{"ConditionCheck":{}}]}`)
	send("ASIAFN", "ec2", "", "application/x-www-form-urlencoded", "Action=StartInstances&Version=2016-11-15")
	send("ASIAOTHER", "ssm", "AmazonSSM.GetParameter", "application/x-amz-json-1.1", `{}`)
	send("ASIAFN", "scheduler", "POST /schedules/lease-i-1-2-ab", "application/json", `{}`)
	send("ASIAFN", "scheduler", "DELETE /schedules/lease-i-1-2-ab", "application/json", ``)
	send("ASIAFN", "events", "AWSEvents.PutEvents", "application/x-amz-json-1.1", `{}`)

	assert.Equal(t, map[string]map[string]int{
		"createClaim": {
			"dynamodb:GetItem": 1, "dynamodb:PutItem": 1, "dynamodb:UpdateItem": 1, "dynamodb:ConditionCheckItem": 1,
			"ec2:StartInstances": 1, "scheduler:CreateSchedule": 1, "scheduler:DeleteSchedule": 1, "events:PutEvents": 1,
		},
		"unknown key ASIAOTHER": {"ssm:GetParameter": 1},
	}, rec.Calls())
	assert.Len(t, forwarded, 7, "every call reaches the emulator")
}

func TestTheRecorderInjectsFaultsIntoOneFunctionsCalls(t *testing.T) {
	t.Parallel()
	forwarded := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		forwarded++
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(backend.Close)
	rec, err := localgw.NewCallRecorder(t.Context(), backend.URL)
	require.NoError(t, err)
	t.Cleanup(rec.Close)
	rec.Own("ASIAFN", "getClaim")
	rec.Own("ASIAOTHER", "listClaims")
	send := func(akid, op string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, rec.URL()+"/", strings.NewReader(`{}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/20261123/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	throttle := &localgw.Fault{Function: "getClaim", Operation: "GetItem", Times: 2, Status: http.StatusBadRequest, Body: `{"__type":"ThrottlingException"}`}
	remove := rec.Inject(throttle)
	assert.Equal(t, http.StatusOK, send("ASIAOTHER", "GetItem"), "another function's call passes")
	assert.Equal(t, http.StatusOK, send("ASIAFN", "Query"), "another operation passes")
	assert.Equal(t, http.StatusBadRequest, send("ASIAFN", "GetItem"))
	assert.Equal(t, http.StatusBadRequest, send("ASIAFN", "GetItem"))
	assert.Equal(t, http.StatusOK, send("ASIAFN", "GetItem"), "two times, then forwarded again")
	assert.Equal(t, 2, rec.Applied(throttle))
	assert.Equal(t, 3, forwarded)
	remove()

	after := 0
	rec.Inject(&localgw.Fault{Function: "getClaim", Operation: "GetItem", After: func() { after = forwarded }})
	assert.Equal(t, http.StatusOK, send("ASIAFN", "GetItem"))
	assert.Equal(t, 4, after, "After runs once the emulator has answered")
}
