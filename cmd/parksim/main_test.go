package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
)

// testCLI returns a cli writing to buffers, with the given environment.
func testCLI(env map[string]string) (*cli, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &cli{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}, &out, &errOut
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"no arguments", nil, exitUsage, "usage:"},
		{"unknown command", []string{"fly"}, exitUsage, `unknown command "fly"`},
		{"help", []string{"help"}, exitOK, "parksim verify"},
		{"run -h", []string{"run", "-h"}, exitOK, "-malformed"},
		{"run bad flag", []string{"run", "-nope"}, exitUsage, "flag provided but not defined"},
		{"run stray argument", []string{"run", "now"}, exitUsage, `unexpected argument "now"`},
		{"run bad start", []string{"run", "-start", "noon"}, exitUsage, "neither HH:MM"},
		{"run bad fault", []string{"run", "-dup", "150"}, exitFailed, "DuplicatePct"},
		{"verify -h", []string{"verify", "-h"}, exitOK, "-truth"},
		{"verify without truth", []string{"verify"}, exitUsage, "-truth is required"},
		{"stalls -h", []string{"stalls", "-h"}, exitOK, "-duration"},
		{"stalls without time", []string{"stalls", "-duration", "0s"}, exitUsage, "must be positive"},
		{"stalls", []string{"stalls", "-duration", "300ms"}, exitOK, "wake-ups "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, out, errOut := testCLI(nil)
			if code := c.main(tc.args); code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, tc.contains) {
				t.Errorf("output does not mention %q:\n%s", tc.contains, all)
			}
		})
	}
}

func TestRunHelpListsEveryOption(t *testing.T) {
	c, _, errOut := testCLI(nil)
	c.main([]string{"run", "-h"})
	for _, name := range []string{"broker", "registry", "accel", "start", "duration", "rate", "publishers",
		"inflight", "heartbeat", "spread", "drain", "dup", "reorder", "malformed", "silent", "seed",
		"username", "password", "client-id", "verify", "verify-timeout", "truth", "quiet", "log-level"} {
		if !strings.Contains(errOut.String(), "  -"+name+" ") && !strings.Contains(errOut.String(), "  -"+name+"\n") {
			t.Errorf("run -h does not list -%s", name)
		}
	}
}

func TestBrokerFromEnvironment(t *testing.T) {
	c, _, _ := testCLI(map[string]string{"PARKSIM_BROKER": "tcp://broker.example:1884"})
	var f runFlags
	fs := c.runFlagSet(&f)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if f.opts.BrokerURL != "tcp://broker.example:1884" {
		t.Errorf("broker %q, want the environment's", f.opts.BrokerURL)
	}
}

func TestParseStart(t *testing.T) {
	now := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC) // 04:00 on the 25th in Qiuai
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"08:30", time.Date(2026, 11, 25, 8, 30, 0, 0, cst), true},
		{"2026-11-28T10:00:00+08:00", time.Date(2026, 11, 28, 10, 0, 0, 0, cst), true},
		{"noon", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseStart(tc.in, now)
			if (err == nil) != tc.ok || !got.Equal(tc.want) {
				t.Errorf("parseStart(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

// writeRegistry writes a registry of n spaces in two zones into a new
// folder.
func writeRegistry(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	zones := "zones:\n" +
		"  - {id: Z01, name: east, type: on_street, profile: commuter, lat: 29.85, lon: 121.64}\n" +
		"  - {id: Z02, name: lot, type: off_street, profile: residential, lat: 29.851, lon: 121.641}\n"
	var csv strings.Builder
	csv.WriteString("space_id,zone_id,sensor_id,lat,lon,kind,max_stay_min\n")
	for i := range n {
		z := 1 + i%2
		fmt.Fprintf(&csv, "QA-Z0%d-%04d,Z0%d,S-%06d,29.85%03d,121.64,standard,0\n", z, i, z, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "zones.yaml"), []byte(zones), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spaces.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunAndVerify runs `parksim run` against a real broker, saves the
// truth, and verifies it against an API that agrees, then one that does
// not.
func TestRunAndVerify(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	reg := writeRegistry(t, 40)
	truthFile := filepath.Join(t.TempDir(), "truth.json")
	c, _, errOut := testCLI(nil)
	code := c.main([]string{"run", "-broker", broker.URL, "-registry", reg, "-duration", "2s",
		"-spread", "500ms", "-heartbeat", "1s", "-dup", "10", "-silent", "10", "-truth", truthFile})
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"sensors 40 (silent 4)", "errors 0", "truth of 40 spaces saved"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("run output lacks %q:\n%s", want, errOut)
		}
	}
	f, err := os.Open(truthFile)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := simulator.ReadTruth(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	api := &agreeingAPI{truth: truth}
	srv := httptest.NewServer(api)
	defer srv.Close()

	c, out, errOut := testCLI(map[string]string{"PARKSIM_API": srv.URL})
	if code := c.main([]string{"verify", "-truth", truthFile, "-timeout", "1s"}); code != exitOK {
		t.Fatalf("verify of an agreeing API: exit %d\n%s%s", code, out, errOut)
	}
	api.flip = "QA-Z01-0000"
	c, out, errOut = testCLI(map[string]string{"PARKSIM_API": srv.URL})
	if code := c.main([]string{"verify", "-truth", truthFile, "-timeout", "300ms"}); code != exitMismatch {
		t.Fatalf("verify of a differing API: exit %d, want %d\n%s%s", code, exitMismatch, out, errOut)
	}
	if !strings.Contains(out.String(), "space QA-Z01-0000: want") {
		t.Errorf("report does not name the space:\n%s", out)
	}
}

// agreeingAPI serves spaces, zones and summary as the truth says, except
// that the space flip shows the opposite status.
type agreeingAPI struct {
	truth map[string]simulator.Expected
	flip  string
}

func (a *agreeingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	spaces := []map[string]any{}
	zones := map[string]*occupancy.Counts{}
	var sum occupancy.Counts
	for id, e := range a.truth {
		st := e.Status()
		if id == a.flip && st == occupancy.StatusOccupied {
			st = occupancy.StatusFree
		} else if id == a.flip {
			st = occupancy.StatusOccupied
		}
		zone := id[3:6]
		spaces = append(spaces, map[string]any{"id": id, "zone_id": zone, "status": st})
		if zones[zone] == nil {
			zones[zone] = &occupancy.Counts{}
		}
		zones[zone].Count(st)
		sum.Count(st)
	}
	var body any
	switch r.URL.Path {
	case "/api/v1/spaces":
		body = map[string]any{"spaces": spaces, "next_cursor": nil}
	case "/api/v1/zones":
		list := []any{}
		for id, c := range zones {
			list = append(list, map[string]any{"id": id, "total": c.Total, "free": c.Free,
				"occupied": c.Occupied, "unknown": c.Unknown, "closed": c.Closed})
		}
		body = map[string]any{"zones": list}
	case "/api/v1/summary":
		body = sum
	default:
		http.NotFound(w, r)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}
