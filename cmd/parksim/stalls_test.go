package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestStallReport(t *testing.T) {
	r := newStallReport()
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for i := range 200 {
		r.record(t0.Add(time.Duration(i)*time.Millisecond), 100*time.Microsecond)
	}
	r.record(t0.Add(time.Second), 12*time.Millisecond)
	r.record(t0.Add(2*time.Second), 35*time.Millisecond)
	r.record(t0.Add(3*time.Second), 9*time.Millisecond) // late, but under stallLate
	r.record(t0.Add(4*time.Second), -time.Microsecond)  // early: counts as on time
	want := "wake-ups 204, 2 of them ≥ 10ms late (worst 35.0 ms at 08:00:02.000), p99 9.0 ms late"
	if got := r.String(); got != want {
		t.Errorf("report\n%s\nwant\n%s", got, want)
	}
}

// TestMeasureStalls runs the probe for a moment: it wakes up about once a
// millisecond and stops with its context.
func TestMeasureStalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := measureStalls(ctx, time.Millisecond, nil)
	if took := time.Since(start); took > time.Second {
		t.Errorf("measureStalls took %v to stop after its 200 ms", took)
	}
	if r.wakeups < 20 || r.wakeups > 200 {
		t.Errorf("%d wake-ups in 200 ms of 1 ms sleeps", r.wakeups)
	}
	if !strings.HasPrefix(r.String(), "wake-ups ") {
		t.Errorf("report %q does not start with the prefix the bench reads", r)
	}
}

func TestWorstSecond(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	secs := make(bySecond, 3)
	for range 200 {
		secs[0] = append(secs[0], ms(1))
		secs[1] = append(secs[1], ms(1))
		secs[2] = append(secs[2], ms(2))
	}
	for i := range 5 { // 2.5 % of second 1 are slow: its p99 is slow
		secs[1][i] = ms(40 + i)
	}
	if got := secs.worst(); got != "+1s p99 43.0 ms" {
		t.Errorf("worstSecond = %q, want +1s p99 43.0 ms", got)
	}
	if got := secs.String(); got != "1.0 43.0 2.0" {
		t.Errorf("p99 by second = %q, want 1.0 43.0 2.0", got)
	}
	if got := (bySecond{}).worst(); got != "none" {
		t.Errorf("worstSecond of nothing = %q, want none", got)
	}
}
