package localgw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// Function is a deployed function ready to run: its unpacked code and its
// configuration.
type Function struct {
	Name    string
	ARN     string
	Dir     string // holds the bootstrap executable
	Env     map[string]string
	Timeout time.Duration
	Memory  int
}

// Errors of an invocation.
var (
	// ErrTimeout: the function did not answer within its timeout; its
	// process was stopped.
	ErrTimeout = errors.New("function timed out")
	// ErrCrashed: the function's process exited during the invocation.
	ErrCrashed = errors.New("function process exited during the invocation")
)

// FunctionError is an error the function reported through the Runtime API.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// InitError means the function failed to start: it exited or reported an
// init error before asking for its first invocation.
type InitError struct {
	Reason string
	Output string
}

func (e *InitError) Error() string { return "function init failed: " + e.Reason }

// Invocation reports how one invocation ran.
type Invocation struct {
	RequestID string
	Cold      bool
	// Init is the time from process start to its first poll (cold only).
	Init     time.Duration
	Duration time.Duration
}

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
	done     chan outcome
}

type outcome struct {
	payload []byte
	err     error
}

// Pool runs a function's invocations in warm processes speaking the Lambda
// Runtime API, at most Max at a time; each process handles one invocation
// at a time, and a process that crashed or timed out is replaced.
type Pool struct {
	fn     Function
	max    int
	env    []string
	logger *slog.Logger
	output io.Writer

	mu      sync.Mutex
	inits   []time.Duration
	idle    []*process
	count   int
	free    chan struct{}
	closed  bool
	running map[*process]bool
	// sandboxes start the execution environments: processes on this
	// host unless the pool runs in containers.
	sandboxes launcher
}

// NewPool returns a pool for fn; env is added to each process's environment
// (credentials, region, endpoint); output receives the processes' output.
func NewPool(fn Function, maxProcesses int, env []string, output io.Writer, logger *slog.Logger) *Pool {
	if maxProcesses < 1 {
		maxProcesses = 1
	}
	return &Pool{
		fn: fn, max: maxProcesses, env: env, logger: logger, output: output,
		free: make(chan struct{}, maxProcesses), running: map[*process]bool{}, sandboxes: processes{},
	}
}

// InContainers makes the pool run its execution environments in
// containers of r instead of processes on this host; call it before the
// first invocation.
func (p *Pool) InContainers(r *ContainerRuntime) *Pool {
	p.sandboxes = r
	return p
}

// Invoke runs one invocation with event and returns the function's answer.
func (p *Pool) Invoke(ctx context.Context, event []byte) ([]byte, Invocation, error) {
	info := Invocation{RequestID: uuid.NewString()}
	proc, cold, err := p.acquire(ctx)
	if err != nil {
		return nil, info, err
	}
	info.Cold = cold
	if cold {
		info.Init = proc.init
	}
	start := time.Now()
	inv := &invocation{id: info.RequestID, event: event, deadline: start.Add(p.fn.Timeout), done: make(chan outcome, 1)}
	timer := time.NewTimer(p.fn.Timeout)
	defer timer.Stop()
	select {
	case proc.next <- inv:
	case <-proc.exited:
		p.discard(proc)
		return nil, info, fmt.Errorf("%w: %s", ErrCrashed, proc.sb.why())
	}
	select {
	case out := <-inv.done:
		info.Duration = time.Since(start)
		p.release(proc)
		return out.payload, info, out.err
	case <-timer.C:
		info.Duration = time.Since(start)
		p.discard(proc)
		return nil, info, ErrTimeout
	case <-proc.exited:
		info.Duration = time.Since(start)
		p.discard(proc)
		return nil, info, fmt.Errorf("%w: %s", ErrCrashed, proc.sb.why())
	case <-ctx.Done():
		// The client went away; the function still finishes, as in Lambda.
		go func() {
			select {
			case <-inv.done:
				p.release(proc)
			case <-proc.exited:
				p.discard(proc)
			case <-time.After(time.Until(inv.deadline)):
				p.discard(proc)
			}
		}()
		return nil, info, fmt.Errorf("invocation abandoned: %w", ctx.Err())
	}
}

func (p *Pool) acquire(ctx context.Context) (*process, bool, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, false, errors.New("pool closed")
		}
		if n := len(p.idle); n > 0 {
			proc := p.idle[n-1]
			p.idle = p.idle[:n-1]
			p.mu.Unlock()
			select {
			case <-proc.exited:
				p.discard(proc)
				continue
			case <-proc.sb.done(): // dead, though proc.exited is not closed yet
				p.discard(proc)
				continue
			default:
				return proc, false, nil
			}
		}
		if p.count < p.max {
			p.count++
			p.mu.Unlock()
			proc, err := p.start(ctx)
			if err != nil {
				p.mu.Lock()
				p.count--
				p.mu.Unlock()
				p.signal()
				return nil, false, err
			}
			return proc, true, nil
		}
		p.mu.Unlock()
		select {
		case <-p.free:
		case <-ctx.Done():
			return nil, false, fmt.Errorf("waiting for a free process: %w", ctx.Err())
		}
	}
}

