package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// newTestPipeline returns a pipeline on a fake store with fast retries.
func newTestPipeline(t *testing.T, store Store, clock *fakeClock) (*Pipeline, *prometheus.Registry, *testenv.SyncBuffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	log, buf := newTestLogger()
	p, err := NewPipeline(PipelineOptions{
		Store: store, Registerer: reg, Logger: log, Now: clock.Now,
		RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, reg, buf
}

func TestPipelineCountsResults(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{results: map[string]occupancy.Result{
		"dup": occupancy.ResultDuplicate, "old": occupancy.ResultStale, "ghost": occupancy.ResultUnknownSensor,
	}}
	p, reg, _ := newTestPipeline(t, store, clock)
	for _, r := range occupancy.Results {
		if v := metricValue(t, reg, "parkd_ingest_messages_total", "result", string(r)); v != 0 {
			t.Errorf("before any message, %s = %v, want 0", r, v)
		}
	}
	msgs := []struct{ topic, payload string }{
		{topicFor("a"), string(payloadFor(clock.Now(), true, 1))},
		{topicFor("b"), string(payloadFor(clock.Now(), false, 1))},
		{topicFor("dup"), string(payloadFor(clock.Now(), true, 1))},
		{topicFor("old"), string(payloadFor(clock.Now(), true, 1))},
		{topicFor("ghost"), string(payloadFor(clock.Now(), true, 1))},
		{topicFor("c"), `{"occupied":"maybe"}`},
		{"not/a/sensor/topic", string(payloadFor(clock.Now(), true, 1))},
	}
	for _, m := range msgs {
		if err := handle(context.Background(), p, m.topic, []byte(m.payload)); err != nil {
			t.Fatalf("handler(%s) = %v, want nil (handled)", m.topic, err)
		}
	}
	want := map[occupancy.Result]float64{
		occupancy.ResultApplied: 2, occupancy.ResultDuplicate: 1, occupancy.ResultStale: 1,
		occupancy.ResultUnknownSensor: 1, occupancy.ResultInvalid: 2,
	}
	for r, n := range want {
		if v := metricValue(t, reg, "parkd_ingest_messages_total", "result", string(r)); v != n {
			t.Errorf("parkd_ingest_messages_total{result=%s} = %v, want %v", r, v, n)
		}
	}
	if v := metricValue(t, reg, "parkd_ingest_apply_seconds"); v != 5 {
		t.Errorf("apply latency observations = %v, want 5 (one per store call)", v)
	}
}

func TestPipelineDeadLetters(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{results: map[string]occupancy.Result{"ghost": occupancy.ResultUnknownSensor}}
	p, _, _ := newTestPipeline(t, store, clock)
	// 25 bytes, then 2-byte runes: the 1 KiB cut falls inside a rune.
	big := `{"occupied":true,"pads":"` + strings.Repeat("é", 40000) + `"}`
	tests := []struct {
		name, topic, payload string
		result, reason       string
		payloadLen           int
	}{
		{"invalid field", topicFor("s1"), `{"occupied":1,"ts":"2026-11-25T08:00:00Z"}`,
			"invalid", `"occupied" must be true or false, not 1`, 42},
		{"out of range", topicFor("s1"), `{"occupied":true,"ts":"2026-11-25T08:00:00Z","battery_mv":20000}`,
			"invalid", "battery_mv 20000 is out of range 0-10000", 64},
		{"bad topic", "parking/v1/sensors/up", `{}`,
			"invalid", `topic "parking/v1/sensors/up" is not parking/v1/sensors/{sensor_id}/up`, 2},
		{"oversized", topicFor("s1"), big, "invalid", "payload is 80027 bytes, over the 65536-byte limit", 1023},
		{"unknown sensor", topicFor("ghost"), string(payloadFor(clock.Now(), true, 3)),
			"unknown_sensor", `sensor "ghost" is not in the registry`, len(payloadFor(clock.Now(), true, 3))},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := handle(context.Background(), p, tc.topic, []byte(tc.payload)); err != nil {
				t.Fatalf("handler = %v, want nil", err)
			}
			_, dead := store.snapshot()
			if len(dead) != i+1 {
				t.Fatalf("%d dead letters, want %d", len(dead), i+1)
			}
			d := dead[i]
			if d.Result != tc.result || d.Reason != tc.reason || d.Topic != tc.topic || !d.ReceivedAt.Equal(clock.Now()) {
				t.Errorf("dead letter = %+v, want result %q reason %q topic %q", d, tc.result, tc.reason, tc.topic)
			}
			if len(d.Payload) != tc.payloadLen || !strings.HasPrefix(tc.payload, d.Payload) {
				t.Errorf("dead letter payload is %d bytes, want %d, a prefix of the message", len(d.Payload), tc.payloadLen)
			}
		})
	}
	if applied, _ := store.snapshot(); len(applied) != 1 || applied[0].SensorID != "ghost" {
		t.Errorf("store applied %+v, want only the unknown sensor's reading (the store decides it is unknown)", applied)
	}
}

