package readmodel_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/readmodel"
)

// The unit tests of the model run it over an in-memory store (fake_test.go)
// with batches made by hand; live_test.go and compare_test.go run it over
// Redis behind a real feed.Tailer.

func TestModelBuildsFromSnapshotsAtItsFirstBatch(t *testing.T) {
	u := newUnit(t, readmodel.Options{})
	u.change(occupancy.StatusFree, "A-1") // before the model: the snapshot holds it
	u.change(occupancy.StatusOccupied, "B-1")
	if got := ids(u.nearby()); !slices.Equal(got, []string{storeMark}) || u.m.Stats().Synced {
		t.Fatalf("before the first batch: nearby %v, stats %+v; want the store's answer", got, u.m.Stats())
	}
	if _, err := u.m.Zones(context.Background()); err != nil || u.fs.fallback("Zones") != 1 {
		t.Fatalf("before the first batch: Zones %v, %d store calls; want the store's answer", err, u.fs.fallback("Zones"))
	}

	u.deliver(nil)
	if snaps, _ := u.fs.calls(); !slices.Equal(snaps, []string{"A", "B"}) {
		t.Errorf("the build read %v whole, want every zone once", snaps)
	}
	if got := u.statuses("A-1", "A-2", "B-1", "B-2"); got != "fuou" {
		t.Errorf("statuses %s, want fuou", got)
	}
	got := u.nearby()
	if fmt.Sprint(ids(got)) != "[A-1]" || got[0].State != u.fs.states["A-1"] {
		t.Errorf("nearby %+v, want A-1 with its stored state %+v", got, u.fs.states["A-1"])
	}
	zones, err := u.m.Zones(context.Background())
	if err != nil || fmt.Sprint(zones) != fmt.Sprint(u.fs.truth()) || u.fs.fallback("Zones") != 1 {
		t.Errorf("zones %v (%v), want %v from memory", zones, err, u.fs.truth())
	}
	if st := u.m.Stats(); !st.Synced || st.FromIndex != 1 || st.FromStore != 1 || st.Resyncs != 0 {
		t.Errorf("stats %+v: want synced, one answer from each path, no resync", st)
	}
}

// change is one entry of a zone's feed: ids set to st.
type change struct {
	st  occupancy.Status
	ids []string
}

func TestModelAppliesEventsInOrder(t *testing.T) {
	free, occ, closed := occupancy.StatusFree, occupancy.StatusOccupied, occupancy.StatusClosed
	for _, tc := range []struct {
		name    string
		changes []change
		want    string // statuses of, B-1
		fetched string // the spaces whose states are read after the batch
	}{
		{"free, then occupied", []change{{free, []string{"A-1"}}, {occ, []string{"A-1"}}}, "ouuu", "[]"},
		{"occupied, then free", []change{{occ, []string{"A-1"}}, {free, []string{"A-1"}}}, "fuuu", "[[A-1]]"},
		{"an entry of several spaces", []change{{free, []string{"A-1", "A-2"}}, {occ, []string{"A-2"}}}, "fouu", "[[A-1]]"},
		{"closed after free", []change{{free, []string{"A-3"}}, {closed, []string{"A-3"}}}, "uucu", "[]"},
		{"two zones, one read", []change{{free, []string{"B-1"}}, {free, []string{"A-2"}}}, "ufuf", "[[A-2 B-1]]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, readmodel.Options{})
			u.deliver(nil)
			u.fs.calls()
			var evs []occupancy.Event
			for i, c := range tc.changes {
				u.clk.Set(u.clk.Now().Add(time.Duration(i) * time.Second))
				evs = append(evs, u.change(c.st, c.ids...)...)
			}
			u.deliver(evs)
			if got := u.statuses("A-1", "A-2", "A-3", "B-1"); got != tc.want {
				t.Errorf("statuses %s, want %s", got, tc.want)
			}
			if _, states := u.fs.calls(); fmt.Sprint(states) != tc.fetched {
				t.Errorf("states read %v, want %s", states, tc.fetched)
			}
			// The counts, the level of the last zone event and the time of the newest.
			if got, ok := u.m.ViewZones(); !ok || fmt.Sprint(got) != fmt.Sprint(u.fs.truth()) {
				t.Errorf("zones %v, want %v", got, u.fs.truth())
			}
		})
	}
}

