package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	clitool "github.com/hexlambda/hexlambda/pkg/cli"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitTimedOut = 3
	exitDenied   = 4
)

// help is the root command's long help: what people look for first.
const help = `ec2powerctl starts, stops and inspects the EC2 instances an ec2power API
manages, from a shell or a CI pipeline.

Flags go anywhere on the line (ec2powerctl start i-0123 --wait, or
ec2powerctl --wait start i-0123).

Environment:
  EC2POWER_URL      the API's base URL (or --url), e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/prod
  EC2POWER_API_KEY  the API key, sent as x-api-key
  EC2POWER_AUTH     sigv4 to sign requests with AWS SigV4 (or --sigv4), with the standard AWS credential chain
  EC2POWER_API_ID   a private API's id, when the URL is a VPC endpoint's DNS name (or --api-id)

Exit codes:
  0 success, 1 the action failed, 2 usage error, 3 timed out, 4 denied

Progress goes to stderr, results to stdout (--json for the API's JSON).`

type options struct {
	baseURL   string
	group     string
	wait      bool
	timeout   time.Duration
	dryRun    bool
	hibernate bool
	asJSON    bool
	sigv4     bool
	region    string
	apiID     string
	limit     int
	poll      time.Duration
	lease     time.Duration
	by        time.Duration
}

type cli struct {
	opts   options
	env    func(string) string
	stdout io.Writer
	stderr io.Writer
	http   *http.Client
	signer *v4.Signer
	creds  aws.CredentialsProvider
	apiKey string
}

// exitError carries the exit code of a failure; transient marks one a
// retry may get past (the network failed, not the API).
type exitError struct {
	code      int
	msg       string
	transient bool
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

func run(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer, client *http.Client) int {
	c := &cli{env: env, stdout: stdout, stderr: stderr, http: client}
	if c.http == nil {
		c.http = &http.Client{Timeout: 5 * time.Minute}
	}
	// The API key or signature goes to the API's host only: a redirect
	// elsewhere (another host, or down to http) is refused, not followed.
	hc := *c.http
	hc.CheckRedirect = sameOrigin
	c.http = &hc
	root := c.commands()
	root.SetArgs(clitool.CommandFirst(root, args))
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		_, _ = fmt.Fprintln(stderr, "ec2powerctl:", ee.msg)
		if ee.code == exitUsage {
			_, _ = fmt.Fprintf(stderr, "usage: %s\nrun ec2powerctl %s --help for help\n", cmd.UseLine(), cmd.Name())
		}
		return ee.code
	default:
		// cobra's own: an unknown command or flag, a wrong argument count.
		_, _ = fmt.Fprintln(stderr, "ec2powerctl:", err)
		_, _ = fmt.Fprintf(stderr, "usage: %s\nrun ec2powerctl --help for help\n", cmd.UseLine())
		return exitUsage
	}
}

