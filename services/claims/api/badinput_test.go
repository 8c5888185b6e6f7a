package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBadInputGetsA4xxWithACode(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	existing := h.create("M-1")["claimId"].(string)
	claimPath := "/members/M-1/claims/" + existing
	missing := "/members/M-1/claims/01a20090-0000-7000-8000-000000000000"
	withField := func(field string) string {
		return strings.Replace(validClaim, "{", "{"+field+",", 1)
	}
	long := func(n int) string { return strings.Repeat("a", n) }

	type tc struct {
		method, target, body string
		headers              []string
		status               int
		code                 string
	}
	cases := map[string]tc{
		// path and query parameters
		"member id with spaces":     {http.MethodPost, "/members/bad%20id/claims", validClaim, nil, 400, "invalid_parameter"},
		"member id too long":        {http.MethodPost, "/members/" + long(65) + "/claims", validClaim, nil, 400, "invalid_parameter"},
		"member id starting with -": {http.MethodGet, "/members/-x/claims", "", nil, 400, "invalid_parameter"},
		"claim id not a uuid":       {http.MethodGet, "/members/M-1/claims/not-a-uuid", "", nil, 400, "invalid_parameter"},
		"claim id uuid in braces":   {http.MethodGet, "/members/M-1/claims/{" + existing + "}", "", nil, 400, "invalid_parameter"},
		"claim id unknown":          {http.MethodGet, missing, "", nil, 404, "claim_not_found"},
		"limit zero":                {http.MethodGet, "/members/M-1/claims?limit=0", "", nil, 400, "invalid_parameter"},
		"limit too large":           {http.MethodGet, "/members/M-1/claims?limit=101", "", nil, 400, "invalid_parameter"},
		"limit not a number":        {http.MethodGet, "/members/M-1/claims?limit=ten", "", nil, 400, "invalid_parameter"},
		"unknown status filter":     {http.MethodGet, "/members/M-1/claims?status=open", "", nil, 400, "invalid_parameter"},
		"garbage cursor":            {http.MethodGet, "/members/M-1/claims?cursor=abc", "", nil, 400, "invalid_cursor"},
		"forged cursor":             {http.MethodGet, "/members/M-1/claims?cursor=eyJwIjoiTUVNQkVSI00tMSIsInMiOiJDTEFJTSMifQ.AAAAAAAAAAAAAAAAAAAAAA", "", nil, 400, "invalid_cursor"},
		"huge cursor":               {http.MethodGet, "/members/M-1/claims?cursor=" + long(3000), "", nil, 400, "invalid_cursor"},
		// bodies
		"empty body":              {http.MethodPost, "/members/M-1/claims", "", nil, 400, "empty_body"},
		"blank body":              {http.MethodPost, "/members/M-1/claims", "  \n", nil, 400, "empty_body"},
		"truncated JSON":          {http.MethodPost, "/members/M-1/claims", `{"memberName":`, nil, 400, "invalid_json"},
		"not JSON":                {http.MethodPost, "/members/M-1/claims", `memberName=Ada`, nil, 400, "invalid_json"},
		"JSON array":              {http.MethodPost, "/members/M-1/claims", `[]`, nil, 400, "invalid_json"},
		"JSON null":               {http.MethodPost, "/members/M-1/claims", `null`, nil, 400, "invalid_json"},
		"JSON string":             {http.MethodPost, "/members/M-1/claims", `"claim"`, nil, 400, "invalid_json"},
		"trailing data":           {http.MethodPost, "/members/M-1/claims", validClaim + `{}`, nil, 400, "invalid_json"},
		"amount as string":        {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", `"12550"`, 1), nil, 400, "invalid_type"},
		"amount with decimals":    {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", `125.5`, 1), nil, 400, "invalid_type"},
		"amount beyond int64":     {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", `99999999999999999999`, 1), nil, 400, "invalid_type"},
		"memberName as number":    {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"Ada Lovelace"`, `42`, 1), nil, 400, "invalid_type"},
		"negative amount":         {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", `-5`, 1), nil, 400, "invalid_field"},
		"zero amount":             {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", `0`, 1), nil, 400, "invalid_field"},
		"absurd amount":           {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, "12550", `1000000000000`, 1), nil, 400, "invalid_field"},
		"unknown currency":        {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"USD"`, `"XYZ"`, 1), nil, 400, "invalid_field"},
		"lowercase currency":      {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"USD"`, `"usd"`, 1), nil, 400, "invalid_field"},
		"missing memberName":      {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"memberName":"Ada Lovelace",`, ``, 1), nil, 400, "invalid_field"},
		"blank memberName":        {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"Ada Lovelace"`, `"   "`, 1), nil, 400, "invalid_field"},
		"control char in name":    {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"Ada Lovelace"`, `"Ada\u0000"`, 1), nil, 400, "invalid_field"},
		"description too long":    {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"MRI scan"`, `"`+long(2001)+`"`, 1), nil, 400, "invalid_field"},
		"policy id invalid":       {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"POL-1"`, `"POL 1"`, 1), nil, 400, "invalid_field"},
		"initial status approved": {http.MethodPost, "/members/M-1/claims", withField(`"status":"approved"`), nil, 400, "invalid_field"},
		"unknown field":           {http.MethodPost, "/members/M-1/claims", withField(`"priority":"high"`), nil, 400, "unknown_field"},
		"sets PK":                 {http.MethodPost, "/members/M-1/claims", withField(`"PK":"MEMBER#x"`), nil, 400, "unknown_field"},
		"sets sk in lower case":   {http.MethodPost, "/members/M-1/claims", withField(`"sk":"CLAIM#x"`), nil, 400, "unknown_field"},
		"sets claimId":            {http.MethodPost, "/members/M-1/claims", withField(`"claimId":"` + existing + `"`), nil, 400, "read_only_field"},
		"sets memberId":           {http.MethodPost, "/members/M-1/claims", withField(`"memberId":"M-2"`), nil, 400, "read_only_field"},
		"sets version":            {http.MethodPost, "/members/M-1/claims", withField(`"version":7`), nil, 400, "read_only_field"},
		"sets createdAt":          {http.MethodPost, "/members/M-1/claims", withField(`"createdAt":"2020-01-01T00:00:00Z"`), nil, 400, "read_only_field"},
		"body over 64 KiB":        {http.MethodPost, "/members/M-1/claims", `{"description":"` + long(64<<10) + `"}`, nil, 413, "body_too_large"},
		"form content type":       {http.MethodPost, "/members/M-1/claims", validClaim, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		"garbled content type":    {http.MethodPost, "/members/M-1/claims", validClaim, []string{"Content-Type", ";;;"}, 415, "unsupported_media_type"},
		// preconditions
		"patch without If-Match":   {http.MethodPatch, claimPath, `{"status":"approved"}`, nil, 428, "precondition_required"},
		"patch with bad If-Match":  {http.MethodPatch, claimPath, `{"status":"approved"}`, []string{"If-Match", "abc"}, 400, "invalid_precondition"},
		"patch with If-Match *":    {http.MethodPatch, claimPath, `{"status":"approved"}`, []string{"If-Match", "*"}, 400, "invalid_precondition"},
		"patch with stale version": {http.MethodPatch, claimPath, `{"description":"x"}`, []string{"If-Match", `"9"`}, 412, "version_mismatch"},
		"patch of unknown claim":   {http.MethodPatch, missing, `{"description":"x"}`, []string{"If-Match", `"1"`}, 404, "claim_not_found"},
		"patch sets the status":    {http.MethodPatch, claimPath, `{"status":"approved"}`, []string{"If-Match", `"1"`}, 400, "invalid_field"},
		"empty patch":              {http.MethodPatch, claimPath, `{}`, []string{"If-Match", `"1"`}, 400, "empty_patch"},
		"patch sets SK":            {http.MethodPatch, claimPath, `{"SK":"CLAIM#x"}`, []string{"If-Match", `"1"`}, 400, "unknown_field"},
		"patch negative amount":    {http.MethodPatch, claimPath, `{"amount":-1}`, []string{"If-Match", `"1"`}, 400, "invalid_field"},
		"patch null body":          {http.MethodPatch, claimPath, `null`, []string{"If-Match", `"1"`}, 400, "invalid_json"},
		"delete with bad If-Match": {http.MethodDelete, claimPath, "", []string{"If-Match", "x"}, 400, "invalid_precondition"},
		// routing
		"unknown route":              {http.MethodGet, "/nope", "", nil, 404, "route_not_found"},
		"unknown nested route":       {http.MethodGet, "/members/M-1/claims/" + existing + "/extra", "", nil, 404, "route_not_found"},
		"wrong method on collection": {http.MethodPut, "/members/M-1/claims", validClaim, nil, 405, "method_not_allowed"},
		"wrong method on claim":      {http.MethodPost, claimPath, validClaim, nil, 405, "method_not_allowed"},
		// text that is not Unicode
		"lone surrogate in memberName": {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"Ada Lovelace"`, `"Ada \ud800"`, 1), nil, 400, "invalid_text"},
		"lone low surrogate in name":   {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"Ada Lovelace"`, `"\udc00Ada"`, 1), nil, 400, "invalid_text"},
		"byte that is not UTF-8":       {http.MethodPost, "/members/M-1/claims", strings.Replace(validClaim, `"Ada Lovelace"`, "\"Ada \xff\"", 1), nil, 400, "invalid_text"},
		"query that is not UTF-8":      {http.MethodGet, "/members/M-1/claims?status=%ff", "", nil, 400, "invalid_text"},
		"legacy query not UTF-8":       {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=%ff", `{"policyType":"T","claimAmount":1}`, nil, 400, "invalid_text"},
		"legacy lone surrogate":        {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":"T\ud83d","claimAmount":1}`, nil, 400, "invalid_text"},
		// legacy
		"legacy without memberId":     {http.MethodPost, "/claim?policyId=P&memberName=N", `{"policyType":"T","claimAmount":1}`, nil, 400, "missing_parameter"},
		"legacy without policyId":     {http.MethodPost, "/claim?memberId=M&memberName=N", `{"policyType":"T","claimAmount":1}`, nil, 400, "missing_parameter"},
		"legacy without memberName":   {http.MethodPost, "/claim?memberId=M&policyId=P", `{"policyType":"T","claimAmount":1}`, nil, 400, "missing_parameter"},
		"legacy bad memberId":         {http.MethodPost, "/claim?memberId=a%20b&policyId=P&memberName=N", `{"policyType":"T","claimAmount":1}`, nil, 400, "invalid_parameter"},
		"legacy empty body":           {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", "", nil, 400, "empty_body"},
		"legacy invalid body":         {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":`, nil, 400, "invalid_json"},
		"legacy missing claimAmount":  {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":"T"}`, nil, 400, "invalid_field"},
		"legacy negative claimAmount": {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":"T","claimAmount":-3}`, nil, 400, "invalid_field"},
		"legacy sub-cent amount":      {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":"T","claimAmount":1.005}`, nil, 400, "invalid_field"},
		"legacy exponent amount":      {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":"T","claimAmount":1e3}`, nil, 400, "invalid_field"},
		"legacy text amount":          {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"policyType":"T","claimAmount":"lots"}`, nil, 400, "invalid_json"},
		"legacy sets PK":              {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"PK":"MEMBER#undefined","policyType":"T","claimAmount":1}`, nil, 400, "unknown_field"},
		"legacy sets claimId":         {http.MethodPost, "/claim?memberId=M&policyId=P&memberName=N", `{"claimId":"x","policyType":"T","claimAmount":1}`, nil, 400, "read_only_field"},
		"legacy get without memberId": {http.MethodGet, "/claim/" + existing, "", nil, 400, "missing_parameter"},
		"legacy get bad id":           {http.MethodGet, "/claim/123?memberId=M-1", "", nil, 400, "invalid_parameter"},
		"legacy put without status":   {http.MethodPut, "/claim/" + existing + "?memberId=M-1", `{"policyType":"T","claimAmount":1}`, nil, 400, "invalid_field"},
		"legacy put unknown claim":    {http.MethodPut, "/claim/01a20090-0000-7000-8000-000000000000?memberId=M-1", `{"policyType":"T","claimAmount":1,"status":"pending"}`, nil, 404, "claim_not_found"},
		"legacy delete no memberId":   {http.MethodDelete, "/claim/" + existing, "", nil, 400, "missing_parameter"},
	}
	t.Run("cases", func(t *testing.T) {
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := h.do(c.method, c.target, c.body, c.headers...)
				require.Equal(t, c.status, r.Status, "body: %s", r.Body)
				assert.Equal(t, c.code, r.code())
				assert.NotContains(t, string(r.Body), "dynamodb")
				assert.NotContains(t, string(r.Body), "panic")
				if c.status == 405 {
					assert.NotEmpty(t, r.Header.Values("Allow"))
				}
			})
		}
	})

	t.Run("nothing was written by the bad requests", func(t *testing.T) {
		r := h.do(http.MethodGet, "/members/M-1/claims", "")
		require.Equal(t, http.StatusOK, r.Status)
		items := r.json()["items"].([]any)
		require.Len(t, items, 1)
		assert.InDelta(t, 1, items[0].(map[string]any)["version"], 0)
		for _, m := range []string{"M", "M-2", "undefined"} {
			r := h.do(http.MethodGet, fmt.Sprintf("/members/%s/claims", m), "")
			assert.Empty(t, r.json()["items"], m)
		}
	})
}

func TestMethodNotAllowedListsTheAllowedMethods(t *testing.T) {
	t.Parallel()
	h := newMemoryHarness(t)
	r := h.do(http.MethodPut, "/members/M-1/claims", "")
	require.Equal(t, http.StatusMethodNotAllowed, r.Status)
	assert.Equal(t, []string{"GET", "POST"}, r.Header.Values("Allow"))
}
