package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/claims/api"
)

func TestRoutesMatchTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	h.validator.CheckRoutes(t, h.router.Routes())
}

func TestEveryRouteBelongsToAnOperation(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	seen := map[string]bool{}
	for _, r := range h.router.Routes() {
		assert.Contains(t, api.Operations, r.Operation)
		seen[r.Operation] = true
	}
	assert.Len(t, seen, len(api.Operations))
}

func TestClaimLifecycle(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {

		r := h.do(http.MethodPost, "/members/M-1/claims", validClaim)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		c := r.json()
		id := c["claimId"].(string)
		assert.Equal(t, "/members/M-1/claims/"+id, r.Header.Get("Location"))
		assert.Equal(t, `"1"`, r.Header.Get("ETag"))
		assert.Equal(t, "pending", c["status"])
		assert.InDelta(t, 12550, c["amount"], 0)
		assert.Equal(t, "M-1", c["memberId"])

		r = h.do(http.MethodGet, "/members/M-1/claims/"+id, "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, c, r.json())

		r = h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"amount":13000,"description":"MRI + consult"}`, "If-Match", `"1"`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, `"2"`, r.Header.Get("ETag"))
		assert.InDelta(t, 13000, r.json()["amount"], 0)

		r = h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"status":"approved"}`, "If-Match", `"2"`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "approved", r.json()["status"])

		r = h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"amount":1}`, "If-Match", `"3"`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, api.CodeClaimLocked, r.code())

		r = h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"status":"paid"}`, "If-Match", `3`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

		r = h.do(http.MethodDelete, "/members/M-1/claims/"+id, "", "If-Match", `"3"`)
		assert.Equal(t, http.StatusPreconditionFailed, r.Status)
		r = h.do(http.MethodDelete, "/members/M-1/claims/"+id, "", "If-Match", `W/"4"`)
		assert.Equal(t, http.StatusNoContent, r.Status)
		assert.Empty(t, r.Body)
		r = h.do(http.MethodGet, "/members/M-1/claims/"+id, "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Equal(t, api.CodeClaimNotFound, r.code())
		r = h.do(http.MethodDelete, "/members/M-1/claims/"+id, "")
		assert.Equal(t, http.StatusNotFound, r.Status)
	})
}

func TestStatusTransitions(t *testing.T) {
	t.Parallel()
	type step struct {
		to   string
		want int
	}
	for name, steps := range map[string][]step{
		"pending to rejected":      {{"rejected", 200}},
		"pending to paid":          {{"paid", 409}},
		"rejected is final":        {{"rejected", 200}, {"approved", 409}, {"paid", 409}, {"pending", 409}},
		"approved back to pending": {{"approved", 200}, {"pending", 409}},
		"paid is final":            {{"approved", 200}, {"paid", 200}, {"approved", 409}, {"rejected", 409}},
		"same status is no move":   {{"pending", 200}},
		"unknown status":           {{"closed", 400}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newMemoryHarness(t)
			c := h.create("M-1")
			version := 1
			for _, s := range steps {
				r := h.do(http.MethodPatch, fmt.Sprintf("/members/M-1/claims/%s", c["claimId"]),
					fmt.Sprintf(`{"status":%q}`, s.to), "If-Match", fmt.Sprintf(`"%d"`, version))
				require.Equal(t, s.want, r.Status, "to %s: %s", s.to, r.Body)
				switch s.want {
				case http.StatusOK:
					version++
				case http.StatusConflict:
					assert.Equal(t, api.CodeInvalidTransition, r.code())
				}
			}
		})
	}
}

func TestListPagesAndFilters(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		var ids []string
		for range 7 {
			ids = append(ids, h.create("M-list")["claimId"].(string))
		}
		h.create("M-other")
		for _, i := range []int{1, 4} {
			r := h.do(http.MethodPatch, "/members/M-list/claims/"+ids[i], `{"status":"approved"}`, "If-Match", `"1"`)
			require.Equal(t, http.StatusOK, r.Status)
		}

		var got []string
		cursor := ""
		pages := 0
		for {
			target := "/members/M-list/claims?limit=3"
			if cursor != "" {
				target += "&cursor=" + cursor
			}
			r := h.do(http.MethodGet, target, "")
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			pages++
			body := r.json()
			for _, it := range body["items"].([]any) {
				got = append(got, it.(map[string]any)["claimId"].(string))
			}
			next, _ := body["nextCursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, ids, got, "every claim once, in filing order")
		assert.Equal(t, 3, pages)

		r := h.do(http.MethodGet, "/members/M-list/claims?status=approved", "")
		require.Equal(t, http.StatusOK, r.Status)
		items := r.json()["items"].([]any)
		require.Len(t, items, 2)
		assert.Equal(t, ids[1], items[0].(map[string]any)["claimId"])

		r = h.do(http.MethodGet, "/members/nobody/claims", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, []any{}, r.json()["items"])

		first := h.do(http.MethodGet, "/members/M-list/claims?limit=1", "").json()["nextCursor"].(string)
		r = h.do(http.MethodGet, "/members/M-other/claims?cursor="+first, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "a cursor is bound to its member")
		assert.Equal(t, "invalid_cursor", r.code())
		r = h.do(http.MethodGet, "/members/M-list/claims?status=approved&cursor="+first, "")
		assert.Equal(t, http.StatusBadRequest, r.Status, "a cursor is bound to its filter")
	})
}

