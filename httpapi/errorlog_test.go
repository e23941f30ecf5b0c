//go:build unix

package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// emfileChild is the environment variable that makes the test binary the
// server of TestServerLogsAnAcceptStormOnceASecond.
const emfileChild = "HTTPAPI_TEST_EMFILE_SERVER"

// TestServerLogsAnAcceptStormOnceASecond runs a Server in a child process
// limited to 64 open files and keeps it at the limit: connections held
// open, one closed and another opened every few milliseconds, so every
// accept that frees a descriptor is followed by failing ones ("too many
// open files"), hundreds a second. The failures are logged (the server's
// own errors reach the service's log), at most about once a second, each
// line after the first with the count of those left out.
func TestServerLogsAnAcceptStormOnceASecond(t *testing.T) {
	if os.Getenv(emfileChild) != "" {
		serveAtTheFileLimit()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerLogsAnAcceptStormOnceASecond$")
	cmd.Env = append(os.Environ(), emfileChild+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	logs := &testenv.SyncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the server child: %v; its log:\n%s", err, logs)
	}
	addr = strings.TrimSpace(addr)

	const storm = 3 * time.Second
	cycles := stormConnections(t, addr, storm)
	time.Sleep(1500 * time.Millisecond) // the interval's count is logged at its end
	stdin.Close()
	_ = cmd.Wait()

	lines, reported := acceptErrorLines(t, logs.String())
	t.Logf("%d connections closed and opened over %v; %d accept-error lines logged, reporting %d failures", cycles, storm, lines, reported)
	if lines == 0 {
		t.Fatalf("no accept error logged at the file limit; log:\n%.2000s", logs)
	}
	if max := int(storm/errorLogEvery) + 3; lines > max {
		t.Errorf("%d accept-error lines in a %v storm, want at most %d (about one a second)", lines, storm, max)
	}
	if reported <= lines {
		t.Errorf("the lines report %d failures in all, no more than their number %d: the count of those left out is missing", reported, lines)
	}
}

// stormConnections holds 100 connections to addr open (more than the
// server's descriptors) and for d closes the oldest and opens another every
// 2 ms. It returns how many it replaced.
func stormConnections(t *testing.T, addr string, d time.Duration) int {
	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	dial := func() {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
	}
	for range 100 {
		dial()
	}
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); n++ {
		conns[0].Close()
		conns = conns[1:]
		dial()
		time.Sleep(2 * time.Millisecond)
	}
	return n
}

// acceptErrorLines counts the logged lines of accept errors at the file
// limit and the failures they report (1 each, plus those left out).
func acceptErrorLines(t *testing.T, logs string) (lines, reported int) {
	for _, line := range strings.Split(logs, "\n") {
		var rec struct {
			Msg        string `json:"msg"`
			Suppressed int    `json:"suppressed"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || !strings.Contains(rec.Msg, "Accept error") {
			continue
		}
		if !strings.Contains(rec.Msg, "too many open files") {
			t.Errorf("accept error %q, want too many open files", rec.Msg)
		}
		lines++
		reported += 1 + rec.Suppressed
	}
	return lines, reported
}

// serveAtTheFileLimit is the child: a Server limited to 64 open files,
// logging JSON to stderr, its address on stdout, until stdin closes.
func serveAtTheFileLimit() {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 64, Max: 64}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := NewServer("127.0.0.1:0", http.NotFoundHandler(), ServerOptions{Logger: log,
		ReadHeaderTimeout: time.Minute, IdleTimeout: time.Minute})
	addr, err := srv.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	go func() { _ = srv.Serve() }()
	fmt.Println(addr)
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}
