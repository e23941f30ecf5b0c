package readmodel_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/readmodel"
)

// TestModelShowsFreedSpacesWithTheirStates: after a batch the model reads
// the states of the spaces it freed, and nearby shows each with that state
// and the time it was read: it was free then, and no change reached the
// model since.
func TestModelShowsFreedSpacesWithTheirStates(t *testing.T) {
	u := newUnit(t, readmodel.Options{})
	u.deliver(nil)
	u.clk.Add(time.Second)
	evs := u.change(occupancy.StatusFree, "A-2")
	readAt := u.clk.Now()
	u.deliver(evs)
	u.clk.Add(time.Second)
	got := u.nearby()
	if len(got) != 1 {
		t.Fatalf("nearby %+v, want A-2 alone", got)
	}
	n := got[0]
	if n.Space.ID != "A-2" || n.Space.ZoneID != "A" || n.State != u.fs.states["A-2"] || !n.ObservedAt.Equal(readAt) {
		t.Errorf("nearby %+v, want A-2 with its stored state %+v, observed at %s (when it was read)", n, u.fs.states["A-2"], readAt)
	}
	if n.DistanceM < 9 || n.DistanceM > 11 || n.DistanceM != float64(int(n.DistanceM*10))/10 {
		t.Errorf("A-2 at %v m, want about 10, to 0.1 m", n.DistanceM)
	}
	u.deliver(u.change(occupancy.StatusOccupied, "A-2"))
	if got := ids(u.nearby()); len(got) != 0 {
		t.Errorf("after A-2 was taken: nearby %v, want none", got)
	}
}

// TestModelAnswersFromTheStoreWhenStale: every answer comes from the
// store once the model has not heard from it for longer than MaxLag, and
// from memory again after the next batch.
func TestModelAnswersFromTheStoreWhenStale(t *testing.T) {
	ctx := context.Background()
	u := newUnit(t, readmodel.Options{MaxLag: 2 * time.Second})
	u.change(occupancy.StatusFree, "A-1")
	u.deliver(nil)
	q := occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 100, Limit: 5}
	answers := []struct {
		name      string
		fromStore func() bool
	}{
		{"Nearby", func() bool {
			got, err := u.m.Nearby(ctx, q)
			return err == nil && slices.Equal(ids(got), []string{storeMark})
		}},
		{"NearestFreeZones", func() bool {
			got, err := u.m.NearestFreeZones(ctx, q, 3)
			return err == nil && len(got) == 1 && got[0].Zone.ID == storeMark
		}},
		{"Zones", func() bool {
			n := u.fs.fallback("Zones")
			_, err := u.m.Zones(ctx)
			return err == nil && u.fs.fallback("Zones") > n
		}},
		{"Zone", func() bool {
			n := u.fs.fallback("Zone")
			_, err := u.m.Zone(ctx, "A")
			return err == nil && u.fs.fallback("Zone") > n
		}},
	}
	for _, step := range []struct {
		name      string
		advance   time.Duration
		fromStore bool
	}{
		{"heard just now", 0, false},
		{"heard MaxLag ago", 2 * time.Second, false},
		{"heard longer ago", time.Millisecond, true},
	} {
		u.clk.Add(step.advance)
		for _, a := range answers {
			if got := a.fromStore(); got != step.fromStore {
				t.Errorf("%s: %s from the store: %v, want %v", step.name, a.name, got, step.fromStore)
			}
		}
	}
	if st := u.m.Stats(); st.Lag != 2*time.Second+time.Millisecond || st.FromStore != 1 || st.FromIndex != 2 {
		t.Errorf("stats %+v, want lag 2.001s, 1 nearby from the store, 2 from memory", st)
	}
	u.deliver(nil)
	for _, a := range answers {
		if a.fromStore() {
			t.Errorf("after the next batch: %s from the store, want memory", a.name)
		}
	}
}

