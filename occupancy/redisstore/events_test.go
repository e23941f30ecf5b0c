package redisstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// eventLine is an event as "type space status" (zone events with the
// zone's counts).
func eventLine(e occupancy.Event) string {
	if e.Type == occupancy.EventZone {
		var d occupancy.ZoneEventData
		_ = json.Unmarshal(e.WithData().Data, &d)
		return fmt.Sprintf("zone %s f%d o%d u%d", e.ZoneID, d.Free, d.Occupied, d.Unknown)
	}
	return fmt.Sprintf("%s %s %s", e.Type, e.SpaceID, e.Status)
}

func readAll(t *testing.T, s *redisstore.Store, c *occupancy.EventCursor) []string {
	t.Helper()
	evs, _, err := s.ReadEvents(context.Background(), c, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, eventLine(e))
	}
	return out
}

func TestEventFeed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		clk := &clock{now: t0}
		s := newStore(t, rdb, clk)
		c, err := s.EventsNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		mustApply(t, s, reading("S1", false, t0.Add(time.Second), 2), occupancy.ResultApplied) // no change: no event
		mustApply(t, s, reading("S5", true, t0, 1), occupancy.ResultApplied)
		if _, err := s.Publish(ctx, occupancy.Event{Type: occupancy.EventIncident, ZoneID: "B", SpaceID: "B-1", Status: "open",
			Data: json.RawMessage(`{"id":"x"}`)}); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(readAll(t, s, c))
		want := "[space A-1 free zone A f1 o0 u3 space B-1 occupied zone B f0 o1 u1 incident B-1 open]"
		if got != want {
			t.Errorf("feed %s\nwant %s", got, want)
		}
		zb, err := s.Zone(ctx, "B")
		if err != nil || feedLevel(t, s, "B-1") != string(zb.Level) || zb.Level == "" {
			t.Errorf("zone B level %q (%v), zone events say otherwise", zb.Level, err)
		}
		if again := readAll(t, s, c); len(again) != 0 {
			t.Errorf("read again: %v", again)
		}

		clk.now = t0.Add(31 * time.Minute)
		if n, err := s.Sweep(ctx); err != nil || n != 2 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if got := fmt.Sprint(readAll(t, s, c)); got != "[space A-1 unknown zone A f0 o0 u4 space B-1 unknown zone B f0 o0 u2]" {
			t.Errorf("after the sweep: %s", got)
		}

		if _, err := s.CloseSpace(ctx, "A-2", occupancy.Closure{Reason: "roadworks"}); err != nil {
			t.Fatal(err)
		}
		if err := s.OpenSpace(ctx, "A-2"); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(readAll(t, s, c)); got != "[space A-2 closed zone A f0 o0 u3 space A-2 unknown zone A f0 o0 u4]" {
			t.Errorf("after closing and opening A-2: %s", got)
		}

		if _, err := s.Publish(ctx, occupancy.Event{Type: occupancy.EventIncident, ZoneID: "nowhere"}); occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Errorf("publish to an unknown zone: %v", err)
		}
		for _, bad := range []string{"", "x", "1-2", "1-x@A", "a-1@A", "1-1@"} {
			if _, err := s.EventsAfter(bad); occupancy.ErrorCode(err) != occupancy.EINVALID {
				t.Errorf("EventsAfter(%q): %v", bad, err)
			}
		}
	})
}

// TestEventResume: resuming after an event gives, in its zone, exactly what
// follows it, and in the other zones everything from the resume window
// before it (so nothing is missed; a repeat is possible).
func TestEventResume(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	s := newStore(t, storetest.Backends[0].Start(t), clk)
	start, _ := s.EventsNow(ctx)
	mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S5", true, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S2", true, t0, 1), occupancy.ResultApplied)
	evs, _, err := s.ReadEvents(ctx, start, 100, 0)
	if err != nil || len(evs) != 6 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	c, err := s.EventsAfter(evs[0].ID) // after A-1's change
	if err != nil {
		t.Fatal(err)
	}
	lines := readAll(t, s, c)
	slices.Sort(lines) // zones' streams merge by time; within a millisecond their order is the zones'
	got := fmt.Sprint(lines)
	if want := "[space A-2 occupied space B-1 occupied zone A f0 o2 u2 zone B f0 o1 u1]"; got != want {
		t.Errorf("resumed: %s, want %s", got, want)
	}
}

