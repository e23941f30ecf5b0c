package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a private redis-server started by MustStartRedis.
type Redis struct {
	// Addr is host:port, e.g. 127.0.0.1:41234.
	Addr string
	// URL is redis://host:port/0, for options that take a URL.
	URL string
	// Port is the TCP port.
	Port int
	// Dir is the server's working directory: the AOF lives here.
	Dir string
	// LogFile receives the server's log (stdout and stderr), across restarts.
	LogFile string

	proc *process
}

// MustStartRedis starts a private redis-server on a free 127.0.0.1 port, in
// tb.TempDir(), with appendonly yes (appendfsync everysec) and save "", and
// registers tb.Cleanup to stop it. Extra args are passed to redis-server
// after the defaults, so they override them (e.g. "--maxmemory", "100mb").
// It returns once the server answers PING.
func MustStartRedis(tb testing.TB, args ...string) *Redis {
	tb.Helper()
	bin := findBinary(tb, "redis-server", "redis-server")
	dir := tb.TempDir()
	var r *Redis
	startOnFreePort(tb, "redis-server", func(port int) (*process, error) {
		r = newRedis(bin, dir, port, args)
		return r.proc, r.proc.startAndWait(r.ping)
	})
	return r
}

// newRedis describes a redis-server on port with its data in dir.
func newRedis(bin, dir string, port int, extra []string) *Redis {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log := filepath.Join(dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "", // stdout, which goes to log
		"--appendonly", "yes",
		"--appendfsync", "everysec",
		"--save", "",
	}
	return &Redis{
		Addr:    addr,
		URL:     "redis://" + addr + "/0",
		Port:    port,
		Dir:     dir,
		LogFile: log,
		proc:    &process{name: "redis-server", path: bin, args: append(args, extra...), log: log},
	}
}

// ping asks the server for PONG on a fresh connection and checks that it
// has finished loading its AOF.
func (r *Redis) ping() error {
	// A plain dial first: go-redis would retry a refused dial 5 times and
	// log each failure while the server is still starting.
	conn, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	c := redis.NewClient(&redis.Options{
		Addr: r.Addr, DialTimeout: time.Second, ReadTimeout: time.Second,
		MaxRetries: -1, DialerRetries: 1, Protocol: 2, DisableIdentity: true,
	})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return err
	}
	info, err := c.Info(ctx, "persistence").Result()
	if err != nil {
		return err
	}
	if !strings.Contains(info, "loading:0") {
		return errors.New("still loading its data")
	}
	return nil
}

// Client returns a new client for this server, closed on tb's cleanup.
func (r *Redis) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop shuts the server down gracefully (SIGTERM: Redis flushes the AOF)
// and waits for it to exit.
func (r *Redis) Stop(tb testing.TB) {
	tb.Helper()
	if err := r.proc.stop(); err != nil {
		r.proc.fatal(tb, err)
	}
}

// Kill ends the server with SIGKILL, as a crash would: writes of the last
// second may be lost (appendfsync everysec).
func (r *Redis) Kill(tb testing.TB) {
	tb.Helper()
	r.proc.kill()
}

// Start starts the server again on the same port and directory, so the data
// in the AOF is loaded again, and waits until it answers PING.
func (r *Redis) Start(tb testing.TB) {
	tb.Helper()
	if err := r.proc.startAndWait(r.ping); err != nil {
		r.proc.fatal(tb, err)
	}
}

// Freeze stops the server's process (SIGSTOP) without ending it: its port
// still accepts connections, but nothing answers, as with a hung or
// swapping server. Thaw lets it run again; tb's cleanup thaws it, so that
// the server can stop.
func (r *Redis) Freeze(tb testing.TB) {
	tb.Helper()
	if !r.proc.running() {
		tb.Fatal("testenv: Freeze: redis-server is not running")
	}
	if !canFreeze {
		tb.Fatal("testenv: Freeze needs SIGSTOP, which this system has not")
	}
	r.proc.signal(sigStop)
	tb.Cleanup(func() { r.proc.signal(sigCont) })
}

// Thaw lets a frozen server run again (SIGCONT).
func (r *Redis) Thaw(tb testing.TB) {
	tb.Helper()
	r.proc.signal(sigCont)
}
