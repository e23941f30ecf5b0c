package ingest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// orderStore is a Store double that keeps the contract's ordering rule
// per sensor (later ts wins, seq breaks a tie) and records, in one log, every
// write that took effect and every acknowledgement (ack), so a test can
// check that a message is acknowledged only after its own write.
type orderStore struct {
	mu      sync.Mutex
	newest  map[string]occupancy.Reading // by sensor
	fail    map[string]int               // fail the next n writes of these sensors with errRedisDown
	down    bool                         // every write fails
	panicOn string                       // writes of this sensor panic
	batches [][]string                   // the readings of each ApplyBatch call
	log     []string                     // "write S1/2", "dead <topic>", "ack S1/2"
}

func newOrderStore() *orderStore {
	return &orderStore{newest: map[string]occupancy.Reading{}, fail: map[string]int{}}
}

// label names a reading in the log: sensor/seq.
func label(r occupancy.Reading) string { return fmt.Sprintf("%s/%d", r.SensorID, r.Seq) }

func (s *orderStore) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var labels []string
	results, errs := make([]occupancy.Result, len(rs)), make([]error, len(rs))
	for i, r := range rs {
		labels = append(labels, label(r))
		results[i], errs[i] = s.applyLocked(r)
	}
	s.batches = append(s.batches, labels)
	return results, errs
}

func (s *orderStore) applyLocked(r occupancy.Reading) (occupancy.Result, error) {
	if r.SensorID == s.panicOn {
		panic("boom: nil map in the store")
	}
	if s.down {
		return "", errRedisDown
	}
	if s.fail[r.SensorID] > 0 {
		s.fail[r.SensorID]--
		return "", errRedisDown
	}
	if strings.HasPrefix(r.SensorID, "ghost") {
		return occupancy.ResultUnknownSensor, nil
	}
	old, seen := s.newest[r.SensorID]
	switch {
	case seen && (r.TS.Before(old.TS) || r.TS.Equal(old.TS) && r.Seq < old.Seq):
		return occupancy.ResultStale, nil
	case seen && r.TS.Equal(old.TS) && r.Seq == old.Seq:
		return occupancy.ResultDuplicate, nil
	}
	s.newest[r.SensorID] = r
	s.log = append(s.log, "write "+label(r))
	return occupancy.ResultApplied, nil
}

func (s *orderStore) AddDeadLetter(_ context.Context, d occupancy.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errRedisDown
	}
	s.log = append(s.log, "dead "+d.Topic)
	return nil
}

// note appends an entry to the log.
func (s *orderStore) note(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
}

func (s *orderStore) snapshot() (log []string, batches [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log), slices.Clone(s.batches)
}

// bmsg is a message of a batch test: sensor id, seq and a sensor time of
// t0+sec seconds; bad payloads when raw is set.
type bmsg struct {
	sensor string
	seq    int
	sec    int
	raw    string // payload instead of a valid one
}

func (m bmsg) message(t0 time.Time) Message {
	p := payloadFor(t0.Add(time.Duration(m.sec)*time.Second), m.seq%2 == 0, m.seq)
	if m.raw != "" {
		p = []byte(m.raw)
	}
	return Message{Topic: topicFor(m.sensor), Payload: p}
}

// runBatch runs Handle on msgs and returns the indexes done, in the
// order done was called; each done is noted in the store's log as "ack
// sensor/seq".
func runBatch(t *testing.T, ctx context.Context, p *Pipeline, store *orderStore, t0 time.Time, ms []bmsg) ([]int, error) {
	t.Helper()
	msgs := make([]Message, len(ms))
	for i, m := range ms {
		msgs[i] = m.message(t0)
	}
	var done []int
	err := p.Handle(ctx, msgs, func(i int) {
		if slices.Contains(done, i) {
			t.Errorf("done(%d) called twice", i)
		}
		done = append(done, i)
		store.note(fmt.Sprintf("ack %s/%d", ms[i].sensor, ms[i].seq))
	})
	return done, err
}

