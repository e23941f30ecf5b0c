package occupancy

import (
	"encoding/json"
	"time"
)

// EventType names what an Event is about.
type EventType string

// The event types of the live feed (GET /api/v1/events).
const (
	// EventSpace: a space's status changed (free, occupied, unknown, closed).
	EventSpace EventType = "space"
	// EventZone: a zone's counters changed; Zone holds them.
	EventZone EventType = "zone"
	// EventIncident: an incident was opened, acknowledged or resolved; Data
	// is the incident as the API shows it.
	EventIncident EventType = "incident"
)

// Event is one entry of the live feed. Every event belongs to a zone: the
// feed is kept per zone (one stream per zone, in the zone's cluster slot),
// so the zone is required.
type Event struct {
	// ID is the event's position and zone ("MS-SEQ@ZONE", cursor.go),
	// assigned when the event is stored; what an SSE client sends back as
	// Last-Event-ID. Empty when publishing. The events of one stored entry
	// (a call's space changes and the zone's counters after them) share it.
	ID string `json:"id"`
	// Type is space, zone or incident.
	Type EventType `json:"type"`
	// Time is when the change happened.
	Time time.Time `json:"time"`
	// ZoneID is the zone the event belongs to. Required.
	ZoneID string `json:"zone_id"`
	// SpaceID is the space concerned, if any.
	SpaceID string `json:"space_id,omitempty"`
	// Status is the new status: a space's (free, occupied, unknown, closed)
	// or an incident's (open, acknowledged, resolved).
	Status string `json:"status,omitempty"`
	// Data is the type-specific payload as JSON: an incident; a zone
	// event's Zone once marshalled (ZoneData).
	Data json.RawMessage `json:"data,omitempty"`
	// Zone is a zone event's counts and level after the change; nil for
	// other events. Data carries it on the wire.
	Zone *ZoneEventData `json:"-"`
	// BySensor marks a space event made by a sensor reading (free or
	// occupied), as opposed to the sweeper (unknown) or a closure: the
	// changes a sensor's flapping is counted by.
	BySensor bool `json:"-"`
}

// ZoneEventData is a zone event's payload: the zone's counts and level
// (DATEX II vocabulary; empty when not known) after the change.
type ZoneEventData struct {
	Counts
	Level string `json:"level,omitempty"`
}

// WithData returns e with Data set from Zone when it is a zone event whose
// Data is not set yet, for writing it out.
func (e Event) WithData() Event {
	if e.Zone != nil && e.Data == nil {
		e.Data, _ = json.Marshal(e.Zone)
	}
	return e
}
