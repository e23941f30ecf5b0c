package httpapi

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/qiuai/parking/occupancy"
)

// Store reads single spaces, listings and rejected messages from the live
// state. *redisstore.Store implements it.
type Store interface {
	// Space returns one space's state. ENOTFOUND for a space not in the
	// registry.
	Space(ctx context.Context, id string) (occupancy.SpaceState, error)
	// ListSpaces returns the spaces matching f in ID order and the cursor of
	// the next page ("" on the last). EINVALID for a bad filter, ENOTFOUND
	// for an unknown zone.
	ListSpaces(ctx context.Context, f occupancy.SpaceFilter) ([]occupancy.SpaceState, string, error)
	// States returns the states of registry spaces, in the same order.
	States(ctx context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error)
	// DeadLetters returns up to limit of the newest rejected messages,
	// newest first.
	DeadLetters(ctx context.Context, limit int) ([]occupancy.DeadLetter, error)
}

// ZoneReader answers the questions asked most often: zone counts and the
// nearest free spaces. *readmodel.Model answers them from memory (and
// *redisstore.Store from Redis).
type ZoneReader interface {
	// Zone returns one zone's counters. ENOTFOUND for an unknown zone.
	Zone(ctx context.Context, id string) (occupancy.ZoneState, error)
	// Zones returns every zone's counters in registry order.
	Zones(ctx context.Context) ([]occupancy.ZoneState, error)
	// Nearby returns the free spaces nearest q's point, nearest first.
	// EINVALID for a bad query.
	Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error)
	// NearestFreeZones returns up to n zones with free spaces of q's kind
	// and zone type, nearest first, whatever q's radius. EINVALID for a bad
	// query.
	NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error)
}

// handler serves the /api/v1 resources. Its methods live in one file per
// resource. The optional parts are nil when the router has none: their
// routes answer 404.
type handler struct {
	store    Store
	zones    ZoneReader
	closures Closer
	sensors  SensorStore
	rules    occupancy.HealthRules
	historyR occupancy.HistoryReader
	feed     EventSource
	hub      EventSubscriber
	// eventWriteTimeout bounds each write of an event stream.
	eventWriteTimeout time.Duration
	checker           Checker
	reloader          RegistryReloader
	reg               *occupancy.Registry
	now               func() time.Time
	log               *slog.Logger
	// loadRegistry re-reads the registry files (nil: none to re-read).
	loadRegistry func() (*occupancy.Registry, error)
	// tiles is the pages' base map, given in /api/v1/map (nil: none).
	tiles *tilesJSON

	// The live streams' limits and shared work (streams.go, replay.go,
	// sse.go) and a public read's wait for the store (stale.go).
	streams    *streamLimits       // how many event streams may be open
	replay     replayBounds        // what a resuming stream may replay
	joins      sync.Pool           // the buffers the streams join their writes in (*[]byte)
	writeTurns *semaphore.Weighted // lets only a few streams write at once
	storeWait  time.Duration
}

// missing reports a 404 for an optional part the router was built without.
func missing(what string) error {
	return occupancy.Errorf(occupancy.ENOTFOUND, "this parkd has no %s", what)
}
