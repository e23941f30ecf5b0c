// Package redisstore is the Redis adapter of the occupancy domain: it
// keeps the live state in Redis and reads it back. Every state change is
// one Lua script (lua/, embedded) run on keys hash-tagged by zone, so each
// script touches a single Redis Cluster slot and is atomic and idempotent.
// It starts no goroutines: the periodic jobs (occupancy/jobs) and the feed
// reader (occupancy/feed) call it.
//
// Keys, for a zone Z and the default prefix:
//
//	pk:{Z}:s          hash: space id -> packed state (lua/common.lua)
//	pk:{Z}:c          hash: total, free, occupied, unknown, closed, updated, level, lv
//	pk:{Z}:free:KIND  geo set of the zone's free spaces of one kind
//	pk:{Z}:ev         stream of the zone's events (events.go), about the last hour
//	pk:{Z}:closures   hash: space id or * -> closure JSON (closure.go)
//	pk:{Z}:until      zset: the same targets -> when they reopen (ms)
//	pk:{Z}:inc        hash: incident id -> incident JSON
//	pk:{Z}:inc:active hash: "type|space" -> id of the incident of a condition that holds
//	pk:{Z}:h:YYYYMMDD string: the zone's 5-minute occupancy history of a day (history.go)
//	pk:rejected       stream of rejected messages (capped)
package redisstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/qiuai/parking/occupancy"
)

// Options configure a Store.
type Options struct {
	// Client reaches Redis: a single node, Sentinel or Cluster. Required.
	// New adds a hook to it (outage.go) that turns the errors of a Redis
	// that does not answer into EUNAVAILABLE ones.
	Client redis.UniversalClient
	// Registry lists the zones and spaces. Required.
	Registry *occupancy.Registry
	// Prefix starts every key. Default "pk".
	Prefix string
	// OfflineAfter is the silence after which Sweep marks a space unknown,
	// and reopening a closure finds its sensor silent. Default 30m.
	OfflineAfter time.Duration
	// DeadLetterMax caps the stream of rejected messages (approximately).
	// Default 10000.
	DeadLetterMax int64
	// Levels are the zone level thresholds per zone type (see
	// occupancy.NextLevel). Default occupancy.DefaultLevelThresholds; a type
	// missing here uses the on-street thresholds.
	Levels map[occupancy.ZoneType]occupancy.LevelThresholds
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives warnings. Default: discard.
	Logger *slog.Logger
}

func (o *Options) ensureDefaults() {
	if o.Prefix == "" {
		o.Prefix = "pk"
	}
	if o.OfflineAfter <= 0 {
		o.OfflineAfter = 30 * time.Minute
	}
	if o.DeadLetterMax <= 0 {
		o.DeadLetterMax = 10000
	}
	if o.Levels == nil {
		o.Levels = occupancy.DefaultLevelThresholds
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
}

// zoneKeys are the keys of one zone, built once.
type zoneKeys struct {
	states, counters  string
	incidents, active string // incidents by id, and open conditions: incidents.go
	free              map[occupancy.Kind]string
	freeAll           []string // the free sets of every kind, in occupancy.Kinds order
}

// Store is the Redis-backed occupancy store. It is safe for concurrent use,
// also by several processes on the same Redis.
type Store struct {
	opts     Options
	rdb      redis.UniversalClient
	reg      *occupancy.Registry
	zones    map[string]*zoneKeys
	rejected string
	// zonesRead lets calls of Zones at the same time share one read.
	zonesRead singleflight.Group
	// regMu orders applies around a registry swap (SwapRegistry).
	regMu sync.RWMutex
}

// New returns a Store. Call Init before use.
func New(opts Options) (*Store, error) {
	if opts.Client == nil || opts.Registry == nil {
		return nil, fmt.Errorf("redis store: Client and Registry are required")
	}
	opts.ensureDefaults()
	opts.Registry.Version() // computed once here, not by the first apply
	opts.Client.AddHook(outageHook{})
	s := &Store{opts: opts, rdb: opts.Client, reg: opts.Registry,
		zones: map[string]*zoneKeys{}, rejected: opts.Prefix + ":rejected"}
	for _, z := range opts.Registry.Zones() {
		s.zones[z.ID] = s.keysFor(z.ID)
	}
	return s, nil
}

func (s *Store) keysFor(zoneID string) *zoneKeys {
	base := s.opts.Prefix + ":{" + zoneID + "}:"
	k := &zoneKeys{states: base + "s", counters: base + "c",
		incidents: base + "inc", active: base + "inc:active",
		free: map[occupancy.Kind]string{}}
	for _, kind := range occupancy.Kinds {
		k.free[kind] = base + "free:" + string(kind)
		k.freeAll = append(k.freeAll, k.free[kind])
	}
	return k
}

// Init loads the scripts and makes sure every registry space has a state
// (unknown when new). It keeps the state of spaces already stored, so it is
// safe on every start and on every instance.
func (s *Store) Init(ctx context.Context) error {
	if err := s.loadScripts(ctx); err != nil {
		return err
	}
	const chunk = 500
	added := 0
	for _, z := range s.reg.Zones() {
		spaces := s.reg.SpacesInZone(z.ID)
		k := s.zones[z.ID]
		for i := 0; i < len(spaces) || i == 0; i += chunk {
			ids := make([]any, 0, chunk)
			for _, sp := range spaces[i:min(i+chunk, len(spaces))] {
				ids = append(ids, sp.ID)
			}
			n, err := initScript.Run(ctx, s.rdb, []string{k.states, k.counters}, ids...).Int()
			if err != nil {
				return fmt.Errorf("redis store: init zone %s: %w", z.ID, err)
			}
			added += n
		}
	}
	if err := s.initLevels(ctx); err != nil {
		return err
	}
	if err := s.dropOldKeys(ctx); err != nil {
		return err
	}
	s.opts.Logger.Info("store ready", "zones", len(s.zones), "spaces", s.reg.NumSpaces(), "new_spaces", added)
	return nil
}

// dropOldKeys deletes the keys of earlier versions that nothing reads or
// writes now: the change logs (pk:{Z}:chg), which the event streams
// replaced, and the last-seen sets (pk:{Z}:seen), which the sweeper no
// longer needs (it reads the states).
func (s *Store) dropOldKeys(ctx context.Context) error {
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, z := range s.reg.Zones() {
			p.Unlink(ctx, s.opts.Prefix+":{"+z.ID+"}:chg", s.opts.Prefix+":{"+z.ID+"}:seen")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: drop old keys: %w", err)
	}
	return nil
}

// loadScripts loads every script, so pipelined EVALSHA finds them. On a
// Redis Cluster go-redis' ScriptLoad sends SCRIPT LOAD to every master
// (ClusterClient.ForEachShard), whichever slot a zone hashes to. Call it
// again after Redis restarts (ApplyBatch does so by itself on NOSCRIPT; the
// other scripts run through Script.Run, which falls back to EVAL).
func (s *Store) loadScripts(ctx context.Context) error {
	for _, sc := range loaded {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("redis store: load scripts: %w", err)
		}
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis store: ping: %w", err)
	}
	return nil
}

