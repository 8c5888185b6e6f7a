package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ddbadapter "github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/adapters/memory"
	"github.com/hexlambda/hexlambda/pkg/lambdafn"
	"github.com/hexlambda/hexlambda/pkg/ports"
	"github.com/hexlambda/hexlambda/services/claims/adapters/claimstore"
	claimsapp "github.com/hexlambda/hexlambda/services/claims/app"
	claimsdomain "github.com/hexlambda/hexlambda/services/claims/domain"
	claimsproviders "github.com/hexlambda/hexlambda/services/claims/providers"
	"github.com/hexlambda/hexlambda/services/ec2power/adapters/ec2/ec2test"
)

// The load scenarios run in every suite at a small size, so their audits
// (nothing lost, nothing doubled, every conflict real) are checked on each
// change; `go tool task load` runs them at full size (E2E_LOAD=full) and
// writes their figures to E2E_LOAD_REPORT.

// loadSize is how hard the load scenarios push.
type loadSize struct {
	name     string
	clients  int
	duration time.Duration
	hot      int // claims of the hot member
	storm    int // concurrent actions per storm round
	rounds   int
}

func currentLoad() loadSize {
	if os.Getenv("E2E_LOAD") == "full" {
		return loadSize{name: "full", clients: 12, duration: 30 * time.Second, hot: 2000, storm: 10, rounds: 6}
	}
	return loadSize{name: "smoke", clients: 6, duration: 4 * time.Second, hot: 250, storm: 6, rounds: 2}
}

// loadStats counts the answers of one scenario and their latencies.
type loadStats struct {
	mu       sync.Mutex
	took     []time.Duration
	byStatus map[int]int
	failures []string
	began    time.Time
	elapsed  time.Duration
}

func newLoadStats() *loadStats {
	return &loadStats{byStatus: map[int]int{}, began: time.Now()}
}

// record counts r, or the transport error; a 5xx or a transport error is
// a failure of the scenario.
func (s *loadStats) record(what string, r reply, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.failures = append(s.failures, fmt.Sprintf("%s: %v", what, err))
		return
	}
	s.took = append(s.took, r.took)
	s.byStatus[r.status]++
	if r.status >= 500 {
		s.failures = append(s.failures, fmt.Sprintf("%s: %d %s", what, r.status, r.raw))
	}
}

func (s *loadStats) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, fmt.Sprintf(format, args...))
}

func (s *loadStats) stop() { s.elapsed = time.Since(s.began) }

// row is the scenario's line of the report.
func (s *loadStats) row(scenario string, clients int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	took := slices.Clone(s.took)
	slices.Sort(took)
	pct := func(p float64) float64 {
		if len(took) == 0 {
			return 0
		}
		return float64(took[int(float64(len(took)-1)*p)].Microseconds()) / 1000
	}
	var c2, c4, c5 int
	codes := make([]string, 0, len(s.byStatus))
	for code, n := range s.byStatus {
		switch {
		case code >= 500:
			c5 += n
		case code >= 400:
			c4 += n
		default:
			c2 += n
		}
		codes = append(codes, fmt.Sprintf("%d×%d", code, n))
	}
	sort.Strings(codes)
	return fmt.Sprintf("| %s | %d | %.1f s | %d | %.1f | %.1f | %.1f | %d | %d | %d | %s |", scenario, clients, s.elapsed.Seconds(), len(took),
		float64(len(took))/s.elapsed.Seconds(), pct(0.5), pct(0.99), c2, c4, c5, strings.Join(codes, " "))
}

var (
	loadReportMu sync.Mutex
	loadReport   []string
	loadNotes    []string
)

// note logs what a scenario's audit found and keeps it for the report.
func note(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	loadReportMu.Lock()
	defer loadReportMu.Unlock()
	loadNotes = append(loadNotes, fmt.Sprintf(format, args...))
}

// report adds the scenario's row to the load report and logs it; the
// scenario fails on any 5xx, transport error or audit finding.
func (s *loadStats) report(t *testing.T, scenario string, clients int) {
	t.Helper()
	row := s.row(scenario, clients)
	t.Log(row)
	loadReportMu.Lock()
	loadReport = append(loadReport, row)
	loadReportMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.failures, "5xx answers, transport errors and audit findings")
}

