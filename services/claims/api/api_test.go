package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
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

		r = h.decide("M-1", id, "approve", 2, "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "approved", r.json()["status"])
		assert.Equal(t, `"3"`, r.Header.Get("ETag"))

		r = h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"amount":1}`, "If-Match", `"3"`)
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, api.CodeClaimLocked, r.code())

		r = h.decide("M-1", id, "pay", 3, `{"paymentReference":"PAY-2026-001"}`)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "PAY-2026-001", r.json()["paymentReference"])

		r = h.do(http.MethodDelete, "/members/M-1/claims/"+id, "", "If-Match", `"3"`)
		assert.Equal(t, http.StatusPreconditionFailed, r.Status)
		r = h.do(http.MethodDelete, "/members/M-1/claims/"+id, "", "If-Match", `W/"4"`)
		assert.Equal(t, http.StatusConflict, r.Status, "a paid claim is never deleted")
		assert.Equal(t, api.CodeClaimDecided, r.code())

		r = h.as(api.RoleAuditor).do(http.MethodGet, "/members/M-1/claims/"+id+"/history", "")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var events []string
		for _, it := range r.json()["items"].([]any) {
			events = append(events, it.(map[string]any)["event"].(string))
		}
		assert.Equal(t, []string{"created", "details_changed", "approved", "paid"}, events)

		other := h.create("M-1")["claimId"].(string)
		r = h.do(http.MethodDelete, "/members/M-1/claims/"+other, "", "If-Match", `W/"1"`)
		assert.Equal(t, http.StatusNoContent, r.Status, "a pending claim may be deleted")
		assert.Empty(t, r.Body)
		r = h.do(http.MethodGet, "/members/M-1/claims/"+other, "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		assert.Equal(t, api.CodeClaimNotFound, r.code())
		r = h.do(http.MethodDelete, "/members/M-1/claims/"+other, "")
		assert.Equal(t, http.StatusNotFound, r.Status)
		r = h.as(api.RoleAuditor).do(http.MethodGet, "/members/M-1/claims/"+other+"/history", "")
		require.Equal(t, http.StatusOK, r.Status, "the history outlives the claim")
		assert.Len(t, r.json()["items"], 2)
	})
}

func TestDecisions(t *testing.T) {
	t.Parallel()
	type step struct {
		decision, body string
		want           int
		code           string
	}
	for name, steps := range map[string][]step{
		"pending to rejected":     {{"reject", `{"reason":"not covered"}`, 200, ""}},
		"a rejection says why":    {{"reject", `{}`, 400, api.CodeInvalidField}, {"reject", "", 400, api.CodeInvalidField}},
		"pending to paid":         {{"pay", `{"paymentReference":"P-1"}`, 409, api.CodeInvalidTransition}},
		"rejected is final":       {{"reject", `{"reason":"no"}`, 200, ""}, {"approve", "", 409, api.CodeInvalidTransition}, {"withdraw", "", 409, api.CodeInvalidTransition}},
		"approved then paid":      {{"approve", `{}`, 200, ""}, {"pay", `{"paymentReference":"P-1"}`, 200, ""}, {"approve", "", 409, api.CodeInvalidTransition}},
		"approving twice":         {{"approve", "", 200, ""}, {"approve", "", 409, api.CodeInvalidTransition}},
		"withdrawn is final":      {{"withdraw", `{"reason":"filed twice"}`, 200, ""}, {"approve", "", 409, api.CodeInvalidTransition}},
		"a payment has a ref":     {{"approve", "", 200, ""}, {"pay", `{}`, 400, api.CodeInvalidField}, {"pay", `{"paymentReference":"has space"}`, 400, api.CodeInvalidField}},
		"fields of other moves":   {{"approve", `{"reason":"because"}`, 400, api.CodeInvalidField}, {"reject", `{"paymentReference":"P"}`, 400, api.CodeInvalidField}},
		"no setting other fields": {{"approve", `{"amount":1}`, 400, "unknown_field"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newMemoryHarness(t)
			id := h.create("M-1")["claimId"].(string)
			version := 1
			for _, s := range steps {
				r := h.decide("M-1", id, s.decision, version, s.body)
				require.Equal(t, s.want, r.Status, "%s: %s", s.decision, r.Body)
				if s.want == http.StatusOK {
					version++
				} else {
					assert.Equal(t, s.code, r.code(), s.decision)
				}
			}
			got := h.do(http.MethodGet, "/members/M-1/claims/"+id, "")
			assert.Equal(t, fmt.Sprintf(`"%d"`, version), got.Header.Get("ETag"), "refused decisions wrote nothing")
		})
	}
}

func TestADecisionNeedsTheVersionItDecides(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	id := h.create("M-1")["claimId"].(string)
	r := h.as(api.RoleAdjuster).do(http.MethodPost, "/members/M-1/claims/"+id+"/approve", "")
	assert.Equal(t, http.StatusPreconditionRequired, r.Status)
	assert.Equal(t, api.CodePreconditionRequired, r.code())
	h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"description":"changed meanwhile"}`, "If-Match", `"1"`)
	r = h.decide("M-1", id, "approve", 1, "")
	assert.Equal(t, http.StatusPreconditionFailed, r.Status, "the adjuster decided on what they saw, not on the change")
	assert.Equal(t, api.CodeVersionMismatch, r.code())
}

