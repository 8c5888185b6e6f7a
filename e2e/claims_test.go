package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const newClaim = `{"memberName":"Ada Lovelace","policyId":"POL-1","policyType":"PPO","amount":12550,"currency":"EUR","description":"MRI"}`

func TestColdFirstRequestAfterDeploy(t *testing.T) {
	e := suite(t)
	r := e.claimsClient().do(t, http.MethodGet, "/members/cold-start/claims", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	t.Logf("first request after deploy (cold): %s; suite setup took %s", r.took, e.setupTime)
	warm := e.claimsClient().do(t, http.MethodGet, "/members/cold-start/claims", "")
	require.Equal(t, http.StatusOK, warm.status)
	t.Logf("second request (warm): %s", warm.took)
}

func TestClaimsEveryRouteAndTheTable(t *testing.T) {
	e := suite(t)
	c := e.claimsClient()
	member := "M-e2e-routes"
	r := c.do(t, http.MethodPost, "/members/"+member+"/claims", newClaim)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	id := r.body["claimId"].(string)
	assert.Equal(t, "/members/"+member+"/claims/"+id, r.header.Get("Location"))
	assert.NotEmpty(t, r.header.Get("X-Request-Id"))

	table := e.claims["ClaimsTableName"]
	item, err := dynamodb.NewFromConfig(e.cfg).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]ddbtypes.AttributeValue{
			"PK": &ddbtypes.AttributeValueMemberS{Value: "MEMBER#" + member},
			"SK": &ddbtypes.AttributeValueMemberS{Value: "CLAIM#" + id},
		},
		ConsistentRead: aws.Bool(true),
	})
	require.NoError(t, err)
	require.NotEmpty(t, item.Item, "the claim is in the deployed table")
	assert.Equal(t, "12550", item.Item["amount"].(*ddbtypes.AttributeValueMemberN).Value)

	r = c.do(t, http.MethodGet, "/members/"+member+"/claims/"+id, "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, `"1"`, r.header.Get("ETag"))

	r = c.do(t, http.MethodPatch, "/members/"+member+"/claims/"+id, `{"description":"MRI and consult"}`, "If-Match", `"1"`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, `"2"`, r.header.Get("ETag"))

	r = c.do(t, http.MethodPatch, "/members/"+member+"/claims/"+id, `{"status":"approved"}`, "If-Match", `"2"`)
	assert.Equal(t, http.StatusBadRequest, r.status, "an edit never decides")

	r = c.do(t, http.MethodPost, "/members/"+member+"/claims/"+id+"/withdraw", `{"reason":"filed by mistake"}`, "If-Match", `"2"`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "withdrawn", r.body["status"])
	r = c.do(t, http.MethodDelete, "/members/"+member+"/claims/"+id, "")
	assert.Equal(t, http.StatusConflict, r.status, "a withdrawn claim is kept")
	assert.Equal(t, "claim_decided", r.errorCode())

	r = c.do(t, http.MethodPost, "/members/"+member+"/claims", newClaim)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	id = r.body["claimId"].(string)
	r = c.do(t, http.MethodDelete, "/members/"+member+"/claims/"+id, "")
	assert.Equal(t, http.StatusNoContent, r.status)
	r = c.do(t, http.MethodGet, "/members/"+member+"/claims/"+id, "")
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, "claim_not_found", r.errorCode())
}

func TestClaimsCompatibilityRoutes(t *testing.T) {
	e := suite(t)
	c := e.claimsClient()
	r := c.do(t, http.MethodPost, "/claim?memberId=M-legacy&policyId=P-9&memberName=Grace%20Hopper", `{"policyType":"HMO","claimAmount":150.75,"description":"x-ray","status":"pending"}`)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	id := r.body["claimId"].(string)
	assert.InDelta(t, 15075, r.body["amount"], 0)

	r = c.do(t, http.MethodGet, "/claim/"+id+"?memberId=M-legacy", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "Grace Hopper", r.body["memberName"])
	r = c.do(t, http.MethodPut, "/claim/"+id+"?memberId=M-legacy", `{"policyType":"PPO","claimAmount":99,"status":"pending"}`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.InDelta(t, 9900, r.body["amount"], 0)
	r = c.do(t, http.MethodPut, "/claim/"+id+"?memberId=M-legacy", `{"policyType":"PPO","claimAmount":99,"status":"approved"}`)
	assert.Equal(t, http.StatusConflict, r.status, "the replaced API's PUT edits, it never decides")
	assert.Equal(t, "decision_required", r.errorCode())
	r = c.do(t, http.MethodDelete, "/claim/"+id+"?memberId=M-legacy", "")
	assert.Equal(t, http.StatusNoContent, r.status)

	// The old API wrote MEMBER#undefined items and answered 502.
	r = c.do(t, http.MethodPost, "/claim", `{"policyType":"HMO","claimAmount":1}`)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "missing_parameter", r.errorCode())
}

