package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/httpapi"
	"github.com/qiuai/parking/ingest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
	"github.com/qiuai/parking/occupancy/jobs"
	"github.com/qiuai/parking/occupancy/readmodel"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// What each part takes from the others: the Redis store is every part's
// store, the read model answers zones and nearby.
var (
	_ ingest.Store             = (*redisstore.Store)(nil)
	_ feed.Source              = (*redisstore.Store)(nil)
	_ readmodel.Store          = (*redisstore.Store)(nil)
	_ jobs.Sweeper             = (*redisstore.Store)(nil)
	_ jobs.Reopener            = (*redisstore.Store)(nil)
	_ jobs.HistoryRecorder     = (*redisstore.Store)(nil)
	_ jobs.IncidentStore       = (*redisstore.Store)(nil)
	_ jobs.RegistryStore       = (*redisstore.Store)(nil)
	_ httpapi.Store            = (*redisstore.Store)(nil)
	_ httpapi.Store            = reads{}
	_ httpapi.ZoneReader       = (*readmodel.Model)(nil)
	_ httpapi.ZoneReader       = (*redisstore.Store)(nil)
	_ httpapi.Closer           = closures{}
	_ httpapi.SensorStore      = (*redisstore.Store)(nil)
	_ httpapi.EventSource      = (*redisstore.Store)(nil)
	_ httpapi.EventSubscriber  = (*feed.Hub)(nil)
	_ httpapi.Checker          = (*redisstore.Store)(nil)
	_ httpapi.RegistryReloader = (*jobs.Reloader)(nil)
	_ occupancy.HistoryReader  = (*redisstore.Store)(nil)
)

// indexStatesMax is the largest registry whose free spaces' states the
// read model holds in memory (about 100 B per space); above it the model
// holds only positions and statuses (about 40 B) and nearby reads the
// states with one round trip (readmodel.Options.Confirm).
const indexStatesMax = 250_000

// reads are the API's reads of spaces: the read model's, which are the
// store's while Redis answers and the model's memory, marked stale, while
// it does not (readmodel/spaces.go); the rejected messages are the
// store's.
type reads struct {
	*readmodel.Model
	store *redisstore.Store
}

// DeadLetters is the store's DeadLetters.
func (r reads) DeadLetters(ctx context.Context, limit int) ([]occupancy.DeadLetter, error) {
	return r.store.DeadLetters(ctx, limit)
}

// closures are the store's closures with read-your-writes in the read
// model: a space closed through this process stops being offered by nearby
// before the answer, not when its event arrives.
type closures struct {
	store *redisstore.Store
	model *readmodel.Model
	reg   *occupancy.Registry
}

// CloseSpace is the store's CloseSpace, then a refresh of the space.
func (c closures) CloseSpace(ctx context.Context, id string, cl occupancy.Closure) (occupancy.Closure, error) {
	cl, err := c.store.CloseSpace(ctx, id, cl)
	if err == nil {
		c.model.Refresh(ctx, []string{id})
	}
	return cl, err
}

// CloseZone is the store's CloseZone, then a refresh of the zone's spaces.
func (c closures) CloseZone(ctx context.Context, id string, cl occupancy.Closure) (occupancy.Closure, error) {
	cl, err := c.store.CloseZone(ctx, id, cl)
	if err == nil {
		c.model.Refresh(ctx, c.zoneSpaces(id))
	}
	return cl, err
}

// OpenSpace is the store's OpenSpace, then a refresh of the space.
func (c closures) OpenSpace(ctx context.Context, id string) error {
	err := c.store.OpenSpace(ctx, id)
	if err == nil {
		c.model.Refresh(ctx, []string{id})
	}
	return err
}

// OpenZone is the store's OpenZone, then a refresh of the zone's spaces.
func (c closures) OpenZone(ctx context.Context, id string) error {
	err := c.store.OpenZone(ctx, id)
	if err == nil {
		c.model.Refresh(ctx, c.zoneSpaces(id))
	}
	return err
}

