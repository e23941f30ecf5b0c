package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// TestSubscriberRejectsWrongClocks runs readings whose sensor time is far
// from their receive time through a real broker into a real Redis: each is
// not applied, is kept as a dead letter with result clock and counted, and
// still counts as a sign of life of its sensor, which shows the rejected
// clock until a reading applies. MaxReadingAge is set to 1h here.
func TestSubscriberRejectsWrongClocks(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	st, _ := newRedisStore(t)
	pub := newPublisher(t, broker.URL)
	sub := startSub(t, broker.URL, "ingest-clock", st, func(o *Options) { o.MaxReadingAge = time.Hour })
	ctx := context.Background()
	count := func(result string) float64 {
		return metricValue(t, sub.reg, "parkd_ingest_messages_total", "result", result)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	t1 := now.Add(-time.Minute)
	publish(t, pub, topicFor("S1"), payloadFor(t1, true, 1))
	waitFor(t, "the first reading", func() bool { return count("applied") == 1 })
	a1, _ := st.Space(ctx, "A-1")

	steps := []struct{ sensor, ts, reason string }{
		{"S1", "2001-01-01T00:00:00Z", "sensor time 2001-01-01T00:00:00Z, "},             // a clock back at its epoch
		{"S2", now.Add(time.Hour).Format(time.RFC3339Nano), "ahead of the receive time"}, // past MaxClockSkew
		{"S3", now.Add(-2 * time.Hour).Format(time.RFC3339Nano), "behind the receive time"},
	}
	for i, s := range steps {
		publish(t, pub, topicFor(s.sensor), []byte(`{"occupied":false,"ts":"`+s.ts+`","seq":7}`))
		waitFor(t, "clock result "+s.sensor, func() bool { return count("clock") == float64(i+1) })
		dead, err := st.DeadLetters(ctx, 1)
		if err != nil || len(dead) != 1 || dead[0].Result != "clock" || dead[0].Topic != topicFor(s.sensor) ||
			!strings.Contains(dead[0].Reason, s.reason) {
			t.Fatalf("newest dead letter = %+v, %v; want result clock on %s saying %q", dead, err, s.sensor, s.reason)
		}
	}
	got, _ := st.Space(ctx, "A-1")
	if got.Status != occupancy.StatusOccupied || !got.Since.Equal(a1.Since) || !got.SensorTS.Equal(t1) ||
		got.LastSeen.Before(a1.LastSeen) || got.Health.Clock == nil ||
		!got.Health.Clock.TS.Equal(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("A-1 = %+v (clock %+v); want still occupied since %s, seen again, with the 2001 clock", got, got.Health.Clock, a1.Since)
	}
	if a3, _ := st.Space(ctx, "A-3"); a3.Status != occupancy.StatusUnknown || a3.LastSeen.IsZero() || a3.Health.Clock == nil {
		t.Errorf("A-3 = %+v; want unknown (never applied) but heard, with its clock", a3)
	}
	if n := count("applied"); n != 1 {
		t.Errorf("applied = %v, want 1: a reading with a wrong clock was applied", n)
	}
	// A good clock again: applied, and the rejected clock is cleared.
	publish(t, pub, topicFor("S1"), payloadFor(now, false, 2))
	waitFor(t, "the next S1 reading", func() bool { return count("applied") == 2 })
	if got, _ := st.Space(ctx, "A-1"); got.Status != occupancy.StatusFree || got.Health.Clock != nil {
		t.Errorf("A-1 = %+v (clock %+v); want free, the rejected clock cleared", got, got.Health.Clock)
	}
	if rep, err := st.Check(ctx, false); err != nil || len(rep.Drift) != 0 {
		t.Errorf("Check = %+v, %v; want no drift", rep.Drift, err)
	}
}

// TestSubscriberRejectsRetainedMessages publishes a retained reading:
// delivered live it is an ordinary message (MQTT 3.1.1 clears the flag on
// a live delivery) and applies; replayed by the broker when the
// subscriber subscribes again after a restart, it carries the flag and is
// not applied again but counted and kept with result retained.
func TestSubscriberRejectsRetainedMessages(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	st, _ := newRedisStore(t)
	pub := newPublisher(t, broker.URL)
	ctx := context.Background()
	t1 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	retain := func(sensor string, ts time.Time, occupied bool) {
		t.Helper()
		if tok := pub.Publish(topicFor(sensor), 1, true, payloadFor(ts, occupied, 1)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish retained: %v", tok.Error())
		}
	}
	// Retained before parkd ever subscribed: replayed at its first subscribe.
	retain("S4", t1, true)
	sub := startSub(t, broker.URL, "ingest-retained", st)
	count := func(r *running, result string) float64 {
		return metricValue(t, r.reg, "parkd_ingest_messages_total", "result", result)
	}
	waitFor(t, "the replayed retained message", func() bool { return count(sub, "retained") == 1 })
	dead, err := st.DeadLetters(ctx, 1)
	if err != nil || len(dead) != 1 || dead[0].Result != "retained" || dead[0].Topic != topicFor("S4") ||
		!strings.Contains(dead[0].Payload, `"occupied":true`) {
		t.Fatalf("dead letters = %+v, %v; want the retained S4 message", dead, err)
	}
	if b1, _ := st.Space(ctx, "B-1"); b1.Status != occupancy.StatusUnknown || !b1.LastSeen.IsZero() {
		t.Fatalf("B-1 = %+v; want unknown, never heard: a replayed message is not a reading", b1)
	}
	// Retained while parkd is subscribed: a live message, applied.
	retain("S1", t1, true)
	waitFor(t, "the live retained message", func() bool { return count(sub, "applied") == 1 })

	// A restart subscribes again: both are replayed, neither applies again.
	sub.stop(t)
	again := startSub(t, broker.URL, "ingest-retained", st)
	waitFor(t, "both replays", func() bool { return count(again, "retained") == 2 })
	if n := count(again, "applied") + count(again, "duplicate"); n != 0 {
		t.Errorf("after the restart %v readings were applied or found duplicate, want 0", n)
	}
	if a1, _ := st.Space(ctx, "A-1"); a1.Status != occupancy.StatusOccupied || !a1.SensorTS.Equal(t1) {
		t.Errorf("A-1 = %+v; want occupied from the live message", a1)
	}
}
