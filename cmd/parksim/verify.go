package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/qiuai/parking/simulator"
)

// verify is `parksim verify`: it compares a saved truth with parkd's API.
func (c *cli) verify(args []string) error {
	fs := c.newFlagSet("verify", "parksim verify -api URL -truth FILE [flags]")
	api := fs.String("api", c.envOr("PARKSIM_API", "http://127.0.0.1:8080"), "parkd API base `URL` (env PARKSIM_API)")
	truthFile := fs.String("truth", "", "truth `FILE` saved by parksim run -truth (required)")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to retry until everything matches")
	maxListed := fs.Int("max", 20, "mismatches to list")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *truthFile == "" {
		fmt.Fprintln(fs.Output(), "-truth is required")
		fs.Usage()
		return usageError{fmt.Errorf("-truth is required")}
	}
	f, err := os.Open(*truthFile)
	if err != nil {
		return err
	}
	defer f.Close()
	truth, err := simulator.ReadTruth(f)
	if err != nil {
		return err
	}
	return c.verifyTruth(context.Background(), *api, truth, simulator.VerifyOptions{Timeout: *timeout, MaxListed: *maxListed})
}

// verifyTruth runs Verify, prints its report and returns mismatchError if
// anything differs.
func (c *cli) verifyTruth(ctx context.Context, api string, truth map[string]simulator.Expected, opts simulator.VerifyOptions) error {
	fmt.Fprintf(c.stderr, "parksim: verifying %d spaces against %s (up to %s)\n", len(truth), api, opts.Timeout)
	rep, err := simulator.Verify(ctx, api, truth, opts)
	fmt.Fprintln(c.stdout, rep.String())
	for _, m := range rep.Mismatches {
		fmt.Fprintf(c.stdout, "  space %s: want %s, got %s%s\n", m.SpaceID, orNone(string(m.Want), "(not in truth)"),
			orNone(string(m.Got), "(not listed)"), reading(m.Expected))
	}
	for _, p := range rep.Counters {
		fmt.Fprintf(c.stdout, "  counters: %s\n", p)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return mismatchError{}
	}
	return nil
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// reading describes the newest reading of a truth entry.
func reading(e simulator.Expected) string {
	if !e.Sent {
		return ""
	}
	return fmt.Sprintf(" (sensor %s, newest reading seq %d at %s, occupied %v)",
		e.SensorID, e.Seq, e.TS.Format("15:04:05.000"), e.Occupied)
}
