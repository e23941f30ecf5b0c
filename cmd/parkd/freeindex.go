package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/occupancy/redisstore"
)

// indexStatesMax is the largest registry whose free spaces' states nearby's
// index holds in memory (see app.go).
const indexStatesMax = 250_000

// registerFreeIndexMetrics exposes what nearby's free index does:
//
//	parkd_nearby_answers_total{path="index"|"redis"}  nearby queries answered from the index, or by the Redis path
//	parkd_nearby_index_synced                          1 once the index has read every zone
//	parkd_nearby_index_lag_seconds                     time since the index last heard from Redis
//	parkd_nearby_index_resyncs_total                   zones read again whole (periodic, or after a gap)
//	parkd_nearby_index_gaps_total                      zones whose stream was trimmed past the index's position
//	parkd_nearby_index_rebuilds_total                  rebuilds after a registry reload
func registerFreeIndexMetrics(reg prometheus.Registerer, f *redisstore.FreeIndex) {
	counter := func(name, help string, labels prometheus.Labels, v func(redisstore.FreeIndexStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v(f.Stats())) })
	}
	gauge := func(name, help string, v func(redisstore.FreeIndexStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return v(f.Stats()) })
	}
	const answers = "Nearby queries, by the path that answered: the in-memory free index or Redis (index not synced or stale)."
	reg.MustRegister(
		counter("parkd_nearby_answers_total", answers, prometheus.Labels{"path": "index"},
			func(s redisstore.FreeIndexStats) int64 { return s.FromIndex }),
		counter("parkd_nearby_answers_total", answers, prometheus.Labels{"path": "redis"},
			func(s redisstore.FreeIndexStats) int64 { return s.FromRedis }),
		counter("parkd_nearby_index_resyncs_total", "Zones the free index read again whole (periodically or after a gap).",
			nil, func(s redisstore.FreeIndexStats) int64 { return s.Resyncs }),
		counter("parkd_nearby_index_gaps_total", "Zones whose event stream was trimmed past the free index's position.",
			nil, func(s redisstore.FreeIndexStats) int64 { return s.Gaps }),
		counter("parkd_nearby_index_rebuilds_total", "Rebuilds of the free index after a registry reload.",
			nil, func(s redisstore.FreeIndexStats) int64 { return s.Rebuilds }),
		gauge("parkd_nearby_index_synced", "1 once the free index has read every zone, else 0.",
			func(s redisstore.FreeIndexStats) float64 { return map[bool]float64{true: 1}[s.Synced] }),
		gauge("parkd_nearby_index_lag_seconds", "Time since the free index last heard from Redis (0 before its first sync).",
			func(s redisstore.FreeIndexStats) float64 { return s.Lag.Seconds() }),
	)
}

// registerEventHubMetrics exposes the live feed's shared reader:
//
//	parkd_events_streams          SSE streams following the shared reader now
//	parkd_events_dropped_total    streams ended because their client fell too far behind (they resume)
func registerEventHubMetrics(reg prometheus.Registerer, h *redisstore.EventHub) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parkd_events_streams",
			Help: "SSE streams (GET /api/v1/events) following the shared reader of the event streams now."},
			func() float64 { return float64(h.Stats().Subscribers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parkd_events_dropped_total",
			Help: "SSE streams ended because their client fell too far behind; its EventSource resumes from its last id."},
			func() float64 { return float64(h.Stats().Dropped) }),
	)
}