// zoneSpaces lists the ids of a zone's spaces.
func (c closures) zoneSpaces(zoneID string) []string {
	spaces := c.reg.SpacesInZone(zoneID)
	ids := make([]string, len(spaces))
	for i, sp := range spaces {
		ids[i] = sp.ID
	}
	return ids
}

// registerReadModelMetrics exposes what the read model does:
//
//	parkd_nearby_answers_total{path="index"|"redis"}  nearby queries answered from memory, or by Redis
//	parkd_nearby_index_synced                          1 once the model has read every zone
//	parkd_nearby_index_lag_seconds                     time since the model last heard from Redis
//	parkd_nearby_index_resyncs_total                   zones read again whole (periodic, or after a gap)
//	parkd_nearby_index_gaps_total                      zones whose stream was trimmed past the feed's position
//	parkd_nearby_index_rebuilds_total                  rebuilds after a registry reload
//	parkd_stale_answers_total                          answers from memory, marked stale, while Redis did not answer
//	parkd_redis_answers_down                           1 while answers come from memory without asking Redis
func registerReadModelMetrics(reg prometheus.Registerer, m *readmodel.Model) {
	counter := func(name, help string, labels prometheus.Labels, v func(readmodel.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v(m.Stats())) })
	}
	gauge := func(name, help string, v func(readmodel.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return v(m.Stats()) })
	}
	const answers = "Nearby queries, by the path that answered: the in-memory read model or Redis (model not synced or stale)."
	reg.MustRegister(
		counter("parkd_nearby_answers_total", answers, prometheus.Labels{"path": "index"},
			func(s readmodel.Stats) int64 { return s.FromIndex }),
		counter("parkd_nearby_answers_total", answers, prometheus.Labels{"path": "redis"},
			func(s readmodel.Stats) int64 { return s.FromStore }),
		counter("parkd_nearby_index_resyncs_total", "Zones the read model read again whole (periodically or after a gap).",
			nil, func(s readmodel.Stats) int64 { return s.Resyncs }),
		counter("parkd_nearby_index_gaps_total", "Zones whose event stream was trimmed past the feed reader's position.",
			nil, func(s readmodel.Stats) int64 { return s.Gaps }),
		counter("parkd_nearby_index_rebuilds_total", "Rebuilds of the read model after a registry reload.",
			nil, func(s readmodel.Stats) int64 { return s.Rebuilds }),
		gauge("parkd_nearby_index_synced", "1 once the read model has read every zone, else 0.",
			func(s readmodel.Stats) float64 { return map[bool]float64{true: 1}[s.Synced] }),
		gauge("parkd_nearby_index_lag_seconds", "Time since the read model last heard from Redis (0 before its first sync).",
			func(s readmodel.Stats) float64 { return s.Lag.Seconds() }),
		counter("parkd_stale_answers_total", "Answers given from the read model's memory, marked stale, because Redis did not answer in time.",
			nil, func(s readmodel.Stats) int64 { return s.StaleAnswers }),
		gauge("parkd_redis_answers_down", "1 while the answers come from memory without asking Redis (it failed within the last second), else 0.",
			func(s readmodel.Stats) float64 { return map[bool]float64{true: 1}[s.StoreDown] }),
	)
}

// registerHubMetrics exposes the live feed's fan-out to SSE streams:
//
//	parkd_events_streams          SSE streams following the shared reader now
//	parkd_events_dropped_total    streams ended because their client fell too far behind (they resume)
func registerHubMetrics(reg prometheus.Registerer, h *feed.Hub) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parkd_events_streams",
			Help: "SSE streams (GET /api/v1/events) following the shared reader of the event streams now."},
			func() float64 { return float64(h.Stats().Subscribers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "parkd_events_dropped_total",
			Help: "SSE streams ended because their client fell too far behind; its EventSource resumes from its last id."},
			func() float64 { return float64(h.Stats().Dropped) }),
	)
}
