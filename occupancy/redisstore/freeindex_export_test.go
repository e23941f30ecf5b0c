package redisstore

import "github.com/qiuai/parking/occupancy"

// StatusOf returns the status letter (f, o, u, c) the free index holds for
// space id, and false if the index is not built, lacks the space, or (not
// Confirm) holds it free but has not read its state yet.
func (f *FreeIndex) StatusOf(id string) (byte, bool) {
	v := f.view.Load()
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
	if v.keepStates && v.status[n] == 'f' && v.packed[n] == "" {
		return 0, false // its state is not read yet
	}
	return v.status[n], true
}

// Candidates returns how many candidates the index proposes for q (2×limit
// at most), from memory only: what the index costs without Redis.
func (f *FreeIndex) Candidates(q occupancy.NearbyQuery) int {
	v := f.view.Load()
	if v == nil {
		return 0
	}
	return len(v.nearest(q, 2*q.Limit))
}

// ViewZones returns every zone's counters as the index's view holds them,
// and false if the view is not built: the index's answer, never Redis's.
func (f *FreeIndex) ViewZones() ([]occupancy.ZoneState, bool) {
	v := f.view.Load()
	if v == nil {
		return nil, false
	}
	out := make([]occupancy.ZoneState, len(v.zones))
	for zi := range v.zones {
		out[zi] = v.zoneState(zi)
	}
	return out, true
}

// ReadCount is how many entries one read takes from each of n zones' streams.
func (f *FreeIndex) ReadCount(n int) int64 { return f.readCount(n) }
