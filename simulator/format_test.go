package simulator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// loraRegistry is testRegistry with the sensors of every space but each
// fifth turned into LoRaWAN devices, the three models in turn.
func loraRegistry(tb testing.TB, perZone int) *occupancy.Registry {
	tb.Helper()
	base := testRegistry(tb, perZone)
	models := []occupancy.Model{occupancy.ModelBoschTPS110, occupancy.ModelNwaveNPS405, occupancy.ModelNwaveNPS310}
	spaces := append([]occupancy.Space(nil), base.Spaces()...)
	for i := range spaces {
		if i%5 == 4 {
			continue
		}
		spaces[i].Model = models[i%3]
		spaces[i].SensorID = fmt.Sprintf("70b3d57ed00%05x", i)
	}
	reg, err := occupancy.NewRegistry(base.Zones(), spaces)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

func TestParseFormat(t *testing.T) {
	for _, s := range []string{"native", "ttn", "chirpstack"} {
		if f, err := ParseFormat(s); err != nil || string(f) != s {
			t.Errorf("ParseFormat(%s) = %q, %v", s, f, err)
		}
	}
	if _, err := ParseFormat("lora"); err == nil {
		t.Error("ParseFormat(lora) succeeded")
	}
	if _, err := New(Options{BrokerURL: "tcp://x:1", Registry: testRegistry(t, 1), Format: "TTN"}); err == nil {
		t.Error("New accepted format TTN")
	}
}

// TestFormatsDecode runs the model in each LoRaWAN format with faults on and
// decodes every message the way parkd does: each real message decodes to
// the reading the simulator meant, start-up frames come first, and the
// newest reading of each sensor, ordered as the store orders them, is the
// truth.
func TestFormatsDecode(t *testing.T) {
	for _, f := range []Format{FormatTTN, FormatChirpStack} {
		t.Run(string(f), func(t *testing.T) {
			reg := loraRegistry(t, 40)
			s, rec := newModel(t, Options{Registry: reg, Format: f, Seed: 3, Heartbeat: time.Minute,
				Faults: Faults{DuplicatePct: 5, ReorderPct: 5, MalformedPct: 5}})
			ctx := context.Background()
			s.simulate(ctx, 10*time.Minute)
			s.flush(ctx)
			decode := func(topic string, p []byte) (occupancy.Reading, error) {
				switch {
				case strings.HasPrefix(topic, "v3/"):
					return codec.LoRaWANDecoder(codec.DecodeTTS, reg)(topic, p)
				case strings.HasPrefix(topic, "application/"):
					return codec.LoRaWANDecoder(codec.DecodeChirpStack, reg)(topic, p)
				}
				return codec.DecodeNative(topic, p)
			}
			type key struct {
				ts  time.Time
				seq uint64
			}
			newest := map[string]key{}
			state := map[string]bool{}
			startups, heartbeats405, invalid := map[string]bool{}, 0, 0
			for _, m := range rec.msgs {
				r, err := decode(m.topic, m.payload)
				if err == nil {
					err = r.Validate(modelNow)
				}
				if err != nil {
					var ce *occupancy.ClockError // the garbage dated a day ahead
					if occupancy.ErrorCode(err) != occupancy.EINVALID && !errors.As(err, &ce) {
						t.Fatalf("%s: %v is not EINVALID nor a ClockError", m.topic, err)
					}
					invalid++
					continue
				}
				sp, ok := reg.SpaceBySensor(r.SensorID)
				if !ok {
					t.Fatalf("decoded reading of unknown sensor %s", r.SensorID)
				}
				if sp.Model.LoRaWAN() == strings.HasPrefix(m.topic, TopicPrefix) {
					t.Fatalf("space %s of model %q published on %s", sp.ID, sp.Model, m.topic)
				}
				if r.Firmware != "" {
					startups[r.SensorID] = true
					if r.Firmware != "1.4.2" || r.ResetCause != occupancy.ResetPowerOn || r.Seq != 0 {
						t.Fatalf("start-up reading %+v", r)
					}
				}
				if sp.Model == occupancy.ModelNwaveNPS405 && r.Kind == occupancy.ReadingHeartbeat {
					heartbeats405++
					if r.BatteryMV < 2500 || r.BatteryMV > 3520 || r.TempC == nil {
						t.Fatalf("NPS405 heartbeat %+v", r)
					}
				}
				if sp.Model.LoRaWAN() && (r.RSSI == nil || r.SNR == nil) {
					t.Fatalf("LoRaWAN reading without radio quality: %+v", r)
				}
				k, seen := newest[r.SensorID]
				if !seen || r.TS.After(k.ts) || r.TS.Equal(k.ts) && r.Seq > k.seq {
					newest[r.SensorID] = key{r.TS, r.Seq}
					state[r.SensorID] = r.Occupied
				}
			}
			lora := 0
			for _, sp := range reg.Spaces() {
				if sp.Model.LoRaWAN() {
					lora++
				}
				want := s.Truth()[sp.ID]
				if got, ok := state[sp.SensorID]; ok != want.Sent || got != want.Occupied {
					t.Errorf("space %s: decoded newest occupied=%v (heard %v), truth %+v", sp.ID, got, ok, want)
				}
			}
			if len(startups) != lora || heartbeats405 == 0 || invalid == 0 {
				t.Errorf("start-ups from %d of %d LoRaWAN sensors, %d NPS405 heartbeats, %d invalid", len(startups), lora, heartbeats405, invalid)
			}
		})
	}
}

// TestFormatNativeIgnoresModels checks that FormatNative sends the native
// JSON on the native topic even for LoRaWAN spaces.
func TestFormatNativeIgnoresModels(t *testing.T) {
	reg := loraRegistry(t, 5)
	s, rec := newModel(t, Options{Registry: reg})
	s.simulate(context.Background(), time.Minute)
	if len(rec.msgs) == 0 {
		t.Fatal("no messages")
	}
	for _, m := range rec.msgs {
		if _, err := codec.DecodeNative(m.topic, m.payload); err != nil {
			t.Fatalf("%s %s: %v", m.topic, m.payload, err)
		}
	}
}
