package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// A FreeIndex is parkd's in-memory read model of which spaces are free, so
// that a nearby query is answered from memory plus one small round trip
// (the candidates' states) instead of a GEORADIUS per zone and kind.
//
// It holds the registry's positions in a grid and each space's status,
// taken from a consistent snapshot of each zone (its states hash and the
// id of its event stream's last entry, in one MULTI) and then kept current
// from the zones' event streams pk:{Z}:ev, which the apply and sweep
// scripts append to in the same atomic step as the change (closures
// append after theirs). On a single Redis (or Sentinel) one XREAD reads
// every zone's stream; on a Cluster the zones' streams are in different
// slots, so a pipeline of per-zone XREADs does. Reads do not block: they
// run every Poll while nothing is new, and again after Poll when events
// came (so they are applied in batches). XREAD BLOCK would save the idle
// reads, but the embedded miniredis of the demo stalls other clients'
// scripts while one blocks. A zone whose stream was trimmed past the
// index's position (it fell more than the stream's cap behind) is read
// again whole, and so is every zone every Resync, to repair events lost by
// a closure whose best-effort publish failed.
//
// The index also holds each free space's state (since, last_seen, health)
// as read from Redis: the snapshot reads them all, and after each batch of
// events the index reads the states of the spaces they name (one pipelined
// HMGET per zone) and takes status and state from that read, not from the
// event, so the order in which events of closures arrive does not matter.
// Nearby then answers from memory with no round trip, each space with the
// time its state was read (observed_at): it was free then and no change of
// its status had reached the index since. last_seen is as of that time (a
// reading that does not change the status writes no event).
//
// The index also answers Zones and Zone (freezones.go): each zone's counts
// of the statuses it holds, with the level and time of change the events
// carry, so the summary and the dashboards cost Redis nothing.
//
// With Confirm, Nearby instead reads the states of the nearest candidates
// from Redis (one round trip, as the Redis path's second one) and keeps
// those Redis says are free. Either way, while the index is not synced, or
// has not heard from Redis for MaxLag, Nearby (and Zones) take the Redis path.
type FreeIndex struct {
	s       *Store
	opts    FreeIndexOptions
	view    atomic.Pointer[freeView]
	heard   atomic.Int64 // Unix ns of the last answer from Redis to the tail
	rebuild chan struct{}
	t       tail // Run's state
	stats   struct{ fromIndex, fromRedis, resyncs, gaps, rebuilds atomic.Int64 }
}

// FreeIndexOptions configure a FreeIndex.
type FreeIndexOptions struct {
	// MaxLag: Nearby answers from the index only if it heard from Redis
	// this recently. Default 2s.
	MaxLag time.Duration
	// Poll is the pause between two reads of the event streams: how far
	// the index may lag behind Redis, plus a round trip. Default 10ms.
	Poll time.Duration
	// Resync is how often every zone is read again whole. Default 5m.
	Resync time.Duration
	// CellM is the size of the grid's cells in metres. Default 100.
	CellM float64
	// Confirm makes Nearby read the candidates' states from Redis (one
	// round trip) rather than answer from the states the index holds.
	// Default false.
	Confirm bool
	// MaxRead is about the most events one read takes from all the zones'
	// streams together (each zone's share at least 1): a backlog is read
	// in several reads rather than one large reply. Default 20000.
	MaxRead int
}

func (o *FreeIndexOptions) ensureDefaults() {
	if o.MaxLag <= 0 {
		o.MaxLag = 2 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 10 * time.Millisecond
	}
	if o.Resync <= 0 {
		o.Resync = 5 * time.Minute
	}
	if o.CellM <= 0 {
		o.CellM = 100
	}
	if o.MaxRead <= 0 {
		o.MaxRead = 20000
	}
}

// FreeIndexStats count what a FreeIndex did.
type FreeIndexStats struct {
	// FromIndex and FromRedis count the nearby queries answered from the
	// index and by the Redis path (index not synced or stale).
	FromIndex, FromRedis int64
	// Resyncs counts zones read again whole after the first sync; Gaps the
	// zones found trimmed past the index's position; Rebuilds the rebuilds
	// after a registry change.
	Resyncs, Gaps, Rebuilds int64
	// Synced says the index has read every zone once.
	Synced bool
	// Lag is the time since the index last heard from Redis.
	Lag time.Duration
}

