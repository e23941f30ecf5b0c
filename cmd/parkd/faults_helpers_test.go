//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// faultTestsEnv turns the slow fault suite on; .ci/run sets it.
const faultTestsEnv = "PARKD_FAULT_TESTS"

// requireFaultTests skips the test unless the fault suite is turned on.
func requireFaultTests(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault suite: skipped in -short mode")
	}
	if os.Getenv(faultTestsEnv) != "1" {
		t.Skipf("fault suite (parkd killed, Redis and Mosquitto restarted, ~20 s each): set %s=1 to run it (.ci/run does)", faultTestsEnv)
	}
}

// parkdBuild is the parkd binary built once per test binary run.
var parkdBuild struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

// parkdBinary builds ./cmd/parkd (without -race: it runs as a server
// beside the test) once and returns its path.
func parkdBinary(t *testing.T) string {
	t.Helper()
	parkdBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "parkd-faults-")
		if err != nil {
			parkdBuild.err = err
			return
		}
		parkdBuild.dir, parkdBuild.path = dir, filepath.Join(dir, "parkd")
		out, err := exec.Command(goTool(), "build", "-o", parkdBuild.path, ".").CombinedOutput()
		if err != nil {
			parkdBuild.err = fmt.Errorf("go build ./cmd/parkd: %v\n%s", err, out)
		}
	})
	if parkdBuild.err != nil {
		t.Fatal(parkdBuild.err)
	}
	return parkdBuild.path
}

// goTool returns the go command that runs the tests (go test sets GOROOT),
// or the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// instance is a parkd process run from the built binary: it can be killed
// with SIGKILL and started again with the same environment, HTTP address
// and MQTT client id (hence the same persistent session).
type instance struct {
	t    *testing.T
	name string
	bin  string
	env  []string
	dir  string // working directory (no configs/parkd.yaml: defaults and env only)
	log  string // stdout and stderr, across restarts
	base string // http://127.0.0.1:PORT

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// startInstance starts parkd with env (PARKD_* variables; the HTTP address
// is chosen here) and waits until /readyz says ready. The process is
// stopped when the test ends.
func startInstance(t *testing.T, name string, env map[string]string) *instance {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	p := &instance{t: t, name: name, bin: parkdBinary(t), dir: t.TempDir(), base: "http://" + addr}
	p.log = filepath.Join(p.dir, "parkd.log")
	p.env = append(os.Environ(), "PARKD_HTTP_ADDR="+addr, "PARKD_LOG_LEVEL=warn")
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	t.Cleanup(p.stop)
	p.start()
	return p
}

// start starts the process and waits until it is ready.
func (p *instance) start() {
	p.t.Helper()
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(out, "=== test: starting %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, p.env, out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := cmd.Start(); err != nil {
		out.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	p.waitReady(30 * time.Second)
}

// waitReady polls /readyz until 200, failing the test if the process exits
// or the timeout passes.
func (p *instance) waitReady(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		code, body := p.readyz()
		if code == http.StatusOK {
			return
		}
		select {
		case <-p.exited():
			p.t.Fatalf("%s exited while starting\n%s", p.name, p.tail(30))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready within %s: %d %s\n%s", p.name, timeout, code, body, p.tail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readyz returns GET /readyz's status code and body (0 if unreachable).
func (p *instance) readyz() (int, string) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(p.base + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *instance) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// pid returns the process id of the current process.
func (p *instance) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *instance) kill() {
	p.t.Helper()
	if err := syscall.Kill(p.pid(), syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited()
}

// stop ends the process with SIGTERM (SIGKILL after 20 s); a no-op if it
// has exited.
func (p *instance) stop() {
	done := p.exited()
	if done == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	_ = syscall.Kill(p.pid(), syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("%s did not stop within 20 s of SIGTERM; killing it", p.name)
		_ = syscall.Kill(p.pid(), syscall.SIGKILL)
		<-done
	}
}

// tail returns the last n lines of the process log.
func (p *instance) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprintf("--- last lines of %s's log ---\n%s", p.name, strings.Join(lines, "\n"))
}

// metrics scrapes /metrics into a map from series (name and labels, as
// written) to value.
func (p *instance) metrics() (map[string]float64, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(p.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// mustMetrics is metrics, failing the test on error.
func (p *instance) mustMetrics() map[string]float64 {
	p.t.Helper()
	m, err := p.metrics()
	if err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
	return m
}

// rssKB returns the process's resident set size in KiB.
func (p *instance) rssKB() (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// redisPID returns the process id of the redis-server at rds, from INFO.
func redisPID(t *testing.T, rds *testenv.Redis) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := rds.Client(t).Info(ctx, "server").Result()
	if err != nil {
		t.Fatalf("redis INFO: %v", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("redis process_id %q: %v", v, err)
			}
			return pid
		}
	}
	t.Fatal("redis INFO has no process_id")
	return 0
}