// commands builds the command tree: flags every command takes on the root,
// each command's own on it.
func (c *cli) commands() *cobra.Command {
	root := &cobra.Command{
		Use:           "ec2powerctl",
		Short:         "Start, stop and inspect ec2power instances",
		Long:          help,
		Version:       versionLine(),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(*cobra.Command, []string) error {
			return fail(exitUsage, "a command is required: start, stop, extend, release, status, list, history, schedule, hold or unhold")
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&c.opts.baseURL, "url", c.env("EC2POWER_URL"), "base URL of the API (or EC2POWER_URL)")
	pf.BoolVar(&c.opts.asJSON, "json", false, "print the result as JSON")
	pf.BoolVar(&c.opts.sigv4, "sigv4", c.env("EC2POWER_AUTH") == "sigv4", "sign requests with AWS SigV4 (or EC2POWER_AUTH=sigv4)")
	pf.StringVar(&c.opts.region, "region", "", "region for SigV4 (default: from the URL or the AWS configuration)")
	pf.StringVar(&c.opts.apiID, "api-id", c.env("EC2POWER_API_ID"),
		"a private API's id, when --url is a VPC endpoint's DNS name (https://vpce-ID.execute-api.REGION.vpce.amazonaws.com/STAGE); sent as x-apigw-api-id (or EC2POWER_API_ID)")
	pf.DurationVar(&c.opts.timeout, "timeout", 5*time.Minute, "how long --wait waits, retries included")
	pf.DurationVar(&c.opts.poll, "poll", 2*time.Second, "time between two status reads while waiting")

	action := func(name, short string) *cobra.Command {
		cmd := &cobra.Command{
			Use:   name + " [INSTANCE_ID]",
			Short: short,
			Args:  cobra.MaximumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := c.target(cmd.Name(), args)
				if err != nil {
					return err
				}
				return c.prepare(cmd.Context(), func(ctx context.Context) error { return c.act(ctx, cmd.Name(), id) })
			},
		}
		cmd.Flags().StringVar(&c.opts.group, "group", "", "act on a group instead of an instance")
		cmd.Flags().BoolVar(&c.opts.wait, "wait", false, "wait until the instances reach the target state (transient failures are retried)")
		cmd.Flags().BoolVar(&c.opts.dryRun, "dry-run", false, "only check that the action is permitted")
		return cmd
	}
	start := action("start", "Start an instance, or a group with --group")
	stop := action("stop", "Stop an instance, or a group with --group")
	stop.Flags().BoolVar(&c.opts.hibernate, "hibernate", false, "hibernate instead of stopping")
	start.Flags().DurationVar(&c.opts.lease, "lease", 0,
		"stop the instances this long after the start, whatever happens to the pipeline (e.g. 2h; at most the stage's maximum)")
	extend := &cobra.Command{
		Use: "extend INSTANCE_ID --by DURATION", Short: "Extend an instance's lease", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c.opts.by <= 0 {
				return fail(exitUsage, "extend needs --by, a positive duration such as 30m")
			}
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.send(ctx, http.MethodPost, "/instances/"+url.PathEscape(args[0])+"/lease?extend="+url.QueryEscape(c.opts.by.String()), "")
			})
		},
	}
	extend.Flags().DurationVar(&c.opts.by, "by", 0, "how much longer the lease runs (e.g. 30m)")
	release := &cobra.Command{
		Use: "release INSTANCE_ID", Short: "End an instance's lease now: it is stopped", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.send(ctx, http.MethodDelete, "/instances/"+url.PathEscape(args[0])+"/lease", "")
			})
		},
	}
	status := &cobra.Command{
		Use: "status [INSTANCE_ID]", Short: "Show an instance, or a group with --group", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.target("status", args)
			if err != nil {
				return err
			}
			return c.prepare(cmd.Context(), func(ctx context.Context) error { return c.status(ctx, id) })
		},
	}
	status.Flags().StringVar(&c.opts.group, "group", "", "show a group instead of an instance")
	list := &cobra.Command{
		Use: "list", Short: "List the managed instances", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error { return c.show(ctx, "/instances") })
		},
	}
	history := &cobra.Command{
		Use: "history INSTANCE_ID", Short: "Show an instance's recorded start and stop requests", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.prepare(cmd.Context(), func(ctx context.Context) error {
				return c.show(ctx, "/instances/"+url.PathEscape(args[0])+"/history?limit="+strconv.Itoa(c.opts.limit))
			})
		},
	}
	history.Flags().IntVar(&c.opts.limit, "limit", 20, "history entries to show")
	root.AddCommand(start, stop, extend, release, status, list, history, c.scheduleCommand(), c.holdCommand(), c.unholdCommand())
	return root
}

// target checks an instance id or --group was given, not both.
func (c *cli) target(cmd string, args []string) (string, error) {
	switch {
	case c.opts.group == "" && len(args) != 1:
		return "", fail(exitUsage, "%s needs one instance id or --group", cmd)
	case c.opts.group != "" && len(args) != 0:
		return "", fail(exitUsage, "give an instance id or --group, not both")
	}
	if len(args) == 1 {
		return args[0], nil
	}
	return "", nil
}

// prepare checks the URL and the options, sets up authentication, and runs
// the command.
func (c *cli) prepare(ctx context.Context, run func(context.Context) error) error {
	if c.opts.baseURL == "" {
		return fail(exitUsage, "the API's base URL is required: --url or EC2POWER_URL")
	}
	u, err := url.Parse(c.opts.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail(exitUsage, "the base URL %q is not an http(s) URL", c.opts.baseURL)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return fail(exitUsage, "the base URL %q is plain http: credentials would cross the network unencrypted; use https (http is for loopback only)", c.opts.baseURL)
	}
	c.opts.baseURL = strings.TrimRight(c.opts.baseURL, "/")
	if c.opts.timeout <= 0 {
		return fail(exitUsage, "--timeout must be positive")
	}
	if err := c.setupAuth(ctx); err != nil {
		return err
	}
	return run(ctx)
}

