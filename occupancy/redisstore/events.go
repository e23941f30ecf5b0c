package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// The live feed is one Redis stream per zone, pk:{Z}:ev, in the zone's hash
// slot, holding the zone's events of the last eventKeep. The apply script
// appends a space change to it in the same atomic step that moves the space
// (so an event exists exactly when the change happened, at no extra round
// trip), and trims it; Publish appends the events of Go code (incidents,
// closures), capped by count only: they are few, and the next change of the
// zone trims them by time.
//
// An entry's fields: t type (space, zone, incident), s space id, st status,
// ms time (Unix ms; when absent, the time of the entry's id), d JSON
// payload. The apply script appends one space entry per call with the
// changes of that call: s their spaces' ids separated by spaces, st their
// statuses, one letter each, in order (spaceChanges reads both forms), and
// the zone's counters and level after the last of them: n total, f free,
// o occupied, c closed (unknown is total minus these), l level as a letter
// (s, a, f, u, c: levelNames). It is read as a space event per change and
// then the zone's event (Data a ZoneEventData), all with the entry's id;
// the SSE writer gives the id to the last of them only, so a client cut off
// inside an entry resumes before it. The sweeper's script appends the same
// for the spaces it marks unknown. The scripts leave ms out when the
// store's clock is the real one (eventMS), so a change alone in its entry
// costs about 60 bytes for the hour its stream keeps it, and one of a
// call's many about 25 (measured in the bench's (e); spaceEvent, scripts.go).
//
// Event ids are "STREAMID@ZONE" (e.g. 1764110000000-3@Z01). A reader keeps
// one position per zone; a client resuming with Last-Event-ID gets, in its
// zone, what follows that entry exactly, and in every other zone the entries
// from EventResumeWindow before the id's time on. The streams of a single
// Redis share one clock, so nothing is missed; on a Redis Cluster each
// master stamps ids with its own clock, so a resume misses nothing as long
// as the masters' clocks and the delivery lag differ by less than the
// window. The price is that a resume may repeat up to a window of other
// zones' events: clients drop ids they have seen. One stream per zone
// rather than one global stream keeps the append inside the apply script
// (a script may only touch its zone's slot) and spreads the writes over the
// cluster.

// EventResumeWindow is how far before a Last-Event-ID's time a resume
// re-reads the other zones' streams.
const EventResumeWindow = 2 * time.Second

// eventKeep is how long each zone's stream keeps its events: the window of
// a sensor's changes (health.go) and of an SSE resume, with a margin. The
// scripts that append (addEvent, scripts.go) trim what is older by the
// stream's own clock (XTRIM MINID ~, Redis >= 6.2; miniredis has it), so the
// memory follows the rate of changes, not a fixed count per zone: 2 860
// zones of 10 000 entries each would be 2.5 GB at city scale.
const eventKeep = changeWindow + 10*time.Minute

// eventsPerSpace and eventMin bound a zone's stream by count too, against a
// storm of changes: eventCap entries, about 10 changes per space and hour.
// Only a zone above that rate for an hour keeps less than eventKeep (its
// flapping counts and resumes then reach less far back).
const (
	eventsPerSpace = 10
	eventMin       = 1000
)

// eventMS is the ms field of the entries the scripts append at now: none
// ("") when now is the real time (within eventClockSlack), as the entry's id
// carries Redis's time, the same within the clocks' skew; now in Unix ms
// otherwise (an injected clock in tests or simulations). About 10 bytes less
// per change kept.
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
	id, err := s.rdb.XAdd(ctx, s.eventArgs(e)).Result()
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

// EventCursor is a reader's position in every zone's stream. The zero value
// is not usable: get one from EventsNow or EventsAfter.
type EventCursor struct {
	pos map[string]string // zone -> last stream id read (exclusive)
	def string            // position of a zone not in pos (one added by a reload)
}

// EventsNow returns a cursor at the end of every zone's stream: reading
// from it gives only events published after this call.
func (s *Store) EventsNow(ctx context.Context) (*EventCursor, error) {
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
	c := &EventCursor{pos: map[string]string{}, def: "0-0"}
	for i, z := range zones {
		c.pos[z.ID] = "0-0"
		if msgs := cmds[i].Val(); len(msgs) > 0 {
			c.pos[z.ID] = msgs[0].ID
		}
	}
	return c, nil
}

