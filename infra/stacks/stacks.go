// Package stacks is the platform's registry of CloudFormation stacks: the
// shared bootstrap stack (artifact bucket), described here, and one stack per
// service, each described by its service (services/NAME/stack). Adding a
// service is one line in Services.
package stacks

import (
	"context"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hexlambda/hexlambda/pkg/cfn"
	claimsstack "github.com/hexlambda/hexlambda/services/claims/stack"
	powerproviders "github.com/hexlambda/hexlambda/services/ec2power/providers"
	powerstack "github.com/hexlambda/hexlambda/services/ec2power/stack"
)

// BootstrapStackName is the name of the shared bootstrap stack.
const BootstrapStackName = "hexlambda-bootstrap"

// registered are the services' stack descriptions: one line per service.
var registered = []func() cfn.Service{
	claimsstack.Service,
	powerstack.Service,
}

// Services lists the deployable services by name.
func Services() map[string]cfn.Service {
	out := make(map[string]cfn.Service, len(registered))
	for _, describe := range registered {
		s := describe()
		out[s.Name] = s
	}
	return out
}

// Names returns the service names, sorted.
func Names() []string {
	var out []string
	for n := range Services() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns a service by name.
func Lookup(name string) (cfn.Service, error) {
	s, ok := Services()[name]
	if !ok {
		return cfn.Service{}, fmt.Errorf("unknown service %q (known: %v)", name, Names())
	}
	return s, nil
}

// KeyGrants records what a service's API keys may do, for the deploy
// tool's keys commands.
type KeyGrants interface {
	// Grant records the groups (comma-separated, * for all) a key may act
	// on and whether it may audit.
	Grant(ctx context.Context, keyID, consumer, groups string, audit bool) error
	Revoke(ctx context.Context, keyID string) error
	Show(ctx context.Context, keyID string) (string, error)
}

// keyGrants are the services whose API keys carry a grant: one line per
// such service.
var keyGrants = map[string]func(cfg aws.Config, outputs map[string]string) (KeyGrants, error){
	powerproviders.Service: func(cfg aws.Config, out map[string]string) (KeyGrants, error) {
		return powerproviders.NewKeyGrants(cfg, out["AuditTableName"])
	},
}

// KeyGrantsOf returns the key grants of a service's stage, or nil when its
// keys carry none.
func KeyGrantsOf(service string, cfg aws.Config, outputs map[string]string) (KeyGrants, error) {
	f, ok := keyGrants[service]
	if !ok {
		return nil, nil
	}
	return f(cfg, outputs)
}
