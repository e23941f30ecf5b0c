package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// Incidents live per zone, so the keys of one zone's incidents share its
// slot: pk:{Z}:inc maps id to the incident as JSON, pk:{Z}:inc:active maps
// "type|space" to the id of the incident whose condition holds now. An
// entry in the active hash is what stops the detector opening the same
// condition twice; it stays after staff resolve the incident, and goes
// only when the detector sees the condition clear.

// maxOpenCall is the most incidents one openIncidentsScript call opens, so
// that a storm of conditions (every sensor of a zone flapping) does not
// hold Redis for long.
const maxOpenCall = 256

// OpenIncidents opens incs, all of zone zoneID, each unless its condition
// (occupancy.ConditionKey) already has an incident, in calls of at most
// maxOpenCall; it publishes the events of those it opened and returns
// them, in the order of incs. The others' conditions already had an
// incident, opened by another pass or instance. ENOTFOUND for an unknown
// zone.
func (s *Store) OpenIncidents(ctx context.Context, zoneID string, incs []occupancy.Incident) ([]occupancy.Incident, error) {
	k, ok := s.zones[zoneID]
	if !ok {
		return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	var opened []occupancy.Incident
	for len(incs) > 0 {
		batch := incs[:min(maxOpenCall, len(incs))]
		incs = incs[len(batch):]
		args, data := make([]any, 0, 3*len(batch)), make([][]byte, len(batch))
		for i, inc := range batch {
			b, err := json.Marshal(inc)
			if err != nil {
				return opened, fmt.Errorf("redis store: open incident %s: %w", inc.ID, err)
			}
			args, data[i] = append(args, occupancy.ConditionKey(inc.Type, inc.SpaceID), inc.ID, b), b
		}
		done, err := openIncidentsScript.Run(ctx, s.rdb, []string{k.incidents, k.active}, args...).Int64Slice()
		if err == nil && len(done) != len(batch) {
			err = fmt.Errorf("%d answers to %d incidents", len(done), len(batch))
		}
		if err != nil {
			return opened, fmt.Errorf("redis store: open incidents of zone %s: %w", batch[0].ZoneID, err)
		}
		var now []occupancy.Incident
		var nowData [][]byte
		for i, inc := range batch {
			if done[i] == 1 {
				now, nowData = append(now, inc), append(nowData, data[i])
			}
		}
		s.publishIncidents(ctx, now, nowData)
		opened = append(opened, now...)
	}
	return opened, nil
}

// ActiveConditions returns zone zoneID's conditions that have an incident
// (occupancy.ConditionKey -> incident id): those the detector saw hold and
// has not yet seen clear, whether or not staff resolved the incident.
// ENOTFOUND for an unknown zone.
func (s *Store) ActiveConditions(ctx context.Context, zoneID string) (map[string]string, error) {
	k, ok := s.zones[zoneID]
	if !ok {
		return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	active, err := s.rdb.HGetAll(ctx, k.active).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: read active incidents of zone %s: %w", zoneID, err)
	}
	return active, nil
}

// txRetries bounds the optimistic retries of an incident update.
const txRetries = 10

// watch runs txf in a WATCH of keys, again while a concurrent write to them
// fails the transaction, at most txRetries times.
func (s *Store) watch(ctx context.Context, txf func(*redis.Tx) error, keys ...string) error {
	var err error
	for range txRetries {
		if err = s.rdb.Watch(ctx, txf, keys...); !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	return err
}

// Incidents returns the incidents matching f, newest opened first, at most
// limit. EINVALID for a bad filter, ENOTFOUND for an unknown zone.
func (s *Store) Incidents(ctx context.Context, f occupancy.IncidentFilter, limit int) ([]occupancy.Incident, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	zones := s.reg.Zones()
	if f.ZoneID != "" {
		z, ok := s.reg.Zone(f.ZoneID)
		if !ok {
			return nil, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", f.ZoneID)
		}
		zones = []occupancy.Zone{z}
	}
	cmds := make([]*redis.MapStringStringCmd, len(zones))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, z := range zones {
			cmds[i] = p.HGetAll(ctx, s.zones[z.ID].incidents)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis store: read incidents: %w", err)
	}
	var out []occupancy.Incident
	for _, cmd := range cmds {
		for id, v := range cmd.Val() {
			inc, err := decodeIncident(id, v)
			if err != nil {
				s.opts.Logger.Warn("unreadable incident skipped", "id", id, "err", err)
				continue
			}
			if f.Match(inc) {
				out = append(out, inc)
			}
		}
	}
	return occupancy.NewestFirst(out, limit), nil
}

func decodeIncident(id, v string) (occupancy.Incident, error) {
	var inc occupancy.Incident
	if err := json.Unmarshal([]byte(v), &inc); err != nil {
		return inc, fmt.Errorf("redis store: incident %s: %w", id, err)
	}
	return inc, nil
}

// incidentKeys returns the keys of the zone of an incident id; ENOTFOUND if
// the id cannot be one of ours. The zone is its space's, or, for a space no
// longer in the registry (its incidents stay in the history), the zone
// whose incidents hold the id.
func (s *Store) incidentKeys(ctx context.Context, id string) (*zoneKeys, error) {
	_, spaceID, _, ok := occupancy.ParseIncidentID(id)
	if ok {
		if sp, found := s.reg.Space(spaceID); found {
			return s.zones[sp.ZoneID], nil
		}
		if k := s.incidentZone(ctx, id); k != nil {
			return k, nil
		}
	}
	return nil, occupancy.Errorf(occupancy.ENOTFOUND, "incident %s not found", id)
}

// Incident returns one incident. ENOTFOUND if there is none with that id.
func (s *Store) Incident(ctx context.Context, id string) (occupancy.Incident, error) {
	k, err := s.incidentKeys(ctx, id)
	if err != nil {
		return occupancy.Incident{}, err
	}
	v, err := s.rdb.HGet(ctx, k.incidents, id).Result()
	if errors.Is(err, redis.Nil) {
		return occupancy.Incident{}, occupancy.Errorf(occupancy.ENOTFOUND, "incident %s not found", id)
	}
	if err != nil {
		return occupancy.Incident{}, fmt.Errorf("redis store: read incident %s: %w", id, err)
	}
	return decodeIncident(id, v)
}

// AckIncident acknowledges an open incident on behalf of by, with a note.
// Acknowledging an acknowledged incident changes nothing; a resolved one is
// ECONFLICT; an unknown id ENOTFOUND.
func (s *Store) AckIncident(ctx context.Context, id, by, note string) (occupancy.Incident, error) {
	return s.updateIncident(ctx, id, func(inc *occupancy.Incident) (bool, error) {
		return inc.Acknowledge(s.opts.Now(), by, note)
	})
}

// ResolveIncident resolves an open or acknowledged incident on behalf of by,
// with a note. A resolved one is ECONFLICT; an unknown id ENOTFOUND. The
// condition stays marked active until the detector sees it clear, so the
// detector does not open it again.
func (s *Store) ResolveIncident(ctx context.Context, id, by, note string) (occupancy.Incident, error) {
	return s.updateIncident(ctx, id, func(inc *occupancy.Incident) (bool, error) {
		return inc.Resolve(s.opts.Now(), by, note)
	})
}

// updateIncident applies change to an incident atomically (WATCH on the
// zone's incidents hash, retried on a concurrent write). change returns
// whether it changed anything.
func (s *Store) updateIncident(ctx context.Context, id string, change func(*occupancy.Incident) (bool, error)) (occupancy.Incident, error) {
	k, err := s.incidentKeys(ctx, id)
	if err != nil {
		return occupancy.Incident{}, err
	}
	var inc occupancy.Incident
	changed := false
	txf := func(tx *redis.Tx) error {
		changed = false
		v, err := tx.HGet(ctx, k.incidents, id).Result()
		if errors.Is(err, redis.Nil) {
			return occupancy.Errorf(occupancy.ENOTFOUND, "incident %s not found", id)
		}
		if err != nil {
			return err
		}
		if inc, err = decodeIncident(id, v); err != nil {
			return err
		}
		var err2 error
		if changed, err2 = change(&inc); err2 != nil || !changed {
			return err2
		}
		b, _ := json.Marshal(inc)
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k.incidents, id, b)
			return nil
		})
		return err
	}
	if err = s.watch(ctx, txf, k.incidents); err != nil {
		if occupancy.ErrorCode(err) != occupancy.EINTERNAL {
			return occupancy.Incident{}, err
		}
		return occupancy.Incident{}, fmt.Errorf("redis store: update incident %s: %w", id, err)
	}
	if changed {
		s.publishIncident(ctx, inc)
	}
	return inc, nil
}