// TestHandle checks the pipeline on batches: results as for single
// messages, readings of one sensor in order, one failure not
// holding back or double-counting the others, and every acknowledgement
// after the message's own write.
func TestHandle(t *testing.T) {
	bad := `{"occupied":"maybe"}`
	tests := []struct {
		name    string
		msgs    []bmsg
		setup   func(s *orderStore)
		results map[occupancy.Result]float64
		retries float64
		batches int // ApplyBatch calls
	}{
		{name: "all good", msgs: []bmsg{{"S1", 1, 1, ""}, {"S2", 1, 1, ""}, {"S3", 1, 1, ""}},
			results: map[occupancy.Result]float64{occupancy.ResultApplied: 3}, batches: 1},
		{name: "one bad message is dead-lettered, the others applied",
			msgs:    []bmsg{{"S1", 1, 1, ""}, {"S2", 1, 1, bad}, {"S3", 1, 1, ""}, {"ghost-1", 1, 1, ""}},
			results: map[occupancy.Result]float64{occupancy.ResultApplied: 2, occupancy.ResultInvalid: 1, occupancy.ResultUnknownSensor: 1}, batches: 1},
		{name: "one sensor several times: in order, duplicate and stale counted",
			msgs: []bmsg{{"S1", 1, 1, ""}, {"S1", 2, 2, ""}, {"S1", 2, 2, ""}, {"S1", 1, 1, ""}, {"S1", 3, 2, ""}},
			results: map[occupancy.Result]float64{occupancy.ResultApplied: 3, occupancy.ResultDuplicate: 1,
				occupancy.ResultStale: 1}, batches: 1},
		{name: "a Redis error mid-batch: only that message is retried",
			msgs:    []bmsg{{"S1", 1, 1, ""}, {"S2", 1, 1, ""}, {"S3", 1, 1, ""}},
			setup:   func(s *orderStore) { s.fail["S2"] = 2 },
			results: map[occupancy.Result]float64{occupancy.ResultApplied: 3}, retries: 2, batches: 3},
		// The batch call panics after storing S1: the messages are then
		// handled one by one (a batch call each, but the panicking one's),
		// S1's found a duplicate (counted once), and only the panicking
		// message is dead-lettered.
		{name: "a panic in the store dead-letters that message only",
			msgs:    []bmsg{{"S1", 1, 1, ""}, {"boom", 1, 1, ""}, {"S3", 1, 1, ""}},
			setup:   func(s *orderStore) { s.panicOn = "boom" },
			results: map[occupancy.Result]float64{occupancy.ResultApplied: 1, occupancy.ResultDuplicate: 1}, batches: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			store := newOrderStore()
			if tc.setup != nil {
				tc.setup(store)
			}
			p, reg, _ := newTestPipeline(t, store, clock)
			done, err := runBatch(t, context.Background(), p, store, clock.Now().Add(-time.Minute), tc.msgs)
			if err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if len(done) != len(tc.msgs) {
				t.Fatalf("done %v, want every one of %d messages", done, len(tc.msgs))
			}
			for _, r := range occupancy.Results {
				if v := metricValue(t, reg, "parkd_ingest_messages_total", "result", string(r)); v != tc.results[r] {
					t.Errorf("parkd_ingest_messages_total{result=%s} = %v, want %v", r, v, tc.results[r])
				}
			}
			if v := metricValue(t, reg, "parkd_ingest_retries_total"); v != tc.retries {
				t.Errorf("retries = %v, want %v", v, tc.retries)
			}
			log, batches := store.snapshot()
			if len(batches) != tc.batches {
				t.Errorf("ApplyBatch calls %v, want %d", batches, tc.batches)
			}
			checkAcksAfterWrites(t, log)
		})
	}
}

