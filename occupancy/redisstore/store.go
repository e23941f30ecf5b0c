// Package redisstore keeps the live occupancy state in Redis. Every state
// change is one Lua script run on keys hash-tagged by zone, so each script
// touches a single Redis Cluster slot.
package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

var errTODO = errors.New("redisstore: not implemented yet")

// Options configure a Store.
type Options struct {
	// Client reaches Redis: a single node, Sentinel or Cluster. Required.
	Client redis.UniversalClient
	// Registry lists the zones and spaces. Required.
	Registry *occupancy.Registry
	// Prefix starts every key. Default "pk".
	Prefix string
	// OfflineAfter is the silence after which the sweeper marks a space
	// unknown. Default 30m.
	OfflineAfter time.Duration
	// DeadLetterMax caps the stream of rejected messages (approximately).
	// Default 10000.
	DeadLetterMax int64
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives warnings. Default: discard.
	Logger *slog.Logger
}

// Store is the Redis-backed occupancy store. It is safe for concurrent use,
// also by several processes on the same Redis.
type Store struct {
	opts Options
}

// New returns a Store. Call Init before use.
func New(opts Options) (*Store, error) {
	return &Store{opts: opts}, nil
}

// Init loads the scripts and makes sure every registry space has a state
// (unknown when new) and every zone's counters add up. It keeps the state of
// spaces already stored, so it is safe on every start and on every instance.
func (s *Store) Init(ctx context.Context) error { return errTODO }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return errTODO }

// Apply applies one reading: newer than the stored one applies, an equal one
// is a duplicate, an older one is stale. A sensor not in the registry gives
// ResultUnknownSensor and changes nothing. The error is EINTERNAL (Redis).
func (s *Store) Apply(ctx context.Context, r occupancy.Reading) (occupancy.Result, error) {
	return "", errTODO
}

// ApplyBatch applies readings in one pipelined round trip. results[i] and
// errs[i] belong to rs[i]; a reading with a non-nil errs[i] was not applied
// and must be retried.
func (s *Store) ApplyBatch(ctx context.Context, rs []occupancy.Reading) (results []occupancy.Result, errs []error) {
	return nil, nil
}

// DeadLetter is a rejected message kept for staff to inspect.
type DeadLetter struct {
	ID         string    `json:"id"` // stream entry id; empty when adding
	ReceivedAt time.Time `json:"received_at"`
	Topic      string    `json:"topic"`
	Result     string    `json:"result"` // invalid or unknown_sensor
	Reason     string    `json:"reason"`
	Payload    string    `json:"payload"` // truncated to 1 KiB
}

// AddDeadLetter appends a rejected message to the capped stream.
func (s *Store) AddDeadLetter(ctx context.Context, d DeadLetter) error { return errTODO }

// DeadLetters returns up to limit of the newest rejected messages, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	return nil, errTODO
}

// Space returns one space's state. ENOTFOUND if the registry has no such space.
func (s *Store) Space(ctx context.Context, id string) (occupancy.SpaceState, error) {
	return occupancy.SpaceState{}, errTODO
}

// ListSpaces returns the registry's spaces that match f, in ID order, with
// their state, and the cursor of the next page ("" on the last page).
func (s *Store) ListSpaces(ctx context.Context, f occupancy.SpaceFilter) ([]occupancy.SpaceState, string, error) {
	return nil, "", errTODO
}

// Zone returns one zone's counters. ENOTFOUND if the registry has no such zone.
func (s *Store) Zone(ctx context.Context, id string) (occupancy.ZoneState, error) {
	return occupancy.ZoneState{}, errTODO
}

// Zones returns every zone's counters, in registry order.
func (s *Store) Zones(ctx context.Context) ([]occupancy.ZoneState, error) {
	return nil, errTODO
}

// Nearby returns the free spaces nearest q's point within its radius,
// nearest first. EINVALID for a bad query.
func (s *Store) Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
	return nil, errTODO
}

// Sweep marks unknown every space whose sensor has been silent longer than
// OfflineAfter, and returns how many it marked. Safe to run on several
// instances at once.
func (s *Store) Sweep(ctx context.Context) (int, error) { return 0, errTODO }

// RunSweeper calls Sweep every interval until ctx is done.
func (s *Store) RunSweeper(ctx context.Context, interval time.Duration) {}
