package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
)

func TestRegistryModels(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "reg")
	if err := runRegistry([]string{"-out", dir, "-spaces", "12", "-models", "nwave-nps405, native,bosch-tps110"}); err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	count := map[occupancy.Model]int{}
	for _, sp := range reg.Spaces() {
		count[sp.Model]++
		if _, ok := occupancy.NormalizeDevEUI(sp.SensorID); ok != sp.Model.LoRaWAN() {
			t.Errorf("space %s of model %s has sensor id %s", sp.ID, sp.Model, sp.SensorID)
		}
	}
	if count[occupancy.ModelNwaveNPS405] != 4 || count[occupancy.ModelNative] != 4 || count[occupancy.ModelBoschTPS110] != 4 {
		t.Errorf("models %v, want 4 of each", count)
	}
	if err := runRegistry([]string{"-out", dir, "-spaces", "12", "-models", "acme"}); err == nil || !strings.Contains(err.Error(), `model "acme"`) {
		t.Errorf("bad model: %v", err)
	}
}

func TestRunFormatFlag(t *testing.T) {
	c, out, errOut := testCLI(nil)
	if code := c.main([]string{"run", "-format", "lora"}); code != exitUsage || !strings.Contains(errOut.String(), "not native, ttn or chirpstack") {
		t.Errorf("run -format lora: exit %d\n%s%s", code, out, errOut)
	}
}

// TestRunFormatTTN runs parksim -format ttn on a registry of NPS405 and
// native sensors and checks what reaches the broker: TTS uplinks that parkd
// decodes for the LoRaWAN sensors, native messages for the others.
func TestRunFormatTTN(t *testing.T) {
	broker := testenv.MustStartMosquitto(t)
	dir := filepath.Join(t.TempDir(), "reg")
	if err := runRegistry([]string{"-out", dir, "-spaces", "20", "-models", "nwave-nps405,native"}); err != nil {
		t.Fatal(err)
	}
	reg, err := occupancy.LoadRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	topics := map[string]int{}
	var bad []string
	dec := codec.LoRaWANDecoder(codec.DecodeTTS, reg)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID(fmt.Sprintf("watch-%d", time.Now().UnixNano())))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("#", 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		defer mu.Unlock()
		prefix := strings.SplitN(m.Topic(), "/", 2)[0]
		topics[prefix]++
		if prefix == "v3" {
			if _, err := dec(m.Topic(), m.Payload()); err != nil {
				bad = append(bad, err.Error())
			}
		}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	c, _, errOut := testCLI(nil)
	code := c.main([]string{"run", "-broker", broker.URL, "-registry", dir, "-format", "ttn", "-duration", "1s",
		"-spread", "300ms", "-heartbeat", "500ms", "-quiet"})
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, errOut)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if topics["v3"] < 10 || topics["parking"] < 10 || len(topics) != 2 || len(bad) > 0 {
		t.Errorf("messages by topic root %v; undecodable TTS uplinks: %v", topics, bad)
	}
}
