package localgw_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/hexlambda/hexlambda/infra/localgw"
)

func TestBucketsRefillAndQuotasRenewEachPeriod(t *testing.T) {
	t.Parallel()
	k := localgw.NewKeyStore(&fakeKeys{}, "api", "dev")
	at := time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC)
	throttled := localgw.Key{ID: "t", RateLimit: 2, BurstLimit: 1}
	assert.Empty(t, k.Admit(throttled, at))
	assert.Equal(t, "Too Many Requests", k.Admit(throttled, at.Add(100*time.Millisecond)))
	assert.Empty(t, k.Admit(throttled, at.Add(600*time.Millisecond)), "half a second refills one token at 2/s")

	daily := localgw.Key{ID: "d", Quota: 2, Period: "DAY"}
	assert.Empty(t, k.Admit(daily, at))
	assert.Empty(t, k.Admit(daily, at))
	assert.Equal(t, "Limit Exceeded", k.Admit(daily, at))
	assert.Empty(t, k.Admit(daily, at.Add(2*time.Minute)), "a new UTC day renews the quota")

	weekly := localgw.Key{ID: "w", Quota: 1, Period: "WEEK"}
	sunday := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	assert.Empty(t, k.Admit(weekly, sunday))
	assert.Equal(t, "Limit Exceeded", k.Admit(weekly, sunday.AddDate(0, 0, 6)), "the same week")
	assert.Empty(t, k.Admit(weekly, sunday.AddDate(0, 0, 7)))
}
