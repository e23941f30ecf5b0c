package occupancy

import (
	"context"
	"encoding/json"
	"time"
)

// EventType names what an Event is about.
type EventType string

// The event types of the live feed (GET /api/v1/events).
const (
	// EventSpace: a space's status changed (free, occupied, unknown, closed).
	EventSpace EventType = "space"
	// EventZone: a zone's counters changed; Data is the zone's Counts.
	EventZone EventType = "zone"
	// EventIncident: an incident was opened, acknowledged or resolved; Data
	// is the incident as the API shows it.
	EventIncident EventType = "incident"
)

// Event is one entry of the live feed. Every event belongs to a zone: the
// feed is kept per zone (one Redis stream per zone, in the zone's cluster
// slot), so the zone is required.
type Event struct {
	// ID is assigned by the store when the event is published; it is what
	// an SSE client sends back as Last-Event-ID. Empty when publishing.
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
	// Data is the type-specific payload as JSON (zone counts, an incident).
	Data json.RawMessage `json:"data,omitempty"`
}

// EventPublisher appends events to the live feed. Incident and closure code
// calls it after a transition is stored; space and zone changes made by the
// ingest scripts are published by the scripts themselves. It returns the
// event's id.
type EventPublisher interface {
	Publish(ctx context.Context, e Event) (string, error)
}

// NopPublisher drops every event; for tests and tools without a feed.
type NopPublisher struct{}

// Publish drops e.
func (NopPublisher) Publish(context.Context, Event) (string, error) { return "", nil }
