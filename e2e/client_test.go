package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && suiteEnv != nil {
		report := func(format string, args ...any) {
			if testing.Verbose() {
				fmt.Printf(format+"\n", args...)
			}
		}
		if err := suiteEnv.checkLeastPrivilege(report); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	if err := writeLoadReport(); err != nil {
		fmt.Fprintln(os.Stderr, "load report:", err)
	}
	teardown()
	os.Exit(code)
}

// reply is an HTTP answer with its JSON body.
type reply struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	took   time.Duration
}

func (r reply) errorCode() string {
	if e, ok := r.body["error"].(map[string]any); ok {
		c, _ := e["code"].(string)
		return c
	}
	return ""
}

type caller struct {
	e      *env
	base   string
	sign   bool
	apiKey string
	// creds, when set, sign instead of the suite's credentials.
	creds *aws.Credentials
	// apiID names a private API to a VPC endpoint's own DNS name (the
	// x-apigw-api-id header); host, when set, is the Host the request
	// names instead (the API's private DNS name).
	apiID, host string
}

// claims calls the claims API, signed with SigV4 as its AWS_IAM methods need.
func (e *env) claimsClient() caller { return caller{e: e, base: e.claimsURL, sign: true} }

// adjusterClient calls the claims API signed as the adjuster; it skips the
// test where the target has no second identity.
func (e *env) adjusterClient(t *testing.T) caller {
	t.Helper()
	if e.adjuster == nil {
		t.Skipf("E2E_TARGET=%s: no adjuster identity to sign with (the moto target has one)", e.target)
	}
	return caller{e: e, base: e.claimsURL, sign: true, creds: e.adjuster}
}

// power calls the ec2power API with the suite's API key.
func (e *env) powerClient() caller { return caller{e: e, base: e.powerURL, apiKey: e.apiKey} }

var httpClient = &http.Client{Timeout: 2 * time.Minute}

func (c caller) do(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	r, err := c.send(context.Background(), method, path, body, headers...)
	require.NoError(t, err)
	return r
}

// send is do for goroutines other than the test's: it returns the
// failure instead of failing the test.
func (c caller) send(ctx context.Context, method, path, body string, headers ...string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader([]byte(body)))
	if err != nil {
		return reply{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if c.apiID != "" {
		req.Header.Set("X-Apigw-Api-Id", c.apiID)
	}
	if c.host != "" {
		req.Host = c.host
	}
	if c.apiKey != "" && req.Header.Get("X-Api-Key") == "" {
		req.Header.Set("X-Api-Key", c.apiKey)
	}
	if c.sign {
		creds, err := c.e.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return reply{}, err
		}
		if c.creds != nil {
			creds = *c.creds
		}
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.e.cfg.Region, time.Now()); err != nil {
			return reply{}, err
		}
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw, took: time.Since(start)}
	_ = json.Unmarshal(raw, &r.body)
	return r, nil
}

const (
	defaultWait = 10 * time.Second
	pollEvery   = 200 * time.Millisecond
)

// ctl runs ec2powerctl as a pipeline runs it, with the suite's AWS
// environment plus env; it returns the exit code and all it printed.
func (e *env) ctl(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(e.ctlBin, args...)
	cmd.Env = append(e.awsEnv(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}