// feedLevel re-reads the feed from the start and
// returns the level of the last zone event after a change of space.
func feedLevel(t *testing.T, s *redisstore.Store, space string) string {
	t.Helper()
	c, err := s.EventsAfter("0-0@A")
	if err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.ReadEvents(context.Background(), c, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	level, last := "", ""
	for _, e := range evs {
		if e.Type == occupancy.EventSpace {
			last = e.SpaceID
		}
		if e.Type == occupancy.EventZone && last == space {
			var d occupancy.ZoneEventData
			_ = json.Unmarshal(e.WithData().Data, &d)
			level = d.Level
		}
	}
	return level
}

// TestEventStreamKeepsTheLastHour checks that changes trim their zone's
// stream by time: entries older than the window before the new entry go
// (on one change in 16, by the new id's time; Redis trims whole nodes of 100
// entries, miniredis exactly), the newest stay, whatever the injected clock
// says.
func TestEventStreamKeepsTheLastHour(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := newStore(t, rdb, &clock{now: t0})
		const old = 250 // ids 1-0 .. 250-0: 1970, far older than an hour
		for i := 1; i <= old; i++ {
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "pk:{A}:ev", ID: fmt.Sprintf("%d-0", i),
				Values: []any{"t", "space", "s", "A-1", "st", "f"}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		var left []redis.XMessage
		changes := 0
		// 100 changes 1 ms or more apart span 16 ms: one of them trims.
		for ; changes < 100; changes++ {
			mustApply(t, s, reading("S1", changes%2 == 0, t0.Add(time.Duration(changes)*time.Second), 1), occupancy.ResultApplied)
			var err error
			if left, err = rdb.XRangeN(ctx, "pk:{A}:ev", "-", fmt.Sprintf("%d-0", old), old).Result(); err != nil {
				t.Fatal(err)
			}
			if len(left) <= 100 {
				changes++
				break
			}
			time.Sleep(time.Millisecond)
		}
		if len(left) > 100 {
			t.Errorf("%d of %d entries older than an hour left after %d changes, want at most a node's 100", len(left), old, changes)
		}
		all, err := rdb.XLen(ctx, "pk:{A}:ev").Result()
		if err != nil || all-int64(len(left)) != int64(changes) {
			t.Errorf("stream has %d entries, %d old: %v; want the %d new ones kept", all, len(left), err, changes)
		}
	})
}

// TestSpaceEventEntryIsSlim checks the entry of a change when the store's
// clock is Redis's: no ms (the id says when), no unknown count, the level as
// a letter; and that it still reads as the space's and the zone's events
// with the right time, counts and level, and counts as a change.
func TestSpaceEventEntryIsSlim(t *testing.T) {
	forEachBackend(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		now := time.Now()
		s := newStore(t, rdb, &clock{now: now})
		mustApply(t, s, reading("S5", true, now, 1), occupancy.ResultApplied)
		msgs, err := rdb.XRange(ctx, "pk:{B}:ev", "-", "+").Result()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("zone B stream: %v, %v; want one entry", msgs, err)
		}
		zb, err := s.Zone(ctx, "B")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"t": "space", "s": "B-1", "st": "o", "n": "2", "f": "0", "o": "1", "c": "0",
			"l": string(zb.Level[:1])}
		if fmt.Sprint(msgs[0].Values) != fmt.Sprint(want) {
			t.Errorf("entry %v\nwant  %v", msgs[0].Values, want)
		}
		c, err := s.EventsAfter("0-1@B")
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := s.ReadEvents(ctx, c, 10, 0)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events %v, %v; want the space's and the zone's", evs, err)
		}
		if d := evs[0].Time.Sub(now); d < -time.Second || d > time.Second {
			t.Errorf("event time %v, want about %v", evs[0].Time, now)
		}
		var zd occupancy.ZoneEventData
		if err := json.Unmarshal(evs[1].WithData().Data, &zd); err != nil || zd.Unknown != 1 || zd.Total != 2 || zd.Level != string(zb.Level) {
			t.Errorf("zone event %s (%v), want total 2 unknown 1 level %s", evs[1].WithData().Data, err, zb.Level)
		}
		if h := healthOf(t, s, "B", "B-1"); h.ChangesLastHour != 1 {
			t.Errorf("B-1 changes %d, want 1", h.ChangesLastHour)
		}
	})
}
