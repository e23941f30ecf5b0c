package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// testZones are one zone of each profile and type.
var testZones = []occupancy.Zone{
	{ID: "Z01", Name: "east street", Type: occupancy.OnStreet, Profile: occupancy.ProfileCommuter, Lat: 29.85, Lon: 121.64},
	{ID: "Z02", Name: "west lot", Type: occupancy.OffStreet, Profile: occupancy.ProfileCommuter, Lat: 29.851, Lon: 121.641},
	{ID: "Z03", Name: "community", Type: occupancy.OffStreet, Profile: occupancy.ProfileResidential, Lat: 29.852, Lon: 121.642},
	{ID: "Z04", Name: "market", Type: occupancy.OnStreet, Profile: occupancy.ProfileMarket, Lat: 29.853, Lon: 121.643},
}

// testRegistry returns a registry with perZone spaces in each test zone,
// one in twenty of them accessible.
func testRegistry(tb testing.TB, perZone int) *occupancy.Registry {
	tb.Helper()
	var spaces []occupancy.Space
	n := 0
	for _, z := range testZones {
		for i := range perZone {
			n++
			kind := occupancy.KindStandard
			if i%20 == 19 {
				kind = occupancy.KindAccessible
			}
			spaces = append(spaces, occupancy.Space{
				ID: fmt.Sprintf("QA-%s-%04d", z.ID, i+1), ZoneID: z.ID, SensorID: fmt.Sprintf("S-%06d", n),
				Lat: z.Lat + float64(i)*1e-5, Lon: z.Lon, Kind: kind,
			})
		}
	}
	reg, err := occupancy.NewRegistry(testZones, spaces)
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	return reg
}

// tuesday10 is a working-day morning in Qiuai.
var tuesday10 = time.Date(2026, 11, 24, 10, 0, 0, 0, chinaStandardTime)

// stepClock returns a clock that advances by 1 ms at every call, so runs
// that read it in the same order see the same times.
func stepClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

// recorded is one message handed to a sink.
type recorded struct {
	conn    int
	topic   string
	payload []byte
}

// recorder is a sink that keeps every message, in order.
type recorder struct {
	mu   sync.Mutex
	msgs []recorded
}

func (r *recorder) publish(_ context.Context, conn int, topic string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, recorded{conn, topic, payload})
	return nil
}

// newModel returns a simulator for opts whose output goes to a recorder
// instead of a broker. It fills in a registry, broker URL and clock if
// opts has none.
func newModel(tb testing.TB, opts Options) (*Simulator, *recorder) {
	tb.Helper()
	if opts.Registry == nil {
		opts.Registry = testRegistry(tb, 100)
	}
	if opts.BrokerURL == "" {
		opts.BrokerURL = "tcp://127.0.0.1:1"
	}
	if opts.Start.IsZero() {
		opts.Start = tuesday10
	}
	if opts.Now == nil {
		opts.Now = stepClock(clockStart)
	}
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	rec := &recorder{}
	s.out = rec
	return s, rec
}

// wire is a message decoded as strictly as the contract reads it.
type wire struct {
	Occupied  *bool    `json:"occupied"`
	TS        *string  `json:"ts"`
	Seq       uint64   `json:"seq"`
	Kind      string   `json:"kind"`
	BatteryMV int      `json:"battery_mv"`
	TempC     *float64 `json:"temp_c"`
}

// decodeValid decodes a payload that the contract accepts, with now as
// the receive time; ok is false for anything the service must reject.
func decodeValid(payload []byte, now time.Time) (w wire, ts time.Time, ok bool) {
	if len(payload) > 64<<10 {
		return w, ts, false
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&w); err != nil || w.Occupied == nil || w.TS == nil {
		return w, ts, false
	}
	ts, err := time.Parse(time.RFC3339Nano, *w.TS)
	if err != nil {
		return w, ts, false
	}
	r := occupancy.Reading{SensorID: "S", Occupied: *w.Occupied, TS: ts, Seq: w.Seq,
		Kind: occupancy.ReadingKind(w.Kind), BatteryMV: w.BatteryMV, TempC: w.TempC}
	return w, ts, r.Validate(now) == nil
}

// sensorOf returns the sensor id of a topic.
func sensorOf(topic string) string {
	return strings.TrimSuffix(strings.TrimPrefix(topic, TopicPrefix), TopicSuffix)
}
