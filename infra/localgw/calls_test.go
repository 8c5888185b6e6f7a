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
	send("ASIAFN", "dynamodb", "DynamoDB_20120810.GetItem", "application/x-amz-json-1.0", `{"TableName":"claims"}`)
	send("ASIAFN", "dynamodb", "DynamoDB_20120810.TransactWriteItems", "application/x-amz-json-1.0",
		`{"TransactItems":[{"Put":{"TableName":"claims"}},{"Update":{"TableName":"claims"}},{"ConditionCheck":{"TableName":"other"}}]}`)
	send("ASIAFN", "ec2", "", "application/x-www-form-urlencoded", "Action=StartInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2")
	send("ASIAOTHER", "ssm", "AmazonSSM.GetParameter", "application/x-amz-json-1.1", `{"Name":"/hexlambda/claims-dev/cursor-signing-key"}`)
	send("ASIAFN", "scheduler", "POST /schedules/lease-i-1-2-ab", "application/json",
		`{"GroupName":"ec2power-dev","Target":{"Arn":"arn:aws:lambda:us-east-1:123456789012:function:f","RoleArn":"arn:aws:iam::123456789012:role/sched"}}`)
	send("ASIAFN", "scheduler", "DELETE /schedules/lease-i-1-2-ab?groupName=ec2power-dev", "application/json", ``)
	send("ASIAFN", "events", "AWSEvents.PutEvents", "application/x-amz-json-1.1", `{"Entries":[{"EventBusName":"power"},{"EventBusName":"power"}]}`)

	assert.Equal(t, map[string]map[string]int{
		"createClaim": {
			"dynamodb:GetItem": 1, "dynamodb:PutItem": 1, "dynamodb:UpdateItem": 1, "dynamodb:ConditionCheckItem": 1,
			"ec2:StartInstances": 1, "scheduler:CreateSchedule": 1, "scheduler:DeleteSchedule": 1, "events:PutEvents": 1,
		},
		"unknown key ASIAOTHER": {"ssm:GetParameter": 1},
	}, rec.Calls())
	const in = "us-east-1:123456789012:"
	assert.Equal(t, map[string]map[localgw.Access]int{
		"createClaim": {
			{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:" + in + "table/claims"}:                                                  1,
			{Action: "dynamodb:PutItem", Resource: "arn:aws:dynamodb:" + in + "table/claims"}:                                                  1,
			{Action: "dynamodb:UpdateItem", Resource: "arn:aws:dynamodb:" + in + "table/claims"}:                                               1,
			{Action: "dynamodb:ConditionCheckItem", Resource: "arn:aws:dynamodb:" + in + "table/other"}:                                        1,
			{Action: "ec2:StartInstances", Resource: "arn:aws:ec2:" + in + "instance/i-1"}:                                                     1,
			{Action: "ec2:StartInstances", Resource: "arn:aws:ec2:" + in + "instance/i-2"}:                                                     1,
			{Action: "scheduler:CreateSchedule", Resource: "arn:aws:scheduler:" + in + "schedule/ec2power-dev/lease-i-1-2-ab"}:                 1,
			{Action: "iam:PassRole", Resource: "arn:aws:iam::123456789012:role/sched", Context: "iam:PassedToService=scheduler.amazonaws.com"}: 1,
			{Action: "scheduler:DeleteSchedule", Resource: "arn:aws:scheduler:" + in + "schedule/ec2power-dev/lease-i-1-2-ab"}:                 1,
			{Action: "events:PutEvents", Resource: "arn:aws:events:" + in + "event-bus/power"}:                                                 1,
		},
		"unknown key ASIAOTHER": {{Action: "ssm:GetParameter", Resource: "arn:aws:ssm:" + in + "parameter/hexlambda/claims-dev/cursor-signing-key"}: 1},
	}, rec.Accesses())
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
