package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
)

// Keys manages the API keys of a stage's usage plan.
type Keys struct {
	API *apigateway.Client
}

// Key is an API key of a consumer.
type Key struct {
	ID       string
	Name     string
	Consumer string
	Enabled  bool
	// Value is only filled when the key is issued.
	Value string
}

// ErrNoUsagePlan means the stage does not use API keys.
var ErrNoUsagePlan = errors.New("the stage has no usage plan (its Auth is not API_KEY)")

func keyName(stack, consumer string) string { return stack + "-" + consumer }

// Issue creates a key for consumer and adds it to the usage plan.
func (k Keys) Issue(ctx context.Context, stack, usagePlanID, consumer string) (Key, error) {
	if usagePlanID == "" {
		return Key{}, ErrNoUsagePlan
	}
	if existing, err := k.find(ctx, stack, usagePlanID, consumer); err == nil {
		return Key{}, fmt.Errorf("consumer %s already has key %s; revoke it first", consumer, existing.ID)
	}
	out, err := k.API.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{
		Name:        aws.String(keyName(stack, consumer)),
		Description: aws.String("API key of " + consumer + " for " + stack),
		Enabled:     true,
		Tags:        map[string]string{"hexlambda:stack": stack, "hexlambda:consumer": consumer},
	})
	if err != nil {
		return Key{}, fmt.Errorf("create API key: %w", err)
	}
	if _, err := k.API.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{
		UsagePlanId: aws.String(usagePlanID), KeyId: out.Id, KeyType: aws.String("API_KEY"),
	}); err != nil {
		_, _ = k.API.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: out.Id})
		return Key{}, fmt.Errorf("add API key to usage plan %s: %w", usagePlanID, err)
	}
	return Key{ID: aws.ToString(out.Id), Name: aws.ToString(out.Name), Consumer: consumer, Enabled: out.Enabled, Value: aws.ToString(out.Value)}, nil
}

// List returns the keys of the usage plan.
func (k Keys) List(ctx context.Context, usagePlanID string) ([]Key, error) {
	if usagePlanID == "" {
		return nil, ErrNoUsagePlan
	}
	var out []Key
	p := apigateway.NewGetUsagePlanKeysPaginator(k.API, &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(usagePlanID)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list usage plan keys: %w", err)
		}
		for _, it := range page.Items {
			key := Key{ID: aws.ToString(it.Id), Name: aws.ToString(it.Name), Enabled: true}
			if got, err := k.API.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: it.Id}); err == nil {
				key.Enabled = got.Enabled
				key.Consumer = got.Tags["hexlambda:consumer"]
			}
			out = append(out, key)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (k Keys) find(ctx context.Context, stack, usagePlanID, consumer string) (Key, error) {
	keys, err := k.List(ctx, usagePlanID)
	if err != nil {
		return Key{}, err
	}
	for _, key := range keys {
		if key.Name == keyName(stack, consumer) {
			return key, nil
		}
	}
	return Key{}, fmt.Errorf("consumer %s has no key on %s", consumer, stack)
}

// Revoke removes the consumer's key from the usage plan and deletes it.
func (k Keys) Revoke(ctx context.Context, stack, usagePlanID, consumer string) (Key, error) {
	key, err := k.find(ctx, stack, usagePlanID, consumer)
	if err != nil {
		return Key{}, err
	}
	if _, err := k.API.DeleteUsagePlanKey(ctx, &apigateway.DeleteUsagePlanKeyInput{UsagePlanId: aws.String(usagePlanID), KeyId: aws.String(key.ID)}); err != nil {
		return Key{}, fmt.Errorf("remove key from usage plan: %w", err)
	}
	if _, err := k.API.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: aws.String(key.ID)}); err != nil {
		return Key{}, fmt.Errorf("delete key: %w", err)
	}
	return key, nil
}

// OfStack returns the keys the tool issued for stack (by their tag, or
// their name where the service keeps no tags), in any usage plan or none.
func (k Keys) OfStack(ctx context.Context, stack string) ([]Key, error) {
	var out []Key
	p := apigateway.NewGetApiKeysPaginator(k.API, &apigateway.GetApiKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list API keys: %w", err)
		}
		for _, it := range page.Items {
			name := aws.ToString(it.Name)
			consumer, named := strings.CutPrefix(name, stack+"-")
			if tagged := it.Tags["hexlambda:stack"]; tagged != "" {
				if tagged != stack {
					continue
				}
				consumer = it.Tags["hexlambda:consumer"]
			} else if !named {
				continue
			}
			out = append(out, Key{ID: aws.ToString(it.Id), Name: name, Consumer: consumer, Enabled: it.Enabled})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete deletes a key (which leaves every usage plan with it).
func (k Keys) Delete(ctx context.Context, id string) error {
	if _, err := k.API.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: aws.String(id)}); err != nil {
		return fmt.Errorf("delete API key %s: %w", id, err)
	}
	return nil
}
