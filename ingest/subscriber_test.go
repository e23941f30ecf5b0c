package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

// recStore is a Store double for the broker tests: it records every write
// and can be made to fail (as if Redis were down) or to block.
type recStore struct {
	mu        sync.Mutex
	down      bool            // every write fails with errRedisDown
	stuck     map[string]bool // Apply fails for these sensors
	block     chan struct{}   // if set, Apply waits until it is closed
	delay     time.Duration   // each Apply takes this long
	applied   []occupancy.Reading
	attempts  map[string]int // Apply calls by sensor
	dead      []occupancy.DeadLetter
	active    int // Apply calls in progress
	maxActive int
}

func newRecStore() *recStore {
	return &recStore{stuck: map[string]bool{}, attempts: map[string]int{}}
}

func (s *recStore) ApplyBatch(ctx context.Context, rs []occupancy.Reading) ([]occupancy.Result, []error) {
	return applyEach(ctx, rs, s.apply)
}

// apply answers one reading.
func (s *recStore) apply(ctx context.Context, r occupancy.Reading) (occupancy.Result, error) {
	s.mu.Lock()
	s.attempts[r.SensorID]++
	s.active++
	s.maxActive = max(s.maxActive, s.active)
	block, delay := s.block, s.delay
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.active--; s.mu.Unlock() }()
	time.Sleep(delay) // a slow store, when the test wants one
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down || s.stuck[r.SensorID] {
		return "", errRedisDown
	}
	if strings.HasPrefix(r.SensorID, "ghost") {
		return occupancy.ResultUnknownSensor, nil
	}
	s.applied = append(s.applied, r)
	return occupancy.ResultApplied, nil
}

func (s *recStore) AddDeadLetter(_ context.Context, d occupancy.DeadLetter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errRedisDown
	}
	s.dead = append(s.dead, d)
	return nil
}

func (s *recStore) set(f func(s *recStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// count returns how many readings were applied and dead letters written.
func (s *recStore) count() (applied, dead int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.applied), len(s.dead)
}

// sensors returns the sensor ids of the applied readings, in order.
func (s *recStore) sensors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.applied))
	for i, r := range s.applied {
		ids[i] = r.SensorID
	}
	return ids
}

func (s *recStore) attemptsOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts[id]
}

// running is a Subscriber started by startSub.
type running struct {
	*Subscriber
	reg    *prometheus.Registry
	log    *testenv.SyncBuffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // what Run returned
}

// stop ends Run and waits for it.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Errorf("Run = %v", r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// startSub runs a Subscriber on the broker and waits until it is
// subscribed. edit adjusts the options.
func startSub(t testing.TB, broker, clientID string, store Store, edit ...func(*Options)) *running {
	t.Helper()
	log, buf := newTestLogger()
	reg := prometheus.NewRegistry()
	o := Options{
		BrokerURL: broker, ClientID: clientID, Store: store, Registerer: reg, Logger: log,
		Workers: 4, QueueSize: 16, ConnectTimeout: 2 * time.Second, ReconnectMax: time.Second,
		RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, ShutdownGrace: 2 * time.Second,
	}
	for _, e := range edit {
		e(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Subscriber: s, reg: reg, log: buf, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = s.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	waitFor(t, "the subscriber to connect and subscribe", func() bool { return s.subscribed.Load() })
	return r
}

// newPublisher connects a plain QoS 1 publisher.
func newPublisher(t testing.TB, broker string) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).
		SetCleanSession(true).SetConnectTimeout(2 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publish sends payload to topic at QoS 1 and waits for the broker's ack.
func publish(t testing.TB, c mqtt.Client, topic string, payload []byte) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// publishN publishes n valid readings for sensors prefix-0..n-1.
func publishN(t testing.TB, c mqtt.Client, prefix string, n int) {
	t.Helper()
	ts := time.Now().UTC()
	for i := range n {
		publish(t, c, topicFor(fmt.Sprintf("%s-%d", prefix, i)), payloadFor(ts, i%2 == 0, i))
	}
}

// expectOnly publishes a marker on a fresh session and waits for it, and
// for sub to have handled everything it received; the store must then hold
// exactly want (by sensor id, in any order). A redelivered message would
// have arrived before the marker: Mosquitto resends a session's
// unacknowledged messages first.
func expectOnly(t testing.TB, pub mqtt.Client, sub *running, store *recStore, want ...string) {
	t.Helper()
	publish(t, pub, topicFor("marker"), payloadFor(time.Now().UTC(), true, 1))
	waitFor(t, "the marker", func() bool { return store.attemptsOf("marker") > 0 })
	waitFor(t, "every message received to be handled", func() bool { return sub.settled(t) })
	got := map[string]int{}
	for _, id := range store.sensors() {
		got[id]++
	}
	want = append(want, "marker")
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("sensor %s applied %d times, want once", id, got[id])
		}
		delete(got, id)
	}
	if len(got) > 0 {
		t.Errorf("%d unexpected (redelivered?) readings, e.g. %v", len(got), sample(got, 5))
	}
}

