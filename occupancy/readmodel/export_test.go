package readmodel

import "github.com/qiuai/parking/occupancy"

// StatusOf returns the status letter (f, o, u, c) the model holds for space
// id, and false if the model is not built, its view lacks the space, or
// (not Confirm) it holds the space free but has not read its state yet.
func (m *Model) StatusOf(id string) (byte, bool) {
	v := m.view.Load()
	if v == nil {
		return 0, false
	}
	sp, ok := v.reg.Space(id)
	if !ok {
		return 0, false
	}
	n, ok := v.find(v.zoneIdx[sp.ZoneID], id)
	if !ok {
		return 0, false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.keepStates && v.status[n] == 'f' && v.states[n] == nil {
		return 0, false // its state is not read yet
	}
	return v.status[n], true
}

// Candidates returns how many candidates the model proposes for q (2×limit
// at most), from memory only: what the model costs without the store.
func (m *Model) Candidates(q occupancy.NearbyQuery) int {
	v := m.view.Load()
	if v == nil {
		return 0
	}
	return len(v.nearest(q, 2*q.Limit))
}

// ViewZones returns every zone's counters as the model's view holds them,
// and false if the view is not built: the model's answer, never the
// store's, however stale.
func (m *Model) ViewZones() ([]occupancy.ZoneState, bool) {
	v := m.view.Load()
	if v == nil {
		return nil, false
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]occupancy.ZoneState, len(v.zones))
	for zi := range v.zones {
		out[zi] = v.zoneState(zi)
	}
	return out, true
}

// FilledView builds the view of reg, holding the free spaces' states if
// keep, with each space's state set to state(i, id), where i counts the
// spaces in the view's order: what a view costs in memory. It returns the
// view (to keep alive) and its number of spaces.
func FilledView(reg *occupancy.Registry, keep bool, state func(i int, id string) occupancy.SpaceState) (view any, spaces int) {
	v := newView(reg, 100, keep)
	for i, id := range v.ids {
		v.set(int32(i), state(i, id), 1)
	}
	return v, len(v.ids)
}