func TestLegacyRoutes(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		r := h.do(http.MethodPost, "/claim?memberId=M-9&policyId=P-9&memberName=Grace+Hopper",
			`{"policyType":"HMO","claimAmount":150.75,"description":"x-ray","status":"pending"}`)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		c := r.json()
		id := c["claimId"].(string)
		assert.InDelta(t, 15075, c["amount"], 0)
		assert.InDelta(t, 150.75, c["claimAmount"], 0)
		assert.Equal(t, "USD", c["currency"])
		assert.Equal(t, "Grace Hopper", c["memberName"])
		assert.Equal(t, "/claim/"+id+"?memberId=M-9", r.Header.Get("Location"))

		r = h.do(http.MethodGet, "/claim/"+id+"?memberId=M-9", "")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, c, r.json())
		r = h.do(http.MethodGet, "/members/M-9/claims/"+id, "")
		require.Equal(t, http.StatusOK, r.Status, "legacy and new routes share the data")

		r = h.do(http.MethodPut, "/claim/"+id+"?memberId=M-9", `{"policyType":"PPO","claimAmount":"99","status":"pending"}`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		c = r.json()
		assert.InDelta(t, 9900, c["amount"], 0)
		assert.Equal(t, "PPO", c["policyType"])
		assert.Empty(t, c["description"], "a full replace clears an omitted description")
		assert.Equal(t, "Grace Hopper", c["memberName"], "fields outside the legacy body stay")

		r = h.do(http.MethodPut, "/claim/"+id+"?memberId=M-9", `{"policyType":"PPO","claimAmount":99,"status":"paid"}`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, api.CodeInvalidTransition, r.code())

		r = h.do(http.MethodDelete, "/claim/"+id+"?memberId=M-9", "")
		assert.Equal(t, http.StatusNoContent, r.Status)
		r = h.do(http.MethodGet, "/claim/"+id+"?memberId=M-9", "")
		assert.Equal(t, http.StatusNotFound, r.Status)
	})
}

func TestIdempotentCreate(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		first := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, first.Status)
		again := h.do(http.MethodPost, "/members/M-1/claims", "  "+validClaim+"\n", "Idempotency-Key", "key-1")
		require.Equal(t, http.StatusCreated, again.Status)
		assert.Equal(t, first.json(), again.json())
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		assert.Equal(t, first.Header.Get("Location"), again.Header.Get("Location"))

		other := h.do(http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", "1", 1), "Idempotency-Key", "key-1")
		assert.Equal(t, http.StatusUnprocessableEntity, other.Status)
		assert.Equal(t, "idempotency_key_reused", other.code())
		otherMember := h.do(http.MethodPost, "/members/M-2/claims", validClaim, "Idempotency-Key", "key-1")
		assert.Equal(t, http.StatusUnprocessableEntity, otherMember.Status)

		bad := h.do(http.MethodPost, "/members/M-1/claims", `{"memberName":""}`, "Idempotency-Key", "key-2")
		assert.Equal(t, http.StatusBadRequest, bad.Status)
		fixed := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "key-2")
		assert.Equal(t, http.StatusCreated, fixed.Status, "a failed request does not burn its key")

		invalid := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", strings.Repeat("k", 300))
		assert.Equal(t, http.StatusBadRequest, invalid.Status)
		assert.Equal(t, "invalid_idempotency_key", invalid.code())

		list := h.do(http.MethodGet, "/members/M-1/claims", "").json()["items"].([]any)
		assert.Len(t, list, 2, "retries created nothing more")
	})
}

func TestConcurrentIdempotentCreatesMakeOneClaim(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		var wg sync.WaitGroup
		statuses := make(chan int, 30)
		for range 30 {
			wg.Go(func() {
				statuses <- h.do(http.MethodPost, "/members/M-c/claims", validClaim, "Idempotency-Key", "same").Status
			})
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			assert.Contains(t, []int{http.StatusCreated, http.StatusConflict}, s)
		}
		list := h.do(http.MethodGet, "/members/M-c/claims", "").json()["items"].([]any)
		assert.Len(t, list, 1)
	})
}

func TestEveryOperationIsExercised(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	c := h.create("M-1")
	id := c["claimId"].(string)
	h.do(http.MethodGet, "/members/M-1/claims", "")
	h.do(http.MethodGet, "/members/M-1/claims/"+id, "")
	h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"description":"d"}`, "If-Match", `"1"`)
	h.do(http.MethodDelete, "/members/M-1/claims/"+id, "")
	l := h.do(http.MethodPost, "/claim?memberId=M-1&policyId=P&memberName=N", `{"policyType":"T","claimAmount":1}`).json()
	lid := l["claimId"].(string)
	h.do(http.MethodGet, "/claim/"+lid+"?memberId=M-1", "")
	h.do(http.MethodPut, "/claim/"+lid+"?memberId=M-1", `{"policyType":"T","claimAmount":2,"status":"pending"}`)
	h.do(http.MethodDelete, "/claim/"+lid+"?memberId=M-1", "")
	assert.Empty(t, h.validator.Unexercised())
}
