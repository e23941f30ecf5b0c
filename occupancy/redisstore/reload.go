package redisstore

import (
	"github.com/qiuai/parking/occupancy"
)

// SwapRegistry makes next the store's registry: it replaces the Registry
// the store was built with (occupancy.Registry.Replace, so every part
// holding it sees the new one). It waits for the applies in flight: an
// apply holds the store's registry lock from the moment it looks a sensor
// up until Redis has answered, so once SwapRegistry returns, every apply
// of this store that used the old registry has run in Redis. An apply
// whose caller gave up waiting may still reach Redis later; the zone's
// fence (Fence) refuses it once the reload has fenced the zone. The zones
// must stay the same (occupancy.SameZones).
func (s *Store) SwapRegistry(next *occupancy.Registry) {
	next.Version() // computed here, not by the first apply under the lock
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.reg.Replace(next)
}

// Registry returns the store's registry (the one shared with every part).
func (s *Store) Registry() *occupancy.Registry { return s.reg }
