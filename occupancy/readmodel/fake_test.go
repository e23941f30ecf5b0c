package readmodel_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/readmodel"
)

// fakeStore is an in-memory readmodel.Store kept as the Redis store keeps
// its zones: every change moves its zone's feed position and yields the
// events the store's scripts would append (the spaces' events and the
// zone's, sharing the entry's id), so a snapshot holds exactly the changes
// up to its position. A test delivers those events to the model, or keeps
// them back to play a lost event.
type fakeStore struct {
	reg *occupancy.Registry

	mu     sync.Mutex
	states map[string]occupancy.SpaceState
	zones  map[string]*fakeZone
	ms     int64 // the feed's clock: each change takes the next millisecond
	fail   error // States and ZoneSnapshots fail with it when set
	// down, when set, fails the store's own answers too (Zones, Zone,
	// Nearby, NearestFreeZones), which count their calls still.
	down error

	snaps     []string       // zones read whole, in order
	stateIDs  [][]string     // the spaces of each States call
	fallbacks map[string]int // calls of the store's own answers, by method
}

type fakeZone struct {
	pos     string
	level   occupancy.Level
	updated time.Time
}

// storeMark is the one space the fake's Nearby answers: the store's path.
const storeMark = "from-the-store"

var errDown = errors.New("store down")

func newFakeStore(reg *occupancy.Registry) *fakeStore {
	f := &fakeStore{reg: reg, states: map[string]occupancy.SpaceState{}, zones: map[string]*fakeZone{},
		ms: 1000, fallbacks: map[string]int{}}
	for _, z := range reg.Zones() {
		f.zones[z.ID] = &fakeZone{pos: occupancy.StartPosition, level: occupancy.LevelUnknown}
	}
	return f
}

// change sets ids (spaces of one zone) to st at time at, in one entry of
// the zone's feed, and returns that entry's events.
func (f *fakeStore) change(at time.Time, st occupancy.Status, ids ...string) []occupancy.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp, _ := f.reg.Space(ids[0])
	z := f.zones[sp.ZoneID]
	f.ms++
	z.pos, z.updated = fmt.Sprintf("%d-0", f.ms), at
	id := z.pos + "@" + sp.ZoneID
	var evs []occupancy.Event
	for _, sid := range ids {
		f.states[sid] = occupancy.SpaceState{SpaceID: sid, Status: st, Since: at, LastSeen: at, Seq: uint64(f.ms)}
		evs = append(evs, occupancy.Event{ID: id, Type: occupancy.EventSpace, Time: at, ZoneID: sp.ZoneID,
			SpaceID: sid, Status: string(st), BySensor: st == occupancy.StatusFree || st == occupancy.StatusOccupied})
	}
	c := f.countsLocked(sp.ZoneID)
	z.level = levelOf(c)
	return append(evs, occupancy.Event{ID: id, Type: occupancy.EventZone, Time: at, ZoneID: sp.ZoneID,
		Zone: &occupancy.ZoneEventData{Counts: c, Level: string(z.level)}})
}

// levelOf is the fake's level rule: full without a free space.
func levelOf(c occupancy.Counts) occupancy.Level {
	if c.Free == 0 {
		return occupancy.LevelFull
	}
	return occupancy.LevelSpacesAvailable
}

func (f *fakeStore) setFail(err error) { f.mu.Lock(); defer f.mu.Unlock(); f.fail = err }

// setDown fails every read of the fake with err (nil: none), as a Redis
// that does not answer.
func (f *fakeStore) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail, f.down = err, err
}

// answered counts a call of the store's own answer method and returns the
// error it fails with.
func (f *fakeStore) answered(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fallbacks[method]++
	return f.down
}

// truth returns every zone's counters as the fake holds them.
func (f *fakeStore) truth() []occupancy.ZoneState {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []occupancy.ZoneState
	for _, z := range f.reg.Zones() {
		fz := f.zones[z.ID]
		out = append(out, occupancy.ZoneState{ZoneID: z.ID, Counts: f.countsLocked(z.ID), Level: fz.level, UpdatedAt: fz.updated})
	}
	return out
}

func (f *fakeStore) countsLocked(zone string) occupancy.Counts {
	var c occupancy.Counts
	for _, sp := range f.reg.SpacesInZone(zone) {
		c.Count(f.stateLocked(sp.ID).Status)
	}
	return c
}

func (f *fakeStore) stateLocked(id string) occupancy.SpaceState {
	if st, ok := f.states[id]; ok {
		return st
	}
	return occupancy.SpaceState{SpaceID: id, Status: occupancy.StatusUnknown}
}