// writeLoadReport writes the rows to E2E_LOAD_REPORT, if set.
func writeLoadReport() error {
	path := os.Getenv("E2E_LOAD_REPORT")
	if path == "" || len(loadReport) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s, size %q, through the local gateway on moto.\n\n", time.Now().UTC().Format(time.RFC3339), loadMachine(), currentLoad().name)
	b.WriteString("| scenario | clients | time | requests | req/s | p50 ms | p99 ms | 2xx/3xx | 4xx | 5xx | statuses |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range loadReport {
		b.WriteString(r + "\n")
	}
	b.WriteString("\n")
	for _, n := range loadNotes {
		b.WriteString("- " + n + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// claimLedger is what the clients were told: every acknowledged claim,
// every successful change with the version it made, and every 412 with
// the version it named.
type claimLedger struct {
	mu        sync.Mutex
	claims    map[string]*ledgerClaim // claim id -> what was acknowledged
	ids       []string
	conflicts []conflict
}

type ledgerClaim struct {
	member string
	// known is the last version a client saw; changes maps each version a
	// successful PATCH answered to the description it set.
	known   int64
	changes map[int64]string
}

type conflict struct {
	id      string
	version int64
}

func (l *claimLedger) add(member, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claims[id] = &ledgerClaim{member: member, known: 1, changes: map[int64]string{}}
	l.ids = append(l.ids, id)
}

// pick returns a random acknowledged claim and the last version known.
func (l *claimLedger) pick(r *rand.Rand) (id, member string, version int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ids) == 0 {
		return "", "", 0, false
	}
	// Half the picks go to the first few claims, so clients meet there.
	i := r.IntN(len(l.ids))
	if r.IntN(2) == 0 {
		i = r.IntN(min(len(l.ids), 4))
	}
	id = l.ids[i]
	c := l.claims[id]
	return id, c.member, c.known, true
}

// changed records a successful PATCH; it reports false when another
// PATCH already answered the same version (a doubled write).
func (l *claimLedger) changed(id string, version int64, description string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.claims[id]
	if _, dup := c.changes[version]; dup {
		return false
	}
	c.changes[version] = description
	c.known = max(c.known, version)
	return true
}

func (l *claimLedger) conflicted(id string, version int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conflicts = append(l.conflicts, conflict{id, version})
}

func (l *claimLedger) saw(id string, version int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.claims[id].known = max(l.claims[id].known, version)
}

const loadClaim = `{"memberName":"Load Test","policyId":"POL-LOAD","policyType":"PPO","amount":4200,"currency":"EUR","description":"initial"}`

// TestLoadClaimsMixedWorkload sends creates (with and without an
// Idempotency-Key, each keyed one retried), gets, lists and PATCHes with
// If-Match from concurrent clients, then audits the table: every
// acknowledged claim present exactly once and nothing else, each claim's
// version one more than its acknowledged changes with a history entry
// per version, the last change's text stored, and every 412 a real
// conflict (another client's change made the version it named stale).
func TestLoadClaimsMixedWorkload(t *testing.T) {
	e := suite(t)
	size := currentLoad()
	c := e.claimsClient()
	run := strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36)
	members := []string{"load-" + run + "-a", "load-" + run + "-b", "load-" + run + "-c"}
	rejected := "load-" + run + "-rejected"
	ledger := &claimLedger{claims: map[string]*ledgerClaim{}}
	stats := newLoadStats()
	ctx, cancel := context.WithTimeout(t.Context(), size.duration)
	defer cancel()

	var wg sync.WaitGroup
	for client := range size.clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(client), uint64(time.Now().UnixNano())))
			for n := 0; ctx.Err() == nil; n++ {
				loadClaimsStep(context.WithoutCancel(ctx), c, r, client, n, members, rejected, ledger, stats)
			}
		})
	}
	wg.Wait()
	stats.stop()
	auditClaims(t, e, members, rejected, ledger, stats)
	stats.report(t, "claims: mixed create/get/list/PATCH", size.clients)
}

