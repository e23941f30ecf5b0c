package main

import (
	"testing"
	"time"
)

func TestSlowSplit(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var s slowSplit
	if got := s.String(); got != "no sample over 20ms" {
		t.Errorf("nothing slow: %q", got)
	}
	s.add(ms(5), ms(4))    // fast: not counted
	s.add(ms(100), ms(90)) // held before the store call
	s.add(ms(60), ms(55))
	s.add(ms(30), ms(2))  // held after it
	s.add(ms(40), -1)     // slow, its store call time unknown
	s.add(ms(25), ms(30)) // last_seen after the answer (clock rounding): all before
	want := "5 over 20ms, median 55.0 ms of it before parkd's store call (broker, parkd's queue) and 10.0 ms after (Redis, API)"
	if got := s.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestBeforeStore(t *testing.T) {
	pub := time.Date(2026, 12, 2, 19, 0, 0, 0, time.UTC)
	ts := pub.Add(-time.Second) // the reading's sensor time
	seen := pub.Add(12 * time.Millisecond)
	newer := ts.Add(700 * time.Millisecond)
	tests := []struct {
		name string
		v    spaceView
		want time.Duration
	}{
		{"the sampled reading", spaceView{Since: &ts, LastSeen: &seen}, 12 * time.Millisecond},
		{"a newer reading of the sensor", spaceView{Since: &newer, LastSeen: &seen}, -1},
		{"no last_seen", spaceView{Since: &ts}, -1},
		{"never seen", spaceView{}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.v.beforeStore(pub, ts.UnixMilli()); got != tc.want {
				t.Errorf("beforeStore = %v, want %v", got, tc.want)
			}
		})
	}
}
