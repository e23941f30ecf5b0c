package readmodel_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// BenchmarkNearby compares the store's path (GEORADIUS per reached zone and
// kind, then the states) with the read model's (memory only), on the Qiuai
// registry with every other space free, for queries like parksim bench's
// (d): radius 300 m, limit 10, around a random space. The third path is
// the model's candidates alone. Besides ns/op it reports Redis's own CPU
// time and commands per query (INFO; the feed's reads included), which
// depend far less on the machine's load than latency does.
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
		r := occupancy.Reading{SensorID: sp.SensorID, Occupied: i%2 == 0, TS: storetest.T0, Seq: 1}
		if _, err := s.Apply(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	m := readmodel.New(readmodel.Options{Store: s, Registry: reg})
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() {
		done <- feed.NewTailer(feed.TailerOptions{Source: s, Sinks: []feed.Sink{m}, Zones: len(zones)}).Run(fctx)
	}()
	defer func() { cancel(); <-done }()
	storetest.Eventually(b, 30*time.Second, func() string {
		if !m.Stats().Synced {
			return "the model is not built"
		}
		return ""
	})
	paths := []struct {
		name   string
		nearby func(context.Context, occupancy.NearbyQuery) ([]occupancy.NearbySpace, error)
	}{{"path=store", s.Nearby}, {"path=model", m.Nearby}, {"path=model-candidates-only", func(_ context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
		return make([]occupancy.NearbySpace, m.Candidates(q)), nil
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
			// Less the first INFO: each INFO's count leaves itself out.
			b.ReportMetric(float64(cmds1-cmds0-1)/float64(b.N), "redis-cmds/op")
		})
	}
	if st := m.Stats(); st.FromStore != 0 {
		b.Errorf("stats %+v: the model path answered from the store", st)
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

// BenchmarkViewMemory reports the Go heap the model's view takes per
// registered space for a synthetic city of 1M spaces (b.N is ignored), with
// every other space free: without states (Confirm) and with them, each free
// space's state its own, as the store's replies give.
func BenchmarkViewMemory(b *testing.B) {
	zones, spaces, err := town.Generate(town.Options{Spaces: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 26, 8, 0, 0, 123e6, time.UTC)
	state := func(i int, id string) occupancy.SpaceState {
		st := occupancy.SpaceState{SpaceID: id, Status: occupancy.StatusOccupied, Since: at,
			LastSeen: at.Add(time.Minute), SensorTS: at, Seq: 1, BatteryMV: 3600}
		if i%2 == 0 {
			st.Status, st.Seq, st.Health.TempC = occupancy.StatusFree, uint64(i), new(12.5)
		}
		return st
	}
	for _, keep := range []bool{false, true} {
		b.Run("states="+strconv.FormatBool(keep), func(b *testing.B) {
			before := heapInUse()
			v, n := readmodel.FilledView(reg, keep, state)
			after := heapInUse()
			b.ReportMetric(float64(after-before)/float64(n), "heap-B/space")
			runtime.KeepAlive(v)
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
