package localgw

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// KeyStore knows the API keys valid for one API stage: enabled keys that
// belong to a usage plan of that stage, read from the emulator's API
// Gateway and refreshed often, so issued keys work at once and revoked ones
// stop working at once.
type KeyStore struct {
	gw       GatewayAPI
	apiID    string
	stage    string
	maxAge   time.Duration
	mu       sync.Mutex
	keys     map[string]Key // by value
	loadedAt time.Time
	// limits hold each key's buckets and counts, across reloads.
	limits map[string]*keyLimits
}

// Key is a valid API key with its usage plan's limits (zero: none).
type Key struct {
	ID         string
	RateLimit  float64 // steady requests per second
	BurstLimit int
	Quota      int    // requests per period
	Period     string // DAY, WEEK or MONTH
}

type keyLimits struct {
	bucket *bucket
	period time.Time // start of the counted period
	used   int
}

// NewKeyStore returns the key store of an API stage.
func NewKeyStore(gw GatewayAPI, apiID, stage string) *KeyStore {
	return &KeyStore{gw: gw, apiID: apiID, stage: stage, maxAge: time.Second}
}

// Admit counts a request of the key with id against its usage plan: it
// answers "" when the request may go on, or API Gateway's reason to refuse
// it (429): the plan's quota for the period is used up ("Limit Exceeded")
// or the key goes faster than the plan's throttle ("Too Many Requests").
func (k *KeyStore) Admit(key Key, now time.Time) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.limits == nil {
		k.limits = map[string]*keyLimits{}
	}
	l := k.limits[key.ID]
	if l == nil {
		l = &keyLimits{}
		k.limits[key.ID] = l
	}
	if key.Quota > 0 {
		start := periodStart(key.Period, now)
		if !start.Equal(l.period) {
			l.period, l.used = start, 0
		}
		if l.used >= key.Quota {
			return "Limit Exceeded"
		}
	}
	if key.RateLimit > 0 {
		if l.bucket == nil || l.bucket.rate != key.RateLimit || l.bucket.burst != key.BurstLimit {
			l.bucket = newBucket(key.RateLimit, key.BurstLimit, now)
		}
		if !l.bucket.take(now) {
			return "Too Many Requests"
		}
	}
	l.used++
	return ""
}

// periodStart is the start (UTC) of a quota period holding now.
func periodStart(period string, now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	switch period {
	case "WEEK":
		return day.AddDate(0, 0, -int(day.Weekday()))
	case "MONTH":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// bucket is a token bucket: burst tokens, refilled at rate per second.
type bucket struct {
	rate   float64
	burst  int
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	if burst < 1 {
		burst = 1
	}
	return &bucket{rate: rate, burst: burst, tokens: float64(burst), last: now}
}

func (b *bucket) take(now time.Time) bool {
	b.tokens = min(float64(b.burst), b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Lookup returns the key with value, if it is valid.
func (k *KeyStore) Lookup(ctx context.Context, value string) (Key, bool, error) {
	if value == "" {
		return Key{}, false, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	age := time.Since(k.loadedAt)
	key, ok := k.keys[value]
	// Hits are trusted for maxAge (a revocation shows within it); a miss
	// always reads the keys again, so a key issued a moment ago works.
	if ok && age < k.maxAge {
		return key, true, nil
	}
	keys, err := k.load(ctx)
	if err != nil {
		return Key{}, false, err
	}
	k.keys, k.loadedAt = keys, time.Now()
	key, ok = keys[value]
	return key, ok, nil
}

func (k *KeyStore) load(ctx context.Context) (map[string]Key, error) {
	inPlan := map[string]Key{}
	plans := apigateway.NewGetUsagePlansPaginator(k.gw, &apigateway.GetUsagePlansInput{})
	for plans.HasMorePages() {
		page, err := plans.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read usage plans: %w", err)
		}
		for _, p := range page.Items {
			covers := false
			for _, s := range p.ApiStages {
				if aws.ToString(s.ApiId) == k.apiID && aws.ToString(s.Stage) == k.stage {
					covers = true
				}
			}
			if !covers {
				continue
			}
			pk := apigateway.NewGetUsagePlanKeysPaginator(k.gw, &apigateway.GetUsagePlanKeysInput{UsagePlanId: p.Id})
			for pk.HasMorePages() {
				kp, err := pk.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("read usage plan keys: %w", err)
				}
				for _, key := range kp.Items {
					limits := Key{ID: aws.ToString(key.Id)}
					if t := p.Throttle; t != nil {
						limits.RateLimit, limits.BurstLimit = t.RateLimit, int(t.BurstLimit)
					}
					if q := p.Quota; q != nil {
						limits.Quota, limits.Period = int(q.Limit), string(q.Period)
					}
					inPlan[limits.ID] = limits
				}
			}
		}
	}
	out := map[string]Key{}
	keys := apigateway.NewGetApiKeysPaginator(k.gw, &apigateway.GetApiKeysInput{IncludeValues: aws.Bool(true)})
	for keys.HasMorePages() {
		page, err := keys.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read API keys: %w", err)
		}
		for _, key := range page.Items {
			if limits, ok := inPlan[aws.ToString(key.Id)]; ok && key.Enabled {
				out[aws.ToString(key.Value)] = limits
			}
		}
	}
	return out, nil
}
