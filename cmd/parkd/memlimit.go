package main

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
)

// memoryHeadroom is what parkd's default soft memory limit allows above the
// heap it holds once started.
const memoryHeadroom = 160 << 20

// gcPercent is parkd's GOGC while its own soft memory limit holds (and GOGC
// is not set): the heap may grow to 5 times the live heap before a
// collection instead of twice, within the limit. In a town of Qiuai's size
// that is some 50 MB more and a quarter of the collections, which under
// ingest and API load takes nearby's p99 from about 9 to 6.5 ms on 2 cores
// (docs/benchmarks.md); at a million spaces the limit decides, as before.
const gcPercent = 400

// setMemoryLimit gives the Go runtime a soft memory limit, unless the
// GOMEMLIMIT environment variable sets one (the runtime reads it itself;
// GOMEMLIMIT=off means none): the heap live once the store is initialised
// (mostly the registry, which stays as it is) plus memoryHeadroom. Without
// a limit the collector lets the heap grow to twice the live heap, so a
// million-space registry that never changes would double the process for
// nothing. The limit is soft: above it the collector runs more often, it
// never fails an allocation. Under that limit, and unless GOGC is set, it
// sets GOGC to gcPercent. It first returns the start-up garbage (the
// registry file's rows) to the operating system.
func setMemoryLimit(getenv func(string) string, log *slog.Logger) {
	debug.FreeOSMemory()
	if v := getenv("GOMEMLIMIT"); v != "" {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := int64(ms.HeapAlloc) + memoryHeadroom
	debug.SetMemoryLimit(limit)
	gogc := getenv("GOGC")
	if gogc == "" {
		debug.SetGCPercent(gcPercent)
		gogc = strconv.Itoa(gcPercent)
	}
	log.Info("soft memory limit set (GOMEMLIMIT overrides it)", "limit_mib", limit>>20, "live_heap_mib", ms.HeapAlloc>>20,
		"gogc", gogc)
}