// EventsAfter returns the cursor of a client resuming after the event id
// last (its Last-Event-ID). EINVALID for an id that is not one of ours.
func (s *Store) EventsAfter(last string) (*EventCursor, error) {
	sid, zone, ok := strings.Cut(last, "@")
	msStr, seqStr, ok2 := strings.Cut(sid, "-")
	ms, err1 := strconv.ParseInt(msStr, 10, 64)
	_, err2 := strconv.ParseUint(seqStr, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || zone == "" || ms < 0 {
		return nil, occupancy.Errorf(occupancy.EINVALID, "Last-Event-ID %q is not an event id", last)
	}
	from := "0-0"
	if w := ms - EventResumeWindow.Milliseconds(); w > 0 {
		from = strconv.FormatInt(w-1, 10) + "-18446744073709551615" // just before w-0
	}
	c := &EventCursor{pos: map[string]string{}, def: from}
	for _, z := range s.reg.Zones() {
		c.pos[z.ID] = from
	}
	c.pos[zone] = sid
	return c, nil
}

// ReadEvents returns the events after c in every zone, at most max per zone,
// oldest first, and moves c past them. It does not block: nil when nothing
// is new. On a single Redis one XREAD reads every zone's stream; on a
// Cluster, where the streams are in different slots, a pipeline of one
// XREAD per zone does.
func (s *Store) ReadEvents(ctx context.Context, c *EventCursor, max int64) ([]occupancy.Event, error) {
	zones := s.reg.Zones()
	keys, pos := make([]string, len(zones)), make([]string, len(zones))
	for i, z := range zones {
		keys[i] = s.eventsKey(z.ID)
		var ok bool
		if pos[i], ok = c.pos[z.ID]; !ok {
			pos[i] = c.def
		}
	}
	streams, err := s.readStreams(ctx, keys, pos, max)
	if err != nil {
		return nil, fmt.Errorf("redis store: read events: %w", err)
	}
	zoneOf := make(map[string]string, len(zones))
	for i, z := range zones {
		zoneOf[keys[i]] = z.ID
	}
	type entry struct {
		zone string
		msg  redis.XMessage
	}
	var got []entry
	for _, st := range streams {
		zone, ok := zoneOf[st.Stream]
		if !ok {
			continue
		}
		for _, m := range st.Messages {
			got = append(got, entry{zone, m})
			c.pos[zone] = m.ID
		}
	}
	slices.SortStableFunc(got, func(a, b entry) int {
		if d := compareStreamIDs(a.msg.ID, b.msg.ID); d != 0 {
			return d
		}
		return cmp.Compare(a.zone, b.zone)
	})
	var out []occupancy.Event
	for _, e := range got {
		out = append(out, decodeEvent(e.zone, e.msg)...)
	}
	return out, nil
}

// readStreams reads the streams keys after the positions pos without
// blocking: one XREAD, or one per stream in a pipeline on a Cluster.
func (s *Store) readStreams(ctx context.Context, keys, pos []string, max int64) ([]redis.XStream, error) {
	if _, cluster := s.rdb.(*redis.ClusterClient); !cluster {
		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: append(slices.Clone(keys), pos...), Count: max, Block: -1}).Result()
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

// compareStreamIDs orders two stream ids "ms-seq" by time, then sequence.
func compareStreamIDs(a, b string) int {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	ams, _ := strconv.ParseUint(am, 10, 64)
	bms, _ := strconv.ParseUint(bm, 10, 64)
	asq, _ := strconv.ParseUint(as, 10, 64)
	bsq, _ := strconv.ParseUint(bs, 10, 64)
	return cmp.Or(cmp.Compare(ams, bms), cmp.Compare(asq, bsq))
}

// decodeEvent turns one stream entry into its events: one, or for a space
// entry one per change (spaceChanges) and then, when it carries the zone's
// counters, the zone's, all with the entry's id.
func decodeEvent(zone string, m redis.XMessage) []occupancy.Event {
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	num := func(k string) int { n, _ := strconv.Atoi(str(k)); return n }
	e := occupancy.Event{ID: m.ID + "@" + zone, Type: occupancy.EventType(str("t")),
		Time: eventTime(m), ZoneID: zone, SpaceID: str("s"), Status: str("st")}
	if d := str("d"); d != "" && json.Valid([]byte(d)) {
		e.Data = json.RawMessage(d)
	}
	var evs []occupancy.Event
	if e.Type != occupancy.EventSpace {
		evs = append(evs, e)
	}
	for id, st := range spaceChanges(m) {
		e.SpaceID, e.Status = id, st
		if len(st) == 1 {
			e.Status = string(statusNames[st])
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
	counts, _ := json.Marshal(ZoneEventData{Counts: cs, Level: level})
	z := occupancy.Event{ID: e.ID, Type: occupancy.EventZone, Time: e.Time, ZoneID: zone, Data: counts}
	return append(evs, z)
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

// ZoneEventData is the Data of a zone event: the zone's counts and level
// (DATEX II vocabulary; empty when not known) after the change.
type ZoneEventData struct {
	occupancy.Counts
	Level string `json:"level,omitempty"`
}

// levelNames are the levels of the letters a space change's entry carries
// (lvCodes in scripts.go).
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
		data, _ := json.Marshal(ZoneEventData{Counts: z.Counts, Level: string(z.Level)})
		err = s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.eventsKey(zoneID), MaxLen: int64(s.eventCap(zoneID)), Approx: true,
			Values: []any{"t", string(occupancy.EventZone), "ms", strconv.FormatInt(s.opts.Now().UnixMilli(), 10), "d", string(data)}}).Err()
	}
	if err != nil {
		s.opts.Logger.Warn("live feed: zone event of a closure not published", "zone", zoneID, "err", err)
	}
}
