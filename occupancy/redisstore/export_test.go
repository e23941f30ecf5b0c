package redisstore

import "context"

// ScriptHashes returns the SHA1 of every script the store loads, for tests
// that look for them on each cluster master.
func ScriptHashes() []string {
	return []string{applyScript.Hash(), sweepScript.Hash(), initScript.Hash(), checkScript.Hash()}
}

// ChangesOfZone is what the incident detector counts of zone's changes in
// the last hour (the store's changeLog).
func (s *Store) ChangesOfZone(ctx context.Context, zone string) (map[string]int, error) {
	return s.zoneChangesLastHour(ctx, zone)
}
