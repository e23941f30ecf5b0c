package redisstore

// StatusOf returns the status letter (f, o, u, c) the free index holds for
// space id, and false if the index is not built or lacks the space.
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
	return v.status[n], true
}
