package api_test

import (
	"net/url"
	"path/filepath"
	"testing"

	"github.com/hexlambda/hexlambda/pkg/contracttest"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// Every known client's contract, replayed against the real handlers: a
// change of status or of a field a client reads fails here.
func TestConsumerContracts(t *testing.T) {
	t.Parallel()
	for _, c := range contracttest.LoadAll(t, filepath.Join("..", "contracts")) {
		t.Run(c.Consumer, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, setup{})
			vars := map[string]string{
				"instance":  h.launch(domain.StateStopped, managed("ec2power:group", "ci", "Name", "runner")),
				"unmanaged": h.launch(domain.StateStopped, map[string]string{"Name": "prod-db"}),
				"group":     "ci",
				"schedule":  "nightly",
			}
			h.launch(domain.StateRunning, managed("ec2power:group", "ci", "Name", "runner-2"))
			contracttest.Replay(t, c, vars, func(_ *testing.T, method, path string, q url.Values, headers map[string]string, body []byte) (int, []byte) {
				target := path
				if len(q) > 0 {
					target += "?" + q.Encode()
				}
				r := h.send(method, target, string(body), headers)
				return r.Status, r.Body
			})
		})
	}
}
