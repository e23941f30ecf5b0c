package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// A changeLog counts each space's occupancy changes within changeWindow
// for the incident detector, reading each zone's event stream once: the
// first pass of a zone reads its window, and each later pass only the
// entries after the last one it read. Reading the whole window at every
// pass, as SensorHealth does for one request, would read every change of
// the last hour of every zone every DetectInterval: at city scale, with
// millions of changes an hour, far too much.
//
// A stream trimmed past the position read (a zone with more than its cap
// of changes in an hour) loses the entries between: the zone is then read
// whole again, as SensorHealth would count it.
type changeLog struct {
	mu    sync.Mutex
	zones map[string]*zoneChanges
}

// zoneChanges is one zone's part of a changeLog: its changes in stream
// order, each as the number of its space in the registry and its time:
// 12 bytes a change, so a million spaces changing twice an hour hold about
// 24 MB.
type zoneChanges struct {
	pos   string              // id of the last entry read; "" before the first read
	reg   *occupancy.Registry // the registry version that numbers the spaces
	space []int32             // per change, its space's number in reg (SpaceAt)
	ms    []int64             // per change, its time (Unix ms)
}

// zoneChangesLastHour returns the occupancy changes of zoneID's spaces within
// changeWindow of now, by space id, reading only what the zone's stream
// holds since the last call. One round trip (two on a gap).
func (s *Store) zoneChangesLastHour(ctx context.Context, zoneID string) (map[string]int, error) {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	if s.changes.zones == nil {
		s.changes.zones = map[string]*zoneChanges{}
	}
	z := s.changes.zones[zoneID]
	if z == nil || !z.reg.SameVersion(s.reg) { // new, or the registry was reloaded: number the spaces again
		z = &zoneChanges{reg: s.reg.Snapshot()}
		s.changes.zones[zoneID] = z
	}
	since := s.opts.Now().Add(-changeWindow)
	if err := s.readChanges(ctx, zoneID, z, since); err != nil {
		return nil, fmt.Errorf("redis store: read state changes of zone %s: %w", zoneID, err)
	}
	i := 0 // the changes are in stream order: those before the window come first
	for i < len(z.ms) && z.ms[i] < since.UnixMilli() {
		i++
	}
	z.space, z.ms = z.space[i:], z.ms[i:]
	out := map[string]int{}
	for j, n := range z.space {
		if z.ms[j] >= since.UnixMilli() {
			out[z.reg.SpaceAt(int(n)).ID]++
		}
	}
	return out, nil
}

// readChanges reads zone's stream past z.pos into z: from the start of
// the window the first time and after a gap.
func (s *Store) readChanges(ctx context.Context, zoneID string, z *zoneChanges, since time.Time) error {
	key := s.eventsKey(zoneID)
	if z.pos != "" {
		var first *redis.XMessageSliceCmd
		var next *redis.XMessageSliceCmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			first = p.XRangeN(ctx, key, "-", "+", 1)
			next = p.XRange(ctx, key, z.pos, "+") // from pos, inclusive
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if f := first.Val(); len(f) == 0 || compareStreamIDs(f[0].ID, z.pos) <= 0 {
			msgs := next.Val()
			if len(msgs) > 0 && msgs[0].ID == z.pos {
				msgs = msgs[1:]
			}
			z.add(msgs, since)
			return nil
		}
		// Trimmed past pos: read the window again.
		z.pos, z.space, z.ms = "", nil, nil
	}
	// Stream ids carry Redis's time; with an injected clock behind or ahead
	// of it, start early enough to see the window (the times filter).
	now := s.opts.Now()
	from := strconv.FormatInt(min(now.UnixMilli(), time.Now().UnixMilli())-(changeWindow+clockSkew).Milliseconds(), 10)
	msgs, err := s.rdb.XRange(ctx, key, from, "+").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	z.add(msgs, since)
	return nil
}

// add records the occupancy changes among msgs (in stream order) at or
// after since, and moves pos past them. A change of a space not in z.reg
// is left out.
func (z *zoneChanges) add(msgs []redis.XMessage, since time.Time) {
	for _, m := range msgs {
		z.pos = m.ID
		ms := eventTime(m).UnixMilli() // the time of every change of the entry
		occupancyChanges(m, since, func(id string) {
			if n := z.reg.SpaceIndex(id) - 1; n >= 0 && z.reg.SpaceAt(n).ID == id {
				z.space = append(z.space, int32(n))
				z.ms = append(z.ms, ms)
			}
		})
	}
	if z.pos == "" {
		z.pos = "0-0" // the stream is empty: the next read starts from its beginning
	}
}
