package redisstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Occupancy history, in 5-minute buckets (occupancy.HistoryStep) kept
// occupancy.HistoryRetention:
//
//	pk:{Z}:h:YYYYMMDD  string: the zone's 288 buckets of that UTC day
//
// Each bucket is a fixed 21-byte record at offset slot*21 (slot = minutes
// since midnight / 5): a marker byte 1 (0 = no sample: SETRANGE pads with
// zero bytes), then total, free, occupied, unknown and closed as big-endian
// uint32. Writing a bucket is one SETRANGE, so the same bucket written twice
// (two instances sampling) holds one sample, the last written. Each day key
// expires HistoryRetention after the day ends: the trim by age. A zone costs
// 7216 B a day in redis-server (MEMORY USAGE of a day written bucket by
// bucket), 250 KB for 35 days, 3.5 MB for Qiuai's 14 zones; a zset of the
// same 10 080 buckets takes 1.3 MB per zone.

const (
	histRecord = 21
	histSlots  = int(24 * time.Hour / occupancy.HistoryStep)
	histDay    = 24 * time.Hour
)

// historyKey is the key of zone's history on day (UTC).
func (s *Store) historyKey(zoneID string, day time.Time) string {
	return s.opts.Prefix + ":{" + zoneID + "}:h:" + day.UTC().Format("20060102")
}

func encodeBucket(c occupancy.Counts) string {
	b := make([]byte, histRecord)
	b[0] = 1
	for i, v := range []int{c.Total, c.Free, c.Occupied, c.Unknown, c.Closed} {
		binary.BigEndian.PutUint32(b[1+4*i:], uint32(max(v, 0)))
	}
	return string(b)
}

func decodeBucket(b []byte) (occupancy.Counts, bool) {
	if len(b) < histRecord || b[0] != 1 {
		return occupancy.Counts{}, false
	}
	v := func(i int) int { return int(binary.BigEndian.Uint32(b[1+4*i:])) }
	return occupancy.Counts{Total: v(0), Free: v(1), Occupied: v(2), Unknown: v(3), Closed: v(4)}, true
}

// slotOf returns the day (UTC midnight) and slot of the bucket holding t.
func slotOf(t time.Time) (time.Time, int) {
	t = occupancy.BucketStart(t)
	day := t.Truncate(histDay)
	return day, int(t.Sub(day) / occupancy.HistoryStep)
}

// WriteHistory stores points (any order) in zoneID's history, each in the
// bucket holding its Start; points older than HistoryRetention are
// skipped. ENOTFOUND for a zone not in the registry.
func (s *Store) WriteHistory(ctx context.Context, zoneID string, pts []occupancy.HistoryPoint) error {
	if _, ok := s.reg.Zone(zoneID); !ok {
		return occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	now := s.opts.Now()
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.queueHistory(ctx, p, zoneID, pts, now)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: write history of zone %s: %w", zoneID, err)
	}
	return nil
}

// queueHistory adds to p the writes of pts into zoneID's history.
func (s *Store) queueHistory(ctx context.Context, p redis.Pipeliner, zoneID string, pts []occupancy.HistoryPoint, now time.Time) {
	oldest := now.Add(-occupancy.HistoryRetention)
	days := map[time.Time]bool{}
	for _, pt := range pts {
		if pt.Start.Before(oldest) {
			continue
		}
		day, slot := slotOf(pt.Start)
		key := s.historyKey(zoneID, day)
		p.SetRange(ctx, key, int64(slot*histRecord), encodeBucket(pt.Counts))
		if !days[day] {
			days[day] = true
			// Relative to the injected clock, so tests on a fixed clock
			// work whatever Redis' own clock says.
			p.Expire(ctx, key, day.Add(histDay+occupancy.HistoryRetention).Sub(now))
		}
	}
}

// RecordHistory samples every zone's counters into the bucket holding at,
// in one pipeline. Safe on several instances: they overwrite the same
// bucket.
func (s *Store) RecordHistory(ctx context.Context, at time.Time) error {
	zones, err := s.Zones(ctx)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, z := range zones {
			pt := occupancy.HistoryPoint{Start: occupancy.BucketStart(at), Counts: z.Counts, Samples: 1}
			s.queueHistory(ctx, p, z.ZoneID, []occupancy.HistoryPoint{pt}, now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: record history: %w", err)
	}
	return nil
}

// maxHistorySpan bounds one History read.
const maxHistorySpan = occupancy.HistoryRetention + histDay

// History returns the recorded buckets of zoneID (or of the whole town
// with occupancy.AllZones: the sums of the zones' buckets) whose start is
// in [from, to), oldest first; buckets without a sample are left out.
// ENOTFOUND for an unknown zone, EINVALID for a span over 36 days.
func (s *Store) History(ctx context.Context, zoneID string, from, to time.Time) ([]occupancy.HistoryPoint, error) {
	zones, err := s.historyZones(zoneID)
	if err != nil {
		return nil, err
	}
	if to.Sub(from) > maxHistorySpan {
		return nil, occupancy.Errorf(occupancy.EINVALID, "history span over %s", maxHistorySpan)
	}
	first, last := occupancy.BucketStart(from), occupancy.BucketStart(to.Add(-time.Nanosecond))
	if from.After(first) {
		first = first.Add(occupancy.HistoryStep)
	}
	if !to.After(from) || last.Before(first) {
		return nil, nil
	}
	type read struct {
		day time.Time
		lo  int
		cmd *redis.StringCmd
	}
	var reads []read
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, z := range zones {
			for day := first.Truncate(histDay); !day.After(last); day = day.Add(histDay) {
				lo, hi := 0, histSlots-1
				if day.Equal(first.Truncate(histDay)) {
					_, lo = slotOf(first)
				}
				if day.Equal(last.Truncate(histDay)) {
					_, hi = slotOf(last)
				}
				cmd := p.GetRange(ctx, s.historyKey(z, day), int64(lo*histRecord), int64((hi+1)*histRecord-1))
				reads = append(reads, read{day, lo, cmd})
			}
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("redis store: read history of %s: %w", zoneID, err)
	}
	sums := map[time.Time]*occupancy.HistoryPoint{}
	for _, r := range reads {
		b := []byte(r.cmd.Val())
		for i := 0; i+histRecord <= len(b); i += histRecord {
			c, ok := decodeBucket(b[i : i+histRecord])
			if !ok {
				continue
			}
			start := r.day.Add(time.Duration(r.lo+i/histRecord) * occupancy.HistoryStep)
			if sums[start] == nil {
				sums[start] = &occupancy.HistoryPoint{Start: start, Samples: 1}
			}
			sums[start].Counts.Add(c)
		}
	}
	var out []occupancy.HistoryPoint
	for t := first; !t.After(last); t = t.Add(occupancy.HistoryStep) {
		if p := sums[t]; p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

// historyZones returns the zones whose history makes zoneID's.
func (s *Store) historyZones(zoneID string) ([]string, error) {
	if zoneID == occupancy.AllZones {
		var ids []string
		for _, z := range s.reg.Zones() {
			ids = append(ids, z.ID)
		}
		return ids, nil
	}
	if _, ok := s.reg.Zone(zoneID); !ok {
		return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	return []string{zoneID}, nil
}