// Sweep marks unknown every space whose sensor has been silent longer than
// OfflineAfter, and returns how many it marked. Safe to run on several
// instances at once: each space is handled by one atomic script.
//
// It reads each zone's states (HGETALL: the packed states hold each
// sensor's last-seen time) and hands the free and occupied spaces last seen
// before the cutoff to sweepScript, which checks each again. So the ingest
// keeps no index of last-seen times (a sorted-set update per reading, a
// fifth of the apply script's Redis time, and 26 bytes per space); the
// price is a read of every state per sweep: about 75 bytes per space, e.g.
// 280 KB for Qiuai's 3 718 spaces every sweep_interval (30 s).
func (s *Store) Sweep(ctx context.Context) (int, error) {
	now := s.opts.Now()
	cutoffMS := now.Add(-s.opts.OfflineAfter).UnixMilli()
	cutoff := strconv.FormatInt(cutoffMS, 10)
	nowMS := strconv.FormatInt(now.UnixMilli(), 10)
	total := 0
	for _, z := range s.reg.Zones() {
		k := s.zones[z.ID]
		states, err := s.rdb.HGetAll(ctx, k.states).Result()
		if err != nil {
			return total, fmt.Errorf("redis store: sweep zone %s: read states: %w", z.ID, err)
		}
		silent := make([]any, 0, 64)
		for id, packed := range states {
			if silentSince(packed, cutoffMS) {
				silent = append(silent, id)
			}
		}
		keys := append([]string{k.states, k.counters, s.eventsKey(z.ID)}, k.freeAll...)
		for len(silent) > 0 {
			batch := silent[:min(sweepBatch, len(silent))]
			silent = silent[len(batch):]
			args := append([]any{cutoff, nowMS, s.eventCap(z.ID), eventMS(now)}, batch...)
			n, err := sweepScript.Run(ctx, s.rdb, keys, args...).Int()
			if err != nil {
				return total, fmt.Errorf("redis store: sweep zone %s: %w", z.ID, err)
			}
			total += n
		}
	}
	return total, nil
}

// silentSince reports whether a packed state (scripts.go) is free or
// occupied and was last seen before cutoffMS (or never).
func silentSince(packed string, cutoffMS int64) bool {
	if len(packed) < 2 || (packed[0] != 'f' && packed[0] != 'o') {
		return false
	}
	// status|occupied|since_ms|seen_ms|...
	rest := packed
	for range 3 {
		_, after, ok := strings.Cut(rest, "|")
		if !ok {
			return true
		}
		rest = after
	}
	seen, _, _ := strings.Cut(rest, "|")
	ms, err := strconv.ParseInt(seen, 10, 64)
	return err != nil || ms < cutoffMS
}

// sweepBatch bounds the spaces of one sweep script, so Redis is never
// blocked for long.
const sweepBatch = 1000
