package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// *redisstore.Store is what cmd/parkd wires in.
var _ Store = (*redisstore.Store)(nil)

// newRedisStore returns a store on a fresh redis-server, with zone A
// (sensors S1-S3) and zone B (sensor S4).
func newRedisStore(t *testing.T) (*redisstore.Store, *testenv.Redis) {
	t.Helper()
	srv := testenv.MustStartRedis(t)
	rdb, err := redisstore.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	reg, err := occupancy.NewRegistry(
		[]occupancy.Zone{
			{ID: "A", Name: "东街", Type: occupancy.OnStreet, Lat: 29.85, Lon: 121.64},
			{ID: "B", Name: "桥下", Type: occupancy.OffStreet, Lat: 29.86, Lon: 121.64},
		},
		[]occupancy.Space{
			{ID: "A-1", ZoneID: "A", SensorID: "S1", Lat: 29.85, Lon: 121.64, Kind: occupancy.KindStandard},
			{ID: "A-2", ZoneID: "A", SensorID: "S2", Lat: 29.8501, Lon: 121.64, Kind: occupancy.KindStandard},
			{ID: "A-3", ZoneID: "A", SensorID: "S3", Lat: 29.8502, Lon: 121.64, Kind: occupancy.KindEV},
			{ID: "B-1", ZoneID: "B", SensorID: "S4", Lat: 29.86, Lon: 121.64, Kind: occupancy.KindStandard},
		})
	if err != nil {
		t.Fatal(err)
	}
	st, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, srv
}

