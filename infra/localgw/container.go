package localgw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
)

// ContainerRuntime runs functions the way Lambda does, each execution
// environment in a container started through testcontainers-go: an image
// built here FROM scratch with the function's bootstrap and the host's CA
// certificates (nothing to pull), the function's memory size as the
// container's memory limit, a read-only root file system with a writable
// /tmp, and only the environment the function is given. The containers
// share an internal network of their own, from which nothing off this host
// is reachable: they reach the gateway's Runtime API, and the AWS endpoint
// through relays for the loopback addresses in their environment, on the
// address the host has on that network.
//
// It needs a Docker engine (or podman's Docker API); without
// TESTCONTAINERS_RYUK_DISABLED=true testcontainers also starts its reaper,
// whose image must be pullable.
type ContainerRuntime struct {
	provider *testcontainers.DockerProvider
	network  *testcontainers.DockerNetwork
	gateway  string // the host's address on the functions' network
	repo     string // of its images, its own: it removes them on Close

	mu       sync.Mutex
	images   map[string]string // function directory -> image
	forwards map[string]*forwarder
	live     map[*containerSandbox]bool
}

// ErrNoEngine means no container engine answers.
var ErrNoEngine = errors.New("no container engine answers")

// NewContainerRuntime connects to the container engine.
func NewContainerRuntime(ctx context.Context) (*ContainerRuntime, error) {
	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoEngine, err)
	}
	if err := p.Health(ctx); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoEngine, err)
	}
	// The functions' network is internal: nothing off this host is
	// reachable from it, and on this host only what listens on its address
	// beyond loopback (the gateway's Runtime API and relays).
	nw, err := network.New(ctx, network.WithInternal(), network.WithLabels(map[string]string{"hexlambda.localgw": "functions"}))
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("container runtime: functions' network: %w", err)
	}
	gw, err := gatewayOf(ctx, p, nw.Name)
	if err != nil {
		_ = nw.Remove(context.WithoutCancel(ctx))
		_ = p.Close()
		return nil, fmt.Errorf("container runtime: %w", err)
	}
	return &ContainerRuntime{
		provider: p, network: nw, gateway: gw, repo: "localgw-fn-" + uuid.NewString()[:8], images: map[string]string{},
		forwards: map[string]*forwarder{}, live: map[*containerSandbox]bool{},
	}, nil
}

// Close removes every container it started and the images it built, and
// stops its forwarders.
func (r *ContainerRuntime) Close() {
	r.mu.Lock()
	live := make([]*containerSandbox, 0, len(r.live))
	for s := range r.live {
		live = append(live, s)
	}
	forwards, images := r.forwards, r.images
	r.forwards, r.images = map[string]*forwarder{}, map[string]string{}
	r.mu.Unlock()
	for _, s := range live {
		s.kill()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, img := range images {
		_, _ = r.provider.Client().ImageRemove(ctx, img, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
	for _, f := range forwards {
		f.close()
	}
	_ = r.network.Remove(ctx)
	_ = r.provider.Close()
}

// Running is how many of its containers are alive.
func (r *ContainerRuntime) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.live)
}

func (r *ContainerRuntime) host() string { return r.gateway }

// gatewayOf is the host's address on a network: its gateway, or where the
// engine names none, the first address of its subnet, which the engine
// gives the bridge.
func gatewayOf(ctx context.Context, p *testcontainers.DockerProvider, name string) (string, error) {
	nw, err := p.Client().NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	if err != nil {
		return "", fmt.Errorf("inspect network %s: %w", name, err)
	}
	for _, c := range nw.Network.IPAM.Config {
		if c.Gateway.IsValid() && c.Gateway.Is4() {
			return c.Gateway.String(), nil
		}
	}
	for _, c := range nw.Network.IPAM.Config {
		if c.Subnet.IsValid() && c.Subnet.Addr().Is4() {
			return c.Subnet.Masked().Addr().Next().String(), nil
		}
	}
	return "", fmt.Errorf("network %s has no IPv4 subnet", name)
}

// loopback matches a loopback address with its port in an environment
// value (the emulator, a recorder, a fault proxy).
var loopback = regexp.MustCompile(`(127\.0\.0\.1|localhost):(\d+)`)

// reachable rewrites a value's loopback addresses to forwarders on the
// bridge address, so that the container reaches what the host reaches.
func (r *ContainerRuntime) reachable(v string) (string, error) {
	var err error
	out := loopback.ReplaceAllStringFunc(v, func(addr string) string {
		r.mu.Lock()
		defer r.mu.Unlock()
		f, ok := r.forwards[addr]
		if !ok {
			var ferr error
			if f, ferr = forward(r.gateway, addr); ferr != nil {
				err = ferr
				return addr
			}
			r.forwards[addr] = f
		}
		return f.addr
	})
	return out, err
}

// image builds (once per function directory) the function's image.
func (r *ContainerRuntime) image(ctx context.Context, fn Function) (string, error) {
	r.mu.Lock()
	img, ok := r.images[fn.Dir]
	r.mu.Unlock()
	if ok {
		return img, nil
	}
	dir, err := os.MkdirTemp("", "localgw-image-")
	if err != nil {
		return "", fmt.Errorf("image context: %w", err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bootstrap, err := os.ReadFile(filepath.Join(fn.Dir, "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("image of %s: %w", fn.Name, err)
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return "", fmt.Errorf("image of %s: CA certificates: %w", fn.Name, err)
	}
	for name, b := range map[string][]byte{
		"bootstrap": bootstrap, "ca-certificates.crt": certs,
		"Dockerfile": []byte("FROM scratch\nCOPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\nCOPY bootstrap /var/task/bootstrap\nWORKDIR /var/task\nENTRYPOINT [\"/var/task/bootstrap\"]\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil { //nolint:gosec // bootstrap is an executable
			return "", fmt.Errorf("image context: %w", err)
		}
	}
	sum := sha256.Sum256(bootstrap)
	tag := hex.EncodeToString(sum[:8])
	img, err = r.provider.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Repo: r.repo, Tag: tag, KeepImage: true,
	}})
	if err != nil {
		return "", fmt.Errorf("build the image of %s: %w", fn.Name, err)
	}
	r.mu.Lock()
	r.images[fn.Dir] = img
	r.mu.Unlock()
	return img, nil
}

func (r *ContainerRuntime) launch(ctx context.Context, fn Function, env []string, out io.Writer) (sandbox, error) {
	img, err := r.image(ctx, fn)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "AWS_LAMBDA_RUNTIME_API" {
			vars[k] = v // already on the bridge address
			continue
		}
		if vars[k], err = r.reachable(v); err != nil {
			return nil, err
		}
	}
	vars["LAMBDA_TASK_ROOT"] = "/var/task"
	memory := int64(max(fn.Memory, 128)) << 20
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image: img, Env: vars, Networks: []string{r.network.Name},
			Labels: map[string]string{"hexlambda.localgw": "function", "hexlambda.function": fn.Name},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.Memory, hc.MemorySwap = memory, memory
				hc.ReadonlyRootfs = true
				hc.Tmpfs = map[string]string{"/tmp": "rw,size=512m"}
			},
			LogConsumerCfg: &testcontainers.LogConsumerConfig{Consumers: []testcontainers.LogConsumer{logTo{out}}},
		},
		Started: true, Logger: tclog.NewNoopLogger(),
	})
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("start a container of %s: %w", fn.Name, err)
	}
	s := &containerSandbox{runtime: r, c: c, memoryMB: memory >> 20, exited: make(chan struct{})}
	r.mu.Lock()
	r.live[s] = true
	r.mu.Unlock()
	go s.watch() //nolint:gosec // it outlives the request that started the container
	return s, nil
}

