package ingest

import "testing"

func TestPlainTCP(t *testing.T) {
	for url, want := range map[string]bool{
		"tcp://127.0.0.1:1883":  true,
		"mqtt://broker:1883":    true,
		"ssl://broker:8883":     false,
		"mqtts://broker:8883":   false,
		"ws://broker:9001/mqtt": false,
		"wss://broker/mqtt":     false,
		"::not a url":           false,
	} {
		if got := plainTCP(url); got != want {
			t.Errorf("plainTCP(%q) = %v, want %v", url, got, want)
		}
	}
}
