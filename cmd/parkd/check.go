package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

const checkUsage = `parkd check: recompute every zone's counters and free-space geo sets
from its spaces' states in Redis and report the drift.

Usage:
  parkd check [-repair] [-json] [-config FILE]

Each zone is checked (and repaired) by one atomic Redis script, so it is safe
while parkd runs. -repair corrects the counters and indexes and stores
registry spaces that have no state as unknown; states of spaces that are no
longer in the registry are only reported. Exit status 1 when drift remains.

Options:
`

// errDrift is returned when the check found drift it did not repair.
var errDrift = errors.New("drift found")

// runCheck runs `parkd check`: it prints the report on stdout and returns
// errDrift (exit status 1) when drift is left.
func runCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parkd check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkUsage); fs.PrintDefaults() }
	config := configFlag(fs, getenv)
	repair := fs.Bool("repair", false, "repair the drift found")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	rep, err := checkStore(ctx, cfg, *repair)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep)
	}
	if n := rep.Unfixed(); n > 0 {
		return fmt.Errorf("check: %w: %d item(s) not repaired (parkd check -repair fixes counters and indexes)", errDrift, n)
	}
	return nil
}

// checkStore loads the registry, connects to Redis and runs the check.
func checkStore(ctx context.Context, cfg Config, repair bool) (occupancy.CheckReport, error) {
	reg, err := occupancy.LoadRegistry(cfg.Registry)
	if err != nil {
		return occupancy.CheckReport{}, fmt.Errorf("registry %s: %w", cfg.Registry, errors.New(occupancy.ErrorMessage(err)))
	}
	rdb, err := newRedisClient(cfg)
	if err != nil {
		return occupancy.CheckReport{}, err
	}
	defer rdb.Close()
	store, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Prefix: cfg.Redis.Prefix,
		OfflineAfter: cfg.OfflineAfter})
	if err != nil {
		return occupancy.CheckReport{}, err
	}
	return store.Check(ctx, repair)
}

// maxReportLines caps the drift lines of the text report; -json lists all.
const maxReportLines = 100

// printReport writes one line per drift item (at most maxReportLines) and a
// summary with the count of each kind.
func printReport(w io.Writer, rep occupancy.CheckReport) {
	kinds := map[string]int{}
	for i, d := range rep.Drift {
		kinds[d.Kind]++
		if i == maxReportLines {
			fmt.Fprintf(w, "… and %d more (-json lists them all)\n", len(rep.Drift)-maxReportLines)
		}
		if i >= maxReportLines {
			continue
		}
		state := "not fixed"
		if d.Fixed {
			state = "fixed"
		}
		fmt.Fprintf(w, "zone %s: %s %s: expected %q, found %q (%s)\n", d.Zone, d.Kind, d.What, d.Expected, d.Found, state)
	}
	fmt.Fprintf(w, "checked %d zones, %d spaces: %d drift item(s), %d not fixed\n",
		rep.Zones, rep.Spaces, len(rep.Drift), rep.Unfixed())
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(w, "  %s: %d\n", k, kinds[k])
	}
}