// loadClaimsStep sends one request of the mixed workload.
func loadClaimsStep(ctx context.Context, c caller, r *rand.Rand, client, n int, members []string, rejected string, ledger *claimLedger, stats *loadStats) {
	member := members[r.IntN(len(members))]
	switch p := r.IntN(100); {
	case p < 20: // create
		a, err := c.send(ctx, http.MethodPost, "/members/"+member+"/claims", loadClaim)
		stats.record("create", a, err)
		if err == nil && a.status == http.StatusCreated {
			ledger.add(member, a.body["claimId"].(string))
		} else if err == nil {
			stats.fail("create answered %d %s", a.status, a.raw)
		}
	case p < 30: // create with a key, and its retry
		key := fmt.Sprintf("load-%d-%d-%d", client, n, r.Uint32())
		first, err := c.send(ctx, http.MethodPost, "/members/"+member+"/claims", loadClaim, "Idempotency-Key", key)
		stats.record("keyed create", first, err)
		if err != nil || first.status != http.StatusCreated {
			if err == nil {
				stats.fail("keyed create answered %d %s", first.status, first.raw)
			}
			return
		}
		id := first.body["claimId"].(string)
		ledger.add(member, id)
		again, err := c.send(ctx, http.MethodPost, "/members/"+member+"/claims", loadClaim, "Idempotency-Key", key)
		stats.record("keyed retry", again, err)
		if err == nil && (again.status != http.StatusCreated || again.body["claimId"] != id) {
			stats.fail("the retry of key %s answered %d %s, not claim %s again", key, again.status, again.raw, id)
		}
	case p < 35: // refused: nothing may be written
		bad, err := c.send(ctx, http.MethodPost, "/members/"+rejected+"/claims", strings.Replace(loadClaim, "4200", "-1", 1))
		stats.record("bad create", bad, err)
		if err == nil && bad.status != http.StatusBadRequest {
			stats.fail("a negative amount answered %d %s", bad.status, bad.raw)
		}
	case p < 55: // get: never older than what a client was told
		id, m, known, ok := ledger.pick(r)
		if !ok {
			return
		}
		g, err := c.send(ctx, http.MethodGet, "/members/"+m+"/claims/"+id, "")
		stats.record("get", g, err)
		if err != nil {
			return
		}
		if g.status != http.StatusOK {
			stats.fail("get %s answered %d %s", id, g.status, g.raw)
			return
		}
		if v := int64(g.body["version"].(float64)); v < known {
			stats.fail("get %s read version %d after version %d was acknowledged", id, v, known)
		}
	case p < 65: // list a page
		l, err := c.send(ctx, http.MethodGet, "/members/"+member+"/claims?limit=50", "")
		stats.record("list", l, err)
		if err == nil && l.status != http.StatusOK {
			stats.fail("list answered %d %s", l.status, l.raw)
		}
	default: // PATCH at the last version known (maybe stale: a 412)
		id, m, known, ok := ledger.pick(r)
		if !ok {
			return
		}
		text := fmt.Sprintf("change %d.%d", client, n)
		u, err := c.send(ctx, http.MethodPatch, "/members/"+m+"/claims/"+id, `{"description":"`+text+`"}`, "If-Match", strconv.Quote(strconv.FormatInt(known, 10)))
		stats.record("patch", u, err)
		if err != nil {
			return
		}
		switch u.status {
		case http.StatusOK:
			v := int64(u.body["version"].(float64))
			if v != known+1 {
				stats.fail("PATCH of %s at version %d made version %d", id, known, v)
			}
			if !ledger.changed(id, v, text) {
				stats.fail("two PATCHes of %s were both answered version %d", id, v)
			}
		case http.StatusPreconditionFailed:
			ledger.conflicted(id, known)
			// Read the current version, as a client would.
			if g, err := c.send(ctx, http.MethodGet, "/members/"+m+"/claims/"+id, ""); err == nil && g.status == http.StatusOK {
				ledger.saw(id, int64(g.body["version"].(float64)))
			}
		default:
			stats.fail("PATCH of %s answered %d %s", id, u.status, u.raw)
		}
	}
}

