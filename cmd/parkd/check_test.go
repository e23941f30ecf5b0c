package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

func TestCheckCommand(t *testing.T) {
	srv := testenv.MustStartRedis(t)
	ctx := context.Background()
	env := map[string]string{"PARKD_REDIS_URL": srv.URL, "PARKD_REGISTRY": "testdata/registry"}
	getenv := func(k string) string { return env[k] }
	// A store with some state: QA-Z01-0001 free.
	reg, err := occupancy.LoadRegistry("testdata/registry")
	if err != nil {
		t.Fatal(err)
	}
	store, err := redisstore.New(redisstore.Options{Client: srv.Client(t), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Apply(ctx, occupancy.Reading{SensorID: "S-000001", TS: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	check := func(args ...string) (string, error) {
		var out, errw bytes.Buffer
		err := runCheck(ctx, args, getenv, &out, &errw)
		return out.String() + errw.String(), err
	}
	if out, err := check(); err != nil || !strings.Contains(out, "checked 2 zones, 5 spaces: 0 drift item(s)") {
		t.Fatalf("clean store: %v\n%s", err, out)
	}
	srv.Client(t).ZRem(ctx, "pk:{Z01}:free:standard", "QA-Z01-0001")
	srv.Client(t).HSet(ctx, "pk:{Z02}:c", "total", 7)

	out, err := check("-json")
	if !errors.Is(err, errDrift) {
		t.Fatalf("drifted store: err %v, want errDrift (exit status 1)\n%s", err, out)
	}
	var rep occupancy.CheckReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Drift) != 2 || rep.Repaired {
		t.Fatalf("-json report: %v\n%s", err, out)
	}
	out, err = check("-repair")
	if err != nil || !strings.Contains(out, "2 drift item(s), 0 not fixed") ||
		!strings.Contains(out, `zone Z01: free_set QA-Z01-0001: expected "free:standard", found "" (fixed)`) {
		t.Fatalf("-repair: %v\n%s", err, out)
	}
	if out, err := check(); err != nil || !strings.Contains(out, "0 drift item(s)") {
		t.Fatalf("after repair: %v\n%s", err, out)
	}
	// An empty Redis: every space is missing; the text report stays short.
	srv.Client(t).FlushAll(ctx)
	out, err = check()
	if !errors.Is(err, errDrift) || strings.Count(out, "\n") > maxReportLines+10 ||
		!strings.Contains(out, "missing_state: 5") {
		t.Fatalf("empty Redis: %v\n%s", err, out)
	}
}

func TestCheckCommandDispatchAndErrors(t *testing.T) {
	var stderr bytes.Buffer
	getenv := func(string) string { return "" }
	if err := realMain(context.Background(), []string{"check", "-h"}, getenv, &stderr); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(stderr.String(), "parkd check [-repair]") {
		t.Fatalf("parkd check -h: %v\n%s", err, stderr.String())
	}
	env := map[string]string{"PARKD_REGISTRY": "testdata/registry",
		"PARKD_REDIS_URL": "redis://u:hunter2@127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/0"}
	err := runCheck(context.Background(), nil, func(k string) string { return env[k] }, &stderr, &stderr)
	if err == nil || errors.Is(err, errDrift) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("check against a closed port: %v; want a connection error without the password", err)
	}
}

func TestCheckReportTextIsCapped(t *testing.T) {
	rep := occupancy.CheckReport{Zones: 1, Spaces: 250}
	for i := range 250 {
		rep.Drift = append(rep.Drift, occupancy.Drift{Zone: "Z01", Kind: occupancy.DriftMissing, What: strconv.Itoa(i)})
	}
	var out bytes.Buffer
	printReport(&out, rep)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != maxReportLines+3 || !strings.Contains(out.String(), "… and 150 more") ||
		lines[len(lines)-1] != "  missing_state: 250" {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
}