func (p *Pool) signal() {
	select {
	case p.free <- struct{}{}:
	default:
	}
}

func (p *Pool) release(proc *process) {
	p.mu.Lock()
	if proc.killed {
		p.mu.Unlock()
		p.discard(proc)
		return
	}
	if p.closed {
		p.mu.Unlock()
		proc.stop()
		return
	}
	p.idle = append(p.idle, proc)
	p.mu.Unlock()
	p.signal()
}

func (p *Pool) discard(proc *process) {
	proc.stop()
	p.mu.Lock()
	if p.running[proc] {
		delete(p.running, proc)
		p.count--
	}
	p.mu.Unlock()
	p.signal()
}

// forget stops a process that never became available; acquire accounts
// for it.
func (p *Pool) forget(proc *process) {
	proc.stop()
	p.mu.Lock()
	delete(p.running, proc)
	p.mu.Unlock()
}

// Kill kills every process of the pool at once, as a sandbox dies (a
// crash, the host lost): the invocations they were serving fail as
// crashed, and the next ones start fresh processes.
//
// The processes are taken out of service first, all at once, and only then
// stopped (a container takes a while): no invocation is handed to one
// that is about to die.
func (p *Pool) Kill() {
	p.mu.Lock()
	procs := make([]*process, 0, len(p.running))
	for proc := range p.running {
		proc.killed = true
		procs = append(procs, proc)
	}
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, proc := range idle {
		p.discard(proc)
	}
	for _, proc := range procs {
		proc.stop()
	}
}

// Close stops every process; the pool serves no more invocations.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Kill()
}

// InitDurations returns the init time (process start to first poll) of
// every process started so far.
func (p *Pool) InitDurations() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.inits...)
}

// PeakRSS returns the largest peak resident set size (VmHWM, bytes) of the
// live processes, read from /proc; 0 where /proc is not available.
func (p *Pool) PeakRSS() int64 {
	p.mu.Lock()
	procs := make([]*process, 0, len(p.running))
	for proc := range p.running {
		procs = append(procs, proc)
	}
	p.mu.Unlock()
	var peak int64
	for _, proc := range procs {
		pid := proc.sb.pid()
		if pid == 0 {
			continue
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				peak = max(peak, kb*1024)
			}
		}
	}
	return peak
}

// Processes returns how many processes are alive.
func (p *Pool) Processes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// process is one running bootstrap with its own Runtime API endpoint.
type process struct {
	arn      string // the function's, as the runtime is told
	sb       sandbox
	killed   bool // by Pool.Kill: out of service (guarded by the pool's mu)
	srv      *http.Server
	next     chan *invocation
	ready    chan struct{}
	initErr  chan *FunctionError
	exited   chan struct{}
	started  time.Time
	init     time.Duration
	mu       sync.Mutex
	current  *invocation
	output   *tail
	stopOnce sync.Once
}

func (p *Pool) start(ctx context.Context) (*process, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", p.sandboxes.host()+":0")
	if err != nil {
		return nil, fmt.Errorf("runtime API listener: %w", err)
	}
	proc := &process{
		next: make(chan *invocation), ready: make(chan struct{}), initErr: make(chan *FunctionError, 1),
		exited: make(chan struct{}), output: &tail{max: 4096}, arn: p.fn.ARN,
	}
	proc.srv = &http.Server{Handler: proc.runtimeAPI(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = proc.srv.Serve(ln) }()

	env := append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME=" + p.fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(p.fn.Memory),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + p.fn.Name,
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"LAMBDA_TASK_ROOT=" + p.fn.Dir,
		"_HANDLER=bootstrap",
		"TZ=:UTC",
	}, p.env...)
	for k, v := range p.fn.Env {
		env = append(env, k+"="+v)
	}
	var out io.Writer = proc.output
	if p.output != nil {
		out = io.MultiWriter(proc.output, p.output)
	}
	proc.mu.Lock() // the process's first poll reads it from another goroutine
	proc.started = time.Now()
	proc.mu.Unlock()
	sb, err := p.sandboxes.launch(ctx, p.fn, env, out)
	if err != nil {
		_ = proc.srv.Close()
		return nil, &InitError{Reason: "cannot start bootstrap: " + err.Error()}
	}
	proc.sb = sb
	go func() {
		<-sb.done()
		close(proc.exited)
	}()
	p.mu.Lock()
	p.running[proc] = true
	p.mu.Unlock()
	defer func() {
		select {
		case <-proc.ready:
			p.mu.Lock()
			p.inits = append(p.inits, proc.init)
			p.mu.Unlock()
		default:
		}
	}()

	initTimer := time.NewTimer(10 * time.Second) // Lambda's init phase limit
	defer initTimer.Stop()
	select {
	case <-proc.ready:
		return proc, nil
	case fe := <-proc.initErr:
		p.forget(proc)
		return nil, &InitError{Reason: fe.Type + ": " + fe.Message, Output: proc.output.String()}
	case <-proc.exited:
		p.forget(proc)
		return nil, &InitError{Reason: "bootstrap exited: " + sb.why(), Output: proc.output.String()}
	case <-initTimer.C:
		p.forget(proc)
		return nil, &InitError{Reason: "init did not finish within 10s", Output: proc.output.String()}
	}
}