// auditClaims reads the members' partitions straight from the table and
// checks them against the ledger.
func auditClaims(t *testing.T, e *env, members []string, rejected string, ledger *claimLedger, stats *loadStats) {
	t.Helper()
	table := e.claims["ClaimsTableName"]
	require.NotEmpty(t, table, "the claims stack names its table")
	type stored struct {
		version     int64
		description string
		history     int
	}
	found := map[string]*stored{}
	for _, m := range append(slices.Clone(members), rejected) {
		items, err := partition(t.Context(), e, table, "MEMBER#"+m)
		require.NoError(t, err)
		for _, it := range items {
			sk := it["SK"].(*ddbtypes.AttributeValueMemberS).Value
			switch {
			case m == rejected:
				stats.fail("a refused create left %s in the table", sk)
			case strings.HasPrefix(sk, "CLAIM#"):
				id := strings.TrimPrefix(sk, "CLAIM#")
				s := found[id]
				if s == nil {
					s = &stored{}
					found[id] = s
				}
				s.version, _ = strconv.ParseInt(it["version"].(*ddbtypes.AttributeValueMemberN).Value, 10, 64)
				if d, ok := it["description"].(*ddbtypes.AttributeValueMemberS); ok {
					s.description = d.Value
				}
			case strings.HasPrefix(sk, "HISTORY#"):
				id, _, _ := strings.Cut(strings.TrimPrefix(sk, "HISTORY#"), "#")
				s := found[id]
				if s == nil {
					s = &stored{}
					found[id] = s
				}
				s.history++
			}
		}
	}
	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	for id, c := range ledger.claims {
		s := found[id]
		if s == nil || s.version == 0 {
			stats.fail("claim %s was acknowledged and is not in the table", id)
			continue
		}
		want := int64(1 + len(c.changes))
		if s.version != want {
			stats.fail("claim %s is at version %d after %d acknowledged changes", id, s.version, len(c.changes))
		}
		for v := int64(2); v <= want; v++ {
			if _, ok := c.changes[v]; !ok {
				stats.fail("claim %s: no acknowledged change made version %d", id, v)
			}
		}
		if len(c.changes) > 0 && s.description != c.changes[want] {
			stats.fail("claim %s holds %q, not the last change's %q", id, s.description, c.changes[want])
		}
		if int64(s.history) != s.version {
			stats.fail("claim %s has %d history entries for version %d", id, s.history, s.version)
		}
	}
	for id := range found {
		if ledger.claims[id] == nil {
			stats.fail("claim %s is in the table but no create was acknowledged", id)
		}
	}
	for _, cf := range ledger.conflicts {
		if _, ok := ledger.claims[cf.id].changes[cf.version+1]; !ok {
			stats.fail("a PATCH of %s at version %d got 412 though no change made version %d", cf.id, cf.version, cf.version+1)
		}
	}
	note(t, "claims audit: %d claims acknowledged, %d changes acknowledged, %d answers 412 (each a real conflict), %d findings",
		len(ledger.claims), countChanges(ledger), len(ledger.conflicts), len(stats.failures))
}

func countChanges(l *claimLedger) int {
	n := 0
	for _, c := range l.claims {
		n += len(c.changes)
	}
	return n
}

// partition reads a partition of the table, strongly consistent.
func partition(ctx context.Context, e *env, table, pk string) ([]map[string]ddbtypes.AttributeValue, error) {
	client := dynamodb.NewFromConfig(e.cfg)
	var items []map[string]ddbtypes.AttributeValue
	p := dynamodb.NewQueryPaginator(client, &dynamodb.QueryInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": &ddbtypes.AttributeValueMemberS{Value: pk}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", pk, err)
		}
		items = append(items, page.Items...)
	}
	return items, nil
}

// loadMachine names the machine the load ran on.
func loadMachine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s/%s, %d CPUs (%s), %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpu, runtime.Version())
}