// TestModelSkipsEventsAtOrBeforeItsSnapshot: the feed may deliver events it
// read before the model's snapshot of their zone was taken; the snapshot
// holds them already, so they are skipped (applied again, an old one would
// undo a newer change), each zone by its own snapshot's position.
func TestModelSkipsEventsAtOrBeforeItsSnapshot(t *testing.T) {
	u := newUnit(t, readmodel.Options{})
	before := u.change(occupancy.StatusOccupied, "A-1")
	at := u.change(occupancy.StatusFree, "A-1") // zone A's snapshot is at this entry
	u.deliver(nil)
	u.fs.calls()

	u.deliver(before)
	if got := u.statuses("A-1"); got != "f" {
		t.Errorf("an event before the snapshot was applied: A-1 is %s, want f", got)
	}
	if z, _ := u.m.ViewZones(); z[0].Level != occupancy.LevelSpacesAvailable {
		t.Errorf("zone A's level %s, want the snapshot's spacesAvailable (not the old event's full)", z[0].Level)
	}
	u.deliver(at)
	if _, states := u.fs.calls(); len(states) != 0 {
		t.Errorf("the snapshot's own entry was applied again: states read %v", states)
	}

	afterB := u.change(occupancy.StatusFree, "B-1") // zone B's snapshot is at the start
	afterA := u.change(occupancy.StatusFree, "A-2")
	u.deliver(append(afterB, afterA...))
	if got := u.statuses("A-1", "A-2", "B-1"); got != "fff" {
		t.Errorf("statuses %s, want fff", got)
	}
	if _, states := u.fs.calls(); fmt.Sprint(states) != "[[A-2 B-1]]" {
		t.Errorf("states read %v, want those of A-2 and B-1", states)
	}
}

func TestModelReadsAZoneWithAGapAgainWhole(t *testing.T) {
	u := newUnit(t, readmodel.Options{})
	u.deliver(nil)
	u.fs.calls()
	u.change(occupancy.StatusFree, "A-1")     // lost to the feed: trimmed before it was read
	u.change(occupancy.StatusOccupied, "B-1") // lost too, but B has no gap
	u.deliver(nil, "A", "Q")                  // Q is no zone of the registry
	if snaps, _ := u.fs.calls(); !slices.Equal(snaps, []string{"A"}) {
		t.Errorf("zones read whole: %v, want [A]", snaps)
	}
	if got := u.statuses("A-1", "B-1"); got != "fu" {
		t.Errorf("statuses %s, want fu (A read again, B not)", got)
	}
	if st := u.m.Stats(); st.Gaps != 1 || st.Resyncs != 1 {
		t.Errorf("stats %+v, want one gap and one zone read again", st)
	}
}

// TestModelResyncsEveryZoneOverSeveralBatches: every Resync each zone is
// read again whole, at most SyncPerBatch zones a batch, so changes whose
// events were lost are repaired.
func TestModelResyncsEveryZoneOverSeveralBatches(t *testing.T) {
	u := newUnit(t, readmodel.Options{Resync: time.Minute, SyncPerBatch: 1})
	u.deliver(nil)
	u.fs.calls()
	u.change(occupancy.StatusFree, "A-1") // lost: only a resync repairs them
	u.change(occupancy.StatusFree, "B-1")
	u.clk.Add(59 * time.Second)
	u.deliver(nil)
	if snaps, _ := u.fs.calls(); len(snaps) != 0 {
		t.Fatalf("within Resync of the build, zones %v were read again", snaps)
	}
	u.clk.Add(time.Second)
	var read []string
	for batch := range 3 {
		u.deliver(nil)
		snaps, _ := u.fs.calls()
		if len(snaps) > 1 {
			t.Errorf("batch %d read %v whole, want at most SyncPerBatch (1) zone", batch, snaps)
		}
		read = append(read, snaps...)
	}
	if slices.Sort(read); !slices.Equal(read, []string{"A", "B"}) {
		t.Errorf("zones read again: %v, want each once", read)
	}
	if got := u.statuses("A-1", "B-1"); got != "ff" {
		t.Errorf("statuses %s after the resync, want ff", got)
	}
	if st := u.m.Stats(); st.Resyncs != 2 {
		t.Errorf("stats %+v, want 2 zones resynced", st)
	}
}

