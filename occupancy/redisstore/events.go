package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// The live feed is one Redis stream per zone, pk:{Z}:ev, in the zone's hash
// slot, holding the zone's events of the last eventKeep. The scripts append
// a zone's changes to it in the same atomic step that makes them (so an
// event exists exactly when the change happened, at no extra round trip)
// and trim it by time; Publish and the incident code append the events of
// Go code, capped by count only. One stream per zone, not one for the town,
// keeps the append inside the scripts (a script may only touch its zone's
// slot) and spreads the writes over a cluster.
//
// An entry's fields: t type, s space id(s), st status(es), ms time (Unix ms;
// when absent, the time of the entry's id), d JSON payload. A space entry
// of the scripts holds a call's changes and the zone's counters after them
// (lua/common.lua); appendEvents reads it as a space event per change and
// then the zone's event, all with the entry's id.
//
// Event ids are "STREAMID@ZONE" (occupancy.SplitEventID). A client resuming
// with Last-Event-ID gets, in its zone, what follows that entry exactly, and
// in every other zone the entries from EventResumeWindow before the id's
// time on: nothing is missed on a single Redis (one clock), nor on a Cluster
// while the masters' clocks and the delivery lag differ by less than the
// window. A resume may repeat up to a window of other zones' events:
// clients drop ids they have seen.

// EventResumeWindow is how far before a Last-Event-ID's time a resume
// re-reads the other zones' streams.
const EventResumeWindow = 2 * time.Second

// eventKeep is how long each zone's stream keeps its events: the window of
// a sensor's changes (health.go) and of an SSE resume, with a margin. The
// scripts trim what is older by the stream's own clock (XTRIM MINID ~), so
// the memory follows the rate of changes, not a fixed count per zone. It
// is EVENT_KEEP_MS in lua/common.lua.
const eventKeep = changeWindow + 10*time.Minute

// eventsPerSpace and eventMin bound a zone's stream by count too, against a
// storm of changes: eventCap entries, about 10 changes per space and hour.
// Only a zone above that rate for an hour keeps less than eventKeep.
const (
	eventsPerSpace = 10
	eventMin       = 1000
)

// eventMS is the ms field of the entries the scripts append at now: none
// ("") when now is the real time (within eventClockSlack), as the entry's id
// carries Redis's time, the same within the clocks' skew; now in Unix ms
// otherwise (an injected clock in tests or simulations).
func eventMS(now time.Time) any {
	if d := time.Since(now); d > -eventClockSlack && d < eventClockSlack {
		return ""
	}
	return now.UnixMilli()
}

// eventClockSlack is how far from the real time a store's clock may be for
// eventMS to leave the time to the entry's id.
const eventClockSlack = time.Second

// eventCap is the most entries zoneID's stream keeps (approximately: XADD
// MAXLEN ~).
func (s *Store) eventCap(zoneID string) int {
	return max(eventMin, eventsPerSpace*s.reg.NumSpacesInZone(zoneID))
}

// eventsKey is zone's stream of events.
func (s *Store) eventsKey(zoneID string) string {
	return s.opts.Prefix + ":{" + zoneID + "}:ev"
}

// Publish appends e to its zone's stream and returns its id. EINVALID for an
// event without a type or with a zone not in the registry.
func (s *Store) Publish(ctx context.Context, e occupancy.Event) (string, error) {
	if e.Type == "" {
		return "", occupancy.Errorf(occupancy.EINVALID, "event without a type")
	}
	if _, ok := s.reg.Zone(e.ZoneID); !ok {
		return "", occupancy.Errorf(occupancy.EINVALID, "event of unknown zone %q", e.ZoneID)
	}
	if e.Time.IsZero() {
		e.Time = s.opts.Now()
	}
	id, err := s.rdb.XAdd(ctx, s.eventArgs(e.WithData())).Result()
	if err != nil {
		return "", fmt.Errorf("redis store: publish %s event: %w", e.Type, err)
	}
	return id + "@" + e.ZoneID, nil
}

// eventArgs is the XADD that appends e, of a zone in the registry, to its
// zone's stream.
func (s *Store) eventArgs(e occupancy.Event) *redis.XAddArgs {
	vals := []any{"t", string(e.Type), "s", e.SpaceID, "st", e.Status,
		"ms", strconv.FormatInt(e.Time.UnixMilli(), 10), "d", string(e.Data)}
	return &redis.XAddArgs{Stream: s.eventsKey(e.ZoneID), MaxLen: int64(s.eventCap(e.ZoneID)), Approx: true, Values: vals}
}

