// Package awstest finds an AWS emulator for tests, the same way everywhere:
// an endpoint given in AWS_ENDPOINT_URL first; else moto (moto_server on the
// PATH), started once per test binary on a free loopback port, serving one
// request at a time, and stopped by Main; else the test is skipped with the
// reason.
package awstest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsdynamodb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hexlambda/hexlambda/pkg/adapters/dynamodb"
	"github.com/hexlambda/hexlambda/pkg/pagecursor"
	"github.com/hexlambda/hexlambda/pkg/ports"
)

// Region is the region tests use.
const Region = "us-east-1"

var (
	once     sync.Once
	endpoint string
	startErr error
	server   *exec.Cmd
	logDir   string
)

// Main runs the tests of a package and stops the emulator it started:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops a moto_server started by this process, if any.
func Stop() {
	if server != nil && server.Process != nil {
		_ = syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		_ = server.Wait()
		server = nil
	}
	if logDir != "" {
		_ = os.RemoveAll(logDir)
	}
}

// Endpoint returns the emulator's endpoint URL or skips t, saying what was
// missing.
func Endpoint(t testing.TB) string {
	t.Helper()
	ep, err := Find()
	if errors.Is(err, ErrNoEmulator) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	return ep
}

// ErrNoEmulator means neither AWS_ENDPOINT_URL nor moto_server is available.
var ErrNoEmulator = errors.New("no AWS emulator: AWS_ENDPOINT_URL is not set and moto_server is not on the PATH (pip install 'moto[server]')")

// Find returns the emulator endpoint, starting moto_server on first use.
func Find() (string, error) {
	if ep := os.Getenv("AWS_ENDPOINT_URL"); ep != "" {
		return ep, nil
	}
	once.Do(func() { endpoint, startErr = startMoto() })
	return endpoint, startErr
}

func freePort() (int, error) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil //nolint:forcetypeassert // a TCP listener has a TCP address
}

// motoAPIGateway adds to moto's CloudFormation what it lacks for API
// Gateway (method updates and deletes, stages, conditions re-evaluated on
// update), so a stack update changes the emulated API as it changes AWS's.
//
//go:embed motoapigw.py
var motoAPIGateway []byte

// serialMoto runs moto's server application, serving one request at a
// time, with motoapigw.py (in the directory given first) loaded.
const serialMoto = `import sys
sys.path.insert(0, sys.argv.pop(1))
import motoapigw
from werkzeug.serving import run_simple
from moto.server import DomainDispatcherApplication, create_backend_app
run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False, use_reloader=False)
`

func startMoto() (string, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return "", ErrNoEmulator
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	logDir, err = os.MkdirTemp("", "moto-")
	if err != nil {
		return "", fmt.Errorf("moto log dir: %w", err)
	}
	logFile, err := os.Create(filepath.Join(logDir, "moto.log")) //nolint:gosec // a file in our own temp dir
	if err != nil {
		return "", fmt.Errorf("moto log: %w", err)
	}
	// moto's threaded server checks a write's condition and applies it
	// without a lock, so two concurrent conditional writes can both pass,
	// which DynamoDB never allows. Served one request at a time (moto's own
	// app, without threads) it keeps DynamoDB's guarantee; the plain
	// moto_server command is the fallback when its Python cannot be used.
	if err := os.WriteFile(filepath.Join(logDir, "motoapigw.py"), motoAPIGateway, 0o600); err != nil {
		return "", fmt.Errorf("moto extension: %w", err)
	}
	cmd := exec.Command("python3", "-c", serialMoto, logDir, "127.0.0.1", strconv.Itoa(port))                               //nolint:noctx,gosec // a constant script; lives as long as the test binary
	if _, err := exec.LookPath("python3"); err != nil || exec.Command("python3", "-c", "import moto.server").Run() != nil { //nolint:noctx // a quick probe
		cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port)) //nolint:noctx,gosec // lives as long as the test binary; bin is moto_server from the PATH
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start moto_server: %w", err)
	}
	server = cmd
	ep := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(ep + "/moto-api/data.json") //nolint:noctx // short readiness probe
		if err == nil {
			_ = resp.Body.Close()
			return ep, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	Stop()
	return "", fmt.Errorf("moto_server did not answer on %s within 60s", ep)
}

// Config returns an SDK configuration for the emulator at ep, with static
// test credentials.
func Config(t testing.TB, ep string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(ep),
	)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// Reset clears all of moto's state (POST /moto-api/reset). Tests that share
// an emulator usually use unique resource names instead.
func Reset(ep string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, ep+"/moto-api/reset", nil)
	if err != nil {
		return fmt.Errorf("reset request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %d", resp.StatusCode)
	}
	return nil
}

var tableSeq atomic.Int64

// NewTable creates a fresh DynamoDB table (the adapter's layout) on the
// emulator for one test, named after it, and returns the adapter over it
// with a fixed cursor key and, when clock is set, that clock.
func NewTable(t testing.TB, clock ports.Clock) *dynamodb.Table {
	t.Helper()
	client := awsdynamodb.NewFromConfig(Config(t, Endpoint(t)))
	name := fmt.Sprintf("test-%d-%s", tableSeq.Add(1), strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	if len(name) > 200 {
		name = name[:200]
	}
	if err := dynamodb.EnsureTable(context.Background(), client, name); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	codec, err := pagecursor.New([]byte("test-cursor-signing-key"))
	if err != nil {
		t.Fatalf("cursor codec: %v", err)
	}
	opts := []dynamodb.Option{dynamodb.WithCursors(codec)}
	if clock != nil {
		opts = append(opts, dynamodb.WithClock(clock))
	}
	return dynamodb.NewTable(client, name, opts...)
}

// PutSecureString stores a SecureString parameter on the emulator at ep.
func PutSecureString(t testing.TB, ep, name, value string) {
	t.Helper()
	_, err := ssm.NewFromConfig(Config(t, ep)).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("put parameter %s: %v", name, err)
	}
}
