// Package readmodel holds parkd's in-memory views of the live state: the
// index of free spaces that answers nearby queries, each zone's counts and
// level (the summary and the zone dashboards) and the nearest zones with
// free spaces. They are fed by the live feed (a feed.Sink): built from a
// snapshot of each zone and kept current from the zones' change events, so
// those answers cost the store nothing. While the model is not built, or
// has not heard from the store for MaxLag, those answers come from the
// store instead.
//
// The model also stands in for a store that does not answer (outage.go):
// when a read of the store fails with EUNAVAILABLE, or failed so within
// StoreRetry, the model answers from memory what it holds (zone counts,
// nearby, every space's status and the free spaces' states) and marks the
// request's answer stale (occupancy.MarkStale) with the time it last heard
// from the store, so a sick Redis slows no answer and breaks none it can
// give.
package readmodel

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// Store is what the model reads besides the feed, and what answers while
// the model cannot. *redisstore.Store implements it.
type Store interface {
	// ZoneSnapshots reads zones whole, each at a position of its feed.
	// ENOTFOUND for an unknown zone.
	ZoneSnapshots(ctx context.Context, zones []string) ([]occupancy.ZoneSnapshot, error)
	// States returns the states of registry spaces, in the same order.
	States(ctx context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error)
	// Zones, Zone, Nearby and NearestFreeZones answer from the store, as
	// the model's methods of the same names do from memory.
	Zones(ctx context.Context) ([]occupancy.ZoneState, error)
	Zone(ctx context.Context, id string) (occupancy.ZoneState, error)
	Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error)
	NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error)
}