// TestLoadHotPartitionListing lists one member with thousands of claims to
// the end, a page at a time with cursors, while other clients file new
// claims for that member and delete some of them: every claim that
// existed throughout is listed exactly once, and no claim twice.
func TestLoadHotPartitionListing(t *testing.T) {
	e := suite(t)
	size := currentLoad()
	table := e.claims["ClaimsTableName"]
	require.NotEmpty(t, table, "the claims stack names its table")
	member := "load-hot-" + strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36)
	seeded := seedClaims(t, e, table, member, size.hot)

	c := e.claimsClient()
	stats := newLoadStats()
	ctx, cancel := context.WithCancel(t.Context())
	var writers sync.WaitGroup
	for w := range max(2, size.clients/4) {
		writers.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				r, err := c.send(context.WithoutCancel(ctx), http.MethodPost, "/members/"+member+"/claims", loadClaim)
				stats.record("create", r, err)
				if err != nil || r.status != http.StatusCreated || n%2 == 0 {
					continue
				}
				d, err := c.send(context.WithoutCancel(ctx), http.MethodDelete, "/members/"+member+"/claims/"+r.body["claimId"].(string), "")
				stats.record("delete", d, err)
				if err == nil && d.status != http.StatusNoContent {
					stats.fail("delete answered %d %s (writer %d)", d.status, d.raw, w)
				}
			}
		})
	}
	var listers sync.WaitGroup
	listed := make([][]string, 2)
	for i := range listed {
		listers.Go(func() {
			cursor := ""
			for {
				path := "/members/" + member + "/claims?limit=100"
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				r, err := c.send(ctx, http.MethodGet, path, "")
				stats.record("list page", r, err)
				if err != nil || r.status != http.StatusOK {
					stats.fail("list page answered %v %d %s", err, r.status, r.raw)
					return
				}
				for _, it := range r.body["items"].([]any) {
					listed[i] = append(listed[i], it.(map[string]any)["claimId"].(string))
				}
				next, _ := r.body["nextCursor"].(string)
				if next == "" {
					return
				}
				cursor = next
			}
		})
	}
	listers.Wait()
	cancel()
	writers.Wait()
	stats.stop()
	for i, ids := range listed {
		seen := map[string]int{}
		for _, id := range ids {
			seen[id]++
			if seen[id] == 2 {
				stats.fail("lister %d listed claim %s twice", i, id)
			}
		}
		missing := 0
		for _, id := range seeded {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing > 0 {
			stats.fail("lister %d missed %d of the %d claims that existed throughout", i, missing, len(seeded))
		}
		note(t, "hot member, lister %d: %d claims listed to the end, all %d that existed throughout among them once: %v", i, len(ids), len(seeded), missing == 0)
	}
	stats.report(t, fmt.Sprintf("claims: list %d claims of one member to the end while writing", len(seeded)), 2+max(2, size.clients/4))
}

