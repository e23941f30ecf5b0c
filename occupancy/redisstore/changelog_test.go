package redisstore_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// TestChangeLogCountsAsAFullRead: what the detector counts of each space's
// changes in the last hour, reading only what each zone's stream gained
// since its last pass, equals what SensorHealth counts from a read of the
// whole window, as the clock moves on (changes leave the window) and after
// a zone's stream was trimmed past the position last read.
func TestChangeLogCountsAsAFullRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &syncClock{now: t0}
		s := newClockedStore(t, rdb, clk)
		rng := rand.New(rand.NewPCG(1, 2))
		sensors := []string{"S1", "S2", "S3", "S4", "S5", "S6"}
		occupied := map[string]bool{}
		seq := uint64(0)
		flip := func(sensor string) {
			seq++
			occupied[sensor] = !occupied[sensor]
			mustApply(t, s, reading(sensor, occupied[sensor], clk.Now(), seq), occupancy.ResultApplied)
		}
		compare := func(when string) {
			t.Helper()
			for _, zone := range []string{"A", "B"} {
				got, err := s.ChangesOfZone(ctx, zone)
				if err != nil {
					t.Fatal(err)
				}
				health, err := s.SensorHealth(ctx, zone)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{}
				for _, h := range health {
					if h.ChangesLastHour > 0 {
						want[h.State.SpaceID] = h.ChangesLastHour
					}
				}
				if !maps.Equal(got, want) {
					t.Fatalf("%s, zone %s: the detector counts %v, a full read %v", when, zone, got, want)
				}
			}
		}
		compare("empty streams")
		for step := range 30 {
			clk.Set(clk.Now().Add(time.Duration(rng.IntN(8)) * time.Minute))
			for range rng.IntN(12) {
				flip(sensors[rng.IntN(len(sensors))])
			}
			compare(fmt.Sprint("step ", step))
		}
		// Zone B's stream is capped at 1000 entries (eventMin): 1500
		// changes between two passes trim it past the position read.
		for range 1500 {
			flip(sensors[4+rng.IntN(2)])
		}
		compare("after a trim")
		clk.Set(clk.Now().Add(2 * time.Hour))
		compare("two hours later")
	})
}