// The security review's first finding: one PATCH approved a claim and
// raised its amount. An edit now never touches the status.
func TestAnEditCannotDecide(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	id := h.create("M-1")["claimId"].(string)
	r := h.do(http.MethodPatch, "/members/M-1/claims/"+id, `{"amount":999999999,"status":"approved"}`, "If-Match", `"1"`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, api.CodeInvalidField, r.code())
	r = h.as(api.RoleAdjuster).do(http.MethodPatch, "/members/M-1/claims/"+id, `{"amount":999999999,"status":"approved"}`, "If-Match", `"1"`)
	assert.Equal(t, http.StatusForbidden, r.Status, "and an adjuster does not edit")
	got := h.do(http.MethodGet, "/members/M-1/claims/"+id, "").json()
	assert.Equal(t, "pending", got["status"])
	assert.InDelta(t, 12550, got["amount"], 0)
	assert.InDelta(t, 1, got["version"], 0)
}

// The review's second finding: a paid claim could be deleted through the
// replaced API. A decided claim is now kept for good, on every route.
func TestADecidedClaimIsNeverDeleted(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		id := h.create("M-1")["claimId"].(string)
		require.Equal(t, http.StatusOK, h.decide("M-1", id, "approve", 1, "").Status)
		require.Equal(t, http.StatusOK, h.decide("M-1", id, "pay", 2, `{"paymentReference":"PAY-1"}`).Status)
		r := h.do(http.MethodDelete, "/claim/"+id+"?memberId=M-1", "")
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, api.CodeClaimDecided, r.code())
		r = h.do(http.MethodDelete, "/members/M-1/claims/"+id, "")
		assert.Equal(t, http.StatusConflict, r.Status)
		assert.Equal(t, "paid", h.do(http.MethodGet, "/members/M-1/claims/"+id, "").json()["status"])
	})
}

func TestCallersGetOnlyTheirRolesOperations(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	id := h.create("M-1")["claimId"].(string)
	claim := "/members/M-1/claims/" + id
	for _, c := range []struct {
		role, method, path, body string
		allowed                  bool
	}{
		{api.RoleIntake, http.MethodPost, claim + "/approve", "", false},
		{api.RoleIntake, http.MethodPost, claim + "/pay", `{"paymentReference":"P"}`, false},
		{api.RoleIntake, http.MethodGet, claim + "/history", "", false},
		{api.RolePayments, http.MethodPost, claim + "/approve", "", false},
		{api.RoleAdjuster, http.MethodPost, claim + "/pay", `{"paymentReference":"P"}`, false},
		{api.RoleAdjuster, http.MethodPost, "/members/M-1/claims", validClaim, false},
		{api.RoleAdjuster, http.MethodPatch, claim, `{"amount":5}`, false},
		{api.RoleAuditor, http.MethodDelete, claim, "", false},
		{api.RoleAuditor, http.MethodPost, claim + "/withdraw", "", false},
		{api.RoleAuditor, http.MethodGet, claim, "", true},
		{api.RoleAuditor, http.MethodGet, claim + "/history", "", true},
		{api.RolePayments, http.MethodGet, "/members/M-1/claims", "", true},
	} {
		r := h.as(c.role).do(c.method, c.path, c.body, "If-Match", `"1"`)
		if c.allowed {
			assert.Equal(t, http.StatusOK, r.Status, "%s %s %s", c.role, c.method, c.path)
			continue
		}
		assert.Equal(t, http.StatusForbidden, r.Status, "%s %s %s", c.role, c.method, c.path)
		assert.Equal(t, api.CodeNotPermitted, r.code())
	}
	stranger := *h
	stranger.caller.Principal = "arn:aws:iam::999999999999:role/claims-intake"
	r := stranger.do(http.MethodGet, claim, "")
	assert.Equal(t, http.StatusForbidden, r.Status, "a principal outside the mapping holds no role")
	got := h.do(http.MethodGet, claim, "").json()
	assert.Equal(t, "pending", got["status"], "nothing changed")
	assert.InDelta(t, 1, got["version"], 0)
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
			r := h.decide("M-list", ids[i], "approve", 1, "")
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

func TestAFilteredListReadsABoundedNumberOfClaims(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	var last string
	for range claimstore.ListScanLimit + 50 {
		last = h.create("M-many")["claimId"].(string)
	}
	require.Equal(t, http.StatusOK, h.decide("M-many", last, "approve", 1, "").Status)
	r := h.do(http.MethodGet, "/members/M-many/claims?status=approved&limit=10", "")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Empty(t, r.json()["items"], "the first page read its share and found nothing")
	next, _ := r.json()["nextCursor"].(string)
	require.NotEmpty(t, next, "and says where to go on")
	r = h.do(http.MethodGet, "/members/M-many/claims?status=approved&limit=10&cursor="+next, "")
	require.Equal(t, http.StatusOK, r.Status)
	items := r.json()["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, last, items[0].(map[string]any)["claimId"])
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
		assert.Equal(t, api.CodeDecisionRequired, r.code(), "the replaced API's PUT edits, it never decides")

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

// The review's third finding: with a reused key, the replaced API's create
// for another member (same body, other query) replayed the first member's
// claim and created nothing. The query is now part of the request a key
// stands for.
func TestAKeyStandsForTheWholeRequest(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		body := `{"policyType":"PPO","claimAmount":120}`
		first := h.do(http.MethodPost, "/claim?memberId=M-1&policyId=P-1&memberName=Ada", body, "Idempotency-Key", "k")
		require.Equal(t, http.StatusCreated, first.Status)
		second := h.do(http.MethodPost, "/claim?memberId=M-2&policyId=P-9&memberName=Bob", body, "Idempotency-Key", "k")
		assert.Equal(t, http.StatusUnprocessableEntity, second.Status, "%s", second.Body)
		assert.Equal(t, "idempotency_key_reused", second.code())
		assert.NotContains(t, string(second.Body), "Ada", "nothing of the first member's claim is shown")
		again := h.do(http.MethodPost, "/claim?policyId=P-1&memberId=M-1&memberName=Ada", body, "Idempotency-Key", "k")
		assert.Equal(t, http.StatusCreated, again.Status, "the same query in another order is the same request")
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	})
}

func TestKeysBelongToTheirCaller(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	first := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "shared")
	require.Equal(t, http.StatusCreated, first.Status)
	portal := h.as(api.RoleIntake)
	portal.caller.Principal = principal(api.RoleIntake)
	portal.caller.SourceIP = "203.0.113.5"
	replayed := portal.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "shared")
	assert.Equal(t, "true", replayed.Header.Get("Idempotent-Replayed"), "the same principal from another address is the same caller")

	stranger := newHarnessWithRoles(t, "intake=*")
	a := stranger.withPrincipal("arn:aws:iam::111111111111:user/alice")
	b := stranger.withPrincipal("arn:aws:iam::111111111111:user/bob")
	ra := a.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "shared")
	rb := b.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "shared")
	require.Equal(t, http.StatusCreated, ra.Status)
	require.Equal(t, http.StatusCreated, rb.Status)
	assert.Empty(t, rb.Header.Get("Idempotent-Replayed"), "another caller's key is another record")
	assert.NotEqual(t, ra.json()["claimId"], rb.json()["claimId"])
}