// NewFreeIndex returns the free index of s. It answers from the Redis path
// until Run has synced it.
func NewFreeIndex(s *Store, opts FreeIndexOptions) *FreeIndex {
	opts.ensureDefaults()
	return &FreeIndex{s: s, opts: opts, rebuild: make(chan struct{}, 1)}
}

// Stats returns the index's counters.
func (f *FreeIndex) Stats() FreeIndexStats {
	st := FreeIndexStats{FromIndex: f.stats.fromIndex.Load(), FromRedis: f.stats.fromRedis.Load(),
		Resyncs: f.stats.resyncs.Load(), Gaps: f.stats.gaps.Load(), Rebuilds: f.stats.rebuilds.Load(),
		Synced: f.view.Load() != nil}
	if st.Synced {
		st.Lag = f.s.opts.Now().Sub(time.Unix(0, f.heard.Load()))
	}
	return st
}

// Rebuild asks Run to rebuild the index from the registry as it is now
// (after a reload). It does not wait; until the rebuild is done the old
// index answers, and a space it proposes that the registry no longer has
// as it was is left out.
func (f *FreeIndex) Rebuild() {
	select {
	case f.rebuild <- struct{}{}:
	default:
	}
}

// fresh returns the view if it is synced and heard from Redis within MaxLag.
func (f *FreeIndex) fresh() *freeView {
	v := f.view.Load()
	if v == nil || f.s.opts.Now().Sub(time.Unix(0, f.heard.Load())) > f.opts.MaxLag {
		return nil
	}
	return v
}

// tail is Run's state: the view it keeps and each zone's stream position.
type tail struct {
	v        *freeView
	pos      []string // per view zone: id of the last entry applied, "0-0" if none
	stale    map[int]bool
	lastFull time.Time
}

// Run builds the index, syncs it and keeps it current until ctx is done.
// Errors (Redis unreachable) are logged and retried with backoff; the
// index goes stale meanwhile, so Nearby takes the Redis path. Run again
// after it returned goes on from where it stopped; it must not run twice
// at once.
func (f *FreeIndex) Run(ctx context.Context) {
	t := &f.t
	if t.stale == nil {
		t.stale = map[int]bool{}
	}
	delay := 100 * time.Millisecond
	for ctx.Err() == nil {
		if err := f.step(ctx, t); err != nil {
			if ctx.Err() != nil {
				return
			}
			f.s.opts.Logger.Warn("free index: redis", "err", err, "retry_in", delay)
			sleep(ctx, delay)
			delay = min(2*delay, 5*time.Second)
			continue
		}
		delay = 100 * time.Millisecond
	}
}

// step does one round of Run: a rebuild or resync if due, then one read.
func (f *FreeIndex) step(ctx context.Context, t *tail) error {
	select {
	case <-f.rebuild:
		t.v = nil
		f.stats.rebuilds.Add(1)
	default:
	}
	if t.v == nil {
		return f.build(ctx, t)
	}
	if f.s.opts.Now().Sub(t.lastFull) >= f.opts.Resync {
		for zi := range t.v.zones {
			t.stale[zi] = true
		}
		t.lastFull = f.s.opts.Now()
	}
	if len(t.stale) > 0 {
		zones := make([]int, 0, len(t.stale))
		for zi := range t.stale {
			zones = append(zones, zi)
		}
		if err := f.syncZones(ctx, t.v, t.pos, zones); err != nil {
			return err
		}
		f.stats.resyncs.Add(int64(len(zones)))
		clear(t.stale)
	}
	return f.read(ctx, t)
}

// build makes a view of the registry as it is now, syncs every zone and
// then publishes it.
func (f *FreeIndex) build(ctx context.Context, t *tail) error {
	v := newFreeView(f.s, f.s.reg.Snapshot(), f.opts.CellM, !f.opts.Confirm)
	pos := make([]string, len(v.zones))
	all := make([]int, len(v.zones))
	for i := range all {
		all[i] = i
	}
	if err := f.syncZones(ctx, v, pos, all); err != nil {
		return err
	}
	t.v, t.pos, t.lastFull = v, pos, f.s.opts.Now()
	clear(t.stale)
	f.view.Store(v)
	return nil
}

// syncBatch is how many zones one MULTI reads whole on a single Redis. On
// a Cluster a MULTI may not span slots: one MULTI per zone.
const syncBatch = 32

