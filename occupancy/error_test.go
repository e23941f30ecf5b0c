package occupancy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// TestUnavailableKeepsItsCause: an outage error has its own code and a
// message for clients that says nothing of the cause, while the cause stays
// in the chain (errors.Is) and in the text for logs, through wrapping.
func TestUnavailableKeepsItsCause(t *testing.T) {
	cause := fmt.Errorf("dial tcp 10.0.0.5:6379: %w", io.ErrUnexpectedEOF)
	err := fmt.Errorf("redis store: get zones: %w", occupancy.Unavailable(cause))
	if c := occupancy.ErrorCode(err); c != occupancy.EUNAVAILABLE {
		t.Errorf("code %q, want %q", c, occupancy.EUNAVAILABLE)
	}
	if msg := occupancy.ErrorMessage(err); strings.Contains(msg, "10.0.0.5") || msg == "" {
		t.Errorf("client message %q: empty or shows the cause", msg)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Error("the cause is not in the chain")
	}
	if !strings.Contains(err.Error(), "10.0.0.5:6379") {
		t.Errorf("log text %q lacks the cause", err)
	}
	plain := occupancy.Errorf(occupancy.ENOTFOUND, "space X not found")
	if plain.Error() != "occupancy error: code=not_found message=space X not found" || errors.Unwrap(plain) != nil {
		t.Errorf("an error without a cause reads %q", plain)
	}
}

// TestStaleness: readers mark a request's answer stale with the time they
// last heard from the store; the oldest such time is kept, a context
// without a Staleness takes marks harmlessly, and marks from several
// goroutines are safe.
func TestStaleness(t *testing.T) {
	occupancy.MarkStale(context.Background(), time.Now()) // no Staleness: nothing happens
	ctx, st := occupancy.WithStaleness(context.Background())
	if _, stale := st.Stale(); stale {
		t.Fatal("stale before any mark")
	}
	t0 := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); occupancy.MarkStale(ctx, t0.Add(time.Duration(8-i)*time.Second)) }()
	}
	wg.Wait()
	if at, stale := st.Stale(); !stale || !at.Equal(t0.Add(time.Second)) {
		t.Errorf("Stale() = %v, %v; want the oldest mark %v", at, stale, t0.Add(time.Second))
	}
}
