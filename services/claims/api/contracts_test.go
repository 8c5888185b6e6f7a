package api_test

import (
	"net/url"
	"path/filepath"
	"testing"

	"github.com/hexlambda/hexlambda/pkg/contracttest"
)

// Every known client's contract, replayed against the real handlers: a
// change of status or of a field a client reads (the replaced API's
// clients among them) fails here.
func TestConsumerContracts(t *testing.T) {
	t.Parallel()
	for _, c := range contracttest.LoadAll(t, filepath.Join("..", "contracts")) {
		t.Run(c.Consumer, func(t *testing.T) {
			t.Parallel()
			h := newMemoryHarness(t)
			contracttest.Replay(t, c, map[string]string{}, func(_ *testing.T, method, path string, q url.Values, headers map[string]string, body []byte) (int, []byte) {
				target := path
				if len(q) > 0 {
					target += "?" + q.Encode()
				}
				var hs []string
				for k, v := range headers {
					hs = append(hs, k, v)
				}
				r := h.do(method, target, string(body), hs...)
				return r.Status, r.Body
			})
		})
	}
}
