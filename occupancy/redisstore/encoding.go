package redisstore

import (
	"context"
	"strconv"
)

// listpackValueMin is the hash-max-listpack-value and
// zset-max-listpack-value below which a zone's keys leave the compact
// encoding in normal use: a packed state with the sensor's health fields is
// 70 to 90 bytes, a sorted set member a space id.
const listpackValueMin = 128

// EncodingWarnings compares Redis's listpack limits (CONFIG GET) with the
// registry: a zone's states hash and sorted sets stay in the compact
// listpack encoding, about half the memory per space, only while they have
// at most *-max-listpack-entries entries of at most *-max-listpack-value
// bytes. It returns one sentence per limit that is too low, naming the
// setting configs/redis.conf uses; none when Redis refuses CONFIG GET (as
// managed services may) or the limits fit.
func (s *Store) EncodingWarnings(ctx context.Context) []string {
	largest := 0
	for _, z := range s.reg.Zones() {
		largest = max(largest, s.reg.NumSpacesInZone(z.ID))
	}
	cfg, err := s.rdb.ConfigGet(ctx, "*-max-listpack-*").Result()
	if err != nil {
		return nil
	}
	var out []string
	for _, typ := range []string{"hash", "zset"} {
		if n, err := strconv.Atoi(cfg[typ+"-max-listpack-entries"]); err == nil && n < largest {
			out = append(out, typ+"-max-listpack-entries is "+strconv.Itoa(n)+", below the largest zone's "+
				strconv.Itoa(largest)+" spaces: set it to at least that (configs/redis.conf: 1024)")
		}
		if n, err := strconv.Atoi(cfg[typ+"-max-listpack-value"]); err == nil && n < listpackValueMin {
			out = append(out, typ+"-max-listpack-value is "+strconv.Itoa(n)+", below the "+
				strconv.Itoa(listpackValueMin)+" bytes a space's entries can take: set it to "+strconv.Itoa(listpackValueMin))
		}
	}
	return out
}

// WarnEncoding logs EncodingWarnings as warnings; parkd calls it once the
// store is initialised.
func (s *Store) WarnEncoding(ctx context.Context) {
	for _, w := range s.EncodingWarnings(ctx) {
		s.opts.Logger.Warn("redis memory: "+w+"; each zone then takes about twice the memory per space", "see", "configs/redis.conf")
	}
}
