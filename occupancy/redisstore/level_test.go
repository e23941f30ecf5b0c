package redisstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// levelRegistry has one on-street zone L of 20 spaces.
func levelRegistry(tb testing.TB) *occupancy.Registry {
	tb.Helper()
	zones := []occupancy.Zone{{ID: "L", Name: "L", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64}}
	var spaces []occupancy.Space
	for i := range 20 {
		spaces = append(spaces, occupancy.Space{ID: fmt.Sprintf("L-%02d", i), ZoneID: "L", SensorID: fmt.Sprintf("SL%02d", i),
			Lat: 29.85 + float64(i)*1e-4, Lon: 121.64, Kind: occupancy.KindStandard})
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

func newLevelStore(tb testing.TB, rdb redis.UniversalClient, clk *clock, reg *occupancy.Registry) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now, OfflineAfter: 30 * time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

func zoneLevel(tb testing.TB, s *redisstore.Store) occupancy.ZoneState {
	tb.Helper()
	z, err := s.Zone(context.Background(), "L")
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// TestLevelHysteresis fills and empties zone L one space at a time and
// checks that the level rises and falls at different thresholds.
func TestLevelHysteresis(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		s := newLevelStore(t, rdb, clk, levelRegistry(t))
		if z := zoneLevel(t, s); z.Level != occupancy.LevelUnknown {
			t.Fatalf("never heard zone: level %s, want unknown", z.Level)
		}
		seq := uint64(0)
		set := func(i int, occupied bool) occupancy.Level {
			seq++
			mustApply(t, s, reading(fmt.Sprintf("SL%02d", i), occupied, t0.Add(time.Duration(seq)*time.Second), seq), occupancy.ResultApplied)
			return zoneLevel(t, s).Level
		}
		for i := range 20 {
			set(i, false)
		}
		for i := range 16 { // up to 16/20 = 80% occupied
			if got := set(i, true); got != occupancy.LevelSpacesAvailable {
				t.Fatalf("%d occupied: level %s, want spacesAvailable", i+1, got)
			}
		}
		// On-street: almostFull 85 on / 80 off, full 100 on / 95 off.
		want := []struct {
			space    int
			occupied bool
			want     occupancy.Level
		}{
			{16, true, occupancy.LevelAlmostFull},       // 17/20 = 85%
			{16, false, occupancy.LevelAlmostFull},      // 80%: holds
			{15, false, occupancy.LevelSpacesAvailable}, // 75%: falls
			{15, true, occupancy.LevelSpacesAvailable},  // 80%: not yet
			{16, true, occupancy.LevelAlmostFull},
			{17, true, occupancy.LevelAlmostFull},
			{18, true, occupancy.LevelAlmostFull}, // 95%
			{19, true, occupancy.LevelFull},       // 100%
			{19, false, occupancy.LevelFull},      // 95%: holds
			{18, false, occupancy.LevelAlmostFull},
		}
		for _, st := range want {
			if got := set(st.space, st.occupied); got != st.want {
				t.Fatalf("space %d occupied=%v: level %s, want %s", st.space, st.occupied, got, st.want)
			}
		}
		if _, err := s.CloseZone(context.Background(), "L", occupancy.Closure{Reason: "x"}); err != nil {
			t.Fatal(err)
		}
		if z := zoneLevel(t, s); z.Level != occupancy.LevelClosed {
			t.Fatalf("closed zone: level %s", z.Level)
		}
	})
}

// TestLevelMatchesNextLevel drives zone L at random (readings, closures,
// silence) and checks after every step that the scripts' level is
// occupancy.NextLevel of the counters and the previous level.
func TestLevelMatchesNextLevel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		clk := &clock{now: t0}
		reg := levelRegistry(t)
		s := newLevelStore(t, rdb, clk, reg)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		th := occupancy.DefaultLevelThresholds[occupancy.OnStreet]
		prev := zoneLevel(t, s).Level
		seen := map[occupancy.Level]int{}
		for step := range 600 {
			clk.now = clk.now.Add(time.Minute)
			i := rng.IntN(20)
			id := fmt.Sprintf("L-%02d", i)
			switch r := rng.IntN(100); {
			case r < 3:
				_, _ = s.CloseSpace(ctx, id, occupancy.Closure{Reason: "x"})
			case r < 8:
				if err := s.OpenSpace(ctx, id); err != nil {
					t.Fatal(err)
				}
			case r < 9:
				if _, err := s.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			default:
				// Mostly occupied, so the walk reaches the upper levels.
				mustApply(t, s, reading(fmt.Sprintf("SL%02d", i), rng.IntN(100) < 80, clk.now, uint64(step)), occupancy.ResultApplied)
			}
			z := zoneLevel(t, s)
			want := occupancy.NextLevel(prev, z.Counts, th)
			if z.Level != want {
				t.Fatalf("step %d: counts %+v after %s: level %s, NextLevel says %s", step, z.Counts, prev, z.Level, want)
			}
			prev = z.Level
			seen[z.Level]++
		}
		for _, l := range []occupancy.Level{occupancy.LevelSpacesAvailable, occupancy.LevelAlmostFull, occupancy.LevelFull} {
			if seen[l] == 0 {
				t.Errorf("the walk never reached %s (%v): the test proves little", l, seen)
			}
		}
	})
}
