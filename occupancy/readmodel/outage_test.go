package readmodel_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// answerCall is one of the model's answers, made with ctx; it returns the
// answer in short.
type answerCall struct {
	name string
	call func(ctx context.Context, m *readmodel.Model) (string, error)
}

// answerCalls are every answer the model gives: zone counts, nearby, and
// the reads of spaces.
func answerCalls(reg *occupancy.Registry) []answerCall {
	q := occupancy.NearbyQuery{Lat: 29.85, Lon: 121.64, RadiusM: 2000, Limit: 10}
	return []answerCall{
		{"Zones", func(ctx context.Context, m *readmodel.Model) (string, error) {
			zs, err := m.Zones(ctx)
			return fmt.Sprint(zs), err
		}},
		{"Zone", func(ctx context.Context, m *readmodel.Model) (string, error) {
			z, err := m.Zone(ctx, "A")
			return fmt.Sprint(z), err
		}},
		{"Nearby", func(ctx context.Context, m *readmodel.Model) (string, error) {
			ns, err := m.Nearby(ctx, q)
			return fmt.Sprint(ids(ns)), err
		}},
		{"NearestFreeZones", func(ctx context.Context, m *readmodel.Model) (string, error) {
			zs, err := m.NearestFreeZones(ctx, occupancy.NearbyQuery{Lat: 40, Lon: 121.64, RadiusM: 100, Limit: 1}, 1)
			if len(zs) == 0 {
				return "[]", err
			}
			return zs[0].Zone.ID, err
		}},
		{"States", func(ctx context.Context, m *readmodel.Model) (string, error) {
			sts, err := m.States(ctx, reg.SpacesInZone("A")[:3])
			out := ""
			for _, st := range sts {
				out += string(st.Status) + " "
			}
			return out, err
		}},
		{"Space", func(ctx context.Context, m *readmodel.Model) (string, error) {
			st, err := m.Space(ctx, "A-1")
			return string(st.Status), err
		}},
		{"ListSpaces", func(ctx context.Context, m *readmodel.Model) (string, error) {
			sts, next, err := m.ListSpaces(ctx, occupancy.SpaceFilter{ZoneID: "A", Status: occupancy.StatusOccupied, Limit: 10})
			return fmt.Sprint(len(sts), next), err
		}},
	}
}

// TestModelAnswersFromMemoryWhileTheStoreIsDown: with the store failing
// with EUNAVAILABLE, every answer of a stale model comes from memory, the
// same as when it was fresh, marked stale as of when the model last heard from the
// store; the store is asked once, not again within StoreRetry; a space not
// free has its status only, a free one its whole state. Once StoreRetry
// has passed, one answer asks the store again, and with it back the
// answers are the store's, not stale.
func TestModelAnswersFromMemoryWhileTheStoreIsDown(t *testing.T) {
	u := newUnit(t, readmodel.Options{MaxLag: 2 * time.Second, StoreRetry: 200 * time.Millisecond})
	u.change(occupancy.StatusFree, "A-1")
	u.change(occupancy.StatusOccupied, "A-2")
	u.deliver(nil)
	heard := u.clk.Now()
	calls := answerCalls(u.reg)
	want := map[string]string{}
	for _, c := range calls {
		got, err := c.call(context.Background(), u.m)
		if err != nil {
			t.Fatalf("%s, fresh: %v", c.name, err)
		}
		want[c.name] = got
	}
	u.clk.Add(3 * time.Second) // stale: the store would answer
	u.fs.setDown(occupancy.Unavailable(errDown))
	before := u.fs.asked()
	for _, c := range calls {
		ctx, st := occupancy.WithStaleness(context.Background())
		got, err := c.call(ctx, u.m)
		if err != nil || got != want[c.name] {
			t.Errorf("%s with the store down: %q, %v; want %q from memory", c.name, got, err, want[c.name])
		}
		if at, stale := st.Stale(); !stale || !at.Equal(heard) {
			t.Errorf("%s with the store down: stale %v as of %v, want stale as of %v", c.name, stale, at, heard)
		}
	}
	if n := u.fs.asked() - before; n != 1 {
		t.Errorf("the store was asked %d times while down, want once (then the breaker keeps it out)", n)
	}
	if st := u.m.Stats(); st.StaleAnswers != int64(len(calls)) || !st.StoreDown {
		t.Errorf("stats %+v, want %d stale answers and the store down", st, len(calls))
	}
	sts, err := u.m.States(context.Background(), []occupancy.Space{mustSpace(t, u.reg, "A-1"), mustSpace(t, u.reg, "A-2")})
	if err != nil || sts[0] != u.fs.states["A-1"] || sts[1] != (occupancy.SpaceState{SpaceID: "A-2", Status: occupancy.StatusOccupied}) {
		t.Errorf("states from memory %+v, %v; want A-1's whole free state and A-2's status alone", sts, err)
	}

	u.fs.setDown(nil)
	storetest.Eventually(t, 5*time.Second, func() string {
		ctx, st := occupancy.WithStaleness(context.Background())
		if _, err := u.m.Zones(ctx); err != nil {
			return err.Error()
		}
		if _, stale := st.Stale(); stale {
			return "Zones still from memory"
		}
		return ""
	})
	if st := u.m.Stats(); st.StoreDown {
		t.Errorf("stats %+v after the store answered again, want it up", st)
	}
}