// seedClaims files n claims for member straight into the table, as the
// claims store writes them (claim items only; the list reads nothing
// else): built by the service in memory, then put with eight writers. It
// returns their ids in listing order.
func seedClaims(t *testing.T, e *env, table, member string, n int) []string {
	t.Helper()
	mem := memory.NewTable()
	svc := claimsapp.NewService(claimstore.New(mem), lambdafn.SystemClock{}, claimsproviders.UUIDv7{})
	details := claimsdomain.Details{MemberName: "Hot Member", PolicyID: "POL-HOT", PolicyType: "PPO", Amount: 100, Currency: "EUR"}
	for range n {
		_, err := svc.Create(t.Context(), member, details, claimsapp.Actor{RequestID: "seed"})
		require.NoError(t, err)
	}
	var items []ports.Item
	cursor := ""
	for {
		page, err := mem.Query(t.Context(), ports.Query{Partition: "MEMBER#" + member, SortPrefix: "CLAIM#", Limit: 1000, Cursor: cursor})
		require.NoError(t, err)
		items = append(items, page.Items...)
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	require.Len(t, items, n)
	ddb := ddbadapter.NewTable(dynamodb.NewFromConfig(e.cfg), table)
	work := make(chan ports.Item)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for it := range work {
				if _, err := ddb.Create(t.Context(), it); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	ids := make([]string, 0, n)
	for _, it := range items {
		ids = append(ids, strings.TrimPrefix(it.Key.Sort, "CLAIM#"))
		work <- it
	}
	close(work)
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	return ids
}

// ec2Calls counts the StartInstances and StopInstances calls every
// function has made so far.
func (e *env) ec2Calls() (starts, stops int) {
	for _, actions := range e.gateway.Recorder.Calls() {
		starts += actions["ec2:StartInstances"]
		stops += actions["ec2:StopInstances"]
	}
	return starts, stops
}

// TestLoadPowerStorms sends rounds of concurrent starts (some with a
// lease), stops and lease extensions at one instance, then at a group of
// three: EC2 receives a StartInstances or StopInstances only for an
// action the state machine allows (one call per accepted action, none for
// an unchanged one), every action leaves exactly one completed history
// entry, and each instance ends in the state of the last action accepted.
func TestLoadPowerStorms(t *testing.T) {
	e := suite(t)
	e.needInstances(t)
	if e.gateway == nil || e.gateway.Recorder == nil {
		t.Skip("the calls to EC2 are counted by the local gateway's recorder (moto target)")
	}
	size := currentLoad()
	group := "load-storm-" + strconv.FormatInt(time.Now().UnixNano()%1_000_000, 36)
	var ids []string
	for i := range 3 {
		id, err := ec2test.RunInstance(t.Context(), ec2.NewFromConfig(e.cfg), map[string]string{
			"Name": fmt.Sprintf("%s-%d", group, i), "ec2power:managed": "true", "ec2power:group": group,
		}, false)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	c := e.powerClient()
	stats := newLoadStats()
	storm := func(target string, actions []string) {
		startCalls, stopCalls := e.ec2Calls()
		since := time.Now().UTC()
		for range size.rounds {
			var wg sync.WaitGroup
			for i := range size.storm {
				wg.Go(func() {
					// A pipeline retries while the instance is busy (sooner
					// than Retry-After here, to keep the storm dense).
					path := target + "/" + actions[i%len(actions)]
					for range 50 {
						r, err := c.send(t.Context(), http.MethodPost, path, "")
						stats.record(path, r, err)
						if err == nil && r.errorCode() == "instance_busy" {
							time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
							continue
						}
						// Accepted, done, or an extension of no lease.
						if err == nil && r.status != http.StatusOK && r.status != http.StatusAccepted && r.errorCode() != "no_lease" && r.errorCode() != "lease_expiring" {
							stats.fail("%s answered %d %s", path, r.status, r.raw)
						}
						// EC2 says which state each call found: an action the
						// state machine allows found the state it leaves.
						results, _ := r.body["results"].([]any)
						if r.body["instanceId"] != nil {
							results = []any{r.body}
						}
						for _, x := range results {
							res := x.(map[string]any)
							from := map[any]string{"start": "stopped", "stop": "running"}[res["action"]]
							if res["result"] == "accepted" && res["previousState"] != from {
								stats.fail("%s: EC2 received a %s of %s while it was %s", path, res["action"], res["instanceId"], res["previousState"])
							}
						}
						return
					}
					stats.fail("%s: the instance stayed busy through 50 tries", path)
				})
			}
			wg.Wait()
		}
		starts, stops := e.ec2Calls()
		starts, stops = starts-startCalls, stops-stopCalls
		// One call per accepted action, which names every instance it
		// acts on: the accepted entries' request ids, per action.
		accepted := map[string]map[any]bool{"start": {}, "stop": {}}
		for _, id := range ids[:map[bool]int{true: 1, false: 3}[strings.HasPrefix(target, "/instances/")]] {
			entries := e.historySince(t, id, since)
			var last map[string]any
			for _, h := range entries {
				switch h["result"] {
				case "requested":
					stats.fail("instance %s: entry %v was never completed", id, h)
				case "accepted", "succeeded", "timed_out":
					accepted[h["action"].(string)][h["requestId"]] = true
					if last == nil || h["finishedAt"].(string) > last["finishedAt"].(string) {
						last = h
					}
				}
			}
			if last != nil {
				want := map[string]string{"start": "running", "stop": "stopped"}[last["action"].(string)]
				if got := e.state(t, id); got != want {
					stats.fail("instance %s is %s; the last action accepted was a %s", id, got, last["action"])
				}
			}
			t.Logf("%s: %d history entries", id, len(entries))
		}
		if starts != len(accepted["start"]) || stops != len(accepted["stop"]) {
			stats.fail("%s: EC2 received %d StartInstances and %d StopInstances for %d and %d accepted actions", target, starts, stops, len(accepted["start"]), len(accepted["stop"]))
		}
		note(t, "storm on %s: %d starts and %d stops accepted, EC2 received %d StartInstances and %d StopInstances", target, len(accepted["start"]), len(accepted["stop"]), starts, stops)
	}
	storm("/instances/"+ids[0], []string{"start?lease=1h", "stop", "lease?extend=30m", "start", "stop"})
	storm("/groups/"+group, []string{"start", "stop"})
	stats.stop()
	stats.report(t, "ec2power: start/stop/extend storms on one instance and one group", size.storm)
}

// historySince returns an instance's history entries requested since t.
func (e *env) historySince(t *testing.T, id string, since time.Time) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		path := "/instances/" + id + "/history?limit=100"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.powerClient().do(t, http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
		for _, it := range r.body["items"].([]any) {
			h := it.(map[string]any)
			if at, err := time.Parse(time.RFC3339Nano, h["requestedAt"].(string)); err == nil && !at.Before(since) {
				out = append(out, h)
			}
		}
		next, _ := r.body["nextCursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}