// executeAPIHost matches an API's own host and a VPC endpoint's
// (vpce-ID.execute-api.REGION.vpce.amazonaws.com).
var executeAPIHost = regexp.MustCompile(`\.execute-api\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com$`)

func (c *cli) setupAuth(ctx context.Context) error {
	c.apiKey = c.env("EC2POWER_API_KEY")
	if !c.opts.sigv4 {
		return nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fail(exitUsage, "AWS configuration for SigV4: %v", err)
	}
	if c.opts.region == "" {
		if m := executeAPIHost.FindStringSubmatch(hostOf(c.opts.baseURL)); m != nil {
			c.opts.region = m[1]
		} else {
			c.opts.region = cfg.Region
		}
	}
	if c.opts.region == "" {
		return fail(exitUsage, "SigV4 needs a region: --region or AWS_REGION")
	}
	c.creds = cfg.Credentials
	c.signer = v4.NewSigner()
	return nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// response is one API answer.
type response struct {
	status     int
	body       map[string]any
	raw        []byte
	retryAfter time.Duration
}

func (r response) errorCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

func (r response) errorMessage() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		if d, ok := e["details"].(map[string]any); ok {
			if reason, ok := d["stateReason"].(string); ok && reason != "" {
				s += " (" + reason + ")"
			}
		}
		return s
	}
	for _, k := range []string{"message", "Message"} { // API Gateway's own answers (a denial by resource policy says Message)
		if m, ok := r.body[k].(string); ok {
			return m
		}
	}
	return strings.TrimSpace(string(r.raw))
}

var emptyPayloadHash = func() string { h := sha256.Sum256(nil); return hex.EncodeToString(h[:]) }()

func (c *cli) do(ctx context.Context, method, path string) (response, error) {
	return c.doBody(ctx, method, path, nil)
}

