package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// stallTick is how long the stall probe sleeps each time.
const stallTick = time.Millisecond

// stallLate is how late a wake-up must be to count as a stall.
const stallLate = 10 * time.Millisecond

// stalls measures how late a process that only sleeps 1 ms at a time wakes
// up on this machine: the time a runnable process waits for a CPU, whether
// the machine's own processes hold both or the hypervisor runs another
// guest. A latency target of a few ms cannot be met through a stall longer
// than itself, so the bench runs it beside each attack of (d) and reports
// what it saw, and an operator can run it before a load test to see whether
// the machine is quiet.
func (c *cli) stalls(args []string) error {
	fs := c.newFlagSet("parksim stalls", "parksim stalls [flags]")
	dur := fs.Duration("duration", 10*time.Second, "how long to measure; SIGTERM or Ctrl-C ends it early, with the report")
	quiet := fs.Bool("quiet", false, "no progress line every 10 s")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dur <= 0 {
		fmt.Fprintf(c.stderr, "-duration %v must be positive\n", *dur)
		return usageError{fmt.Errorf("stalls: -duration %v must be positive", *dur)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var progress func(stallReport)
	if !*quiet {
		progress = func(r stallReport) { fmt.Fprintf(c.stderr, "stalls: %s\n", r) }
	}
	fmt.Fprintln(c.stdout, measureStalls(ctx, stallTick, progress))
	return nil
}

// stallReport is what the stall probe saw.
type stallReport struct {
	wakeups int
	late    *hdrhistogram.Histogram // how late each wake-up was, µs
	stalls  int                     // wake-ups at least stallLate late
	worst   time.Duration
	worstAt time.Time
}

// String is the report's one line; the bench reads it back from the log
// (reportLine), so it starts with "wake-ups ".
func (r stallReport) String() string {
	if r.wakeups == 0 {
		return "wake-ups 0"
	}
	return fmt.Sprintf("wake-ups %d, %d of them ≥ %v late (worst %.1f ms at %s), p99 %.1f ms late",
		r.wakeups, r.stalls, stallLate, ms(r.worst), r.worstAt.Format("15:04:05.000"),
		float64(r.late.ValueAtQuantile(99))/1000)
}

// record counts a wake-up due at due that came late.
func (r *stallReport) record(due time.Time, late time.Duration) {
	late = max(0, late)
	r.wakeups++
	_ = r.late.RecordValue(max(1, late.Microseconds()))
	if late >= stallLate {
		r.stalls++
	}
	if late > r.worst {
		r.worst, r.worstAt = late, due
	}
}

// newStallReport returns an empty report.
func newStallReport() stallReport {
	return stallReport{late: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
}

// measureStalls sleeps tick at a time until ctx is done and reports how
// late it woke up; progress, if not nil, gets the report so far every 10 s.
func measureStalls(ctx context.Context, tick time.Duration, progress func(stallReport)) stallReport {
	r := newStallReport()
	t := time.NewTimer(tick)
	defer t.Stop()
	next := time.Now().Add(10 * time.Second)
	for {
		start := time.Now()
		t.Reset(tick)
		select {
		case <-ctx.Done():
			return r
		case now := <-t.C:
			r.record(start.Add(tick), now.Sub(start)-tick)
			if progress != nil && now.After(next) {
				progress(r)
				next = now.Add(10 * time.Second)
			}
		}
	}
}