// publishIncident puts an incident transition on the live feed. A failure
// is logged: the transition is stored, and the feed is best effort.
func (s *Store) publishIncident(ctx context.Context, inc occupancy.Incident) {
	b, err := json.Marshal(inc)
	if err != nil {
		s.opts.Logger.Warn("incident event not published", "id", inc.ID, "err", err)
		return
	}
	s.publishIncidents(ctx, []occupancy.Incident{inc}, [][]byte{b})
}

// publishIncidents is publishIncident of several incidents, whose JSON
// data[i] is incs[i]'s, in one pipelined round trip.
func (s *Store) publishIncidents(ctx context.Context, incs []occupancy.Incident, data [][]byte) {
	if len(incs) == 0 {
		return
	}
	cmds := make([]*redis.StringCmd, len(incs))
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, inc := range incs {
			cmds[i] = p.XAdd(ctx, s.eventArgs(occupancy.Event{Type: occupancy.EventIncident, Time: s.opts.Now(),
				ZoneID: inc.ZoneID, SpaceID: inc.SpaceID, Status: string(inc.Status), Data: data[i]}))
		}
		return nil
	})
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil {
			s.opts.Logger.Warn("incident event not published", "id", incs[i].ID,
				"err", fmt.Errorf("redis store: publish incident event: %w", err))
		}
	}
}