// doBody makes a request with a JSON body (nil: none).
func (c *cli) doBody(ctx context.Context, method, path string, body []byte) (response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.opts.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return response{}, fail(exitUsage, "bad request: %v", err)
	}
	payloadHash := emptyPayloadHash
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	} else {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ec2powerctl")
	if c.apiKey != "" {
		req.Header.Set("X-Api-Key", c.apiKey)
	}
	if c.opts.apiID != "" {
		// A VPC endpoint's own DNS name serves every private API it may
		// reach: the header says which.
		req.Header.Set("X-Apigw-Api-Id", c.opts.apiID)
	}
	if c.signer != nil {
		creds, err := c.creds.Retrieve(ctx)
		if err != nil {
			return response{}, fail(exitDenied, "AWS credentials for SigV4: %v", err)
		}
		if err := c.signer.SignHTTP(ctx, creds, req, payloadHash, "execute-api", c.opts.region, time.Now()); err != nil {
			return response{}, fail(exitFailed, "sign request: %v", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, fail(exitTimedOut, "gave up waiting: %v", ctx.Err())
		}
		return response{}, &exitError{code: exitFailed, msg: fmt.Sprintf("%s %s: %v", method, path, err), transient: true}
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return response{}, fail(exitFailed, "read answer: %v", err)
	}
	r := response{status: resp.StatusCode, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		r.retryAfter = time.Duration(s) * time.Second
	}
	return r, nil
}

// sameOrigin refuses a redirect that changes the scheme or the host.
func sameOrigin(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("refused a redirect from %s://%s to %s://%s: credentials are sent to the API's host only",
			first.Scheme, first.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// printable escapes control and formatting characters in text the server
// sent, so an answer cannot move the cursor, recolour or rewrite the
// terminal of whoever reads the output.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			b.WriteString(strconv.QuoteRuneToASCII(r)[1 : len(strconv.QuoteRuneToASCII(r))-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// classify turns an error answer into an exit error.
func classify(r response) error {
	msg := fmt.Sprintf("%d %s", r.status, printable(r.errorMessage()))
	if code := r.errorCode(); code != "" {
		msg = fmt.Sprintf("%d %s: %s", r.status, printable(code), printable(r.errorMessage()))
	}
	switch r.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return fail(exitDenied, "denied: %s", msg)
	case http.StatusBadRequest:
		return fail(exitUsage, "refused: %s", msg)
	default:
		return fail(exitFailed, "failed: %s", msg)
	}
}

func (c *cli) print(r response, human func(io.Writer)) {
	if c.opts.asJSON {
		// Re-encoded, so whatever the server sent, stdout gets JSON with
		// its control characters escaped.
		out, err := json.Marshal(r.body)
		if err != nil || r.body == nil {
			out = []byte(strconv.Quote(string(r.raw)))
		}
		_, _ = c.stdout.Write(append(out, '\n'))
		return
	}
	human(c.stdout)
}

func (c *cli) progress(format string, args ...any) {
	_, _ = fmt.Fprintln(c.stderr, printable(fmt.Sprintf(format, args...)))
}

func (c *cli) show(ctx context.Context, path string) error {
	r, err := c.do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return classify(r)
	}
	c.print(r, func(w io.Writer) { printBody(w, r.body) })
	return nil
}

// send makes one request that changes something, and prints its answer;
// an answer without one (204) is said as done on stderr.
func (c *cli) send(ctx context.Context, method, path, done string) error {
	r, err := c.do(ctx, method, path)
	if err != nil {
		return err
	}
	if r.status == http.StatusNoContent {
		c.progress("%s", done)
		return nil
	}
	if r.status != http.StatusOK && r.status != http.StatusAccepted {
		return classify(r)
	}
	c.print(r, func(w io.Writer) { printBody(w, r.body) })
	return nil
}

func (c *cli) status(ctx context.Context, id string) error {
	if c.opts.group != "" {
		return c.show(ctx, "/groups/"+url.PathEscape(c.opts.group))
	}
	return c.show(ctx, "/instances/"+url.PathEscape(id))
}

func target(action string) string {
	if action == "start" {
		return "running"
	}
	return "stopped"
}

// act runs start or stop. With --wait it asks the API to wait, then keeps
// polling the status itself (the API's own wait is capped below its
// gateway's timeout) until every instance reaches the target state, one
// fails, or --timeout passes.
func (c *cli) act(ctx context.Context, action, id string) error {
	deadline := time.Now().Add(c.opts.timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(30*time.Second))
	defer cancel()
	path := "/instances/" + url.PathEscape(id) + "/" + action
	if c.opts.group != "" {
		path = "/groups/" + url.PathEscape(c.opts.group) + "/" + action
	}
	q := url.Values{}
	if c.opts.dryRun {
		q.Set("dryRun", "true")
	}
	if c.opts.hibernate {
		q.Set("hibernate", "true")
	}
	if c.opts.lease > 0 {
		q.Set("lease", c.opts.lease.String())
	}
	var r response
	for {
		if c.opts.wait && !c.opts.dryRun {
			q.Set("wait", "true")
			q.Set("timeout", strconv.Itoa(max(1, int(time.Until(deadline).Seconds())))+"s")
		}
		var err error
		if r, err = c.attempt(ctx, deadline, http.MethodPost, path+"?"+q.Encode()); err != nil {
			return err
		}
		retryable := r.status == http.StatusConflict || r.errorCode() == "throttled"
		if !c.opts.wait || !retryable || r.retryAfter == 0 || time.Now().Add(r.retryAfter).After(deadline) {
			break
		}
		c.progress("%s: %s; retrying in %s", what(id, c.opts.group), r.errorMessage(), r.retryAfter)
		select {
		case <-ctx.Done():
			return fail(exitTimedOut, "timed out after %s", c.opts.timeout)
		case <-time.After(r.retryAfter):
		}
	}
	switch r.status {
	case http.StatusOK:
		c.print(r, func(w io.Writer) { printBody(w, r.body) })
		return nil
	case http.StatusMultiStatus:
		c.print(r, func(w io.Writer) { printBody(w, r.body) })
		return fail(exitFailed, "%s failed for some instances", action)
	case http.StatusAccepted:
		if !c.opts.wait {
			c.print(r, func(w io.Writer) { printBody(w, r.body) })
			return nil
		}
		return c.poll(ctx, action, id, deadline)
	default:
		if c.opts.asJSON {
			_, _ = c.stdout.Write(append(r.raw, '\n'))
		}
		return classify(r)
	}
}

// Backoff between retries of transient failures while waiting: jittered,
// doubling from retryBase up to retryMax (or the answer's Retry-After).
var (
	retryBase = 500 * time.Millisecond
	retryMax  = 10 * time.Second
)

// attempt makes a request; while waiting (--wait) it retries what may pass
// by itself (network errors, 429, 502, 503, 504) with jittered exponential
// backoff, saying so on stderr, until the --timeout deadline.
func (c *cli) attempt(ctx context.Context, deadline time.Time, method, path string) (response, error) {
	backoff := retryBase
	for n := 1; ; n++ {
		r, err := c.do(ctx, method, path)
		reason := transient(r, err)
		if !c.opts.wait || reason == "" {
			return r, err
		}
		pause := backoff/2 + rand.N(backoff/2+1) //nolint:gosec // jitter, not a secret
		pause = max(pause, r.retryAfter)
		if time.Now().Add(pause).After(deadline) {
			return r, fail(exitTimedOut, "timed out after %s; the last attempt: %s", c.opts.timeout, reason)
		}
		c.progress("%s: %s; retry %d in %s", what(path, ""), reason, n, pause.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return r, fail(exitTimedOut, "timed out after %s", c.opts.timeout)
		case <-time.After(pause):
		}
		backoff = min(backoff*2, retryMax)
	}
}

// transient says why a failure may pass by itself, or "" when it will not:
// the network failed, or the gateway (or the API, with a Retry-After)
// answered busy or unavailable.
func transient(r response, err error) string {
	var ee *exitError
	switch {
	case errors.As(err, &ee) && ee.transient:
		return ee.msg
	case err != nil:
		return ""
	}
	switch r.status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// The gateway's or a proxy's answer, or the API's own when it
		// says when to retry; not an API error that will not change (a
		// start that failed).
		if r.errorCode() == "" || r.retryAfter > 0 {
			return fmt.Sprintf("%d %s", r.status, printable(r.errorMessage()))
		}
	}
	return ""
}

