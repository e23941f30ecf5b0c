package ingest

import (
	"strings"
	"testing"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

func TestNewValidatesRoutes(t *testing.T) {
	dec := codec.LoRaWANDecoder(codec.DecodeTTS, loraRegistry(t))
	tests := []struct {
		name    string
		routes  []Route
		wantErr string
	}{
		{"two LoRaWAN routes", LoRaWANRoutes(loraRegistry(t), DefaultTTSTopic, DefaultChirpStackTopic), ""},
		{"empty topics leave their route out", LoRaWANRoutes(loraRegistry(t), "", ""), ""},
		{"route on the native topic", []Route{{Topic: DefaultTopic, Decode: dec}}, "empty or repeated"},
		{"route repeated", []Route{{Topic: DefaultTTSTopic, Decode: dec}, {Topic: DefaultTTSTopic, Decode: dec}}, "empty or repeated"},
		{"route without topic", []Route{{Decode: dec}}, "empty or repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{BrokerURL: "tcp://127.0.0.1:1", ClientID: "c", Store: newRecStore(), Topic: DefaultTopic, Routes: tt.routes})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(s.opts.filters()), 1+len(tt.routes); got != want {
					t.Errorf("%d filters, want %d", got, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if n := len(LoRaWANRoutes(loraRegistry(t), DefaultTTSTopic, "")); n != 1 {
		t.Errorf("LoRaWANRoutes with one topic gave %d routes", n)
	}
}

// TestRouteFor checks that each message goes to the decoder of the first
// filter matching its topic, and to the native one otherwise.
func TestRouteFor(t *testing.T) {
	mk := func(name string) Decoder {
		return func(string, []byte) (occupancy.Reading, error) { return occupancy.Reading{SensorID: name}, nil }
	}
	s := &Subscriber{routes: []route{{topic: DefaultTopic, decode: mk("native")}, {topic: DefaultTTSTopic, decode: mk("tts")},
		{topic: DefaultChirpStackTopic, decode: mk("cs")}}}
	for topic, want := range map[string]string{
		"parking/v1/sensors/S-1/up":                      "native",
		"v3/app@tenant/devices/d/up":                     "tts",
		"application/u/device/0004a30b001c2f3e/event/up": "cs",
		"v3/app/devices/d/join":                          "native",
	} {
		if r, _ := s.routeFor(topic).decode(topic, nil); r.SensorID != want {
			t.Errorf("%s went to %q, want %q", topic, r.SensorID, want)
		}
	}
}

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{DefaultTTSTopic, "v3/app@tenant/devices/dev-1/up", true},
		{DefaultTTSTopic, "v3/app/devices/dev-1/join", false},
		{DefaultTTSTopic, "v3/app/devices/dev-1/up/x", false},
		{DefaultChirpStackTopic, "application/17c8/device/0004a30b001c2f3e/event/up", true},
		{DefaultChirpStackTopic, "application/17c8/device/0004a30b001c2f3e/event/join", false},
		{DefaultTopic, "parking/v1/sensors/S-1/up", true},
		{DefaultTopic, "v3/app/devices/dev-1/up", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"a/+", "a/", true},
		{"a/+", "a", false},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
	}
	for _, tt := range tests {
		if got := matchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("matchTopic(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}