// An adjuster's signed request approves; the intake caller's is refused by
// the function's role check, and nothing changes; the history says who did
// what.
func TestClaimsDecisionsBelongToTheirRoles(t *testing.T) {
	e := suite(t)
	intake, adjuster := e.claimsClient(), e.adjusterClient(t)
	member := "M-e2e-roles"
	r := intake.do(t, http.MethodPost, "/members/"+member+"/claims", newClaim)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	claim := "/members/" + member + "/claims/" + r.body["claimId"].(string)

	r = intake.do(t, http.MethodPost, claim+"/approve", "", "If-Match", `"1"`)
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r.raw)
	assert.Equal(t, "not_permitted", r.errorCode())
	r = intake.do(t, http.MethodGet, claim+"/history", "")
	assert.Equal(t, http.StatusForbidden, r.status, "intake does not audit")

	r = adjuster.do(t, http.MethodPost, claim+"/approve", "", "If-Match", `"1"`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	assert.Equal(t, "approved", r.body["status"])
	r = adjuster.do(t, http.MethodPost, claim+"/pay", `{"paymentReference":"PAY-E2E-1"}`, "If-Match", `"2"`)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)

	r = intake.do(t, http.MethodDelete, "/claim/"+strings.TrimPrefix(claim, "/members/"+member+"/claims/")+"?memberId="+member, "")
	assert.Equal(t, http.StatusConflict, r.status, "a paid claim is never deleted")

	r = adjuster.do(t, http.MethodGet, claim+"/history", "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	items := r.body["items"].([]any)
	require.Len(t, items, 3)
	last := items[2].(map[string]any)
	assert.Equal(t, "paid", last["event"])
	assert.Equal(t, e.adjusterPrincipal, last["principal"], "the gateway's verified caller is recorded")
	assert.Equal(t, "PAY-E2E-1", last["changes"].(map[string]any)["paymentReference"])
}

func TestClaimsIdempotentRetries(t *testing.T) {
	e := suite(t)
	c := e.claimsClient()
	path := "/members/M-idem/claims"
	first := c.do(t, http.MethodPost, path, newClaim, "Idempotency-Key", "e2e-key-1")
	require.Equal(t, http.StatusCreated, first.status, "%s", first.raw)
	again := c.do(t, http.MethodPost, path, newClaim, "Idempotency-Key", "e2e-key-1")
	require.Equal(t, http.StatusCreated, again.status)
	assert.Equal(t, first.body["claimId"], again.body["claimId"])
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	other := c.do(t, http.MethodPost, path, strings.Replace(newClaim, "12550", "1", 1), "Idempotency-Key", "e2e-key-1")
	assert.Equal(t, http.StatusUnprocessableEntity, other.status)

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { c.do(t, http.MethodPost, path, newClaim, "Idempotency-Key", "e2e-key-2") })
	}
	wg.Wait()
	list := c.do(t, http.MethodGet, path, "")
	require.Equal(t, http.StatusOK, list.status)
	assert.Len(t, list.body["items"], 2, "one claim per key, however many retries")
}

func TestClaimsConcurrentUpdatesHaveOneWinner(t *testing.T) {
	e := suite(t)
	c := e.claimsClient()
	r := c.do(t, http.MethodPost, "/members/M-race/claims", newClaim)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
	path := "/members/M-race/claims/" + r.body["claimId"].(string)
	const n = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	count := map[int]int{}
	for i := range n {
		wg.Go(func() {
			r := c.do(t, http.MethodPatch, path, fmt.Sprintf(`{"description":"writer %d"}`, i), "If-Match", `"1"`)
			mu.Lock()
			count[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusPreconditionFailed: n - 1}, count)
	final := c.do(t, http.MethodGet, path, "")
	assert.Equal(t, `"2"`, final.header.Get("ETag"))
}

func TestClaimsPaginationToTheEnd(t *testing.T) {
	e := suite(t)
	c := e.claimsClient()
	var ids []string
	for range 7 {
		r := c.do(t, http.MethodPost, "/members/M-pages/claims", newClaim)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.raw)
		ids = append(ids, r.body["claimId"].(string))
	}
	var got []string
	cursor := ""
	for range 10 {
		path := "/members/M-pages/claims?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := c.do(t, http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		for _, it := range r.body["items"].([]any) {
			got = append(got, it.(map[string]any)["claimId"].(string))
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	assert.Equal(t, ids, got)
}

func TestClaimsBadInputThroughTheGateway(t *testing.T) {
	e := suite(t)
	c := e.claimsClient()
	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodPost, "/members/M-1/claims", "", 400, "empty_body"},
		{http.MethodPost, "/members/M-1/claims", `{"memberName":`, 400, "invalid_json"},
		{http.MethodPost, "/members/M-1/claims", strings.Replace(newClaim, "12550", "-1", 1), 400, "invalid_field"},
		{http.MethodPost, "/members/M-1/claims", strings.Replace(newClaim, "{", `{"claimId":"x",`, 1), 400, "read_only_field"},
		{http.MethodPost, "/members/M-1/claims", `{"description":"` + strings.Repeat("x", 70000) + `"}`, 413, "body_too_large"},
		{http.MethodGet, "/members/M-1/claims/not-a-uuid", "", 400, "invalid_parameter"},
		{http.MethodGet, "/members/M-1/claims?limit=1000", "", 400, "invalid_parameter"},
		{http.MethodGet, "/members/M-1/claims?cursor=forged", "", 400, "invalid_cursor"},
		{http.MethodPatch, "/members/M-1/claims/01a20090-0000-7000-8000-000000000000", `{"description":"x"}`, 428, "precondition_required"},
	} {
		r := c.do(t, tc.method, tc.path, tc.body)
		assert.Equal(t, tc.status, r.status, "%s %s: %s", tc.method, tc.path, r.raw)
		assert.Equal(t, tc.code, r.errorCode(), "%s %s", tc.method, tc.path)
	}
}

func TestClaimsRefuseUnsignedRequests(t *testing.T) {
	e := suite(t)
	e.need(t, enforcesSigV4)
	unsigned := caller{e: e, base: e.claimsURL}.do(t, http.MethodGet, "/members/M-1/claims", "")
	assert.Equal(t, http.StatusForbidden, unsigned.status, "AWS_IAM methods refuse unsigned requests")
}
