package redisstore

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator/town"
)

// BenchmarkFreeViewMemory reports the Go heap a free index's view takes
// per registered space for a synthetic city of 1M spaces (b.N is ignored),
// with every other space free: without states (Confirm) and with them.
func BenchmarkFreeViewMemory(b *testing.B) {
	zones, spaces, err := town.Generate(town.Options{Spaces: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Client: redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	for _, keep := range []bool{false, true} {
		b.Run("states="+strconv.FormatBool(keep), func(b *testing.B) {
			before := heapInUse()
			v := newFreeView(s, reg, 100, keep)
			for i := range v.ids {
				if i%2 == 0 { // a typical packed state, its own string as Redis replies give
					v.set(int32(i), "f|0|1764144000123|1764144060456|1764144000123000|"+strconv.Itoa(i)+"|3600|12.5||||", 1)
				} else {
					v.set(int32(i), "o|1|1764144000123|1764144060456|1764144000123000|1|3600|12.5||||", 1)
				}
			}
			after := heapInUse()
			b.ReportMetric(float64(after-before)/float64(len(v.ids)), "heap-B/space")
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
