package occupancy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
)

// Version returns the fingerprint of the registry's current inventory: the
// first 16 hex digits of a SHA-256 over every zone and every space field,
// spaces in id order. Two registries with the same zones and spaces have the
// same version whatever the order of their files' rows. The store records
// the version in force in Redis, and its scripts refuse writes made with
// another one once a reload has fenced a zone (docs/operations.md).
// Computed once per inventory: about 0.2 s at a million spaces.
func (r *Registry) Version() string {
	d := r.d.Load()
	d.versionOnce.Do(func() { d.version = d.fingerprint() })
	return d.version
}

// fingerprint hashes the inventory; see Version.
func (d *registryData) fingerprint() string {
	h := sha256.New()
	var buf []byte
	str := func(s string) { buf = append(binary.AppendUvarint(buf, uint64(len(s))), s...) }
	num := func(f float64) { buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f)) }
	flush := func() {
		if len(buf) > 32<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	for _, z := range d.zones {
		str(z.ID)
		str(z.Name)
		str(string(z.Type))
		str(string(z.Profile))
		num(z.Lat)
		num(z.Lon)
	}
	for i := range d.recs {
		sp := d.space(int32(i))
		str(sp.ID)
		str(sp.ZoneID)
		str(sp.SensorID)
		str(string(sp.Kind))
		str(string(sp.Model))
		num(sp.Lat)
		num(sp.Lon)
		buf = binary.AppendVarint(buf, int64(sp.MaxStayMin))
		buf = binary.AppendVarint(buf, int64(sp.Phase))
		flush()
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil)[:8])
}
