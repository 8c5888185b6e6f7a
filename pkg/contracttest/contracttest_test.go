package contracttest_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hexlambda/hexlambda/pkg/contracttest"
)

func TestPruneKeepsOnlyWhatIsRead(t *testing.T) {
	t.Parallel()
	raw := []byte(`{"items":[{"id":"a","state":"on","secret":1},{"id":"b","state":"off"}],"next":"x","other":true}`)
	got := contracttest.Prune(raw, []string{"items[].id", "items[].state", "next?", "missing?"})
	assert.JSONEq(t, `{"items":[{"id":"a","state":"on"},{"id":"b","state":"off"}],"next":"x"}`, string(got))
}

func TestReplayChecksStatusesAndReadFields(t *testing.T) {
	t.Parallel()
	c := contracttest.Contract{Consumer: "cli", Interactions: []contracttest.Interaction{{
		Name: "list", Request: contracttest.Request{Method: "GET", Path: "/things/{id}"}, Status: 200,
		Reads: []string{"items[].id", "items[].name?"}, Save: map[string]string{"first": "items"},
	}}}
	var sent string
	contracttest.Replay(t, c, map[string]string{"id": "t-1"}, func(_ *testing.T, method, path string, _ url.Values, _ map[string]string, _ []byte) (int, []byte) {
		sent = method + " " + path
		return 200, []byte(`{"items":[{"id":"a","extra":1}]}`)
	})
	assert.Equal(t, "GET /things/t-1", sent, "placeholders take the replay's values")
}
