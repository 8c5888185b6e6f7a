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
	keys     map[string]string // value -> id
	loadedAt time.Time
}

// NewKeyStore returns the key store of an API stage.
func NewKeyStore(gw GatewayAPI, apiID, stage string) *KeyStore {
	return &KeyStore{gw: gw, apiID: apiID, stage: stage, maxAge: time.Second}
}

// Lookup returns the id of the key with value, if it is valid.
func (k *KeyStore) Lookup(ctx context.Context, value string) (string, bool, error) {
	if value == "" {
		return "", false, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	age := time.Since(k.loadedAt)
	id, ok := k.keys[value]
	// Hits are trusted for maxAge (a revocation shows within it); a miss
	// always reads the keys again, so a key issued a moment ago works.
	if ok && age < k.maxAge {
		return id, true, nil
	}
	keys, err := k.load(ctx)
	if err != nil {
		return "", false, err
	}
	k.keys, k.loadedAt = keys, time.Now()
	id, ok = keys[value]
	return id, ok, nil
}

func (k *KeyStore) load(ctx context.Context) (map[string]string, error) {
	inPlan := map[string]bool{}
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
					inPlan[aws.ToString(key.Id)] = true
				}
			}
		}
	}
	out := map[string]string{}
	keys := apigateway.NewGetApiKeysPaginator(k.gw, &apigateway.GetApiKeysInput{IncludeValues: aws.Bool(true)})
	for keys.HasMorePages() {
		page, err := keys.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read API keys: %w", err)
		}
		for _, key := range page.Items {
			if key.Enabled && inPlan[aws.ToString(key.Id)] {
				out[aws.ToString(key.Value)] = aws.ToString(key.Id)
			}
		}
	}
	return out, nil
}
