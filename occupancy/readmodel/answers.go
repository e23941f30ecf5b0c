package readmodel

import (
	"context"
	"math"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// Nearby returns the free spaces nearest q's point within its radius,
// nearest first, from memory when the model is fresh: the nearest spaces
// it holds free, each with its state as read and when (ObservedAt: it was
// free then and no change of its status had reached the model since). With
// Confirm it reads the states of the 2×limit nearest from the store (one
// round trip) and keeps those still free. When the model is stale the
// store answers. Whenever the store does not answer (outage.go), memory
// does, marked stale (with Confirm, the spaces the model holds free, their
// status only). EINVALID for a bad query; EUNAVAILABLE when neither can
// answer.
func (m *Model) Nearby(ctx context.Context, q occupancy.NearbyQuery) ([]occupancy.NearbySpace, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v, fresh := m.held()
	if !fresh {
		var out []occupancy.NearbySpace
		asked, err := m.ask(func() (err error) { out, err = m.opts.Store.Nearby(ctx, q); return err })
		if asked || v == nil {
			m.stats.fromStore.Add(1)
			return out, err
		}
		m.markStale(ctx)
	}
	m.stats.fromIndex.Add(1)
	cands := v.nearest(q, 2*q.Limit)
	if !m.opts.Confirm {
		return m.answer(v, cands, q.Limit), nil
	}
	if fresh {
		var out []occupancy.NearbySpace
		asked, err := m.ask(func() (err error) { out, err = m.confirm(ctx, v, cands, q.Limit); return err })
		if asked {
			return out, err
		}
		m.markStale(ctx)
	}
	return m.unconfirmed(v, cands, q.Limit), nil // the store did not answer: the statuses held
}

// answer returns up to limit of the candidates, nearest first, with the
// states the view holds: those still in the registry and still free when
// their states are read (a candidate may be taken meanwhile). Nil if there
// are none.
func (m *Model) answer(v *view, cands []candidate, limit int) []occupancy.NearbySpace {
	states, at := v.freeStates(cands)
	var out []occupancy.NearbySpace
	for i, c := range cands {
		if states[i] == nil {
			continue // taken since the candidates were chosen
		}
		sp, ok := m.space(v, c)
		if !ok {
			continue
		}
		if out == nil {
			out = make([]occupancy.NearbySpace, 0, min(limit, len(cands)-i))
		}
		out = append(out, occupancy.NearbySpace{Space: sp, State: states[i].state(sp.ID),
			DistanceM: math.Round(c.dist*10) / 10, ObservedAt: time.UnixMilli(at[i]).UTC()})
		if len(out) == limit {
			break
		}
	}
	return out
}

// confirm reads the candidates' states from the store and returns up to
// limit of those free, nearest first.
func (m *Model) confirm(ctx context.Context, v *view, cands []candidate, limit int) ([]occupancy.NearbySpace, error) {
	var found []occupancy.NearbySpace
	var spaces []occupancy.Space
	for _, c := range cands {
		if sp, ok := m.space(v, c); ok {
			found = append(found, occupancy.NearbySpace{Space: sp, DistanceM: c.dist})
			spaces = append(spaces, sp)
		}
	}
	if len(found) == 0 {
		return nil, nil
	}
	readAt := m.opts.Now().UTC().Truncate(time.Millisecond)
	states, err := m.opts.Store.States(ctx, spaces)
	if err != nil {
		return nil, err
	}
	return occupancy.KeepFree(found, states, readAt, limit), nil
}

// space returns the registry's space of candidate c, unless the registry
// was reloaded since the view was built and changed it (then it has the
// model rebuilt).
func (m *Model) space(v *view, c candidate) (occupancy.Space, bool) {
	sp, ok := m.opts.Registry.Space(v.ids[c.n])
	if !ok || !v.matches(c.n, sp) {
		m.Rebuild()
		return occupancy.Space{}, false
	}
	return sp, true
}

// unconfirmed returns up to limit of the candidates, nearest first, as
// free as of when the model last heard from the store, without their
// states (a model with Confirm holds none): what nearby can say while the
// store does not answer.
func (m *Model) unconfirmed(v *view, cands []candidate, limit int) []occupancy.NearbySpace {
	var out []occupancy.NearbySpace
	for _, c := range cands[:min(limit, len(cands))] {
		if sp, ok := m.space(v, c); ok {
			out = append(out, occupancy.NearbySpace{Space: sp, DistanceM: math.Round(c.dist*10) / 10,
				State: occupancy.SpaceState{SpaceID: sp.ID, Status: occupancy.StatusFree}, ObservedAt: m.confirmed()})
		}
	}
	return out
}

// NearestFreeZones returns up to n zones with free spaces of q's kind and
// zone type, nearest q's point first, whatever q's radius
// (occupancy.NearestFreeZones), from the model's counts when it is fresh,
// else from the store, or from memory, marked stale, if the store does not
// answer. EINVALID for a bad query; EUNAVAILABLE when neither can answer.
func (m *Model) NearestFreeZones(ctx context.Context, q occupancy.NearbyQuery, n int) ([]occupancy.NearbyZone, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	v, fresh := m.held()
	if !fresh {
		var out []occupancy.NearbyZone
		asked, err := m.ask(func() (err error) { out, err = m.opts.Store.NearestFreeZones(ctx, q, n); return err })
		if asked || v == nil {
			return out, err
		}
		m.markStale(ctx)
	}
	return occupancy.NearestFreeZones(v.reg.Zones(), q, n, func(batch []occupancy.NearbyZone) error {
		for i := range batch {
			batch[i].Free = v.freeIn(v.zoneIdx[batch[i].Zone.ID], q.Kind)
		}
		return nil
	})
}

// Zones returns every zone's counters, in registry order: from memory when
// the model is fresh and of the current registry (the counts of its
// spaces' statuses as the model holds them, at most a batch behind the
// store, with the zone's level and the time of its newest change), so the
// dashboards and the summary cost the store nothing however often they
// ask; otherwise from the store, or, if it does not answer, from memory,
// marked stale. EUNAVAILABLE when neither can answer.
func (m *Model) Zones(ctx context.Context) ([]occupancy.ZoneState, error) {
	v, fresh := m.current()
	if !fresh {
		var out []occupancy.ZoneState
		asked, err := m.ask(func() (err error) { out, err = m.opts.Store.Zones(ctx); return err })
		if asked || v == nil {
			return out, err
		}
		m.markStale(ctx)
	}
	out := make([]occupancy.ZoneState, len(v.zones))
	v.mu.RLock()
	defer v.mu.RUnlock()
	for zi := range v.zones {
		out[zi] = v.zoneState(zi)
	}
	return out, nil
}

// Zone returns one zone's counters as Zones does. ENOTFOUND if the registry
// has no such zone; EUNAVAILABLE when neither memory nor the store can
// answer.
func (m *Model) Zone(ctx context.Context, id string) (occupancy.ZoneState, error) {
	v, fresh := m.current()
	if !fresh {
		var out occupancy.ZoneState
		asked, err := m.ask(func() (err error) { out, err = m.opts.Store.Zone(ctx, id); return err })
		if asked || v == nil {
			return out, err
		}
		m.markStale(ctx)
	}
	zi, ok := v.zoneIdx[id]
	if !ok {
		return occupancy.ZoneState{}, occupancy.Errorf(occupancy.ENOTFOUND, "zone %s not found", id)
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.zoneState(zi), nil
}

// held returns the view (nil before the first build) and whether it is
// fresh: the model heard from the store within MaxLag.
func (m *Model) held() (*view, bool) {
	v := m.view.Load()
	if v == nil {
		return nil, false
	}
	return v, m.opts.Now().Sub(m.confirmed()) <= m.opts.MaxLag
}

// current returns the view if it is of the registry as it is now (not one
// a reload has replaced), and whether it is fresh.
func (m *Model) current() (*view, bool) {
	v, fresh := m.held()
	if v == nil || !v.reg.SameVersion(m.opts.Registry) {
		return nil, false
	}
	return v, fresh
}

// confirmed is when the model last heard from the store in full.
func (m *Model) confirmed() time.Time { return time.Unix(0, m.heard.Load()).UTC() }