// TestSubscriberWithRedisStore runs the whole ingest path on a real broker
// and a real Redis: ordering results, dead letters, a Redis outage (and the
// script cache it empties), and acks.
func TestSubscriberWithRedisStore(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	st, rds := newRedisStore(t)
	pub := newPublisher(t, broker.URL)
	sub := startSub(t, broker.URL, "ingest-redis", st)
	count := func(result string) float64 {
		return metricValue(t, sub.reg, "parkd_ingest_messages_total", "result", result)
	}
	t1 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)

	// One at a time where the result depends on order: paho hands
	// messages to the workers in no set order.
	steps := []struct {
		topic   string
		payload []byte
		result  string
	}{
		{topicFor("S1"), payloadFor(t1, true, 5), "applied"},
		{topicFor("S1"), payloadFor(t1, true, 5), "duplicate"},
		{topicFor("S1"), payloadFor(t1.Add(-time.Second), false, 9), "stale"},
		{topicFor("S2"), payloadFor(t1, false, 1), "applied"},
		{topicFor("S99"), payloadFor(t1, true, 1), "unknown_sensor"},
		{topicFor("S3"), []byte(`{"occupied":true,"ts":"yesterday"}`), "invalid"},
		{topicFor("S3"), []byte(`{"occupied":true,"pad":"` + strings.Repeat("z", codec.MaxPayload) + `"}`), "invalid"},
	}
	for _, s := range steps {
		before := count(s.result)
		publish(t, pub, s.topic, s.payload)
		waitFor(t, "result "+s.result, func() bool { return count(s.result) == before+1 })
	}
	a1, err := st.Space(context.Background(), "A-1")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Status != occupancy.StatusOccupied || !a1.SensorTS.Equal(t1) || a1.Seq != 5 {
		t.Errorf("A-1 = %+v, want occupied at %s seq 5 (the stale reading changed nothing)", a1, t1)
	}
	zone, err := st.Zone(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	if want := (occupancy.Counts{Total: 3, Free: 1, Occupied: 1, Unknown: 1}); zone.Counts != want {
		t.Errorf("zone A counts = %+v, want %+v", zone.Counts, want)
	}
	dead, err := st.DeadLetters(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 3 || dead[0].Result != "invalid" || len(dead[0].Payload) != occupancy.MaxDeadLetterPayload ||
		dead[1].Reason != `"ts" "yesterday" is not an RFC 3339 time like 2026-11-25T08:00:00.123Z` ||
		dead[2].Result != "unknown_sensor" || dead[2].Topic != topicFor("S99") {
		t.Errorf("dead letters (newest first) = %+v", dead)
	}

	// Redis goes away: the message waits unacknowledged, /readyz would say
	// why, and it is applied once Redis is back (with an empty script cache).
	rds.Stop(t)
	publish(t, pub, topicFor("S4"), payloadFor(t1, true, 1))
	waitFor(t, "the outage to show in Ready", func() bool {
		err := sub.Ready()
		return err != nil && strings.Contains(err.Error(), "store unavailable")
	})
	rds.Start(t)
	waitFor(t, "the held message after Redis came back", func() bool { return count("applied") == 3 })
	// The outage ends once the attempt that wrote it is over, just after.
	waitFor(t, "Ready after the outage", func() bool { return sub.Ready() == nil })
	if b1, err := st.Space(context.Background(), "B-1"); err != nil || b1.Status != occupancy.StatusOccupied {
		t.Errorf("B-1 = %+v, %v; want occupied", b1, err)
	}
	if v := metricValue(t, sub.reg, "parkd_ingest_retries_total"); v == 0 {
		t.Error("no retries counted during the outage")
	}
	sub.stop(t)

	// Everything was acked: the same session gets only a new message.
	again := startSub(t, broker.URL, "ingest-redis", st)
	publish(t, pub, topicFor("S2"), payloadFor(t1.Add(time.Second), true, 2))
	waitFor(t, "the new message", func() bool {
		return metricValue(t, again.reg, "parkd_ingest_messages_total", "result", "applied") == 1
	})
	// A redelivered message would have come before the new one.
	if n := again.received.Load(); n != 1 {
		t.Errorf("the new session received %d messages, want only the new one (redelivery?)", n)
	}
	for _, r := range occupancy.Results {
		want := 0.0
		if r == occupancy.ResultApplied {
			want = 1
		}
		if v := metricValue(t, again.reg, "parkd_ingest_messages_total", "result", string(r)); v != want {
			t.Errorf("after restart %s = %v, want %v (redelivery?)", r, v, want)
		}
	}
}

// TestHandleWithRedisStore runs one batch through the pipeline into a
// real Redis in one round trip: readings of one sensor in order (applied,
// duplicate, stale, applied), a bad message and an unknown sensor
// dead-lettered, and the counters add up.
func TestHandleWithRedisStore(t *testing.T) {
	st, _ := newRedisStore(t)
	reg := prometheus.NewRegistry()
	p, err := NewPipeline(PipelineOptions{Store: st, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	msgs := []Message{
		{Topic: topicFor("S1"), Payload: payloadFor(t1, true, 5)},
		{Topic: topicFor("S1"), Payload: payloadFor(t1, true, 5)},
		{Topic: topicFor("S1"), Payload: payloadFor(t1.Add(-time.Second), false, 9)},
		{Topic: topicFor("S2"), Payload: payloadFor(t1, false, 1)},
		{Topic: topicFor("S99"), Payload: payloadFor(t1, true, 1)},
		{Topic: topicFor("S3"), Payload: []byte(`{"occupied":true,"ts":"yesterday"}`)},
		{Topic: topicFor("S1"), Payload: payloadFor(t1.Add(time.Second), false, 6)},
	}
	var done []int
	if err := p.Handle(context.Background(), msgs, func(i int) { done = append(done, i) }); err != nil {
		t.Fatal(err)
	}
	if len(done) != len(msgs) {
		t.Errorf("done %v, want all %d", done, len(msgs))
	}
	for r, n := range map[string]float64{"applied": 3, "duplicate": 1, "stale": 1, "unknown_sensor": 1, "invalid": 1} {
		if v := metricValue(t, reg, "parkd_ingest_messages_total", "result", r); v != n {
			t.Errorf("%s = %v, want %v", r, v, n)
		}
	}
	if v := metricValue(t, reg, "parkd_ingest_apply_seconds"); v != 1 {
		t.Errorf("store calls = %v, want 1 (one round trip for the batch)", v)
	}
	a1, err := st.Space(context.Background(), "A-1")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Status != occupancy.StatusFree || !a1.SensorTS.Equal(t1.Add(time.Second)) || a1.Seq != 6 {
		t.Errorf("A-1 = %+v, want free at %s seq 6", a1, t1.Add(time.Second))
	}
	zone, err := st.Zone(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	if want := (occupancy.Counts{Total: 3, Free: 2, Unknown: 1}); zone.Counts != want {
		t.Errorf("zone A counts = %+v, want %+v", zone.Counts, want)
	}
	if dead, err := st.DeadLetters(context.Background(), 10); err != nil || len(dead) != 2 {
		t.Errorf("dead letters = %+v, %v; want 2", dead, err)
	}
}

// TestSubscriberBatchesFloodIntoRedis publishes a flood faster than the
// workers apply it, so that they take batches: every message is handled
// once, the newest reading of each sensor wins, the counters add up, and
// everything was acknowledged (a new session of the same client gets
// nothing again).
func TestSubscriberBatchesFloodIntoRedis(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	st, _ := newRedisStore(t)
	pub := newPublisher(t, broker.URL)
	sub := startSub(t, broker.URL, "ingest-flood", st, func(o *Options) { o.Workers = 2; o.QueueSize = 64; o.Batch = 32 })
	t1 := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	const perSensor = 250
	sensors := []string{"S1", "S2", "S3", "S4"}
	var toks []mqtt.Token
	for k := range perSensor {
		for _, id := range sensors {
			toks = append(toks, pub.Publish(topicFor(id), 1, false, payloadFor(t1.Add(time.Duration(k)*time.Second), k%2 == 0, k+1)))
		}
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	handled := func(m *running) float64 {
		var n float64
		for _, r := range []string{"applied", "duplicate", "stale"} {
			n += metricValue(t, m.reg, "parkd_ingest_messages_total", "result", r)
		}
		return n
	}
	total := float64(perSensor * len(sensors))
	waitFor(t, "every message of the flood", func() bool { return handled(sub) == total })
	if v := metricValue(t, sub.reg, "parkd_ingest_apply_seconds"); v >= total {
		t.Errorf("%v store calls for %v messages: no batch formed", v, total)
	}
	for i, id := range []string{"A-1", "A-2", "A-3", "B-1"} {
		sp, err := st.Space(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if last := t1.Add((perSensor - 1) * time.Second); !sp.SensorTS.Equal(last) || sp.Seq != perSensor || sp.Status != occupancy.StatusFree {
			t.Errorf("%s (sensor %s) = %+v, want its last reading: free at %s seq %d", id, sensors[i], sp, last, perSensor)
		}
	}
	zone, err := st.Zone(context.Background(), "A")
	if err != nil {
		t.Fatal(err)
	}
	if want := (occupancy.Counts{Total: 3, Free: 3}); zone.Counts != want {
		t.Errorf("zone A counts = %+v, want %+v", zone.Counts, want)
	}
	sub.stop(t)
	// The same session gets only a new message: one not acknowledged would
	// have come before it.
	again := startSub(t, broker.URL, "ingest-flood", st)
	publish(t, pub, topicFor("S1"), payloadFor(t1.Add(perSensor*time.Second), true, perSensor+1))
	waitFor(t, "the new message", func() bool { return handled(again) == 1 })
	if n := again.received.Load(); n != 1 {
		t.Errorf("a new session got %d messages, want only the new one: not all were acknowledged", n)
	}
}