// TestModelConfirmReadsTheCandidatesStates: with Confirm the model keeps
// no states; nearby reads the candidates' states from the store and keeps
// those still free, observed at the query.
func TestModelConfirmReadsTheCandidatesStates(t *testing.T) {
	u := newUnit(t, readmodel.Options{Confirm: true})
	u.deliver(nil)
	u.deliver(append(u.change(occupancy.StatusFree, "A-1"), u.change(occupancy.StatusFree, "A-2")...))
	if _, states := u.fs.calls(); len(states) != 0 {
		t.Errorf("with Confirm a batch read states %v, want none", states)
	}
	u.fs.change(u.clk.Now(), occupancy.StatusOccupied, "A-1") // its event not delivered yet
	u.clk.Add(1500 * time.Microsecond)
	got := u.nearby()
	if fmt.Sprint(ids(got)) != "[A-2]" || got[0].State != u.fs.states["A-2"] ||
		!got[0].ObservedAt.Equal(u.clk.Now().Truncate(time.Millisecond)) {
		t.Fatalf("nearby %+v, want A-2 (A-1 is taken in the store) with its state, observed at the query", got)
	}
	if _, states := u.fs.calls(); fmt.Sprint(states) != "[[A-1 A-2]]" {
		t.Errorf("states read %v, want the candidates' in one call", states)
	}
	u.m.Refresh(context.Background(), []string{"A-2"})
	if _, states := u.fs.calls(); len(states) != 0 {
		t.Errorf("with Confirm Refresh read states %v, want none", states)
	}
}

// TestModelRefreshReadsSpacesNow: Refresh takes the spaces' states before
// their events come (read-your-writes after a closure).
func TestModelRefreshReadsSpacesNow(t *testing.T) {
	ctx := context.Background()
	u := newUnit(t, readmodel.Options{})
	u.m.Refresh(ctx, []string{"A-1"})
	if _, states := u.fs.calls(); len(states) != 0 {
		t.Errorf("Refresh before the model is built read %v", states)
	}
	u.deliver(nil)
	u.deliver(u.change(occupancy.StatusFree, "A-1", "A-2"))
	for _, step := range []struct { // A-1 changes in the store; its events are not delivered
		name string
		st   occupancy.Status
		want string
	}{
		{"A-1 closed", occupancy.StatusClosed, "[A-2]"},
		{"A-1 open again", occupancy.StatusFree, "[A-1 A-2]"},
	} {
		u.fs.change(u.clk.Now(), step.st, "A-1")
		u.m.Refresh(ctx, []string{"A-1", "nope"})
		if got := fmt.Sprint(ids(u.nearby())); got != step.want {
			t.Errorf("%s: nearby %s, want %s", step.name, got, step.want)
		}
	}
	u.fs.setFail(errDown)
	u.fs.change(u.clk.Now(), occupancy.StatusClosed, "A-2")
	u.m.Refresh(ctx, []string{"A-2"}) // best effort: the event still comes
	if got := fmt.Sprint(ids(u.nearby())); got != "[A-1 A-2]" {
		t.Errorf("after a failed refresh: nearby %s, want what the model held", got)
	}
}

func TestModelNearestFreeZones(t *testing.T) {
	u := newUnit(t, readmodel.Options{})
	u.change(occupancy.StatusFree, "A-1") // standard, on street
	u.change(occupancy.StatusFree, "B-2") // EV, off street
	u.change(occupancy.StatusOccupied, "B-1")
	u.deliver(nil)
	for _, tc := range []struct {
		name string
		kind occupancy.Kind
		typ  occupancy.ZoneType
		n    int
		want string
	}{
		{"any kind", "", "", 3, "B:1 A:1"},
		{"the nearest only", "", "", 1, "B:1"},
		{"EV", occupancy.KindEV, "", 3, "B:1"},
		{"standard", occupancy.KindStandard, "", 3, "A:1"},
		{"accessible: none free", occupancy.KindAccessible, "", 3, ""},
		{"on street", "", occupancy.OnStreet, 3, "A:1"},
	} {
		q := occupancy.NearbyQuery{Lat: 29.859, Lon: 121.64, RadiusM: 50, Limit: 5, Kind: tc.kind, ZoneType: tc.typ}
		got, err := u.m.NearestFreeZones(context.Background(), q, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, z := range got {
			s = append(s, fmt.Sprintf("%s:%d", z.Zone.ID, z.Free))
		}
		if strings.Join(s, " ") != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, s, tc.want)
		}
	}
	if n := u.fs.fallback("NearestFreeZones"); n != 0 {
		t.Errorf("the store answered %d times, want none", n)
	}
}

