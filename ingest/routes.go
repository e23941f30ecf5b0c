package ingest

import (
	"strings"

	"github.com/qiuai/parking/ingest/codec"
	"github.com/qiuai/parking/occupancy"
)

// Default subscription filters: the native sensors' uplinks, and those of
// the LoRaWAN network servers.
const (
	DefaultTopic           = codec.NativeFilter
	DefaultTTSTopic        = codec.TTSFilter
	DefaultChirpStackTopic = codec.ChirpStackFilter
)

// Decoder turns one MQTT message into a reading: codec.DecodeNative, or a
// codec.LoRaWANDecoder. Errors are EINVALID, or a *codec.UnknownSensorError.
type Decoder = codec.Decoder

// Route sends the messages of one subscription filter to its decoder.
type Route struct {
	// Topic is the subscription filter, e.g. DefaultTTSTopic.
	Topic string
	// Decode decodes the messages; nil means codec.DecodeNative.
	Decode Decoder
}

// LoRaWANRoutes returns the routes of The Things Stack uplinks on ttsTopic
// and ChirpStack uplinks on chirpStackTopic, their devices looked up in reg.
// An empty topic leaves its route out.
func LoRaWANRoutes(reg *occupancy.Registry, ttsTopic, chirpStackTopic string) []Route {
	var rs []Route
	if ttsTopic != "" {
		rs = append(rs, Route{Topic: ttsTopic, Decode: codec.LoRaWANDecoder(codec.DecodeTTS, reg)})
	}
	if chirpStackTopic != "" {
		rs = append(rs, Route{Topic: chirpStackTopic, Decode: codec.LoRaWANDecoder(codec.DecodeChirpStack, reg)})
	}
	return rs
}

// route is a subscription with its decoder.
type route struct {
	topic  string // the filter without $share
	decode Decoder
}

// routeFor returns the first route matching topic; the native one if none
// does (its decoder rejects a topic it does not know).
func (s *Subscriber) routeFor(topic string) *route {
	for i := range s.routes {
		if matchTopic(s.routes[i].topic, topic) {
			return &s.routes[i]
		}
	}
	return &s.routes[0]
}

// matchTopic reports whether an MQTT topic filter (with + and #) matches a
// topic name.
func matchTopic(filter, topic string) bool {
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		if f == "#" {
			return true
		}
		t, trest, tmore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fmore || !tmore {
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}

// clip shortens s to at most n bytes for a log line or dead letter,
// marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