// settled reports whether r has handled every message paho handed it:
// each is counted under a result once handled.
func (r *running) settled(t testing.TB) bool {
	t.Helper()
	var n float64
	for _, res := range occupancy.Results {
		n += metricValue(t, r.reg, "parkd_ingest_messages_total", "result", string(res))
	}
	return int64(n) == r.received.Load()
}

// sample returns up to n keys of m.
func sample(m map[string]int, n int) []string {
	var keys []string
	for k := range m {
		if len(keys) == n {
			break
		}
		keys = append(keys, k)
	}
	return keys
}

func TestSubscriberAppliesAndAcks(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	sub := startSub(t, broker.URL, "ingest-acks", store)
	if err := sub.Ready(); err != nil {
		t.Fatalf("Ready = %v, want nil", err)
	}
	if v := metricValue(t, sub.reg, "parkd_mqtt_connected"); v != 1 {
		t.Errorf("parkd_mqtt_connected = %v, want 1", v)
	}
	const n = 300
	publishN(t, pub, "s", n)
	waitFor(t, "every message to be applied", func() bool { a, _ := store.count(); return a == n })
	if v := metricValue(t, sub.reg, "parkd_ingest_messages_total", "result", "applied"); v != n {
		t.Errorf("applied = %v, want %d", v, n)
	}
	sub.stop(t)
	if sub.Connected() {
		t.Error("Connected after Run returned")
	}

	// The same session again: nothing may come back, so all were acked.
	again := newRecStore()
	expectOnly(t, pub, startSub(t, broker.URL, "ingest-acks", again), again)
}

func TestSubscriberRedeliversUnwrittenMessage(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	store.stuck["stuck"] = true
	sub := startSub(t, broker.URL, "ingest-stuck", store, func(o *Options) { o.ShutdownGrace = 200 * time.Millisecond })
	publish(t, pub, topicFor("stuck"), payloadFor(time.Now().UTC(), true, 7))
	publishN(t, pub, "ok", 5)
	waitFor(t, "the other messages to pass the stuck one", func() bool { a, _ := store.count(); return a == 5 })
	waitFor(t, "retries of the stuck message", func() bool { return store.attemptsOf("stuck") >= 3 })
	if err := sub.Ready(); err == nil || !strings.Contains(err.Error(), "store unavailable") {
		t.Errorf("Ready while a write keeps failing = %v, want a store error", err)
	}
	sub.stop(t)
	if !strings.Contains(sub.log.String(), "left unacknowledged") {
		t.Error("the log does not say the stuck message was left unacknowledged")
	}

	// A new process with the same client id gets the stuck message again,
	// and only that one.
	again := newRecStore()
	sub = startSub(t, broker.URL, "ingest-stuck", again)
	waitFor(t, "the stuck message to be redelivered", func() bool { return again.attemptsOf("stuck") == 1 })
	expectOnly(t, pub, sub, again, "stuck")
}