// TestModelGoesStaleWhenTheStoreFails: a batch whose reads fail leaves the
// model as last current (so it answers from the store once MaxLag is
// past) and has the zones concerned read again whole at the next batch.
func TestModelGoesStaleWhenTheStoreFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		built bool
		batch func(u *unit) ([]occupancy.Event, []string)
	}{
		{"the first build", false, func(u *unit) ([]occupancy.Event, []string) {
			u.change(occupancy.StatusFree, "A-2")
			return nil, nil
		}},
		{"the states of freed spaces", true, func(u *unit) ([]occupancy.Event, []string) {
			return u.change(occupancy.StatusFree, "A-2"), nil
		}},
		{"the zone of a gap", true, func(u *unit) ([]occupancy.Event, []string) {
			u.change(occupancy.StatusFree, "A-2")
			return nil, []string{"A"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, readmodel.Options{MaxLag: 2 * time.Second})
			if tc.built {
				u.deliver(nil)
			}
			evs, gaps := tc.batch(u)
			u.fs.setFail(errDown)
			u.clk.Add(time.Second)
			u.deliver(evs, gaps...)
			if got := u.statuses("A-2"); got != "-" && got != "u" {
				t.Errorf("A-2 is %s after a failed batch, want it not offered", got)
			}
			u.clk.Add(2 * time.Second)
			if got := ids(u.nearby()); !slices.Equal(got, []string{storeMark}) {
				t.Errorf("3s after the model was last current: nearby %v, want the store's answer", got)
			}
			u.fs.setFail(nil)
			u.fs.calls()
			u.deliver(nil)
			if snaps, _ := u.fs.calls(); !slices.Contains(snaps, "A") {
				t.Errorf("the next batch read %v whole, want zone A among them", snaps)
			}
			if got := ids(u.nearby()); !slices.Equal(got, []string{"A-2"}) {
				t.Errorf("after the store is back: nearby %v, want [A-2] from memory", got)
			}
			if st := u.m.Stats(); st.Lag != 0 || st.FromStore != 1 {
				t.Errorf("stats %+v, want lag 0 and only the stale query from the store", st)
			}
		})
	}
}

// reloaded returns cur's next version: A-1 removed, A-2 moved 3.3 km
// north, A-9 added 11 m north of A-1.
func reloaded(t *testing.T, cur *occupancy.Registry) *occupancy.Registry {
	t.Helper()
	var spaces []occupancy.Space
	for _, sp := range cur.Spaces() {
		switch sp.ID {
		case "A-1":
			continue
		case "A-2":
			sp.Lat += 0.03
		}
		spaces = append(spaces, sp)
	}
	spaces = append(spaces, occupancy.Space{ID: "A-9", ZoneID: "A", SensorID: "S9", Lat: 29.8501, Lon: 121.64,
		Kind: occupancy.KindStandard})
	next, err := occupancy.NewRegistry(cur.Zones(), spaces)
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// TestModelRebuildsAfterARegistryReload: after the registry is replaced the
// old view answers nearby (leaving out the spaces the reload removed or
// changed) but not the zones' counters, until a rebuild, which is due after
// Rebuild, a nearby query that meets a changed space, or an event of a
// space the view lacks, and happens at the next batch.
func TestModelRebuildsAfterARegistryReload(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		trigger func(t *testing.T, u *unit, a9 []occupancy.Event)
		rebuilt bool
	}{
		{"nothing", func(*testing.T, *unit, []occupancy.Event) {}, false},
		{"Rebuild", func(_ *testing.T, u *unit, _ []occupancy.Event) { u.m.Rebuild() }, true},
		{"nearby meets a changed space", func(t *testing.T, u *unit, _ []occupancy.Event) {
			if got := fmt.Sprint(ids(u.nearby())); got != "[A-3]" {
				t.Errorf("nearby from the old view %s, want [A-3] (A-1 removed, A-2 moved)", got)
			}
		}, true},
		{"an event of a space the view lacks", func(_ *testing.T, u *unit, a9 []occupancy.Event) { u.deliver(a9) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, readmodel.Options{})
			u.deliver(nil)
			u.deliver(u.change(occupancy.StatusFree, "A-1", "A-2", "A-3"))
			u.reg.Replace(reloaded(t, u.reg))
			a9 := u.change(occupancy.StatusFree, "A-9")
			if _, err := u.m.Zones(ctx); err != nil || u.fs.fallback("Zones") != 1 {
				t.Errorf("after the reload Zones came from the store %d times (%v), want once: the view is of the old registry",
					u.fs.fallback("Zones"), err)
			}
			tc.trigger(t, u, a9)
			u.deliver(nil)
			if st := u.m.Stats(); st.Rebuilds != map[bool]int64{true: 1}[tc.rebuilt] {
				t.Fatalf("stats %+v, want rebuilt %v", st, tc.rebuilt)
			}
			if !tc.rebuilt {
				return
			}
			if _, ok := u.m.StatusOf("A-1"); ok {
				t.Error("A-1 is still in the model after the reload removed it")
			}
			if got := fmt.Sprint(ids(u.nearby())); got != "[A-9 A-3]" {
				t.Errorf("nearby %s, want [A-9 A-3]", got)
			}
			zones, err := u.m.Zones(ctx)
			if err != nil || u.fs.fallback("Zones") != 1 || fmt.Sprint(zones) != fmt.Sprint(u.fs.truth()) {
				t.Errorf("zones %v (%v), want %v from memory", zones, err, u.fs.truth())
			}
		})
	}
}