func TestAReplayIsReauthorizedAndShowsTheClaimAsItIs(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, h *harness) {
		first := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "w")
		require.Equal(t, http.StatusCreated, first.Status)
		id := first.json()["claimId"].(string)
		require.Equal(t, http.StatusOK, h.decide("M-1", id, "withdraw", 1, `{"reason":"filed twice"}`).Status)
		again := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "w")
		require.Equal(t, http.StatusCreated, again.Status)
		assert.Equal(t, "withdrawn", again.json()["status"], "not the stale pending claim")
		assert.Equal(t, `"2"`, again.Header.Get("ETag"))
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))

		gone := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "d")
		gid := gone.json()["claimId"].(string)
		require.Equal(t, http.StatusNoContent, h.do(http.MethodDelete, "/members/M-1/claims/"+gid, "").Status)
		r := h.do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "d")
		assert.Equal(t, http.StatusGone, r.Status)
		assert.Equal(t, api.CodeClaimDeleted, r.code())

		r = h.as(api.RoleAuditor).do(http.MethodPost, "/members/M-1/claims", validClaim, "Idempotency-Key", "w")
		assert.Equal(t, http.StatusForbidden, r.Status, "a replay is authorized like any request")
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
	for _, d := range []string{"approve", "reject", "pay", "withdraw"} {
		id := h.create("M-1")["claimId"].(string)
		if d == "pay" {
			h.decide("M-1", id, "approve", 1, "")
		}
		h.decide("M-1", id, d, map[bool]int{true: 2, false: 1}[d == "pay"], map[string]string{"reject": `{"reason":"r"}`, "pay": `{"paymentReference":"P"}`}[d])
	}
	h.as(api.RoleAuditor).do(http.MethodGet, "/members/M-1/claims/"+id+"/history", "")
	l := h.do(http.MethodPost, "/claim?memberId=M-1&policyId=P&memberName=N", `{"policyType":"T","claimAmount":1}`).json()
	lid := l["claimId"].(string)
	h.do(http.MethodGet, "/claim/"+lid+"?memberId=M-1", "")
	h.do(http.MethodPut, "/claim/"+lid+"?memberId=M-1", `{"policyType":"T","claimAmount":2,"status":"pending"}`)
	h.do(http.MethodDelete, "/claim/"+lid+"?memberId=M-1", "")
	assert.Empty(t, h.validator.Unexercised())
}