func (proc *process) stop() {
	proc.stopOnce.Do(func() {
		if proc.sb != nil {
			proc.sb.kill()
		}
		_ = proc.srv.Close()
	})
}

// sandbox is one execution environment running a function's bootstrap.
type sandbox interface {
	// pid is its process on this host (0 in a container), for its RSS.
	pid() int
	kill()
	// done is closed once bootstrap has exited; why then says how.
	done() <-chan struct{}
	why() string
}

// launcher starts sandboxes.
type launcher interface {
	// host is the address the Runtime API listens on, reachable from the
	// sandboxes.
	host() string
	launch(ctx context.Context, fn Function, env []string, out io.Writer) (sandbox, error)
}

// processes run functions as processes of this host.
type processes struct{}

func (processes) host() string { return "127.0.0.1" }

func (processes) launch(_ context.Context, fn Function, env []string, out io.Writer) (sandbox, error) {
	cmd := exec.Command(filepath.Join(fn.Dir, "bootstrap")) //nolint:gosec,noctx // the function's own code; lives until stopped
	cmd.Dir = fn.Dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	s := &processSandbox{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

type processSandbox struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func (s *processSandbox) pid() int              { return s.cmd.Process.Pid }
func (s *processSandbox) kill()                 { _ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) }
func (s *processSandbox) done() <-chan struct{} { return s.exited }
func (s *processSandbox) why() string {
	select {
	case <-s.exited:
		return "Runtime.ExitError: " + s.cmd.ProcessState.String()
	default:
		return "running"
	}
}

const runtimePrefix = "/2018-06-01/runtime/"

// MaxResponse is Lambda's synchronous response payload limit.
const MaxResponse = 6<<20 + 100

func (proc *process) runtimeAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, runtimePrefix)
		switch {
		case r.Method == http.MethodGet && path == "invocation/next":
			proc.mu.Lock()
			select {
			case <-proc.ready:
			default:
				proc.init = time.Since(proc.started)
				close(proc.ready)
			}
			proc.current = nil
			proc.mu.Unlock()
			var inv *invocation
			select {
			case inv = <-proc.next:
			case <-r.Context().Done():
				return
			}
			proc.mu.Lock()
			proc.current = inv
			proc.mu.Unlock()
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", proc.arn)
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+strings.ReplaceAll(inv.id, "-", "")[:24]+";Sampled=0")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(inv.event)
		case r.Method == http.MethodPost && path == "init/error":
			fe := readFunctionError(r)
			select {
			case proc.initErr <- fe:
			default:
			}
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
			id, kind, ok := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
			proc.mu.Lock()
			inv := proc.current
			proc.mu.Unlock()
			if !ok || inv == nil || inv.id != id || (kind != "response" && kind != "error") {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"errorType":"InvalidRequestID","errorMessage":"unknown invocation"}`))
				return
			}
			body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponse+1))
			if kind == "response" && len(body) > MaxResponse {
				// Lambda refuses the response and fails the invocation.
				msg := fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponse)
				inv.done <- outcome{err: &FunctionError{Type: "Function.ResponseSizeTooLarge", Message: msg}}
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				_ = json.NewEncoder(w).Encode(map[string]string{"errorType": "RequestEntityTooLarge", "errorMessage": msg})
				return
			}
			if kind == "response" {
				inv.done <- outcome{payload: body}
			} else {
				fe := &FunctionError{}
				if json.Unmarshal(body, fe) != nil || fe.Type == "" {
					fe = &FunctionError{Type: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Message: string(body)}
				}
				inv.done <- outcome{err: fe}
			}
			w.WriteHeader(http.StatusAccepted)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
}

func readFunctionError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	fe := &FunctionError{}
	if json.Unmarshal(body, fe) != nil || fe.Type == "" {
		fe = &FunctionError{Type: r.Header.Get("Lambda-Runtime-Function-Error-Type"), Message: string(body)}
	}
	return fe
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if extra := t.buf.Len() - t.max; extra > 0 {
		t.buf.Next(extra)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