func what(id, group string) string {
	if group != "" {
		return "group " + group
	}
	return id
}

func (c *cli) poll(ctx context.Context, action, id string, deadline time.Time) error {
	path := "/instances/" + url.PathEscape(id)
	if c.opts.group != "" {
		path = "/groups/" + url.PathEscape(c.opts.group)
	}
	want := target(action)
	started := time.Now()
	for {
		r, err := c.attempt(ctx, deadline, http.MethodGet, path)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return classify(r)
		}
		items := []any{r.body}
		if c.opts.group != "" {
			items, _ = r.body["items"].([]any)
		}
		done, failed := true, ""
		var states []string
		for _, it := range items {
			m, _ := it.(map[string]any)
			state, _ := m["state"].(string)
			states = append(states, fmt.Sprintf("%v=%s", m["instanceId"], state))
			if state != want {
				done = false
			}
			if action == "start" && (state == "stopped" || state == "terminated") {
				reason, _ := m["stateReason"].(string)
				failed = fmt.Sprintf("%v fell back to %s: %s", m["instanceId"], state, reason)
			}
		}
		if failed != "" {
			c.print(r, func(w io.Writer) { printBody(w, r.body) })
			return fail(exitFailed, "start failed: %s", failed)
		}
		if done {
			c.print(r, func(w io.Writer) { printBody(w, r.body) })
			return nil
		}
		c.progress("waiting for %s (%s elapsed): %s", want, time.Since(started).Round(time.Second), strings.Join(states, " "))
		if time.Now().Add(c.opts.poll).After(deadline) {
			return fail(exitTimedOut, "timed out after %s waiting for %s: %s", c.opts.timeout, want, strings.Join(states, " "))
		}
		select {
		case <-ctx.Done():
			return fail(exitTimedOut, "timed out after %s", c.opts.timeout)
		case <-time.After(c.opts.poll):
		}
	}
}

// printBody prints an answer for people: one line per instance, result or
// history entry.
func printBody(w io.Writer, body map[string]any) {
	line := func(m map[string]any, keys ...string) {
		var parts []string
		for _, k := range keys {
			if v, ok := m[k]; ok && v != "" && v != nil {
				parts = append(parts, fmt.Sprintf("%s=%s", k, printable(fmt.Sprint(v))))
			}
		}
		if l, ok := m["lease"].(map[string]any); ok && l["expiresAt"] != nil {
			parts = append(parts, "leaseExpiresAt="+printable(fmt.Sprint(l["expiresAt"])))
		}
		_, _ = fmt.Fprintln(w, strings.Join(parts, " "))
	}
	results, isBatch := body["results"].([]any)
	items, isList := body["items"].([]any)
	switch {
	case isBatch:
		for _, it := range results {
			m, _ := it.(map[string]any)
			line(m, "instanceId", "name", "action", "result", "state", "code", "message")
		}
	case isList:
		for _, it := range items {
			m, _ := it.(map[string]any)
			line(m, "instanceId", "name", "state", "group", "type", "requestedAt", "action", "result", "leaseExpiresAt", "trigger", "apiKeyId", "principal", "sourceIp")
		}
	default:
		line(body, "instanceId", "name", "action", "result", "state", "stateReason", "group", "type", "until", "message")
	}
}