func TestSubscriberGetsMessagesSentWhileOffline(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	pub := newPublisher(t, broker.URL)
	startSub(t, broker.URL, "ingest-offline", newRecStore()).stop(t) // creates the session

	const n = 50
	publishN(t, pub, "offline", n) // nobody connected: the broker queues them
	store := newRecStore()
	sub := startSub(t, broker.URL, "ingest-offline", store)
	waitFor(t, "the queued messages", func() bool { a, _ := store.count(); return a == n })
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("offline-%d", i)
	}
	expectOnly(t, pub, sub, store, want...)
}

func TestSubscriberDeadLettersAndMovesOn(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	sub := startSub(t, broker.URL, "ingest-bad", store, func(o *Options) { o.Workers = 1 })
	publish(t, pub, topicFor("bad"), []byte(`{"occupied":"yes","ts":"now"}`))
	publish(t, pub, topicFor("big"), []byte(`{"pad":"`+strings.Repeat("x", codec.MaxPayload)+`"}`))
	publish(t, pub, topicFor("ghost-1"), payloadFor(time.Now().UTC(), true, 1))
	publishN(t, pub, "after", 10)
	waitFor(t, "the good messages behind the bad ones", func() bool { a, d := store.count(); return a == 10 && d == 3 })
	for _, c := range []struct {
		result string
		want   float64
	}{{"invalid", 2}, {"unknown_sensor", 1}, {"applied", 10}} {
		if v := metricValue(t, sub.reg, "parkd_ingest_messages_total", "result", c.result); v != c.want {
			t.Errorf("%s = %v, want %v", c.result, v, c.want)
		}
	}
	store.mu.Lock()
	reasons := map[string]string{} // by topic: paho hands over messages in no set order
	for _, d := range store.dead {
		reasons[d.Topic] = d.Reason
	}
	store.mu.Unlock()
	want := map[string]string{
		topicFor("bad"):     `"occupied" must be true or false, not "yes"`,
		topicFor("big"):     "payload is 65546 bytes, over the 65536-byte limit",
		topicFor("ghost-1"): `sensor "ghost-1" is not in the registry`,
	}
	for topic, reason := range want {
		if reasons[topic] != reason {
			t.Errorf("dead letter of %s: reason = %q, want %q", topic, reasons[topic], reason)
		}
	}
	sub.stop(t)

	again := newRecStore()
	expectOnly(t, pub, startSub(t, broker.URL, "ingest-bad", again), again) // the rejected messages were acked too
	if _, d := again.count(); d != 0 {
		t.Errorf("%d dead letters redelivered", d)
	}
}

func TestSubscriberHoldsMessagesDuringStoreOutage(t *testing.T) {
	for _, batch := range []int{1, 4} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { testHoldsDuringOutage(t, batch) })
	}
}

// testHoldsDuringOutage: the workers hold at most Workers × Batch messages
// while the store is down; the rest waits in the queue and at the broker.
func testHoldsDuringOutage(t *testing.T, batch int) {
	broker := testenv.MustStartMosquitto(t)
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	store.down = true
	sub := startSub(t, broker.URL, "ingest-outage", store, func(o *Options) { o.Workers = 3; o.QueueSize = 5; o.Batch = batch })
	const n = 40
	publishN(t, pub, "o", n)
	waitFor(t, "the outage to be seen", func() bool { return sub.Ready() != nil })
	if err := sub.Ready(); !strings.Contains(err.Error(), "store unavailable") {
		t.Errorf("Ready = %v, want a store error", err)
	}
	seen := time.Now()
	waitFor(t, "the queue to fill behind the workers' batches, and retries", func() bool {
		return len(sub.queue) == cap(sub.queue) && metricValue(t, sub.reg, "parkd_ingest_retries_total") >= 3
	})
	if v := metricValue(t, sub.reg, "parkd_ingest_inflight"); v < 3 || v > float64(3*batch) {
		t.Errorf("in flight = %v during the outage, want 3 to %d (the workers' batches; the rest waits in the queue and at the broker)",
			v, 3*batch)
	}
	if v := metricValue(t, sub.reg, "parkd_ingest_retries_total"); v < 3 {
		t.Errorf("retries = %v, want several", v)
	}
	if v := metricValue(t, sub.reg, "parkd_ingest_store_down_since_seconds"); v == 0 {
		t.Error("store down since = 0 during the outage")
	}
	if a, _ := store.count(); a != 0 {
		t.Fatalf("%d applied while down", a)
	}

	held := time.Since(seen) // the outage lasted longer: from before seen to after the store is back
	store.set(func(s *recStore) { s.down = false })
	waitFor(t, "every message after the outage", func() bool { a, _ := store.count(); return a == n })
	waitFor(t, "Ready after the outage", func() bool { return sub.Ready() == nil })
	if v := metricValue(t, sub.reg, "parkd_ingest_store_down_seconds_total"); v < held.Seconds() {
		t.Errorf("store down seconds = %v, want at least %v", v, held.Seconds())
	}
	if store.maxActive > 3 {
		t.Errorf("%d store calls at once, want at most Workers=3", store.maxActive)
	}
}