// syncZones reads the given zones whole: for each, in one MULTI (its keys
// share a slot), the id of its stream's last entry, its states hash and its
// counters' level and time of change. The states are then exactly those
// after that entry, and the tail goes on from it.
func (f *FreeIndex) syncZones(ctx context.Context, v *freeView, pos []string, zones []int) error {
	n := syncBatch
	if _, cluster := f.s.rdb.(*redis.ClusterClient); cluster {
		n = 1
	}
	for len(zones) > 0 {
		batch := zones[:min(n, len(zones))]
		zones = zones[len(batch):]
		last := make([]*redis.XMessageSliceCmd, len(batch))
		states := make([]*redis.MapStringStringCmd, len(batch))
		counters := make([]*redis.SliceCmd, len(batch))
		readMS := f.s.opts.Now().UnixMilli()
		_, err := f.s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, zi := range batch {
				last[i] = p.XRevRangeN(ctx, v.zones[zi].stream, "+", "-", 1)
				states[i] = p.HGetAll(ctx, v.zones[zi].states)
				counters[i] = p.HMGet(ctx, v.zones[zi].counters, "level", "updated")
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("redis store: free index: sync zones: %w", err)
		}
		for i, zi := range batch {
			pos[zi] = "0-0"
			if msgs := last[i].Val(); len(msgs) > 0 {
				pos[zi] = msgs[0].ID
			}
			v.setZone(zi, states[i].Val(), counters[i].Val(), readMS)
		}
		f.heard.Store(f.s.opts.Now().UnixNano())
	}
	return nil
}

// readCount is how many entries one read takes from each of n zones'
// streams: MaxRead shared among them, at most 1000 and at least 1. XREAD's
// COUNT is per stream: with a fixed 1000, the first read after a million
// readings at city scale (2 860 zones) took all of them in one reply of
// about 100 MB, which parkd then parsed at once (its heap went to 333 MB).
func (f *FreeIndex) readCount(n int) int64 { return shareCount(f.opts.MaxRead, 1000, n) }

// shareCount is the COUNT of a read of n streams that takes about total
// entries in all: total shared among them, at most perStream and at least 1.
func shareCount(total int, perStream int64, n int) int64 {
	return min(perStream, int64(max(1, total/max(n, 1))))
}

// read takes the events that follow each zone's position, applies them and
// checks the zones that had some for a gap.
func (f *FreeIndex) read(ctx context.Context, t *tail) error {
	var streams []redis.XStream
	var err error
	if _, cluster := f.s.rdb.(*redis.ClusterClient); cluster {
		streams, err = f.readEach(ctx, t)
	} else {
		streams, err = f.readAll(ctx, t)
	}
	if err != nil {
		return fmt.Errorf("redis store: free index: read events: %w", err)
	}
	f.heard.Store(f.s.opts.Now().UnixNano())
	defer sleep(ctx, f.opts.Poll)
	if len(streams) == 0 {
		return nil
	}
	prev := make(map[int]string, len(streams)) // each zone's position before the read
	freed := make(map[int][]int32, len(streams))
	for _, st := range streams {
		zi, ok := t.v.zoneOfStream(st.Stream)
		if !ok || len(st.Messages) == 0 {
			continue
		}
		prev[zi] = t.pos[zi]
		t.pos[zi] = st.Messages[len(st.Messages)-1].ID
		nums, known := t.v.apply(zi, st.Messages)
		if !known {
			f.Rebuild() // an event of a space this view does not know: the registry changed
		}
		freed[zi] = nums
	}
	if err := f.fetchAndCheck(ctx, t, prev, freed); err != nil {
		for zi, pos := range prev {
			t.pos[zi] = pos // read these events again
		}
		return err
	}
	return nil
}

// fetchAndCheck makes the round trip that follows a read: it reads the
// states of the spaces the events freed (unless Confirm: nearby then reads
// them itself) and sets them, and it checks each zone that had events for
// a gap: if the zone's first entry is after its position before the read
// (prev), the stream was trimmed past that position and events may be lost,
// so the zone is read again whole. (Checking after the read can only find
// too many gaps, never too few.) One pipeline, per zone an HMGET and an
// XRANGE of one entry.
func (f *FreeIndex) fetchAndCheck(ctx context.Context, t *tail, prev map[int]string, freed map[int][]int32) error {
	var states map[int]*redis.SliceCmd
	firsts := make(map[int]*redis.XMessageSliceCmd, len(prev))
	readMS := f.s.opts.Now().UnixMilli()
	_, err := f.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if !f.opts.Confirm {
			states = queueStates(ctx, p, t.v, freed)
		}
		for zi, pos := range prev {
			if pos != "0-0" {
				firsts[zi] = p.XRangeN(ctx, t.v.zones[zi].stream, "-", "+", 1)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: free index: read freed states, check gaps: %w", err)
	}
	for zi, cmd := range states {
		t.v.setSpaces(freed[zi], cmd.Val(), readMS)
	}
	for zi, cmd := range firsts {
		if msgs := cmd.Val(); len(msgs) > 0 && compareStreamIDs(msgs[0].ID, prev[zi]) > 0 {
			t.stale[zi] = true
			f.stats.gaps.Add(1)
		}
	}
	return nil
}

// fetch reads the states of the given spaces, per zone, in one pipeline,
// and sets them.
func (f *FreeIndex) fetch(ctx context.Context, v *freeView, spaces map[int][]int32) error {
	var cmds map[int]*redis.SliceCmd
	readMS := f.s.opts.Now().UnixMilli()
	_, err := f.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmds = queueStates(ctx, p, v, spaces)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: free index: read changed states: %w", err)
	}
	for zi, cmd := range cmds {
		v.setSpaces(spaces[zi], cmd.Val(), readMS)
	}
	return nil
}

