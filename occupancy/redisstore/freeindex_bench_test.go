package redisstore_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// BenchmarkNearby compares the Redis path (GEORADIUS per reached zone and
// kind, then the states) with the free index (memory, then the states), on
// the Qiuai registry with every other space free, for queries like parksim
// bench's (d): radius 300 m, limit 10, around a random space. The third
// path is the index's part alone (candidates from memory, no state read).
func BenchmarkNearby(b *testing.B) {
	s, spaces := benchStore(b)
	ctx := context.Background()
	for i, sp := range spaces {
		r := occupancy.Reading{SensorID: sp.SensorID, Occupied: i%2 == 0, TS: t0, Seq: 1}
		if _, err := s.Apply(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	idx := redisstore.NewFreeIndex(s, redisstore.FreeIndexOptions{})
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	go idx.Run(ictx)
	for !idx.Stats().Synced {
		time.Sleep(time.Millisecond)
	}
	paths := []struct {
		name   string
		nearby func(context.Context, occupancy.NearbyQuery) ([]occupancy.NearbySpace, error)
	}{{"path=redis", s.Nearby}, {"path=index", idx.Nearby}, {"path=index-memory-only", func(_ context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
		return make([]occupancy.NearbySpace, idx.Candidates(q)), nil
	}}}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
				for pb.Next() {
					sp := spaces[rng.IntN(len(spaces))]
					q := occupancy.NearbyQuery{Lat: sp.Lat, Lon: sp.Lon, RadiusM: 300, Limit: 10}
					if got, err := p.nearby(ctx, q); err != nil || len(got) == 0 {
						b.Fatalf("nearby: %d spaces, %v", len(got), err)
					}
				}
			})
		})
	}
}
