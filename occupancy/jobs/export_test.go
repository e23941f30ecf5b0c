package jobs

import (
	"context"
	"time"
)

// ChangesOfZone returns what the detector counts of each space's changes
// in zone's last hour, by its clock: its changeLog's answer, read
// incrementally as its passes read it.
func (d *Detector) ChangesOfZone(ctx context.Context, zone string) (map[string]int, error) {
	return d.changes.lastHour(ctx, d.opts.Store, d.opts.Registry, zone, d.opts.Now())
}

// DetectPaced makes one pass, pausing pause between zones, as Run's passes
// do.
func (d *Detector) DetectPaced(ctx context.Context, pause time.Duration) (Result, error) {
	return d.pass(ctx, pause)
}
