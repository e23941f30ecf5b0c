package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qiuai/parking/internal/testenv"
)

// TestBenchBrokerPart runs `parksim bench -only a` for real (its own
// redis-server and mosquitto on free ports; part a needs no parkd) and
// checks the table it prints.
func TestBenchBrokerPart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := c.main([]string{"bench", "-only", "a", "-messages", "3000", "-rounds", "2"}); code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^machine: \d+ CPUs, go`),
		regexp.MustCompile(`(?m)^\(a\)\s+bare broker delivery rate .*\s[1-9]\d* msg/s, median of 2 rounds of 3000 msgs \([1-9]\d*, [1-9]\d* msg/s\)`),
		regexp.MustCompile(`(?m)^\(a\)\s+CPU per message during \(a\)\s+Mosquitto \d+\.\d µs, parksim .* \d+\.\d µs`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("table lacks %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "(b)") {
		t.Errorf("table has parts that were not asked for:\n%s", out.String())
	}
}

// TestBenchRejectsUnknownPart checks -only.
func TestBenchRejectsUnknownPart(t *testing.T) {
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	if code := c.main([]string{"bench", "-only", "a,x"}); code != exitUsage {
		t.Errorf("exit %d, want %d (usage)", code, exitUsage)
	}
}

// TestLoadCommand runs `parksim load` against a real broker with a written
// registry and checks that every message was acknowledged and reported.
func TestLoadCommand(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	dir := t.TempDir()
	if _, err := writeTown(dir, 300); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code := c.main([]string{"load", "-broker", broker.URL, "-registry", dir, "-rate", "-1", "-count", "2000", "-duration", "0", "-quiet"})
	if code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut.String())
	}
	if want := regexp.MustCompile(`^sent 2000, acked 2000, errors 0 in `); !want.MatchString(out.String()) {
		t.Errorf("output %q does not match %s", out.String(), want)
	}
}

// TestBenchStreamsPart runs `parksim bench -only g` small (60 streams from
// 3 addresses, 15 allowed per address) and checks its table: the refused
// streams are the per-address ones, each with Retry-After, and /metrics
// counts them as the bench does.
func TestBenchStreamsPart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and parkd")
	}
	bin := filepath.Join(t.TempDir(), "parkd")
	if out, err := exec.Command("go", "build", "-o", bin, "../parkd").CombinedOutput(); err != nil {
		t.Fatalf("go build ../parkd: %v\n%s", err, out)
	}
	var out, errOut bytes.Buffer
	c := &cli{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	args := []string{"bench", "-parkd", bin, "-only", "g", "-streams", "60", "-stream-addrs", "3", "-streams-per-ip", "15",
		"-streams-ingest-rate", "200", "-streams-api-rate", "20", "-streams-api-duration", "1s"}
	if code := c.main(args); code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\(g\)\s+60 streams from 3 addresses .*: 45 open, 0 refused 503 \(max_streams\), 15 refused 429 \(max_per_ip\), 0 failed map\[\], 0 refusals without Retry-After`),
		regexp.MustCompile(`(?m)^\(g\)\s+/healthz at 20 req/s beside the open streams: p50/p99 .* ms`),
		regexp.MustCompile(`(?m)^\(g\)\s+refused streams in /metrics .*max_per_ip 15, max_streams 0; .*\s+equal\s+yes$`),
		regexp.MustCompile(`(?m)^\(g\)\s+parkd RSS with its streams full`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("table lacks %s:\n%s", want, out.String())
		}
	}
}
