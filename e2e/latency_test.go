package e2e

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReportGatewayLatency prints what the local gateway measured: each
// function's process init times (process start to first Runtime API poll)
// and the warm latency of a request through the gateway. It reports; the
// budgets are checked by the bench script, not by tests.
func TestReportGatewayLatency(t *testing.T) {
	e := suite(t)
	if e.gateway == nil {
		t.Skip("only the moto target runs the local gateway")
	}
	c := e.claimsClient()
	var took []time.Duration
	for range 50 {
		r := c.do(t, http.MethodGet, "/members/M-latency/claims", "")
		require.Equal(t, http.StatusOK, r.status)
		took = append(took, r.took)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("warm GET through the gateway (signed, DynamoDB on moto): p50 %s, p90 %s over %d requests", took[len(took)/2], took[len(took)*9/10], len(took))
	for name, p := range e.gateway.Pools {
		if inits := p.InitDurations(); len(inits) > 0 {
			t.Logf("init %-36s %v", name, inits)
		}
	}
}