func TestPipelineRetriesUntilStoreRecovers(t *testing.T) {
	clock := newFakeClock()
	// The fake clock moves on at each store call, as time would.
	store := &fakeStore{failApply: 5, tick: func() { clock.Advance(100 * time.Millisecond) }}
	p, reg, buf := newTestPipeline(t, store, clock)
	if err := handle(context.Background(), p, topicFor("s1"), payloadFor(clock.Now(), true, 1)); err != nil {
		t.Fatalf("handler = %v, want nil after the store recovers", err)
	}
	applied, _ := store.snapshot()
	if store.applyCalls != 6 || len(applied) != 1 {
		t.Errorf("apply calls = %d, applied = %d; want 6 calls and 1 reading", store.applyCalls, len(applied))
	}
	if v := metricValue(t, reg, "parkd_ingest_retries_total"); v != 5 {
		t.Errorf("retries = %v, want 5", v)
	}
	if v := metricValue(t, reg, "parkd_ingest_store_down_seconds_total"); v <= 0 {
		t.Errorf("store down seconds = %v, want > 0", v)
	}
	if v := metricValue(t, reg, "parkd_ingest_store_down_since_seconds"); v != 0 {
		t.Errorf("store down since = %v after recovery, want 0", v)
	}
	if err := p.StoreErr(); err != nil {
		t.Errorf("StoreErr after recovery = %v, want nil", err)
	}
	if got := buf.Lines("store available again"); len(got) != 1 {
		t.Errorf("want one recovery line in the log, got %q", got)
	}
}

func TestPipelineHoldsMessageWhileStoreDown(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{failApply: 1 << 30}
	p, reg, _ := newTestPipeline(t, store, clock)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- handle(ctx, p, topicFor("s1"), payloadFor(clock.Now(), true, 1)) }()
	waitFor(t, "the store to be seen down", func() bool { return p.StoreErr() != nil })
	if err := p.StoreErr(); !errors.Is(err, errRedisDown) || !strings.Contains(err.Error(), "store unavailable since 2026-11-25T08:00:00Z") {
		t.Errorf("StoreErr = %v, want it to say since when and wrap the store's error", err)
	}
	if v := metricValue(t, reg, "parkd_ingest_store_down_since_seconds"); v != float64(clock.Now().Unix()) {
		t.Errorf("store down since = %v, want %v", v, clock.Now().Unix())
	}
	waitFor(t, "three failed attempts", func() bool { store.mu.Lock(); defer store.mu.Unlock(); return store.applyCalls >= 3 })
	select {
	case err := <-done:
		t.Fatalf("handler returned %v while the store is down; it must keep the message", err)
	default:
	}
	cancel()
	if err := <-done; err == nil || !errors.Is(err, errRedisDown) {
		t.Errorf("handler after cancel = %v, want an error (so the message is not acked)", err)
	}
	if applied, dead := store.snapshot(); len(applied)+len(dead) != 0 {
		t.Errorf("nothing may be stored; got %v %v", applied, dead)
	}
}

func TestPipelineRetriesDeadLetterWrite(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{failDead: 3}
	p, reg, _ := newTestPipeline(t, store, clock)
	if err := handle(context.Background(), p, topicFor("s1"), []byte(`{"occupied":true}`)); err != nil {
		t.Fatalf("handler = %v", err)
	}
	if _, dead := store.snapshot(); len(dead) != 1 || store.deadCalls != 4 {
		t.Errorf("dead letters = %d after %d calls; want 1 after 4", len(dead), store.deadCalls)
	}
	if v := metricValue(t, reg, "parkd_ingest_messages_total", "result", "invalid"); v != 1 {
		t.Errorf("invalid = %v, want 1 (counted once, after the write)", v)
	}
}

func TestPipelineRecoversPanics(t *testing.T) {
	clock := newFakeClock()
	store := &fakeStore{panicOn: "bad"}
	p, reg, buf := newTestPipeline(t, store, clock)
	if err := handle(context.Background(), p, topicFor("bad"), payloadFor(clock.Now(), true, 1)); err != nil {
		t.Fatalf("handler = %v, want nil: a panicking message is dead-lettered", err)
	}
	if err := handle(context.Background(), p, topicFor("good"), payloadFor(clock.Now(), true, 1)); err != nil {
		t.Fatalf("handler after a panic = %v", err)
	}
	applied, dead := store.snapshot()
	if len(dead) != 1 || dead[0].Result != DeadLetterPanic || dead[0].Reason != "boom: nil map in the store" {
		t.Errorf("dead letters = %+v, want one with result panic and the panic value", dead)
	}
	if len(applied) != 1 || applied[0].SensorID != "good" {
		t.Errorf("applied = %+v, want the good message", applied)
	}
	if v := metricValue(t, reg, "parkd_ingest_panics_total"); v != 1 {
		t.Errorf("panics = %v, want 1", v)
	}
	lines := buf.Lines("panic while handling a message")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=ERROR") || !strings.Contains(lines[0], "goroutine") {
		t.Errorf("want one ERROR line about the panic, with its stack; got %q", lines)
	}
	if code := occupancy.ErrorCode(&panicError{value: "x"}); code != occupancy.EINTERNAL {
		t.Errorf("a panic's code is %q, want internal", code)
	}
}

func TestPipelineRateLimitsBadMessageLog(t *testing.T) {
	clock := newFakeClock()
	p, _, buf := newTestPipeline(t, &fakeStore{}, clock)
	for range 100 {
		if err := handle(context.Background(), p, topicFor("s1"), []byte(`nope`)); err != nil {
			t.Fatal(err)
		}
	}
	if got := buf.Lines("rejected message"); len(got) != 1 {
		t.Fatalf("100 bad messages within a second gave %d log lines, want 1", len(got))
	}
	clock.Advance(time.Second)
	if err := handle(context.Background(), p, topicFor("s1"), []byte(`nope`)); err != nil {
		t.Fatal(err)
	}
	got := buf.Lines("rejected message")
	if len(got) != 2 || !strings.Contains(got[1], "suppressed=99") {
		t.Errorf("after a second the next line must report 99 suppressed; got %q", got)
	}
}

func TestNewPipelineSharesRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		if _, err := NewPipeline(PipelineOptions{Store: &fakeStore{}, Registerer: reg}); err != nil {
			t.Fatalf("second pipeline on one registry: %v", err)
		}
	}
	if _, err := NewPipeline(PipelineOptions{}); err == nil {
		t.Error("NewPipeline without a store must fail")
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