// queueStates queues on p one HMGET per zone of the states of its spaces
// numbered spaces[zone].
func queueStates(ctx context.Context, p redis.Pipeliner, v *freeView, spaces map[int][]int32) map[int]*redis.SliceCmd {
	cmds := make(map[int]*redis.SliceCmd, len(spaces))
	for zi, nums := range spaces {
		if len(nums) == 0 {
			continue
		}
		ids := make([]string, len(nums))
		for i, n := range nums {
			ids[i] = v.ids[n]
		}
		cmds[zi] = p.HMGet(ctx, v.zones[zi].states, ids...)
	}
	return cmds
}

// readAll reads every zone's stream with one XREAD.
func (f *FreeIndex) readAll(ctx context.Context, t *tail) ([]redis.XStream, error) {
	args := make([]string, 0, 2*len(t.pos))
	for _, z := range t.v.zones {
		args = append(args, z.stream)
	}
	args = append(args, t.pos...)
	res, err := f.s.rdb.XRead(ctx, &redis.XReadArgs{Streams: args, Count: f.readCount(len(t.pos)), Block: -1}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return res, err
}

// readEach reads every zone's stream, one command per zone in one
// pipeline (Cluster: the streams are in different slots).
func (f *FreeIndex) readEach(ctx context.Context, t *tail) ([]redis.XStream, error) {
	cmds := make([]*redis.XStreamSliceCmd, len(t.pos))
	_, err := f.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range t.v.zones {
			cmds[i] = p.XRead(ctx, &redis.XReadArgs{Streams: []string{z.stream, t.pos[i]}, Count: f.readCount(len(t.pos)), Block: -1})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []redis.XStream
	for _, c := range cmds {
		out = append(out, c.Val()...)
	}
	return out, nil
}

// zoneOfStream returns the zone whose event stream is key.
func (v *freeView) zoneOfStream(key string) (int, bool) {
	// key is prefix:{ZONE}:ev
	open, end := -1, len(key)-len("}:ev")
	for i := 0; i < end; i++ {
		if key[i] == '{' {
			open = i
			break
		}
	}
	if open < 0 || end <= open {
		return 0, false
	}
	zi, ok := v.zoneIdx[key[open+1:end]]
	return zi, ok
}

// apply sets the status of the spaces of zone zi's space events, and
// returns the numbers of those free after them (each once), and false if an
// event named a space the view does not have. A space whose status an
// event changes loses its state until it is read again (fetch: only a free
// one's state is kept). A zone's events are in the order of its changes
// (the scripts append them in the same atomic step), so the last event of
// a space says its status.
func (v *freeView) apply(zi int, msgs []redis.XMessage) (nums []int32, known bool) {
	known = true
	seen := make(map[int32]bool, len(msgs))
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range msgs {
		v.hearEvent(zi, m)
		for id, st := range spaceChanges(m) { // st: a letter from the apply and sweep scripts, a word from the closure script
			n, ok := v.find(zi, id)
			if !ok {
				known = false
				continue
			}
			if !seen[int32(n)] {
				seen[int32(n)] = true
				nums = append(nums, int32(n))
			}
			if st != "" && st[0] != v.status[n] {
				v.setStatus(int32(n), st[0])
				if v.keepStates {
					v.packed[n] = ""
				}
			}
		}
	}
	free := nums[:0]
	for _, n := range nums {
		if v.status[n] == 'f' {
			free = append(free, n)
		}
	}
	return free, known
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
