package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/simulator"
	"github.com/qiuai/parking/simulator/town"
)

// TestLoRaWANSimulatorVerifiesClean runs the simulator in each LoRaWAN
// format over a town of Bosch, Nwave and native sensors, with faults,
// through real Mosquitto into parkd (default lorawan topics) on real Redis:
// the API must agree with the ground truth for every space, and a LoRaWAN
// space must show the health its frames carried.
func TestLoRaWANSimulatorVerifiesClean(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end simulator runs")
	}
	dir := filepath.Join(t.TempDir(), "registry")
	zones, spaces, err := town.Generate(town.Options{Spaces: 400})
	if err != nil {
		t.Fatal(err)
	}
	town.AssignModels(spaces, []occupancy.Model{occupancy.ModelBoschTPS110, occupancy.ModelNwaveNPS405,
		occupancy.ModelNwaveNPS310, occupancy.ModelNative})
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []simulator.Format{simulator.FormatTTN, simulator.FormatChirpStack} {
		t.Run(string(f), func(t *testing.T) {
			mosq, rds := testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
			p := startParkd(t, testConfig(mosq.URL, rds.URL, dir))
			runLoRaWANSimulator(t, p, mosq.URL, reg, f)
		})
	}
}

// TestLoRaWANOnItsOwnBroker reads a network server's uplinks from a broker
// of its own (lorawan.mqtt.url) while the native topic stays on the main one.
func TestLoRaWANOnItsOwnBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end simulator runs")
	}
	dir := filepath.Join(t.TempDir(), "registry")
	zones, spaces, err := town.Generate(town.Options{Spaces: 200})
	if err != nil {
		t.Fatal(err)
	}
	town.AssignModels(spaces, []occupancy.Model{occupancy.ModelBoschTPS110, occupancy.ModelNwaveNPS405})
	if err := town.WriteRegistry(dir, zones, spaces); err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	main, ns, rds := testenv.MustStartMosquitto(t), testenv.MustStartMosquitto(t), testenv.MustStartRedis(t)
	cfg := testConfig(main.URL, rds.URL, dir)
	cfg.LoRaWAN.MQTT.URL = ns.URL
	p := startParkd(t, cfg) // ready only once both subscribers are
	runLoRaWANSimulator(t, p, ns.URL, reg, simulator.FormatTTN)
	ns.Stop(t)
	eventually(t, 10*time.Second, "readyz says the network server's broker is gone", func() error {
		if code, body := p.get(t, "/readyz", nil); code != 503 {
			return fmt.Errorf("readyz %d: %s", code, body)
		}
		return nil
	})
}

// runLoRaWANSimulator runs the simulator in format f against broker, then
// checks the API against its ground truth, the ingest counts and the health.
func runLoRaWANSimulator(t *testing.T, p *parkd, broker string, reg *occupancy.Registry, f simulator.Format) {
	t.Helper()
	sim, err := simulator.New(simulator.Options{BrokerURL: broker, Registry: reg, Format: f,
		Accel: 600, Duration: 3 * time.Second, Heartbeat: 2 * time.Second, Seed: 11,
		Faults: simulator.Faults{DuplicatePct: 5, ReorderPct: 5, MalformedPct: 2, SilentPct: 2}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := simulator.Verify(ctx, p.base, sim.Truth(), simulator.VerifyOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("verify: %s\nmismatches: %+v\ncounters: %v", rep.String(), rep.Mismatches, rep.Counters)
	}
	got := p.ingestCounts(t)
	t.Logf("verify: %s; ingest: %v", rep.String(), got)
	if got["applied"] == 0 || got["duplicate"] == 0 || got["stale"] == 0 || got["invalid"] == 0 || got["unknown_sensor"] != 0 {
		t.Errorf("ingest counts %v: want applied, duplicates, stale and invalid, no unknown sensor", got)
	}
	p.checkCountersAddUp(t)
	checkHealthShown(t, p, reg, sim.Truth())
}

// checkHealthShown checks the API shows the NPS405 spaces' model and radio
// quality, and their firmware and reset cause (from the start-up frame),
// and a native space (if the registry has one) none of the LoRaWAN ones.
// The simulator's reorder fault sends some start-up frames after the
// sensor's next frame: the store drops those as stale (stale readings change
// nothing), so such a space shows no firmware; at most a fifth may.
func checkHealthShown(t *testing.T, p *parkd, reg *occupancy.Registry, truth map[string]simulator.Expected) {
	t.Helper()
	var native, hasNative bool
	var nwave, withFirmware int
	for _, sp := range reg.Spaces() {
		hasNative = hasNative || sp.Model == "" || sp.Model == occupancy.ModelNative
		if !truth[sp.ID].Sent {
			continue
		}
		var s struct {
			Model      string   `json:"model"`
			BatteryMV  int      `json:"battery_mv"`
			TempC      *float64 `json:"temp_c"`
			Firmware   string   `json:"firmware"`
			ResetCause string   `json:"reset_cause"`
			RSSI       *int     `json:"rssi"`
			SNR        *float64 `json:"snr"`
		}
		switch {
		case sp.Model == occupancy.ModelNwaveNPS405:
			nwave++
			p.get(t, "/api/v1/spaces/"+sp.ID, &s)
			startup := s.Firmware == "1.4.2" && s.ResetCause == "power_on"
			if startup {
				withFirmware++
			}
			if s.Model != "nwave-nps405" || !startup && (s.Firmware != "" || s.ResetCause != "") ||
				s.RSSI == nil || *s.RSSI > -71 || *s.RSSI < -120 || s.SNR == nil {
				t.Errorf("NPS405 space %s shows %+v", sp.ID, s)
			}
		case (sp.Model == "" || sp.Model == occupancy.ModelNative) && !native:
			native = true
			p.get(t, "/api/v1/spaces/"+sp.ID, &s)
			if s.Firmware != "" || s.RSSI != nil || s.SNR != nil || s.BatteryMV == 0 {
				t.Errorf("native space %s shows %+v", sp.ID, s)
			}
		}
	}
	if nwave == 0 || native != hasNative {
		t.Errorf("no NPS405 (%d) or native (%v) space heard from", nwave, native)
	}
	if withFirmware*5 < nwave*4 {
		t.Errorf("%d of %d NPS405 spaces show their firmware and reset cause, want at least four fifths", withFirmware, nwave)
	}
}
