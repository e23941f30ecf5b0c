package redisstore_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// BenchmarkNearby compares the Redis path (GEORADIUS per reached zone and
// kind, then the states) with the free index (memory, then the states), on
// the Qiuai registry with every other space free, for queries like parksim
// bench's (d): radius 300 m, limit 10, around a random space. The third
// path is the index's part alone (candidates from memory, no state read).
// Besides ns/op it reports Redis's own CPU time and commands per query
// (INFO; the index's background polling included), which depend far less
// on the machine's load than latency does.
func BenchmarkNearby(b *testing.B) {
	ctx := context.Background()
	zones, spaces, err := town.Generate(town.Options{})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	rdb := testenv.MustStartRedis(b).Client(b)
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Init(ctx); err != nil {
		b.Fatal(err)
	}
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
			cpu0, cmds0 := redisUsage(b, rdb)
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
			cpu1, cmds1 := redisUsage(b, rdb)
			b.ReportMetric((cpu1-cpu0)*1e6/float64(b.N), "redis-cpu-µs/op")
			b.ReportMetric(float64(cmds1-cmds0-2)/float64(b.N), "redis-cmds/op")
		})
	}
}

// redisUsage returns Redis's CPU seconds (user + system) and commands
// processed so far.
func redisUsage(b *testing.B, rdb *redis.Client) (cpu float64, cmds int64) {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu", "stats").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "used_cpu_user", "used_cpu_sys":
			f, _ := strconv.ParseFloat(v, 64)
			cpu += f
		case "total_commands_processed":
			cmds, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return cpu, cmds
}