// Options configure a Model.
type Options struct {
	// Store is read for snapshots and answers while the model cannot.
	// Required.
	Store Store
	// Registry lists the zones and spaces; the model follows its reloads
	// (Rebuild). Required.
	Registry *occupancy.Registry
	// MaxLag: the model answers only if it heard from the store this
	// recently. Default 2s (the feed delivers at least every second).
	MaxLag time.Duration
	// Resync is how often every zone is read again whole, to repair what
	// the events may have missed (a closure's zone event whose publish
	// failed). Default 5m.
	Resync time.Duration
	// SyncPerBatch bounds the zones a batch reads again whole (gaps and
	// resyncs), so a resync at city scale is spread over many batches.
	// Default 64.
	SyncPerBatch int
	// CellM is the size of the index's grid cells in metres. Default 100.
	CellM float64
	// StoreRetry is how long, after a read of the store for an answer
	// failed with EUNAVAILABLE, answers come from memory without asking
	// the store; then one answer asks it again. Default 1s.
	StoreRetry time.Duration
	// Confirm makes Nearby read the candidates' states from the store (one
	// round trip) rather than answer from states held in memory: about
	// 40 B per space instead of 80 (BenchmarkViewMemory), for a city-sized
	// registry. Default false.
	Confirm bool
	// Logger receives warnings. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (o *Options) ensureDefaults() {
	if o.MaxLag <= 0 {
		o.MaxLag = 2 * time.Second
	}
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.SyncPerBatch <= 0 {
		o.SyncPerBatch = 64
	}
	if o.CellM <= 0 {
		o.CellM = 100
	}
	if o.StoreRetry <= 0 {
		o.StoreRetry = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Model is the read model. It is safe for concurrent use; Deliver is
// called by one feed.Tailer.
type Model struct {
	opts    Options
	log     *slog.Logger
	view    atomic.Pointer[view]
	heard   atomic.Int64 // Unix ns of the newest batch applied in full
	rebuild atomic.Bool
	// Deliver's own state (the Tailer's goroutine).
	stale    map[int]bool // zones to read again whole
	lastFull time.Time    // when every zone was last marked for a resync
	// breaker keeps answers off a store that failed with EUNAVAILABLE
	// (outage.go).
	breaker *gobreaker.TwoStepCircuitBreaker[struct{}]
	stats   struct{ fromIndex, fromStore, resyncs, gaps, rebuilds, staleAnswers atomic.Int64 }
}

var _ feed.Sink = (*Model)(nil)

// New returns a Model; it answers from the store until the feed's first
// batch has built it. It panics without Store or Registry (a wiring bug).
func New(opts Options) *Model {
	if opts.Store == nil || opts.Registry == nil {
		panic("readmodel: Options.Store and Options.Registry are required")
	}
	opts.ensureDefaults()
	return &Model{opts: opts, log: opts.Logger.With("component", "readmodel"), stale: map[int]bool{},
		breaker: newBreaker(opts.StoreRetry)}
}

// Stats count what a Model did.
type Stats struct {
	// FromIndex and FromStore count the nearby queries answered from
	// memory and by the store (model not built or stale).
	FromIndex, FromStore int64
	// Resyncs counts zones read again whole after the first build; Gaps
	// the zones whose stream was trimmed past the feed's position;
	// Rebuilds the rebuilds after a registry change.
	Resyncs, Gaps, Rebuilds int64
	// Synced says the model has read every zone once.
	Synced bool
	// Lag is the time since the model last heard from the store.
	Lag time.Duration
	// StaleAnswers counts the answers given from memory because the store
	// did not answer (marked stale); StoreDown says that answers come
	// from memory now without asking the store.
	StaleAnswers int64
	StoreDown    bool
}

// Stats returns the model's counters.
func (m *Model) Stats() Stats {
	st := Stats{FromIndex: m.stats.fromIndex.Load(), FromStore: m.stats.fromStore.Load(),
		Resyncs: m.stats.resyncs.Load(), Gaps: m.stats.gaps.Load(), Rebuilds: m.stats.rebuilds.Load(),
		Synced: m.view.Load() != nil, StaleAnswers: m.stats.staleAnswers.Load(),
		StoreDown: m.breaker.State() != gobreaker.StateClosed}
	if st.Synced {
		st.Lag = m.opts.Now().Sub(time.Unix(0, m.heard.Load()))
	}
	return st
}

// Rebuild asks for the model to be built again from the registry as it is
// now (after a reload), at the next batch. Until then the old view
// answers, and a space it proposes that the registry no longer has as it
// was is left out.
func (m *Model) Rebuild() { m.rebuild.Store(true) }

// Deliver applies one batch of the feed: it builds the view first if it
// has none (or a rebuild is due), applies the events, reads again whole
// the zones with a gap and those due for a resync, and reads the states of
// the spaces the events freed. The view is current as of the batch once
// all of that succeeded; a failure is logged and leaves it to go stale.
func (m *Model) Deliver(ctx context.Context, b feed.Batch) {
	if err := m.deliver(ctx, b); err != nil && ctx.Err() == nil {
		m.log.Warn("read model not current", "err", err)
	}
}

func (m *Model) deliver(ctx context.Context, b feed.Batch) error {
	if m.rebuild.Swap(false) {
		m.stats.rebuilds.Add(1)
		m.view.Store(nil)
	}
	v := m.view.Load()
	if v == nil {
		return m.build(ctx, b.ReadAt)
	}
	freed, known := v.apply(b.Events)
	if !known {
		m.Rebuild() // an event of a space this view does not know: the registry changed
	}
	for _, z := range b.Gaps {
		if zi, ok := v.zoneIdx[z]; ok {
			m.stale[zi] = true
			m.stats.gaps.Add(1)
		}
	}
	if now := m.opts.Now(); now.Sub(m.lastFull) >= m.opts.Resync {
		m.lastFull = now
		for zi := range v.zones {
			m.stale[zi] = true
		}
	}
	if err := m.fetch(ctx, v, freed); err != nil {
		for zi := range freed {
			m.stale[zi] = true // read them whole at the next batch
		}
		return err
	}
	if err := m.resync(ctx, v); err != nil {
		return err
	}
	m.heard.Store(b.ReadAt.UnixNano())
	return nil
}

// build makes a view of the registry as it is now, reads every zone whole
// and then publishes it.
func (m *Model) build(ctx context.Context, readAt time.Time) error {
	v := newView(m.opts.Registry.Snapshot(), m.opts.CellM, !m.opts.Confirm)
	zones := make([]int, len(v.zones))
	for i := range zones {
		zones[i] = i
	}
	if err := m.sync(ctx, v, zones); err != nil {
		return err
	}
	m.lastFull = m.opts.Now()
	clear(m.stale)
	m.view.Store(v)
	m.heard.Store(readAt.UnixNano())
	return nil
}

// resync reads again whole up to SyncPerBatch of the stale zones.
func (m *Model) resync(ctx context.Context, v *view) error {
	var zones []int
	for zi := range m.stale {
		if len(zones) == m.opts.SyncPerBatch {
			break
		}
		zones = append(zones, zi)
	}
	if len(zones) == 0 {
		return nil
	}
	if err := m.sync(ctx, v, zones); err != nil {
		return err
	}
	for _, zi := range zones {
		delete(m.stale, zi)
	}
	m.stats.resyncs.Add(int64(len(zones)))
	return nil
}

// sync reads the given zones of v whole and sets them.
func (m *Model) sync(ctx context.Context, v *view, zones []int) error {
	ids := make([]string, len(zones))
	for i, zi := range zones {
		ids[i] = v.zones[zi].id
	}
	readMS := m.opts.Now().UnixMilli()
	snaps, err := m.opts.Store.ZoneSnapshots(ctx, ids)
	if err != nil {
		return err
	}
	for i, snap := range snaps {
		v.setSnapshot(zones[i], snap, readMS)
	}
	return nil
}

// fetch reads the states of the spaces the events freed (unless Confirm:
// nearby then reads them itself) and sets them: one round trip.
func (m *Model) fetch(ctx context.Context, v *view, freed map[int][]int32) error {
	if m.opts.Confirm || len(freed) == 0 {
		return nil
	}
	var nums []int32
	for _, ns := range freed {
		nums = append(nums, ns...)
	}
	if len(nums) == 0 {
		return nil
	}
	nums, spaces := v.spaces(nums)
	readMS := m.opts.Now().UnixMilli()
	states, err := m.opts.Store.States(ctx, spaces)
	if err != nil {
		return err
	}
	v.setStates(nums, states, readMS)
	return nil
}

// Refresh reads the states of the given spaces into the model now, rather
// than when their events arrive: read-your-writes for a closure made
// through this process. Best effort: on an error the events still come.
func (m *Model) Refresh(ctx context.Context, ids []string) {
	v := m.view.Load()
	if v == nil || m.opts.Confirm {
		return // with Confirm, Nearby reads the states from the store anyway
	}
	var nums []int32
	for _, id := range ids {
		sp, ok := v.reg.Space(id)
		if !ok {
			continue
		}
		if n, ok := v.find(v.zoneIdx[sp.ZoneID], id); ok {
			nums = append(nums, n)
		}
	}
	nums, spaces := v.spaces(nums)
	readMS := m.opts.Now().UnixMilli()
	states, err := m.opts.Store.States(ctx, spaces)
	if err != nil {
		m.log.Warn("refresh after a closure", "err", err)
		return
	}
	v.setStates(nums, states, readMS)
}
