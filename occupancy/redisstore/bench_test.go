package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
	"github.com/qiuai/parking/simulator/town"
)

// listpack1024 keeps every zone's hash and sorted sets (zones have at most
// 600 spaces) in Redis's compact listpack encoding: about half the memory
// per space (docs/benchmarks.md), at the price of linear scans.
var listpack1024 = []string{"--hash-max-listpack-entries", "1024", "--zset-max-listpack-entries", "1024"}

// benchConfigs are the redis-server settings the apply benchmarks compare.
var benchConfigs = []struct {
	name string
	args []string
}{{"redis=default", nil}, {"redis=listpack1024", listpack1024}}

// benchStore returns a store on a private redis-server started with args,
// with the Qiuai registry (3718 spaces), initialised.
func benchStore(b *testing.B, args ...string) (*redisstore.Store, []occupancy.Space) {
	s, spaces, _ := benchStoreClient(b, args...)
	return s, spaces
}

// benchStoreClient is benchStore that also returns a client of the server.
func benchStoreClient(b *testing.B, args ...string) (*redisstore.Store, []occupancy.Space, *redis.Client) {
	b.Helper()
	zones, spaces, err := town.Generate(town.Options{})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	rdb := testenv.MustStartRedis(b, args...).Client(b)
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s, spaces, rdb
}

// resetRedisStats zeroes the server's command statistics.
func resetRedisStats(b *testing.B, rdb *redis.Client) {
	b.Helper()
	if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
}

// reportRedisCPU reports, from INFO commandstats since the last
// resetRedisStats, the server's own time in the apply script (EVALSHA's
// usec) per reading as redis-µs/reading, the script's cost inside Redis,
// less disturbed by other work on the machine than the throughput; and the
// commands the scripts ran per reading as redis-calls/reading, which does
// not depend on the machine. readings is how many the scripts applied.
func reportRedisCPU(b *testing.B, rdb *redis.Client, readings int) {
	b.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("BENCH_CMDSTATS") != "" {
		b.Log(info)
	}
	var usec, calls float64
	for line := range strings.Lines(info) {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
		if !ok || !strings.HasPrefix(line, "cmdstat_") {
			continue
		}
		stats := map[string]float64{}
		for f := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(f, "=")
			stats[k], _ = strconv.ParseFloat(v, 64)
		}
		switch {
		case name == "evalsha":
			usec = stats["usec"]
		case name == "info" || strings.HasPrefix(name, "config"):
		default:
			calls += stats["calls"]
		}
	}
	if readings > 0 && usec > 0 {
		b.ReportMetric(usec/float64(readings), "redis-µs/reading")
		b.ReportMetric(calls/float64(readings), "redis-calls/reading")
	}
}

// benchReading returns the k-th reading of a benchmark: the sensors take
// turns, and each reading is newer than the one before and flips the
// space, so every one is applied and moves the counters and the geo index.
func benchReading(spaces []occupancy.Space, k int64) occupancy.Reading {
	sp := spaces[k%int64(len(spaces))]
	return occupancy.Reading{SensorID: sp.SensorID, Occupied: (k/int64(len(spaces)))%2 == 0,
		TS: t0.Add(time.Duration(k) * time.Millisecond), Seq: uint64(k), Kind: occupancy.ReadingStatus, BatteryMV: 3600}
}

// BenchmarkApply is one reading per round trip, as an ingest worker does
// with a batch of one: serially, and from 16 goroutines (parkd's default worker count).
func BenchmarkApply(b *testing.B) {
	for _, cfg := range benchConfigs {
		b.Run(cfg.name, func(b *testing.B) { benchApply(b, cfg.args) })
	}
}

func benchApply(b *testing.B, args []string) {
	s, spaces := benchStore(b, args...)
	ctx := context.Background()
	var k int64
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res, err := s.Apply(ctx, benchReading(spaces, k)); err != nil || res != occupancy.ResultApplied {
				b.Fatalf("apply: %s %v", res, err)
			}
			k++
		}
	})
	b.Run("workers=16", func(b *testing.B) {
		var k atomic.Int64
		k.Store(1 << 30)    // newer than everything of the serial run
		b.SetParallelism(8) // × GOMAXPROCS 2 = 16 goroutines
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				// Sensors can interleave here, so a reading may be stale;
				// the cost is the same.
				if _, err := s.Apply(ctx, benchReading(spaces, k.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkApplyBatch is pipelined batches of readings in one round trip;
// ns/op is per batch, readings/s is the throughput.
func BenchmarkApplyBatch(b *testing.B) {
	for _, cfg := range benchConfigs {
		b.Run(cfg.name, func(b *testing.B) { benchApplyBatch(b, cfg.args) })
	}
}

func benchApplyBatch(b *testing.B, args []string) {
	s, spaces, rdb := benchStoreClient(b, args...)
	ctx := context.Background()
	k := int64(1 << 40)
	for _, size := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			rs := make([]occupancy.Reading, size)
			resetRedisStats(b, rdb)
			b.ReportAllocs()
			for b.Loop() {
				for i := range rs {
					rs[i] = benchReading(spaces, k)
					k++
				}
				_, errs := s.ApplyBatch(ctx, rs)
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "readings/s")
			reportRedisCPU(b, rdb, b.N*size)
		})
	}
}