// EventsNow returns a cursor at the end of every zone's stream: reading
// from it gives only events appended after this call.
func (s *Store) EventsNow(ctx context.Context) (*occupancy.EventCursor, error) {
	zones := s.reg.Zones()
	cmds := make([]*redis.XMessageSliceCmd, len(zones))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			cmds[i] = p.XRevRangeN(ctx, s.eventsKey(z.ID), "+", "-", 1)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: event positions: %w", err)
	}
	c := occupancy.NewEventCursor(occupancy.StartPosition)
	for i, z := range zones {
		if msgs := cmds[i].Val(); len(msgs) > 0 {
			c.Set(z.ID, msgs[0].ID)
		}
	}
	return c, nil
}

// EventsAfter returns the cursor of a client resuming after the event id
// last (its Last-Event-ID): occupancy.EventCursorAfter with
// EventResumeWindow. EINVALID for an id that is not one of ours.
func (s *Store) EventsAfter(last string) (*occupancy.EventCursor, error) {
	return occupancy.EventCursorAfter(last, EventResumeWindow)
}

// CanBlock reports whether ReadEvents can wait for events: on a single
// Redis or through Sentinel one XREAD BLOCK reads every zone's stream; on a
// Cluster the streams are in different slots, which no blocking read can
// span, so the reader polls.
func (s *Store) CanBlock() bool {
	_, cluster := s.rdb.(*redis.ClusterClient)
	return !cluster
}

// ReadEvents returns the events after c in every zone, at most max entries
// per zone, oldest first, and moves c past them; on an error it read
// nothing and c has not moved. With block > 0 and
// CanBlock it waits up to block for an entry when none is there; otherwise
// it answers at once (nil when nothing is new). gaps lists the zones whose
// stream may have been trimmed past c's position before this read (the
// reader fell more than the stream's cap behind): a reader that keeps a
// view of them must read them again whole. Only zones whose read took max
// entries can be behind that far, so only they are checked: one more round
// trip, and only then.
func (s *Store) ReadEvents(ctx context.Context, c *occupancy.EventCursor, max int64, block time.Duration) (evs []occupancy.Event, gaps []string, err error) {
	zones := s.reg.Zones()
	keys, pos := make([]string, len(zones)), make([]string, len(zones))
	for i, z := range zones {
		keys[i], pos[i] = s.eventsKey(z.ID), c.Pos(z.ID)
	}
	streams, err := s.readStreams(ctx, keys, pos, max, block)
	if err != nil {
		return nil, nil, fmt.Errorf("redis store: read events: %w", err)
	}
	type entry struct {
		zone string
		msg  redis.XMessage
	}
	var got []entry
	behind := map[string]string{} // zone -> position before the read
	for _, st := range streams {
		zone, ok := zoneOfKey(st.Stream)
		if !ok || len(st.Messages) == 0 {
			continue
		}
		if int64(len(st.Messages)) >= max {
			behind[zone] = c.Pos(zone)
		}
		for _, m := range st.Messages {
			got = append(got, entry{zone, m})
		}
		c.Set(zone, st.Messages[len(st.Messages)-1].ID)
	}
	n := 0
	for _, e := range got {
		n += eventCount(e.msg)
	}
	evs = make([]occupancy.Event, 0, n) // one allocation: a flood's reads hold many changes
	slices.SortStableFunc(got, func(a, b entry) int {
		return cmp.Or(occupancy.ComparePositions(a.msg.ID, b.msg.ID), cmp.Compare(a.zone, b.zone))
	})
	for _, e := range got {
		evs = appendEvents(evs, e.zone, e.msg)
	}
	if len(behind) > 0 {
		if gaps, err = s.trimmedPast(ctx, behind); err != nil {
			// c has moved past evs: report them, and every zone that
			// could not be checked as a gap.
			gaps = slices.Sorted(maps.Keys(behind))
		}
	}
	return evs, gaps, nil
}

// TrimmedZones returns the zones whose stream was trimmed past c's
// position: a reader that could not read for a while (Redis down) checks
// them all before it goes on.
func (s *Store) TrimmedZones(ctx context.Context, c *occupancy.EventCursor) ([]string, error) {
	at := map[string]string{}
	for _, z := range s.reg.Zones() {
		at[z.ID] = c.Pos(z.ID)
	}
	return s.trimmedPast(ctx, at)
}