// checkAcksAfterWrites checks that each "ack S/n" of log comes after the
// message's own effect: "write S/n", or a write of a newer reading of S
// (the message was a duplicate or stale), or a dead letter of S; and that
// the writes of one sensor come in order of seq.
func checkAcksAfterWrites(t *testing.T, log []string) {
	t.Helper()
	written, sensors, dead := map[string]bool{}, map[string]bool{}, map[string]bool{}
	last := map[string]int{}
	for _, e := range log {
		kind, what, _ := strings.Cut(e, " ")
		sensor, seq, _ := strings.Cut(what, "/")
		switch kind {
		case "write":
			written[what], sensors[sensor] = true, true
			n, _ := strconv.Atoi(seq)
			if n < last[sensor] {
				t.Errorf("%s written after seq %d of the same sensor: %v", what, last[sensor], log)
			}
			last[sensor] = n
		case "dead":
			dead[strings.TrimSuffix(strings.TrimPrefix(what, codec.TopicPrefix), codec.TopicSuffix)] = true
		case "ack":
			if !written[what] && !sensors[sensor] && !dead[sensor] {
				t.Errorf("%s acknowledged before anything was stored for it: %v", what, log)
			}
		}
	}
}

// TestHandleOrderOfWrites checks that the readings of a batch reach the
// store in the batch's order, in one call, and each ack follows the batch.
func TestHandleOrderOfWrites(t *testing.T) {
	clock := newFakeClock()
	store := newOrderStore()
	p, _, _ := newTestPipeline(t, store, clock)
	ms := []bmsg{{"S1", 1, 1, ""}, {"S2", 1, 1, ""}, {"S1", 2, 2, ""}, {"S1", 2, 2, ""}}
	if _, err := runBatch(t, context.Background(), p, store, clock.Now().Add(-time.Minute), ms); err != nil {
		t.Fatal(err)
	}
	log, batches := store.snapshot()
	if want := [][]string{{"S1/1", "S2/1", "S1/2", "S1/2"}}; !slices.EqualFunc(batches, want, slices.Equal) {
		t.Errorf("batches %v, want %v", batches, want)
	}
	want := []string{"write S1/1", "write S2/1", "write S1/2", "ack S1/1", "ack S2/1", "ack S1/2", "ack S1/2"}
	if !slices.Equal(log, want) {
		t.Errorf("log %v, want %v", log, want)
	}
}

// TestHandleStopsWhileStoreDown checks that a batch held by a store
// outage is not acknowledged when ctx ends, and that the outage is counted
// per message.
func TestHandleStopsWhileStoreDown(t *testing.T) {
	clock := newFakeClock()
	store := newOrderStore()
	store.down = true
	p, reg, _ := newTestPipeline(t, store, clock)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ms := []bmsg{{"S1", 1, 1, ""}, {"S2", 1, 1, badPayload()}, {"S3", 1, 1, ""}}
	done, err := runBatch(t, ctx, p, store, clock.Now().Add(-time.Minute), ms)
	if err == nil || len(done) != 0 {
		t.Fatalf("Handle with the store down = %v, done %v; want an error and nothing done", err, done)
	}
	if v := metricValue(t, reg, "parkd_ingest_retries_total"); v < 3 || int(v)%3 != 0 {
		t.Errorf("retries = %v, want a multiple of 3 (the batch's messages), at least 3", v)
	}
	if p.StoreErr() == nil {
		t.Error("StoreErr = nil during the outage")
	}
}

func badPayload() string { return `{"occupied":1}` }

// wrongStore answers every batch with one result too few.
type wrongStore struct{ fakeStore }

func (s *wrongStore) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	results, errs := s.fakeStore.ApplyBatch(ctx, rs)
	return results[1:], errs[1:]
}

