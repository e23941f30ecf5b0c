package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	tests := []struct {
		name, env string
		set       bool // whether parkd sets a limit of its own
	}{
		{"default", "", true},
		{"GOMEMLIMIT decides", "1GiB", false},
		{"GOMEMLIMIT=off decides", "off", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(math.MaxInt64)
			setMemoryLimit(func(k string) string {
				if k == "GOMEMLIMIT" {
					return tc.env
				}
				return ""
			}, slog.New(slog.DiscardHandler))
			got := debug.SetMemoryLimit(-1)
			switch {
			case tc.set && (got < memoryHeadroom || got > memoryHeadroom+1<<30):
				t.Errorf("limit %d, want the live heap + %d", got, memoryHeadroom)
			case !tc.set && got != math.MaxInt64:
				t.Errorf("limit %d, want it left to GOMEMLIMIT", got)
			}
		})
	}
}
