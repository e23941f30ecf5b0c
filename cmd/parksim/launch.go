package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file starts the private servers of `parksim bench`: a redis-server,
// a mosquitto and parkd, each a child process in its own process group on a
// free 127.0.0.1 port, never 6379 or 1883. (internal/testenv does the same
// for tests but needs a testing.TB.)

// startTimeout is how long a server may take to accept connections; parkd
// loading a large registry is given its own, longer, timeout.
const startTimeout = 15 * time.Second

// searchDirs are looked in after PATH: Debian puts mosquitto in /usr/sbin.
var searchDirs = []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}

// findProgram returns the path of the named program, or an error naming the
// Debian package that brings it.
func findProgram(name, pkg string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range searchDirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found: run `make deps` or apt-get install %s", name, pkg)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// child is one server process.
type child struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// startChild starts a program with its output appended to logPath.
func startChild(name, logPath, dir string, env []string, path string, args ...string) (*child, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = out, out, dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

// pid returns the process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// waitReady polls probe until it succeeds, the process exits or timeout
// passes; on failure it kills the process and returns the log's tail.
func (c *child) waitReady(timeout time.Duration, probe func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := probe()
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited during start (%v):\n%s", c.name, err, tail(c.log, 20))
		default:
		}
		if time.Now().After(deadline) {
			c.stop()
			return fmt.Errorf("%s not ready after %v (%v):\n%s", c.name, timeout, err, tail(c.log, 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM to the process group, and SIGKILL after 15 s.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}

// tcpProbe succeeds once addr accepts a TCP connection.
func tcpProbe(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
}

// redisMemorySettings are the memory settings of configs/redis.conf
// (TestRedisMemorySettings checks that they agree): its cap, no eviction,
// and the listpack limits that keep a zone's hash and sorted sets compact.
var redisMemorySettings = []string{
	"--maxmemory", "2gb", "--maxmemory-policy", "noeviction",
	"--hash-max-listpack-entries", "1024", "--hash-max-listpack-value", "128",
	"--zset-max-listpack-entries", "1024", "--zset-max-listpack-value", "128",
}

// startRedis starts a redis-server configured like configs/redis.conf
// (append-only file, fsync every second, its memory settings) with its
// files in dir; extra arguments ("--name", "value", …) come last and
// override those.
func startRedis(dir string, extra ...string) (*child, string, error) {
	bin, err := findProgram("redis-server", "redis-server")
	if err != nil {
		return nil, "", err
	}
	return startOnPort("redis-server", func(port int) (*child, error) {
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no",
			"--logfile", "", "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""}
		args = append(append(args, redisMemorySettings...), extra...)
		return startChild("redis-server", filepath.Join(dir, "redis.log"), dir, nil, bin, args...)
	})
}

// startMosquitto starts a mosquitto configured like configs/mosquitto.conf
// (persistence, large queues, 100 in-flight messages per client) but with
// anonymous access, with its files in dir.
func startMosquitto(dir string) (*child, string, error) {
	bin, err := findProgram("mosquitto", "mosquitto")
	if err != nil {
		return nil, "", err
	}
	return startOnPort("mosquitto", func(port int) (*child, error) {
		lines := []string{
			fmt.Sprintf("listener %d 127.0.0.1", port),
			"allow_anonymous true",
			"persistence true",
			"persistence_location " + dir + "/",
			"autosave_interval 10",
			"max_queued_messages 1000000",
			"max_queued_bytes 268435456",
			"max_inflight_messages 100",
			"log_dest stderr",
			"log_type error",
			"log_type warning",
		}
		if os.Geteuid() == 0 {
			lines = append(lines, "user root") // else mosquitto drops to a user that cannot write dir
		}
		conf := filepath.Join(dir, "mosquitto.conf")
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			return nil, err
		}
		return startChild("mosquitto", filepath.Join(dir, "mosquitto.log"), dir, nil, bin, "-c", conf)
	})
}

// startOnPort starts a server on a free port and waits until it accepts
// connections, trying another port if the first was taken in between.
func startOnPort(name string, start func(port int) (*child, error)) (*child, string, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, "", err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c, err := start(port)
		if err != nil {
			return nil, "", err
		}
		if lastErr = c.waitReady(startTimeout, tcpProbe(addr)); lastErr == nil {
			return c, addr, nil
		}
		if !strings.Contains(lastErr.Error(), "in use") {
			break
		}
	}
	return nil, "", fmt.Errorf("%s: %w", name, lastErr)
}

// buildParkd builds ./cmd/parkd into dir and returns the binary's path. It
// must run in the module's root folder.
func buildParkd(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "parkd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/parkd")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/parkd (run parksim bench in the repository root, or pass -parkd): %w\n%s", err, out)
	}
	return bin, nil
}

// errNotReady is a readiness probe that got an answer other than 200.
var errNotReady = errors.New("not ready")
