package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
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

// zoneChanges is one zone's part of a changeLog.
type zoneChanges struct {
	pos   string             // id of the last entry read; "" before the first read
	times map[string][]int64 // space id -> its changes' times (Unix ms), oldest first
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
	if z == nil {
		z = &zoneChanges{times: map[string][]int64{}}
		s.changes.zones[zoneID] = z
	}
	now := s.opts.Now()
	since := now.Add(-changeWindow)
	if err := s.readChanges(ctx, zoneID, z, since); err != nil {
		return nil, fmt.Errorf("redis store: read state changes of zone %s: %w", zoneID, err)
	}
	out := make(map[string]int, len(z.times))
	for id, ts := range z.times {
		i := 0
		for i < len(ts) && ts[i] < since.UnixMilli() {
			i++
		}
		if ts = ts[i:]; len(ts) == 0 {
			delete(z.times, id)
			continue
		}
		z.times[id] = ts
		out[id] = len(ts)
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
		z.pos = ""
		clear(z.times)
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

// add counts the occupancy changes among msgs (in stream order) at or
// after since, and moves pos past them.
func (z *zoneChanges) add(msgs []redis.XMessage, since time.Time) {
	for _, m := range msgs {
		z.pos = m.ID
		if id, ok := occupancyChange(m, since); ok {
			z.times[id] = append(z.times[id], eventTime(m).UnixMilli())
		}
	}
	if z.pos == "" {
		z.pos = "0-0" // the stream is empty: the next read starts from its beginning
	}
}
