package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// RemovedNote is the resolve note of an incident whose space left the
// registry.
const RemovedNote = "space removed from the registry"

// IncidentOrphans are a zone's incident entries of spaces that the registry
// does not place in that zone.
type IncidentOrphans struct {
	// Open are the open or acknowledged incidents of such spaces.
	Open []occupancy.Incident
	// Conditions are the active conditions ("type|space") of such spaces.
	Conditions []string
}

// FindOrphanIncidents scans zone zoneID's incidents and active conditions
// (HSCAN) for those of spaces the store's registry does not place there.
func (s *Store) FindOrphanIncidents(ctx context.Context, zoneID string) (IncidentOrphans, error) {
	k := s.zones[zoneID]
	var o IncidentOrphans
	orphan := func(id string) bool {
		sp, ok := s.reg.Space(id)
		return !ok || sp.ZoneID != zoneID
	}
	err := s.scanHash(ctx, k.incidents, func(id, v string) {
		inc, err := decodeIncident(id, v)
		if err == nil && inc.Status != occupancy.IncidentResolved && orphan(inc.SpaceID) {
			o.Open = append(o.Open, inc)
		}
	})
	if err == nil {
		err = s.scanHash(ctx, k.active, func(key, _ string) {
			if _, space, ok := strings.Cut(key, "|"); ok && orphan(space) {
				o.Conditions = append(o.Conditions, key)
			}
		})
	}
	if err != nil {
		return o, fmt.Errorf("redis store: find orphan incidents of zone %s: %w", zoneID, err)
	}
	return o, nil
}

// EndOrphanIncidents resolves o's open incidents, all of zone zoneID, as
// occupancy.SystemActor with RemovedNote (they stay in the incident
// history), publishes each on the live feed, and forgets o's conditions, so
// a space restored later starts without them. It returns how many it
// resolved; an incident resolved meanwhile is left as it is.
func (s *Store) EndOrphanIncidents(ctx context.Context, zoneID string, o IncidentOrphans) (int, error) {
	k := s.zones[zoneID]
	n := 0
	for _, inc := range o.Open {
		done, err := s.resolveIn(ctx, k, inc.ID, RemovedNote)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	if len(o.Conditions) > 0 {
		if err := s.rdb.HDel(ctx, k.active, o.Conditions...).Err(); err != nil {
			return n, fmt.Errorf("redis store: forget conditions of zone %s: %w", zoneID, err)
		}
	}
	return n, nil
}

// resolveIn resolves incident id of the zone with keys k as SystemActor,
// unless it is resolved, and reports whether it did.
func (s *Store) resolveIn(ctx context.Context, k *zoneKeys, id, note string) (bool, error) {
	var inc occupancy.Incident
	changed := false
	txf := func(tx *redis.Tx) error {
		changed = false
		v, err := tx.HGet(ctx, k.incidents, id).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		if inc, err = decodeIncident(id, v); err != nil {
			return err
		}
		if changed, err = inc.Resolve(s.opts.Now(), occupancy.SystemActor, note); err != nil || !changed {
			changed = false
			return nil
		}
		b, _ := json.Marshal(inc)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k.incidents, id, b)
			return nil
		})
		return err
	}
	if err := s.watch(ctx, txf, k.incidents); err != nil {
		return false, fmt.Errorf("redis store: resolve incident %s: %w", id, err)
	}
	if changed {
		s.publishIncident(ctx, inc)
	}
	return changed, nil
}

// ResolveOrphanIncidents finds zone zoneID's orphan incidents and
// conditions (FindOrphanIncidents) and ends them (EndOrphanIncidents).
func (s *Store) ResolveOrphanIncidents(ctx context.Context, zoneID string) (int, error) {
	o, err := s.FindOrphanIncidents(ctx, zoneID)
	if err != nil {
		return 0, err
	}
	return s.EndOrphanIncidents(ctx, zoneID, o)
}

// incidentZone returns the keys of the zone whose incidents hold id, nil
// if none does (or Redis fails: the caller answers not found).
func (s *Store) incidentZone(ctx context.Context, id string) *zoneKeys {
	zones := s.reg.Zones()
	cmds := make([]*redis.BoolCmd, len(zones))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			cmds[i] = p.HExists(ctx, s.zones[z.ID].incidents, id)
		}
		return nil
	})
	for i, cmd := range cmds {
		if cmd.Val() {
			return s.zones[zones[i].ID]
		}
	}
	return nil
}