// trimmedPast returns the zones of at (zone -> position) whose stream's
// first entry is after that position: the entries between were trimmed.
// One pipeline of an XRANGE of one entry per zone.
func (s *Store) trimmedPast(ctx context.Context, at map[string]string) ([]string, error) {
	firsts := make(map[string]*redis.XMessageSliceCmd, len(at))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for zone, pos := range at {
			if pos != occupancy.StartPosition {
				firsts[zone] = p.XRangeN(ctx, s.eventsKey(zone), "-", "+", 1)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: check event streams for gaps: %w", err)
	}
	var out []string
	for zone, cmd := range firsts {
		if msgs := cmd.Val(); len(msgs) > 0 && occupancy.ComparePositions(msgs[0].ID, at[zone]) > 0 {
			out = append(out, zone)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readStreams reads the streams keys after the positions pos: one XREAD
// (blocking up to block when block > 0), or on a Cluster one per stream in
// a pipeline, without blocking.
func (s *Store) readStreams(ctx context.Context, keys, pos []string, max int64, block time.Duration) ([]redis.XStream, error) {
	if s.CanBlock() {
		if block <= 0 {
			block = -1 // no BLOCK argument: answer at once
		}
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: append(slices.Clone(keys), pos...), Count: max, Block: block}).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return res, err
	}
	cmds := make([]*redis.XStreamSliceCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range keys {
			cmds[i] = p.XRead(ctx, &redis.XReadArgs{Streams: []string{keys[i], pos[i]}, Count: max, Block: -1})
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []redis.XStream
	for _, cmd := range cmds {
		out = append(out, cmd.Val()...)
	}
	return out, nil
}

// zoneOfKey returns the zone of a zone key (prefix:{ZONE}:…).
func zoneOfKey(key string) (string, bool) {
	open := strings.IndexByte(key, '{')
	end := strings.IndexByte(key, '}')
	if open < 0 || end <= open {
		return "", false
	}
	return key[open+1 : end], true
}

// ZoneSnapshots reads the given zones whole: for each, in one MULTI (its
// keys share a slot), the id of its stream's last entry, its states and
// its counters' level and time of change, so the states are exactly those
// after that entry. On a single Redis one MULTI reads snapshotBatch zones;
// on a Cluster, where a MULTI may not span slots, one per zone. ENOTFOUND
// for a zone not in the registry.
func (s *Store) ZoneSnapshots(ctx context.Context, zones []string) ([]occupancy.ZoneSnapshot, error) {
	n := snapshotBatch
	if !s.CanBlock() {
		n = 1
	}
	out := make([]occupancy.ZoneSnapshot, 0, len(zones))
	for len(zones) > 0 {
		batch := zones[:min(n, len(zones))]
		zones = zones[len(batch):]
		snaps, err := s.snapshot(ctx, batch)
		if err != nil {
			return nil, err
		}
		out = append(out, snaps...)
	}
	return out, nil
}

// snapshotBatch is how many zones one MULTI of ZoneSnapshots reads.
const snapshotBatch = 32

// snapshot is one MULTI of ZoneSnapshots.
func (s *Store) snapshot(ctx context.Context, zones []string) ([]occupancy.ZoneSnapshot, error) {
	last := make([]*redis.XMessageSliceCmd, len(zones))
	states := make([]*redis.MapStringStringCmd, len(zones))
	counters := make([]*redis.SliceCmd, len(zones))
	for _, z := range zones {
		if _, ok := s.zones[z]; !ok {
			return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", z)
		}
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			last[i] = p.XRevRangeN(ctx, s.eventsKey(z), "+", "-", 1)
			states[i] = p.HGetAll(ctx, s.zones[z].states)
			counters[i] = p.HMGet(ctx, s.zones[z].counters, "level", "updated")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: read zones whole: %w", err)
	}
	out := make([]occupancy.ZoneSnapshot, len(zones))
	for i, z := range zones {
		snap := occupancy.ZoneSnapshot{ZoneID: z, Position: occupancy.StartPosition, Level: occupancy.LevelUnknown,
			Statuses: make(map[string]occupancy.Status, len(states[i].Val())), Free: map[string]occupancy.SpaceState{}}
		if msgs := last[i].Val(); len(msgs) > 0 {
			snap.Position = msgs[0].ID
		}
		for id, v := range states[i].Val() {
			st := occupancy.StatusUnknown
			if v != "" && statusOf[v[0]] != "" {
				st = statusOf[v[0]]
			}
			if st == occupancy.StatusFree {
				snap.Free[id] = decodeState(id, v) // only a free space's state is shown
			}
			snap.Statuses[id] = st
		}
		if vals := counters[i].Val(); len(vals) == 2 {
			if l, _ := vals[0].(string); l != "" {
				snap.Level = occupancy.Level(l)
			}
			u, _ := vals[1].(string)
			snap.UpdatedAt = msTime(u)
		}
		out[i] = snap
	}
	return out, nil
}

// appendEvents appends the events of one stream entry to evs: one, or for
// a space entry one per change (spaceChanges) and then, when it carries the
// zone's counters, the zone's, all with the entry's id.
func appendEvents(evs []occupancy.Event, zone string, m redis.XMessage) []occupancy.Event {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	num := func(k string) int { n, _ := strconv.Atoi(str(k)); return n }
	e := occupancy.Event{ID: m.ID + "@" + zone, Type: occupancy.EventType(str("t")),
		Time: eventTime(m), ZoneID: zone, SpaceID: str("s"), Status: str("st")}
	if d := str("d"); d != "" && json.Valid([]byte(d)) {
		e.Data = json.RawMessage(d)
	}
	if e.Type != occupancy.EventSpace {
		return append(evs, decodeZoneData(e))
	}
	for id, st := range spaceChanges(m) {
		e.SpaceID, e.Status, e.BySensor = id, st, false
		if len(st) == 1 {
			e.Status = string(statusNames[st])
			e.BySensor = st == "f" || st == "o" // the apply script's letters; the sweeper writes u
		}
		evs = append(evs, e)
	}
	if _, ok := m.Values["n"]; !ok {
		return evs
	}
	cs := occupancy.Counts{Total: num("n"), Free: num("f"), Occupied: num("o"), Unknown: num("u"), Closed: num("c")}
	if _, ok := m.Values["u"]; !ok {
		cs.Unknown = cs.Total - cs.Free - cs.Occupied - cs.Closed
	}
	level := str("l")
	if l, ok := levelNames[level]; ok {
		level = string(l)
	}
	return append(evs, occupancy.Event{ID: e.ID, Type: occupancy.EventZone, Time: e.Time, ZoneID: zone,
		Zone: &occupancy.ZoneEventData{Counts: cs, Level: level}})
}

// eventCount is how many events appendEvents makes of an entry: one, or
// for a space entry one per change and one for the zone.
func eventCount(m redis.XMessage) int {
	if t, _ := m.Values["t"].(string); t != string(occupancy.EventSpace) {
		return 1
	}
	ids, _ := m.Values["s"].(string)
	return strings.Count(ids, " ") + 2
}

// decodeZoneData reads a zone event's data (appended by publishZone) into
// its Zone, keeping Data as written; other events are returned as they are.
func decodeZoneData(e occupancy.Event) occupancy.Event {
	if e.Type == occupancy.EventZone && e.Data != nil {
		var d occupancy.ZoneEventData
		if json.Unmarshal(e.Data, &d) == nil {
			e.Zone = &d
		}
	}
	return e
}

// spaceChanges yields the changes a space entry records, in their order:
// each space's id and status (a letter from the apply and sweep scripts, a
// word from the closure script, "" if missing). An entry of the scripts
// holds a call's changes: s their ids separated by spaces, st one letter
// per id; an entry of one change is the same with one id, and then st may
// be a word. An entry of another type yields nothing.
func spaceChanges(m redis.XMessage) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		if t, _ := m.Values["t"].(string); t != string(occupancy.EventSpace) {
			return
		}
		ids, _ := m.Values["s"].(string)
		st, _ := m.Values["st"].(string)
		if !strings.Contains(ids, " ") {
			if ids != "" {
				yield(ids, st)
			}
			return
		}
		for k := 0; ids != ""; k++ {
			var id string
			id, ids, _ = strings.Cut(ids, " ")
			s := ""
			if k < len(st) {
				s = st[k : k+1]
			}
			if !yield(id, s) {
				return
			}
		}
	}
}

// eventTime is when a stream entry's event happened: its ms field, or the
// time of its id when it has none.
func eventTime(m redis.XMessage) time.Time {
	v, _ := m.Values["ms"].(string)
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		ms, err = strconv.ParseInt(m.ID[:max(strings.IndexByte(m.ID, '-'), 0)], 10, 64)
	}
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// levelNames are the levels of the letters a space change's entry carries
// (lvCodes in lua/common.lua).
var levelNames = map[string]occupancy.Level{"s": occupancy.LevelSpacesAvailable, "a": occupancy.LevelAlmostFull,
	"f": occupancy.LevelFull, "u": occupancy.LevelUnknown, "c": occupancy.LevelClosed}

// statusNames are the statuses of the packed state's letters.
var statusNames = map[string]occupancy.Status{"f": occupancy.StatusFree, "o": occupancy.StatusOccupied,
	"u": occupancy.StatusUnknown, "c": occupancy.StatusClosed}

// publishZone appends a zone event with the zone's counts and level after a
// closure or reopening; the closure script has appended the space events
// itself, in the same step as the change. Best effort: the change and its
// space events are stored already, so a failure is logged, not returned (a
// client reading the zone's counters sees them at the zone's next change).
func (s *Store) publishZone(ctx context.Context, zoneID string) {
	z, err := s.Zone(ctx, zoneID)
	if err == nil {
		e := occupancy.Event{Type: occupancy.EventZone, Time: s.opts.Now(), ZoneID: zoneID,
			Zone: &occupancy.ZoneEventData{Counts: z.Counts, Level: string(z.Level)}}
		err = s.rdb.XAdd(ctx, s.eventArgs(e.WithData())).Err()
	}
	if err != nil {
		s.opts.Logger.Warn("live feed: zone event of a closure not published", "zone", zoneID, "err", err)
	}
}
