// Package testenv starts private, throw-away servers for tests: a
// redis-server, a Redis Cluster and a Mosquitto broker, each on free
// 127.0.0.1 ports in the test's temporary directory, never on the shared
// ports 6379 and 1883.
//
// Every server is a child process in its own process group that the kernel
// kills if the test binary dies (Linux), and tb.Cleanup stops it when the
// test ends. A server that does not come up within StartTimeout fails the
// test with the tail of its log.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout is how long a server may take to accept connections.
const StartTimeout = 10 * time.Second

// stopTimeout is how long a graceful stop may take before SIGKILL.
const stopTimeout = 10 * time.Second

// startAttempts is how often a first start is tried on a new port when the
// server could not bind its port (taken since FreePort saw it free).
const startAttempts = 3

// searchDirs are looked in after PATH: Debian puts mosquitto in /usr/sbin,
// which a non-login shell may not have on PATH.
var searchDirs = []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin", "/bin"}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// findBinary returns the path of the named program, or fails the test
// saying which Debian package brings it.
func findBinary(tb testing.TB, name, pkg string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range searchDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	tb.Fatalf("%s not found: run `make test` (it installs the Debian packages) or apt-get install %s", name, pkg)
	return ""
}

// process is one server child process that can be stopped and started
// again with the same arguments.
type process struct {
	name string   // program name, for messages
	path string   // program path
	args []string // arguments
	log  string   // file receiving stdout and stderr (appended across restarts)

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// start starts the process; it does not wait for readiness.
func (p *process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		return fmt.Errorf("%s already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(out, "%s%s %s at %s\n", startMarker, p.path, strings.Join(p.args, " "), time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status is in the log; a kill is expected
		out.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// exited returns a channel closed when the current process has exited.
func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// running reports whether the process is started and has not exited.
func (p *process) running() bool {
	done := p.exited()
	return done != nil && !isClosed(done)
}

// stop sends SIGTERM to the process group and waits for the exit; after
// stopTimeout it kills. It is a no-op when the process is not running.
func (p *process) stop() error {
	if !p.running() {
		return nil
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited():
		return nil
	case <-time.After(stopTimeout):
	}
	p.kill()
	return fmt.Errorf("%s did not stop within %v after SIGTERM; killed", p.name, stopTimeout)
}

// kill sends SIGKILL to the process group and waits for the exit.
func (p *process) kill() {
	if !p.running() {
		return
	}
	p.signal(syscall.SIGKILL)
	<-p.exited()
}

// signal sends sig to the process group of the current process.
func (p *process) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil {
		signalGroup(cmd.Process, sig)
	}
}

// waitReady polls probe until it succeeds, the process exits or
// StartTimeout passes.
func (p *process) waitReady(probe func() error) error {
	deadline := time.Now().Add(StartTimeout)
	exited := p.exited()
	for {
		err := probe()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w: %s exited during start (last probe: %v)", errExited, p.name, err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %v: %w", p.name, StartTimeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// errExited marks a start that failed because the server exited.
var errExited = errors.New("server exited")

// portTaken reports whether the last start failed because its port was in
// use: FreePort's port can be taken by another process before the server
// binds it, and then a new port is worth a try.
func (p *process) portTaken() bool {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return false
	}
	if i := bytes.LastIndex(b, []byte(startMarker)); i >= 0 {
		b = b[i:]
	}
	return bytes.Contains(b, []byte("Address already in use"))
}

// startMarker starts the line written to the log before each start.
const startMarker = "=== testenv: starting "

// startOnFreePort calls start with free ports until the server it starts
// is ready, trying a new port (up to startAttempts) only when the chosen one
// was taken in between, and registers tb.Cleanup to kill it. Any other
// failure fails the test with the tail of the server's log.
func startOnFreePort(tb testing.TB, name string, start func(port int) (*process, error)) {
	tb.Helper()
	var err error
	for range startAttempts {
		var p *process
		if p, err = start(FreePort(tb)); err == nil {
			tb.Cleanup(p.kill)
			return
		}
		if !errors.Is(err, errExited) || !p.portTaken() {
			p.fatal(tb, err)
		}
	}
	tb.Fatalf("testenv: %s found no free port in %d attempts: %v", name, startAttempts, err)
}

// startAndWait starts the process and waits until probe succeeds. On
// failure the process is killed.
func (p *process) startAndWait(probe func() error) error {
	if err := p.start(); err != nil {
		return err
	}
	if err := p.waitReady(probe); err != nil {
		p.kill()
		return err
	}
	return nil
}

// fatal fails the test with err and the tail of the process log.
func (p *process) fatal(tb testing.TB, err error) {
	tb.Helper()
	tb.Fatalf("testenv: %s (%s): %v\n--- last lines of %s ---\n%s", p.name, p.path, err, p.log, tailFile(p.log, 30))
}

// tailFile returns the last n lines of a file, or why it cannot.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// RedisServerPath returns the path of redis-server, or fails the test
// saying how to install it: a missing server is a failure, never a skip.
func RedisServerPath(tb testing.TB) string {
	tb.Helper()
	return findBinary(tb, "redis-server", "redis-server")
}