// ClearCondition forgets an active condition of zone zoneID (key, whose
// incident is id) and resolves the incident as SystemActor unless staff
// already did; it reports whether it resolved it. It does nothing if the
// condition now points at another incident. ENOTFOUND for an unknown zone.
func (s *Store) ClearCondition(ctx context.Context, zoneID, key, id string) (bool, error) {
	k, ok := s.zones[zoneID]
	if !ok {
		return false, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", zoneID)
	}
	resolved := false
	var done occupancy.Incident
	txf := func(tx *redis.Tx) error {
		resolved = false
		cur, err := tx.HGet(ctx, k.active, key).Result()
		if errors.Is(err, redis.Nil) || (err == nil && cur != id) {
			return nil
		}
		if err != nil {
			return err
		}
		var upd []byte
		if v, err := tx.HGet(ctx, k.incidents, id).Result(); err == nil {
			if inc, err := decodeIncident(id, v); err == nil && inc.Status != occupancy.IncidentResolved {
				_, _ = inc.Resolve(s.opts.Now(), occupancy.SystemActor, "condition cleared")
				upd, _ = json.Marshal(inc)
				resolved, done = true, inc
			}
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HDel(ctx, k.active, key)
			if upd != nil {
				p.HSet(ctx, k.incidents, id, upd)
			}
			return nil
		})
		return err
	}
	if err := s.watch(ctx, txf, k.active, k.incidents); err != nil {
		return false, fmt.Errorf("redis store: clear incident %s: %w", id, err)
	}
	if resolved {
		s.publishIncident(ctx, done)
	}
	return resolved, nil
}

// PruneIncidents deletes the incidents resolved before cutoff and returns
// how many it deleted. Open and acknowledged incidents are kept whatever
// their age. A resolved incident is never changed again, so deleting it
// needs no transaction.
func (s *Store) PruneIncidents(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	for _, z := range s.reg.Zones() {
		k := s.zones[z.ID]
		all, err := s.rdb.HGetAll(ctx, k.incidents).Result()
		if err != nil {
			return n, fmt.Errorf("redis store: prune incidents of zone %s: %w", z.ID, err)
		}
		var old []string
		for id, v := range all {
			if inc, err := decodeIncident(id, v); err == nil && inc.Status == occupancy.IncidentResolved &&
				inc.ResolvedAt.Before(cutoff) {
				old = append(old, id)
			}
		}
		if len(old) == 0 {
			continue
		}
		if err := s.rdb.HDel(ctx, k.incidents, old...).Err(); err != nil {
			return n, fmt.Errorf("redis store: prune incidents of zone %s: %w", z.ID, err)
		}
		n += len(old)
	}
	return n, nil
}
