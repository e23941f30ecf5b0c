package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Expected is the ground truth of one space: the newest reading its sensor
// sent, or that it never sent one.
type Expected struct {
	// Sent is false when the sensor never sent a reading (a silent sensor,
	// or a run stopped before its first message).
	Sent bool `json:"sent"`
	// Occupied, TS and Seq are those of the newest reading sent.
	Occupied bool      `json:"occupied"`
	TS       time.Time `json:"ts,omitzero"`
	Seq      uint64    `json:"seq,omitempty"`
	// SensorID is the space's sensor.
	SensorID string `json:"sensor_id,omitempty"`
}

// Status is the status the service must show for the space: occupied or
// free after its newest reading, unknown if it never got one.
func (e Expected) Status() occupancy.Status {
	switch {
	case !e.Sent:
		return occupancy.StatusUnknown
	case e.Occupied:
		return occupancy.StatusOccupied
	}
	return occupancy.StatusFree
}

// newer reports whether a reading with seq is newer than the one e holds.
// A sensor's seq grows with its ts, so seq alone orders its readings.
func (e Expected) newer(seq uint64) bool { return !e.Sent || seq > e.Seq }

// WriteTruth writes a truth map as JSON, keyed by space id.
func WriteTruth(w io.Writer, truth map[string]Expected) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(truth); err != nil {
		return fmt.Errorf("simulator: write truth: %w", err)
	}
	return nil
}

// ReadTruth reads a truth map written by WriteTruth.
func ReadTruth(r io.Reader) (map[string]Expected, error) {
	var truth map[string]Expected
	if err := json.NewDecoder(r).Decode(&truth); err != nil {
		return nil, fmt.Errorf("simulator: read truth: %w", err)
	}
	return truth, nil
}