func TestSubscriberSurvivesBrokerRestart(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	store := newRecStore()
	sub := startSub(t, broker.URL, "ingest-restart", store)
	broker.Stop(t)
	waitFor(t, "the lost connection to show", func() bool { return !sub.Connected() })
	if err := sub.Ready(); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("Ready with the broker down = %v, want not connected", err)
	}
	if v := metricValue(t, sub.reg, "parkd_mqtt_connected"); v != 0 {
		t.Errorf("parkd_mqtt_connected = %v, want 0", v)
	}
	broker.Start(t)
	waitFor(t, "the reconnection", func() bool { return metricValue(t, sub.reg, "parkd_mqtt_connected") == 1 })
	pub := newPublisher(t, broker.URL)
	publishN(t, pub, "back", 20)
	waitFor(t, "messages after the broker came back", func() bool { a, _ := store.count(); return a == 20 })
	waitFor(t, "Ready after reconnecting", func() bool { return sub.Ready() == nil })
}

func TestSubscriberSharedGroup(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	a, b := newRecStore(), newRecStore()
	shared := func(o *Options) { o.SharedGroup = "parkd" }
	subA := startSub(t, broker.URL, "ingest-a", a, shared)
	subB := startSub(t, broker.URL, "ingest-b", b, shared)
	pub := newPublisher(t, broker.URL)
	const n = 100
	publishN(t, pub, "sh", n)
	waitFor(t, "the stream to be shared out", func() bool { x, _ := a.count(); y, _ := b.count(); return x+y == n })
	if got := subA.received.Load() + subB.received.Load(); got != n {
		t.Errorf("the group received %d messages, want %d", got, n)
	}
	seen := map[string]int{}
	for _, id := range append(a.sensors(), b.sensors()...) {
		seen[id]++
	}
	x, _ := a.count()
	y, _ := b.count()
	if len(seen) != n || x == 0 || y == 0 {
		t.Errorf("a got %d, b got %d, %d distinct; want every message once, split between both", x, y, len(seen))
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no broker", Options{ClientID: "x", Store: newRecStore()}, "BrokerURL is required"},
		{"no client id", Options{BrokerURL: "tcp://127.0.0.1:1", Store: newRecStore()}, "ClientID is required"},
		{"no store", Options{BrokerURL: "tcp://127.0.0.1:1", ClientID: "x"}, "Store is required"},
		{"bad group", Options{BrokerURL: "tcp://127.0.0.1:1", ClientID: "x", Store: newRecStore(), SharedGroup: "a/b"}, "SharedGroup"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	s, err := New(Options{BrokerURL: "tcp://u:secret@127.0.0.1:1", ClientID: "x", Store: newRecStore(), SharedGroup: "g"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.opts.filter(); got != "$share/g/"+DefaultTopic {
		t.Errorf("filter = %q", got)
	}
	if err := s.Ready(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Ready before Run = %v, want not connected, without the password", err)
	}
}

// TestSubscriberSharedGroupOfflineMember pins down what Mosquitto does with
// the share of a member that is offline: it is queued in that member's
// persistent session, not given to the others, and delivered when the
// member (same client id) comes back. Nothing is lost, but it waits.
func TestSubscriberSharedGroupOfflineMember(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	a, b := newRecStore(), newRecStore()
	shared := func(o *Options) { o.SharedGroup = "parkd" }
	startSub(t, broker.URL, "ingest-a", a, shared)
	startSub(t, broker.URL, "ingest-b", b, shared).stop(t)
	pub := newPublisher(t, broker.URL)
	const n = 40
	publishN(t, pub, "sh", n)
	// What is under test is what the broker does not deliver to a: give
	// it time to deliver a's share, and the rest, should it wrongly do so.
	time.Sleep(300 * time.Millisecond)
	x, _ := a.count()
	t.Logf("with b offline, a got %d of %d", x, n)
	if x == n {
		t.Fatalf("a got all %d: the broker skips offline members (update the docs)", n)
	}
	b2 := newRecStore()
	startSub(t, broker.URL, "ingest-b", b2, shared)
	waitFor(t, "b's share after it came back", func() bool { y, _ := b2.count(); return x+y == n })
}

// TestSubscriberAcksRejectsInSmallWindow guards against the paho trap of
// manual acks (see package mqttconn): an unacknowledged message holds one
// of the broker's in-flight slots for good. With a window of 5, twenty rejected messages would stall
// the stream unless each is acked.
func TestSubscriberAcksRejectsInSmallWindow(t *testing.T) {
	broker := testenv.MustStartMosquitto(t, "max_inflight_messages 5")
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	startSub(t, broker.URL, "ingest-window", store, func(o *Options) { o.Workers = 2; o.QueueSize = 2 })
	for i := range 20 {
		publish(t, pub, topicFor(fmt.Sprintf("bad-%d", i)), []byte(`{"occupied":true}`))
	}
	publishN(t, pub, "good", 10)
	waitFor(t, "the good messages behind twenty rejected ones", func() bool { a, d := store.count(); return a == 10 && d == 20 })
}

func TestRunStopsWhileConnecting(t *testing.T) {
	port := testenv.FreePort(t) // nothing listens there
	log, buf := newTestLogger()
	s, err := New(Options{BrokerURL: fmt.Sprintf("tcp://127.0.0.1:%d", port), ClientID: "ingest-nobroker", Store: newRecStore(),
		Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "Run to start connecting", func() bool { return len(buf.Lines("connecting to MQTT broker")) > 0 })
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("Ready without a broker = %v, want not connected", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return while still connecting")
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("a second Run must fail")
	}
}

// TestSubscriberHoldsPahoBackWhileQueueFull floods a slow store (it makes
// progress) through a broker whose in-flight window is wide: parkd takes
// messages from the connection no faster than the store applies them, so it
// never holds more than the queue, the workers' batches and the one in the
// handler, and nothing is set aside. (With paho's OrderMatters false it
// would take the whole flood, one goroutine per message.)
func TestSubscriberHoldsPahoBackWhileQueueFull(t *testing.T) {
	broker := testenv.MustStartMosquitto(t, "max_inflight_messages 1000")
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	store.delay = 2 * time.Millisecond
	const workers, queue, batch, n = 2, 8, 1, 300
	sub := startSub(t, broker.URL, "ingest-backpressure", store, func(o *Options) {
		o.Workers, o.QueueSize, o.Batch = workers, queue, batch
	})
	ts := time.Now().UTC()
	toks := make([]mqtt.Token, n)
	for i := range toks {
		toks[i] = pub.Publish(topicFor(fmt.Sprintf("bp-%d", i)), 1, false, payloadFor(ts, i%2 == 0, i))
	}
	maxHeld := int64(0)
	waitFor(t, "the flood to be applied", func() bool {
		// received first: read after applied, it would count the messages
		// received (and applied) in between as held, and overstate what
		// parkd held by one now and then (seen in CI: 12 for a limit of 11).
		received := sub.received.Load()
		applied, _ := store.count()
		maxHeld = max(maxHeld, received-int64(applied))
		if sub.spilled.Load() > 0 {
			t.Errorf("%d messages set aside while the store made progress", sub.spilled.Load())
		}
		return applied == n
	})
	if limit := int64(queue + workers*batch + 1); maxHeld > limit {
		t.Errorf("parkd held up to %d messages not yet applied, want at most %d (queue + workers × batch + 1)", maxHeld, limit)
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
}

// TestSubscriberStaysConnectedWhileWorkersStuck: with the store down the
// queue never has room; after StallAfter the handler sets messages aside
// instead of holding paho's reader, so PINGRESP is read and the connection
// outlives several keep-alive periods; the broker's window bounds what is
// set aside, and everything is applied once the store is back.
func TestSubscriberStaysConnectedWhileWorkersStuck(t *testing.T) {
	broker := testenv.MustStartMosquitto(t, "max_inflight_messages 20")
	pub := newPublisher(t, broker.URL)
	store := newRecStore()
	store.down = true
	sub := startSub(t, broker.URL, "ingest-stuck", store, func(o *Options) {
		o.Workers, o.QueueSize, o.Batch, o.KeepAlive, o.StallAfter = 1, 2, 1, time.Second, 300*time.Millisecond
	})
	const n = 40
	publishN(t, pub, "stuck", n)
	waitFor(t, "messages set aside", func() bool { return sub.spilled.Load() > 0 })
	// Staying connected for several keep-alive periods (1 s, ping timeout 2 s:
	// ConnectTimeout) is what is under test.
	time.Sleep(4 * time.Second)
	if !sub.Connected() {
		t.Error("disconnected while the workers were stuck")
	}
	if strings.Contains(sub.log.String(), "lost connection") {
		t.Errorf("the connection was lost while the workers were stuck:\n%s", sub.log.String())
	}
	if a := sub.spilled.Load(); a > 20 {
		t.Errorf("%d messages set aside, more than the broker's window of 20", a)
	}
	store.set(func(s *recStore) { s.down = false })
	waitFor(t, "every message after the outage", func() bool { a, _ := store.count(); return a == n })
	waitFor(t, "nothing set aside", func() bool { return sub.spilled.Load() == 0 })
}

// TestSubscriberBatchWait checks BatchWait: messages that arrive one by one
// within the wait go to the store in one batch, and without a wait they do
// not (no worker holds one back); either way every message is applied and
// acknowledged.
func TestSubscriberBatchWait(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	pub := newPublisher(t, broker.URL)
	tests := []struct {
		name        string
		wait        time.Duration
		wantBatches func(n int) bool
	}{
		{"wait 2s: one batch", 2 * time.Second, func(n int) bool { return n == 1 }},
		// 50 ms apart, each message goes on its own unless the machine is
		// so slow that one waits for a worker behind another; never all in one.
		{"no wait: batches of what is queued", 0, func(n int) bool { return n >= 2 }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := newOrderStore()
			id := fmt.Sprintf("ingest-wait-%d", i)
			sub := startSub(t, broker.URL, id, store, func(o *Options) { o.Batch, o.BatchWait = 64, tc.wait })
			ts := time.Now().UTC()
			for j := range 5 {
				publish(t, pub, topicFor(fmt.Sprintf("w%d-%d", i, j)), payloadFor(ts, true, 1))
				time.Sleep(50 * time.Millisecond) // messages coming one by one: what BatchWait is for
			}
			waitFor(t, "every message to be applied", func() bool {
				store.mu.Lock()
				defer store.mu.Unlock()
				return len(store.newest) == 5
			})
			store.mu.Lock()
			batches := store.batches
			store.mu.Unlock()
			if !tc.wantBatches(len(batches)) {
				t.Errorf("ApplyBatch calls %v", batches)
			}
			sub.stop(t)
			again := newRecStore() // the same session: nothing comes back, so all were acked
			expectOnly(t, pub, startSub(t, broker.URL, id, again), again)
		})
	}
}

func (s *recStore) NoteClocks(_ context.Context, rs []occupancy.Reading) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errRedisDown
	}
	return make([]bool, len(rs)), nil
}
