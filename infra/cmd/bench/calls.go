package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/httpapi"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memevents"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memsched"
	powerproviders "github.com/hexlambda/hexlambda/services/ec2power/providers"
)

// counter counts the AWS operations the SDK clients send, with an
// initialize-step middleware (so retries are not counted twice).
type counter struct {
	mu    sync.Mutex
	calls []string
}

func (c *counter) middleware(st *middleware.Stack) error {
	return st.Initialize.Add( //nolint:wrapcheck // the SDK's own stack error, returned to the SDK
		middleware.InitializeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.calls = append(c.calls, awsmiddleware.GetServiceID(ctx)+"."+awsmiddleware.GetOperationName(ctx))
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
}

// take returns "N call(s): Service.Operation×k, ..." and resets the count.
func (c *counter) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := map[string]int{}
	for _, k := range c.calls {
		n[k]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, n[k]))
	}
	total := len(c.calls)
	c.calls = nil
	word := "calls"
	if total == 1 {
		word = "call"
	}
	return fmt.Sprintf("%d %s: %s", total, word, strings.Join(parts, ", "))
}

type clock struct{ lambdafn.SystemClock }

// countCalls serves each operation once in process, on DynamoDB and EC2 on
// the emulator, and counts the AWS calls it makes.
func countCalls(ctx context.Context, cfg aws.Config, instance string) (map[string]string, error) {
	c := &counter{}
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, c.middleware)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	codec, _ := pagecursor.New([]byte(cursorKey))
	ddb := awsdynamodb.NewFromConfig(cfg)
	claimsTable := dynamodb.NewTable(ddb, "bench-claims", dynamodb.WithCursors(codec))
	clk := clock{}
	claimsCfg, err := claimsproviders.LoadConfig(func(k string) string { return map[string]string{claimsproviders.EnvTableName: "bench-claims"}[k] })
	if err != nil {
		return nil, err
	}
	claims := claimsproviders.Local(claimsCfg, claimsTable, clk, claimsproviders.UUIDv7{}, logger).Router()
	powerCfg, err := powerproviders.LoadConfig(func(string) string { return "" })
	if err != nil {
		return nil, err
	}
	powerAPI, _, err := powerproviders.Local(powerCfg, ec2.NewFleet(awsec2.NewFromConfig(cfg)), dynamodb.NewTable(ddb, "bench-audit", dynamodb.WithCursors(codec)), clk, logger,
		memsched.New(nil, logger), memevents.New(nil))
	if err != nil {
		return nil, err
	}
	power := powerAPI.Router()

	type step struct {
		label, method, target, body string
		headers                     map[string]string
		router                      *httpapi.Router
	}
	do := func(s step) (ports.Response, error) {
		u, _ := url.Parse(s.target)
		req := ports.Request{Method: s.method, Path: u.Path, Query: u.Query(), Header: http.Header{}, Body: []byte(s.body), RequestID: "count-" + s.label,
			Caller: ports.Caller{Principal: "arn:aws:iam::123456789012:role/bench"}}
		for k, v := range s.headers {
			req.Header.Set(k, v)
		}
		resp := httpapi.Serve(ctx, logger, s.router, req)
		if resp.Status >= 500 {
			return resp, fmt.Errorf("%s: status %d: %s", s.label, resp.Status, resp.Body)
		}
		return resp, nil
	}
	out := map[string]string{}
	var locs []string
	for range 2 {
		created, err := do(step{"setup", "POST", "/members/M-count/claims", validClaimBody, nil, claims})
		if err != nil {
			return nil, err
		}
		locs = append(locs, created.Header.Get("Location"))
	}
	c.take()
	loc, decided := locs[0], locs[1]
	for _, s := range []step{
		{"createClaim", "POST", "/members/M-count/claims", validClaimBody, nil, claims},
		{"createClaim with Idempotency-Key", "POST", "/members/M-count/claims", validClaimBody, map[string]string{"Idempotency-Key": "count-1"}, claims},
		{"getClaim", "GET", loc, "", nil, claims},
		{"listClaims", "GET", "/members/M-count/claims?limit=20", "", nil, claims},
		{"updateClaim", "PATCH", loc, `{"description":"counted"}`, map[string]string{"If-Match": `"1"`}, claims},
		{"legacyUpdateClaim", "PUT", "/claim/" + loc[len(loc)-36:] + "?memberId=M-count", `{"policyType":"PPO","claimAmount":2,"status":"pending"}`, nil, claims},
		{"approveClaim", "POST", decided + "/approve", "", map[string]string{"If-Match": `"1"`}, claims},
		{"payClaim", "POST", decided + "/pay", `{"paymentReference":"PAY-1"}`, map[string]string{"If-Match": `"2"`}, claims},
		{"rejectClaim", "POST", loc + "/reject", `{"reason":"counted"}`, map[string]string{"If-Match": `"99"`}, claims},
		{"withdrawClaim", "POST", loc + "/withdraw", "", map[string]string{"If-Match": `"99"`}, claims},
		{"claimHistory", "GET", decided + "/history", "", nil, claims},
		{"deleteClaim", "DELETE", loc, "", nil, claims},
		{"describeInstances", "GET", "/instances/" + instance, "", nil, power},
		{"startInstance", "POST", "/instances/" + instance + "/start", "", nil, power},
		{"stopInstance", "POST", "/instances/" + instance + "/stop", "", nil, power},
		{"instanceHistory", "GET", "/instances/" + instance + "/history", "", nil, power},
		{"extendLease", "POST", "/instances/" + instance + "/lease?extend=30m", "", nil, power},
		{"releaseLease", "DELETE", "/instances/" + instance + "/lease", "", nil, power},
		{"holdInstance", "POST", "/instances/" + instance + "/hold?until=1h", "", nil, power},
		{"readSchedules", "GET", "/schedules", "", nil, power},
		{"writeSchedules", "DELETE", "/schedules/bench-none", "", nil, power},
	} {
		if _, err := do(s); err != nil {
			return nil, err
		}
		out[s.label] = c.take()
	}
	// Put the instance back as the latency runs expect it.
	if _, err := awsec2.NewFromConfig(cfg).StartInstances(ctx, &awsec2.StartInstancesInput{InstanceIds: []string{instance}}); err != nil {
		return nil, fmt.Errorf("restart instance: %w", err)
	}
	return out, nil
}
