package retry

import (
	"testing"
	"time"
)

// TestBackoff checks the waits: each within ±50% of its delay, the delay
// doubling from min and capped at max.
func TestBackoff(t *testing.T) {
	b := Backoff(10*time.Millisecond, 80*time.Millisecond)
	for i, delay := range []time.Duration{10, 20, 40, 80, 80, 80} {
		delay *= time.Millisecond
		if d := b.NextBackOff(); d < delay/2 || d > delay*3/2+1 {
			t.Errorf("wait %d = %v, want %v ±50%%", i, d, delay)
		}
	}
}

func TestWait(t *testing.T) {
	if !Wait(nil, time.Millisecond) {
		t.Error("Wait without stop did not wait fully")
	}
	stop := make(chan struct{})
	close(stop)
	if Wait(stop, time.Hour) {
		t.Error("Wait with stop closed waited fully")
	}
}
