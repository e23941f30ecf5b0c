package redisstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

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
	b.Helper()
	zones, spaces, err := town.Generate(town.Options{})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	s, err := redisstore.New(redisstore.Options{Client: testenv.MustStartRedis(b, args...).Client(b), Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Init(context.Background()); err != nil {
		b.Fatal(err)
	}
	return s, spaces
}

// benchReading returns the k-th reading of a benchmark: the sensors take
// turns, and each reading is newer than the one before and flips the
// space, so every one is applied and moves the counters and the geo index.
func benchReading(spaces []occupancy.Space, k int64) occupancy.Reading {
	sp := spaces[k%int64(len(spaces))]
	return occupancy.Reading{SensorID: sp.SensorID, Occupied: (k/int64(len(spaces)))%2 == 0,
		TS: t0.Add(time.Duration(k) * time.Millisecond), Seq: uint64(k), Kind: occupancy.ReadingStatus, BatteryMV: 3600}
}

// BenchmarkApply is one reading per round trip, as each ingest worker does
// today: serially, and from 16 goroutines (parkd's default worker count).
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
	s, spaces := benchStore(b, args...)
	ctx := context.Background()
	k := int64(1 << 40)
	for _, size := range []int{16, 64, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			rs := make([]occupancy.Reading, size)
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
		})
	}
}
