package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
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
	if code := c.main([]string{"bench", "-only", "a", "-messages", "3000"}); code != exitOK {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^machine: \d+ CPUs, go`),
		regexp.MustCompile(`(?m)^\(a\)\s+bare broker delivery rate .*\s[1-9]\d* msg/s \(3000 msgs in `),
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