// logTo copies a container's output to the function output.
type logTo struct{ w io.Writer }

func (l logTo) Accept(entry testcontainers.Log) { _, _ = l.w.Write(entry.Content) }

// containerSandbox is one function container.
type containerSandbox struct {
	runtime  *ContainerRuntime
	c        testcontainers.Container
	memoryMB int64

	once   sync.Once
	exited chan struct{}
	mu     sync.Mutex
	reason string
}

func (s *containerSandbox) pid() int              { return 0 }
func (s *containerSandbox) done() <-chan struct{} { return s.exited }

func (s *containerSandbox) why() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reason == "" {
		return "running"
	}
	return s.reason
}

// watch waits for the container to stop and says why, as Lambda does.
func (s *containerSandbox) watch() {
	ctx := context.Background()
	for {
		st, err := s.c.State(ctx)
		if err != nil || !st.Running {
			reason := "Runtime.ExitError: the container is gone"
			if err == nil {
				reason = fmt.Sprintf("Runtime.ExitError: exit status %d", st.ExitCode)
				if st.OOMKilled {
					reason = fmt.Sprintf("Runtime.OutOfMemory: the function used its %d MB", s.memoryMB)
				}
			}
			s.finish(reason)
			return
		}
		select {
		case <-s.exited:
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *containerSandbox) finish(reason string) {
	s.once.Do(func() {
		s.mu.Lock()
		s.reason = reason
		s.mu.Unlock()
		_ = s.c.Terminate(context.Background())
		s.runtime.mu.Lock()
		delete(s.runtime.live, s)
		s.runtime.mu.Unlock()
		close(s.exited)
	})
}

func (s *containerSandbox) kill() { s.finish("Runtime.ExitError: killed") }

// forwarder relays TCP connections from the bridge address to a loopback
// address of the host.
type forwarder struct {
	ln   net.Listener
	addr string
}

func forward(host, to string) (*forwarder, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", host+":0")
	if err != nil {
		return nil, fmt.Errorf("forward %s: %w", to, err)
	}
	f := &forwarder{ln: ln, addr: ln.Addr().String()}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = in.Close() }()
				outc, err := (&net.Dialer{Timeout: 5 * time.Second}).Dial("tcp", to)
				if err != nil {
					// Refused upstream is refused here: reset, not a
					// clean close the client would read as an answer cut
					// short.
					if tc, ok := in.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
					return
				}
				defer func() { _ = outc.Close() }()
				go func() { _, _ = io.Copy(outc, in) }()
				_, _ = io.Copy(in, outc)
			}()
		}
	}()
	return f, nil
}

func (f *forwarder) close() { _ = f.ln.Close() }
