// Package stacks is the platform's registry of CloudFormation stacks: the
// shared bootstrap stack (artifact bucket), described here, and one stack per
// service, each described by its service (services/NAME/stack). Adding a
// service is one line in Services.
package stacks

import (
	"fmt"
	"sort"

	"github.com/hexlambda/hexlambda/pkg/cfn"
	claimsstack "github.com/hexlambda/hexlambda/services/claims/stack"
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