// TestModelWithoutAViewIsUnavailable: a model not built yet has nothing in
// memory: with the store down every answer is EUNAVAILABLE (fast, once the
// breaker is open), never another error.
func TestModelWithoutAViewIsUnavailable(t *testing.T) {
	u := newUnit(t, readmodel.Options{StoreRetry: time.Hour})
	u.fs.setDown(occupancy.Unavailable(errDown))
	for _, c := range answerCalls(u.reg) {
		if _, err := c.call(context.Background(), u.m); occupancy.ErrorCode(err) != occupancy.EUNAVAILABLE {
			t.Errorf("%s with no view and the store down: %v, want %s", c.name, err, occupancy.EUNAVAILABLE)
		}
	}
	if n := u.fs.asked(); n != 1 {
		t.Errorf("the store was asked %d times, want once", n)
	}
}

// TestModelFreshAndTheStoreDown: a fresh model answers zones and nearby
// from memory as always (not stale: it heard from the store within
// MaxLag); the reads of spaces, which ask the store, come from memory
// marked stale when it does not answer.
func TestModelFreshAndTheStoreDown(t *testing.T) {
	u := newUnit(t, readmodel.Options{MaxLag: 2 * time.Second, StoreRetry: time.Hour})
	u.change(occupancy.StatusFree, "A-1")
	u.deliver(nil)
	u.fs.setDown(occupancy.Unavailable(errDown))
	for _, c := range answerCalls(u.reg) {
		ctx, st := occupancy.WithStaleness(context.Background())
		if _, err := c.call(ctx, u.m); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		_, stale := st.Stale()
		readsSpaces := c.name == "States" || c.name == "Space" || c.name == "ListSpaces"
		if stale != readsSpaces {
			t.Errorf("%s of a fresh model with the store down: stale %v, want %v", c.name, stale, readsSpaces)
		}
	}
}

// TestModelAnswersWithRedisFrozen: over a real store and feed, with
// redis-server frozen (SIGSTOP), a model that stopped hearing from it
// answers everything from memory, marked stale, within the callers'
// deadline: the first read of the store waits for its deadline, the
// others do not ask.
func TestModelAnswersWithRedisFrozen(t *testing.T) {
	srv := testenv.MustStartRedis(t)
	rdb, err := redisstore.NewClient(srv.URL) // parkd's client: deadlines from the context
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	t0 := storetest.T0
	clk, reg := storetest.NewClock(t0), storetest.Registry(t)
	s := storetest.NewStore(t, rdb, reg, clk.Now)
	storetest.MustApply(t, s, storetest.Reading("S1", false, t0, 1), occupancy.ResultApplied)
	storetest.MustApply(t, s, storetest.Reading("S2", true, t0, 1), occupancy.ResultApplied)
	m := newModel(s, reg, clk, readmodel.Options{MaxLag: 2 * time.Second, StoreRetry: time.Hour})
	follow(t, s, clk, feed.TailerOptions{}, m)
	waitStatus(t, m, 'f', "A-1")
	waitStatus(t, m, 'o', "A-2")

	srv.Freeze(t)
	clk.Add(5 * time.Second) // the model has not heard from Redis since
	for _, c := range answerCalls(reg) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		ctx, st := occupancy.WithStaleness(ctx)
		start := time.Now()
		got, err := c.call(ctx, m)
		took := time.Since(start)
		cancel()
		if _, stale := st.Stale(); err != nil || !stale {
			t.Errorf("%s with Redis frozen: %q, %v, stale %v; want an answer from memory, stale", c.name, got, err, stale)
		}
		if took > 2*time.Second {
			t.Errorf("%s with Redis frozen took %v", c.name, took)
		}
	}
	if z, err := m.Zone(context.Background(), "A"); err != nil || z.Counts.Free != 1 || z.Counts.Occupied != 1 {
		t.Errorf("zone A from memory: %+v, %v; want 1 free and 1 occupied", z, err)
	}
}

// mustSpace returns the registry's space id.
func mustSpace(t *testing.T, reg *occupancy.Registry, id string) occupancy.Space {
	t.Helper()
	sp, ok := reg.Space(id)
	if !ok {
		t.Fatalf("no space %s", id)
	}
	return sp
}

// asked is how many times the fake's answers and States were called.
func (f *fakeStore) asked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.fallbacks {
		n += c
	}
	return n
}

// TestModelConfirmWithTheStoreDown: a model with Confirm holds no states;
// with the store down, fresh or stale, nearby offers the spaces it holds
// free, with their status only, observed when the model last heard from
// the store.
func TestModelConfirmWithTheStoreDown(t *testing.T) {
	u := newUnit(t, readmodel.Options{Confirm: true, MaxLag: 2 * time.Second, StoreRetry: time.Hour})
	u.change(occupancy.StatusFree, "A-1")
	u.deliver(nil)
	heard := u.clk.Now()
	u.fs.setDown(occupancy.Unavailable(errDown))
	for _, lag := range []time.Duration{0, 3 * time.Second} { // fresh (the confirming read fails), then stale
		u.clk.Set(heard.Add(lag))
		got := u.nearby()
		if len(got) != 1 || got[0].Space.ID != "A-1" || got[0].State != (occupancy.SpaceState{SpaceID: "A-1", Status: occupancy.StatusFree}) ||
			!got[0].ObservedAt.Equal(heard) {
			t.Errorf("heard %v ago: nearby %+v, want A-1 free as of %v", lag, got, heard)
		}
	}
}
