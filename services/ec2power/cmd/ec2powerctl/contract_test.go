package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hexlambda/hexlambda/pkg/contracttest"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/memfleet"
	"github.com/hexlambda/hexlambda/services/ec2power/domain"
)

// contractFile is ec2powerctl's consumer contract, kept with the API.
var contractFile = filepath.Join("..", "..", "contracts", "ec2powerctl.json")

// pruning answers as the API does, but keeps of each answer only the fields
// the contract says ec2powerctl reads for that request.
func pruning(t *testing.T, c contracttest.Contract) func(http.Handler) http.Handler {
	t.Helper()
	type route struct {
		method string
		path   *regexp.Regexp
		reads  []string
	}
	var routes []route
	for _, in := range c.Interactions {
		pattern := regexp.MustCompile(`\\\{[A-Za-z0-9_]+\\\}`).ReplaceAllString(regexp.QuoteMeta(in.Request.Path), `[^/]+`)
		routes = append(routes, route{in.Request.Method, regexp.MustCompile("^" + pattern + "$"), in.Reads})
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			var reads []string
			found := false
			for _, rt := range routes {
				if rt.method == r.Method && rt.path.MatchString(r.URL.Path) {
					reads, found = append(reads, rt.reads...), true
				}
			}
			if !found {
				t.Errorf("ec2powerctl sent %s %s, which its contract does not list", r.Method, r.URL.Path)
			}
			// Every answer may be an error; the contract's error reads apply.
			reads = append(reads, "error.code", "error.message", "error.details.stateReason?", "message?")
			body = contracttest.Prune(body, reads)
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
}

// ec2powerctl reads nothing its contract does not list: every command
// prints the same against answers pruned to the contract's fields as
// against whole answers, and sends only requests the contract lists.
func TestTheCLIReadsOnlyWhatItsContractLists(t *testing.T) {
	t.Parallel()
	c := contracttest.Load(t, contractFile)
	run := func(wrap func(http.Handler) http.Handler) []string {
		s := newServer(t, 20*time.Millisecond, wrap)
		id := s.fleet.Launch(launchSpec("ci", true))
		s.fleet.Launch(launchSpec("ci", false))
		unmanaged := s.fleet.Launch(launchSpec("", true))
		env := map[string]string{"EC2POWER_URL": s.url}
		var outs []string
		for _, args := range [][]string{
			{"list"}, {"status", id}, {"--group", "ci", "--dry-run", "stop"},
			{"--wait", "--timeout", "5s", "start", id}, {"--group", "ci", "--wait", "--timeout", "5s", "start"},
			{"start", id, "--lease", "2h"}, {"extend", id, "--by", "30m"}, {"release", id},
			{"schedule", "put", "nightly", "--tz", "Europe/Paris", "--window", "mon,tue,wed,thu,fri=08:00-19:00"}, {"schedule", "get", "nightly"},
			{"schedule", "list"}, {"schedule", "delete", "nightly"}, {"hold", id, "--until", "8h"}, {"unhold", id},
			{"history", id}, {"start", unmanaged}, {"status", "i-00000000000000000"},
		} {
			code, stdout, stderr := ctl(t, env, args...)
			outs = append(outs, strings.Join(args, " ")+"\n"+strconv.Itoa(code)+"\n"+stdout+normalize(stderr))
		}
		return outs
	}
	whole, pruned := run(nil), run(pruning(t, c))
	require.Len(t, pruned, len(whole))
	for i := range whole {
		assert.Equal(t, redact(whole[i]), redact(pruned[i]), "the output depends on a field the contract does not list")
	}
}

var idsAndTimes = regexp.MustCompile(`i-[0-9a-f]{8,17}|\d{4}-\d\d-\d\dT[0-9:.]+Z|\(\d+s elapsed\)`)

// redact hides what differs between two servers: instance ids, times.
func redact(s string) string { return idsAndTimes.ReplaceAllString(s, "X") }

// normalize drops the progress lines whose count depends on timing.
func normalize(stderr string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "waiting for") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// launchSpec is a stopped (or running) instance, managed in group, or
// unmanaged when group is "".
func launchSpec(group string, stopped bool) memfleet.InstanceSpec {
	spec := memfleet.InstanceSpec{State: domain.StateRunning, Tags: map[string]string{"Name": "prod-db"}}
	if group != "" {
		spec.Tags = managed(group)
	}
	if stopped {
		spec.State = domain.StateStopped
	}
	return spec
}
