package redisstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// DetectInterval is how often parkd runs the incident detector. An
// incident opens at most this long after its condition starts, and
// resolves itself at most this long after it clears.
const DetectInterval = 30 * time.Second

// DetectResult counts what one detection pass did.
type DetectResult struct {
	Opened   []occupancy.Incident // incidents opened in this pass
	Resolved []string             // ids resolved because their condition cleared
}

// HealthRules returns the rules the store judges sensors by
// (Options.Health).
func (s *Store) HealthRules() occupancy.HealthRules { return s.opts.Health }

// DetectIncidents runs one detection pass over every zone: it opens an
// incident for each condition (overstay, offline, low battery, flapping;
// see occupancy.HealthRules.Conditions, with Options.Health) that has none yet, and clears the
// conditions that no longer hold, resolving their incidents unless staff
// already did. It is idempotent and safe on several instances at once: a
// condition opens at most one incident (HSETNX on the zone's active hash),
// whoever sees it first.
func (s *Store) DetectIncidents(ctx context.Context) (DetectResult, error) {
	return s.detectPaced(ctx, 0)
}

// detectPaced is DetectIncidents with a pause between zones, so that a pass
// over a town whose sensors all misbehave at once (a storm of flapping
// sensors opens an incident for each) comes as many small bursts of work
// for Redis and this process, not one long one beside the API's requests.
func (s *Store) detectPaced(ctx context.Context, pause time.Duration) (DetectResult, error) {
	rules := s.opts.Health
	var res DetectResult
	for i, z := range s.reg.Zones() {
		if i > 0 && pause > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(pause):
			}
		}
		if err := s.detectZone(ctx, z.ID, rules, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// detectPause is the pause between zones of a pass of RunDetector: the
// pass spreads over about half the interval.
func detectPause(interval time.Duration, zones int) time.Duration {
	return interval / 2 / time.Duration(max(zones, 1))
}

// detectZone is DetectIncidents on one zone.
func (s *Store) detectZone(ctx context.Context, zoneID string, rules occupancy.HealthRules, res *DetectResult) error {
	k := s.zones[zoneID]
	active, err := s.rdb.HGetAll(ctx, k.active).Result()
	if err != nil {
		return fmt.Errorf("redis store: read active incidents of zone %s: %w", zoneID, err)
	}
	sensors, err := s.detectorHealth(ctx, zoneID)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	holds := map[string]occupancy.Condition{}
	for _, h := range sensors {
		sp, _ := s.reg.Space(h.State.SpaceID)
		for _, c := range rules.Conditions(sp, h, now) {
			holds[condKey(c.Type, sp.ID)] = c
		}
	}
	for key, id := range active {
		_, _, start, ok := occupancy.ParseIncidentID(id)
		if c, held := holds[key]; ok && held && occupancy.SameCondition(c, start) {
			delete(holds, key) // still holds: its incident stays as it is
			continue
		}
		resolved, err := s.clearCondition(ctx, k, key, id)
		if err != nil {
			return err
		}
		if resolved {
			res.Resolved = append(res.Resolved, id)
		}
	}
	var open []occupancy.Incident
	for key, c := range holds {
		if _, ok := active[key]; ok {
			continue // cleared above; it opens again (as a new incident) on the next pass
		}
		sp, _ := s.reg.Space(key[len(c.Type)+1:])
		open = append(open, occupancy.Incident{ID: occupancy.IncidentID(c.Type, sp.ID, c.Start), Type: c.Type,
			SpaceID: sp.ID, ZoneID: zoneID, Status: occupancy.IncidentOpen, Detail: c.Detail,
			OpenedAt: now.UTC(), Start: c.Start.UTC()})
	}
	sort.Slice(open, func(i, j int) bool { return open[i].ID < open[j].ID })
	opened, err := s.openIncidents(ctx, k, open)
	res.Opened = append(res.Opened, opened...)
	return err
}

// detectorHealth is SensorHealth for the detector: the zone's states, and
// its changes counted by the store's changeLog, which reads only what the
// zone's stream gained since the last pass.
func (s *Store) detectorHealth(ctx context.Context, zoneID string) ([]occupancy.SensorHealth, error) {
	spaces := s.reg.SpacesInZone(zoneID)
	states, err := s.States(ctx, spaces)
	if err != nil {
		return nil, err
	}
	changes, err := s.zoneChangesLastHour(ctx, zoneID)
	if err != nil {
		return nil, err
	}
	return sensorHealth(spaces, states, changes), nil
}

// RunDetector runs a pass of DetectIncidents every interval until ctx is
// done, each spread over about half the interval (a pause between zones),
// logging what it opened and resolved, and once an hour deletes incidents
// resolved longer than IncidentRetention ago. onChange, if not nil, is called with
// each pass's result when it changed something (e.g. to publish events).
func (s *Store) RunDetector(ctx context.Context, interval time.Duration, onChange func(DetectResult)) {
	var pruned time.Time
	every(ctx, interval, func() {
		if now := s.opts.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if n, err := s.PruneIncidents(ctx, now.Add(-IncidentRetention)); err != nil {
				s.opts.Logger.Warn("incident pruning failed", "err", err)
			} else if n > 0 {
				s.opts.Logger.Info("old resolved incidents deleted", "count", n)
			}
		}
		res, err := s.detectPaced(ctx, detectPause(interval, len(s.reg.Zones())))
		if err != nil {
			s.opts.Logger.Warn("incident detection failed", "err", err)
		}
		for _, inc := range res.Opened {
			s.opts.Logger.Info("incident opened", "id", inc.ID, "type", inc.Type, "space", inc.SpaceID)
		}
		for _, id := range res.Resolved {
			s.opts.Logger.Info("incident resolved: condition cleared", "id", id)
		}
		if onChange != nil && len(res.Opened)+len(res.Resolved) > 0 {
			onChange(res)
		}
	})
}