// TestHandlePanics checks what becomes of messages whose handling panics:
// a store that answers the wrong number of results panics each message
// alone, and each is dead-lettered; a message whose dead letter panics too
// is given up, left unacknowledged while the others are done.
func TestHandlePanics(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now().Add(-time.Minute)
	msgs := []Message{
		{Topic: topicFor("a"), Payload: payloadFor(now, true, 1)},
		{Topic: topicFor("b"), Payload: payloadFor(now, true, 1)},
	}
	wrong := &wrongStore{}
	p, reg, _ := newTestPipeline(t, wrong, clock)
	var done []int
	if err := p.Handle(context.Background(), msgs, func(i int) { done = append(done, i) }); err != nil || len(done) != 2 {
		t.Fatalf("Handle on a store answering too few results = %v, done %v; want nil and both done", err, done)
	}
	if _, dead := wrong.snapshot(); len(dead) != 2 || dead[0].Result != DeadLetterPanic || dead[1].Result != DeadLetterPanic {
		t.Errorf("dead letters %+v, want both messages with result panic", dead)
	}
	if v := metricValue(t, reg, "parkd_ingest_panics_total"); v != 2 {
		t.Errorf("panics = %v, want 2", v)
	}

	broken := &fakeStore{panicOn: "b", panicDead: true}
	p, reg, buf := newTestPipeline(t, broken, clock)
	done = nil
	err := p.Handle(context.Background(), msgs, func(i int) { done = append(done, i) })
	if err == nil || !slices.Equal(done, []int{0}) {
		t.Fatalf("Handle = %v, done %v; want an error and only the first message done", err, done)
	}
	if v := metricValue(t, reg, "parkd_ingest_panics_total"); v != 2 {
		t.Errorf("panics = %v, want 2 (the reading's and its dead letter's)", v)
	}
	if lines := buf.Lines("left unacknowledged"); len(lines) != 1 {
		t.Errorf("want one line about the message given up, got %q", lines)
	}
}

func (s *orderStore) NoteClocks(_ context.Context, rs []occupancy.Reading) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errRedisDown
	}
	known := make([]bool, len(rs))
	for i, r := range rs {
		s.log = append(s.log, "clock "+label(r))
		known[i] = true
	}
	return known, nil
}

// TestHandleWrongClocks checks that a reading whose sensor time is out of
// bounds is kept as a dead letter with result clock and noted as a sign of
// life, after the batch's writes, unless a later reading of its sensor in
// the same batch went to the store (that one is the sensor's last word).
func TestHandleWrongClocks(t *testing.T) {
	const day = 25 * 3600 // seconds: past the default 24h
	tests := []struct {
		name   string
		ms     []bmsg
		clocks int
		noted  []string // the store's "clock" entries
	}{
		{"alone", []bmsg{{"S1", 1, -day, ""}}, 1, []string{"clock S1/1"}},
		{"ahead", []bmsg{{"S1", 1, 3600, ""}}, 1, []string{"clock S1/1"}},
		{"before a good one", []bmsg{{"S1", 1, -day, ""}, {"S1", 2, 0, ""}}, 1, nil},
		{"after a good one", []bmsg{{"S1", 1, 0, ""}, {"S1", 2, -day, ""}}, 1, []string{"clock S1/2"}},
		{"beside another sensor", []bmsg{{"S1", 1, -day, ""}, {"S2", 1, 0, ""}}, 1, []string{"clock S1/1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			store := newOrderStore()
			p, reg, _ := newTestPipeline(t, store, clock)
			if _, err := runBatch(t, context.Background(), p, store, clock.Now().Add(-time.Minute), tc.ms); err != nil {
				t.Fatalf("Handle = %v", err)
			}
			if v := metricValue(t, reg, "parkd_ingest_messages_total", "result", "clock"); v != float64(tc.clocks) {
				t.Errorf("clock results = %v, want %d", v, tc.clocks)
			}
			log, _ := store.snapshot()
			var noted []string
			dead := 0
			for _, e := range log {
				switch {
				case strings.HasPrefix(e, "clock "):
					noted = append(noted, e)
				case strings.HasPrefix(e, "dead "):
					dead++
				}
			}
			if !slices.Equal(noted, tc.noted) || dead != tc.clocks {
				t.Errorf("noted %v and %d dead letters, want %v and %d: %v", noted, dead, tc.noted, tc.clocks, log)
			}
		})
	}
}