// calls returns the zones read whole and the spaces whose states were read
// since the last call, and forgets them.
func (f *fakeStore) calls() (snaps []string, states [][]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	snaps, states = f.snaps, f.stateIDs
	f.snaps, f.stateIDs = nil, nil
	return snaps, states
}

func (f *fakeStore) fallback(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fallbacks[method]
}

func (f *fakeStore) ZoneSnapshots(_ context.Context, zones []string) ([]occupancy.ZoneSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	var out []occupancy.ZoneSnapshot
	for _, id := range zones {
		z, ok := f.zones[id]
		if !ok {
			return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
		}
		snap := occupancy.ZoneSnapshot{ZoneID: id, Position: z.pos, Statuses: map[string]occupancy.Status{},
			Free: map[string]occupancy.SpaceState{}, Level: z.level, UpdatedAt: z.updated}
		for _, sp := range f.reg.SpacesInZone(id) {
			if st, ok := f.states[sp.ID]; ok {
				snap.Statuses[sp.ID] = st.Status
				if st.Status == occupancy.StatusFree {
					snap.Free[sp.ID] = st
				}
			}
		}
		out = append(out, snap)
		f.snaps = append(f.snaps, id)
	}
	return out, nil
}

func (f *fakeStore) States(_ context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fallbacks["States"]++
	if f.fail != nil {
		return nil, f.fail
	}
	out := make([]occupancy.SpaceState, len(spaces))
	var ids []string
	for i, sp := range spaces {
		out[i] = f.stateLocked(sp.ID)
		ids = append(ids, sp.ID)
	}
	slices.Sort(ids)
	f.stateIDs = append(f.stateIDs, ids)
	return out, nil
}

func (f *fakeStore) Zones(context.Context) ([]occupancy.ZoneState, error) {
	if err := f.answered("Zones"); err != nil {
		return nil, err
	}
	return f.truth(), nil
}

func (f *fakeStore) Zone(_ context.Context, id string) (occupancy.ZoneState, error) {
	if err := f.answered("Zone"); err != nil {
		return occupancy.ZoneState{}, err
	}
	for _, z := range f.truth() {
		if z.ZoneID == id {
			return z, nil
		}
	}
	return occupancy.ZoneState{}, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
}

func (f *fakeStore) Nearby(context.Context, occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
	if err := f.answered("Nearby"); err != nil {
		return nil, err
	}
	return []occupancy.NearbySpace{{Space: occupancy.Space{ID: storeMark}}}, nil
}

func (f *fakeStore) NearestFreeZones(context.Context, occupancy.NearbyQuery, int) ([]occupancy.NearbyZone, error) {
	if err := f.answered("NearestFreeZones"); err != nil {
		return nil, err
	}
	return []occupancy.NearbyZone{{Zone: occupancy.Zone{ID: storeMark}}}, nil
}

// unit is a model over a fake store of storetest.Registry, on a settable
// clock, as the unit tests use it.
type unit struct {
	t   *testing.T
	reg *occupancy.Registry
	fs  *fakeStore
	clk *storetest.Clock
	m   *readmodel.Model
}

// newUnit returns a model of opts over a new fake store; Store, Registry
// and Now are filled in.
func newUnit(t *testing.T, opts readmodel.Options) *unit {
	t.Helper()
	u := &unit{t: t, reg: storetest.Registry(t), clk: storetest.NewClock(storetest.T0)}
	u.fs = newFakeStore(u.reg)
	opts.Store, opts.Registry, opts.Now = u.fs, u.reg, u.clk.Now
	u.m = readmodel.New(opts)
	return u
}

// deliver hands the model one batch read now, of evs (whole entries) and
// gaps.
func (u *unit) deliver(evs []occupancy.Event, gaps ...string) {
	u.m.Deliver(context.Background(), feed.Batch{Events: evs, Gaps: gaps, ReadAt: u.clk.Now()})
}

// change is fakeStore.change at the clock's time.
func (u *unit) change(st occupancy.Status, ids ...string) []occupancy.Event {
	return u.fs.change(u.clk.Now(), st, ids...)
}

// statuses returns the letters the model holds for ids ('-' where it has
// none, or holds it free without its state).
func (u *unit) statuses(ids ...string) string {
	b := make([]byte, len(ids))
	for i, id := range ids {
		b[i] = '-'
		if st, ok := u.m.StatusOf(id); ok {
			b[i] = st
		}
	}
	return string(b)
}

// nearby asks the model for the free spaces within 2 km of zone A.
func (u *unit) nearby() []occupancy.NearbySpace {
	u.t.Helper()
	got, err := u.m.Nearby(context.Background(), occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 2000, Limit: 10})
	if err != nil {
		u.t.Fatal(err)
	}
	return got
}

// ids returns the spaces' ids.
func ids(ns []occupancy.NearbySpace) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.Space.ID)
	}
	return out
}
