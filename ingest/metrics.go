package ingest

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/occupancy"
)

// metrics are the ingest's Prometheus instruments.
type metrics struct {
	messages  map[occupancy.Result]prometheus.Counter // parkd_ingest_messages_total{result}
	retries   prometheus.Counter                      // failed store attempts that will be retried
	panics    prometheus.Counter                      // handler panics recovered
	downSecs  prometheus.Counter                      // time the store was seen down
	downSince prometheus.Gauge                        // unix time the current outage began; 0 when up
	inflight  prometheus.Gauge                        // messages held by workers
	apply     prometheus.Histogram                    // store.ApplyBatch latency
}

// newMetrics creates the instruments and registers them on reg. A metric
// already registered there (a second pipeline on the same registry) is
// shared rather than refused.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	var err error
	m := &metrics{messages: make(map[occupancy.Result]prometheus.Counter, len(occupancy.Results))}
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parkd_ingest_messages_total",
		Help: "Sensor messages handled, by result (applied, duplicate, stale, invalid, unknown_sensor, clock, retained).",
	}, []string{"result"})
	if vec, err = register(reg, vec); err != nil {
		return nil, err
	}
	for _, r := range occupancy.Results {
		m.messages[r] = vec.WithLabelValues(string(r)) // every label exists from the start, at 0
	}
	if m.retries, err = register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parkd_ingest_retries_total",
		Help: "Store writes that failed with an internal error (Redis unreachable) and were retried.",
	})); err != nil {
		return nil, err
	}
	if m.panics, err = register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parkd_ingest_panics_total",
		Help: "Messages whose handling panicked; each was dead-lettered and acknowledged.",
	})); err != nil {
		return nil, err
	}
	if err = m.registerGauges(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// registerGauges creates the outage, in-flight and latency instruments.
func (m *metrics) registerGauges(reg prometheus.Registerer) error {
	var err error
	if m.downSecs, err = register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parkd_ingest_store_down_seconds_total",
		Help: "Seconds during which store writes failed and messages waited unacknowledged.",
	})); err != nil {
		return err
	}
	if m.downSince, err = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parkd_ingest_store_down_since_seconds",
		Help: "Unix time at which the current store outage began; 0 while the store is up.",
	})); err != nil {
		return err
	}
	if m.inflight, err = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parkd_ingest_inflight",
		Help: "Messages taken by an ingest worker and not yet acknowledged.",
	})); err != nil {
		return err
	}
	m.apply, err = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "parkd_ingest_apply_seconds",
		Help:    "Latency of one store apply call (successful or not).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}))
	return err
}

// register registers c on reg, or returns the collector of the same
// description that is already there.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("ingest: register metric: %w", err)
}
