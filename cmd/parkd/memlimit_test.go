package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	prevGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetMemoryLimit(prev); debug.SetGCPercent(prevGC) })
	tests := []struct {
		name, limit, gogc string
		set               bool // whether parkd sets a limit of its own
		wantGC            int
	}{
		{"default", "", "", true, gcPercent},
		{"GOGC decides the percent", "", "150", true, 100},
		{"GOMEMLIMIT decides", "1GiB", "", false, 100},
		{"GOMEMLIMIT=off decides", "off", "", false, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			debug.SetGCPercent(100) // stands for what the runtime took from GOGC
			setMemoryLimit(func(k string) string {
				return map[string]string{"GOMEMLIMIT": tc.limit, "GOGC": tc.gogc}[k]
			}, slog.New(slog.DiscardHandler))
			got := debug.SetMemoryLimit(-1)
			switch {
			case tc.set && (got < memoryHeadroom || got > memoryHeadroom+1<<30):
				t.Errorf("limit %d, want the live heap + %d", got, memoryHeadroom)
			case !tc.set && got != math.MaxInt64:
				t.Errorf("limit %d, want it left to GOMEMLIMIT", got)
			}
			if gc := debug.SetGCPercent(100); gc != tc.wantGC {
				t.Errorf("GOGC %d, want %d", gc, tc.wantGC)
			}
		})
	}
}