// TestModelZonesAreTheSumOfItsStatuses: through random changes, each zone's
// counts are those of its spaces' statuses as the model holds them, and
// the store's.
func TestModelZonesAreTheSumOfItsStatuses(t *testing.T) {
	ctx := context.Background()
	u := newUnit(t, readmodel.Options{})
	u.deliver(nil)
	rng := rand.New(rand.NewPCG(3, 4))
	spaces := u.reg.Spaces()
	statuses := []occupancy.Status{occupancy.StatusFree, occupancy.StatusOccupied, occupancy.StatusUnknown, occupancy.StatusClosed}
	for batch := range 40 {
		var evs []occupancy.Event
		for range 1 + rng.IntN(5) {
			u.clk.Add(time.Duration(rng.IntN(3)) * time.Second)
			evs = append(evs, u.change(statuses[rng.IntN(len(statuses))], spaces[rng.IntN(len(spaces))].ID)...)
		}
		u.deliver(evs)
		zones, err := u.m.Zones(ctx)
		if err != nil || fmt.Sprint(zones) != fmt.Sprint(u.fs.truth()) {
			t.Fatalf("batch %d: zones %v (%v), store %v", batch, zones, err, u.fs.truth())
		}
		for _, z := range zones {
			var sum occupancy.Counts
			for _, sp := range u.reg.SpacesInZone(z.ZoneID) {
				st, _ := u.m.StatusOf(sp.ID)
				sum.Count(map[byte]occupancy.Status{'f': "free", 'o': "occupied", 'u': "unknown", 'c': "closed"}[st])
			}
			if one, err := u.m.Zone(ctx, z.ZoneID); err != nil || one != z || sum != z.Counts {
				t.Fatalf("batch %d: zone %s: Zone %+v (%v), Zones %+v, statuses add up to %+v", batch, z.ZoneID, one, err, z, sum)
			}
		}
	}
	if _, err := u.m.Zone(ctx, "nope"); occupancy.ErrorCode(err) != occupancy.ENOTFOUND {
		t.Errorf("unknown zone: %v, want not_found", err)
	}
	if n := u.fs.fallback("Zones") + u.fs.fallback("Zone"); n != 0 {
		t.Errorf("the store answered %d times, want none", n)
	}
}

func TestModelRejectsABadQuery(t *testing.T) {
	u := newUnit(t, readmodel.Options{})
	u.deliver(nil)
	for _, q := range []occupancy.NearbyQuery{
		{Lat: 29.85, Lon: 121.64, RadiusM: 0, Limit: 5},
		{Lat: 29.85, Lon: 121.64, RadiusM: 100, Limit: 0},
		{Lat: 29.85, Lon: 121.64, RadiusM: 100, Limit: 5, Kind: "bike"},
		{Lat: 95, Lon: 121.64, RadiusM: 100, Limit: 5},
	} {
		if _, err := u.m.Nearby(context.Background(), q); occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Errorf("Nearby %+v: %v, want invalid", q, err)
		}
		if _, err := u.m.NearestFreeZones(context.Background(), q, 3); occupancy.ErrorCode(err) != occupancy.EINVALID {
			t.Errorf("NearestFreeZones %+v: %v, want invalid", q, err)
		}
	}
	if st := u.m.Stats(); st.FromIndex+st.FromStore != 0 {
		t.Errorf("stats %+v: a bad query was answered", st)
	}
}
