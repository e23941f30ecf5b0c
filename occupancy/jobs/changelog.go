package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// changeWindow is how far back a sensor's changes are counted.
const changeWindow = time.Hour

// A changeLog counts each space's occupancy changes within changeWindow
// for the detector, reading each zone's feed once: the first pass of a
// zone reads its window, and each later pass only what came after the
// position it read up to. Reading the whole window at every pass would
// read every change of the last hour of every zone every interval: at city
// scale, with millions of changes an hour, far too much. A feed trimmed
// past the position read (a zone with more than its cap of changes in an
// hour) loses the entries between: the zone's window is then read again.
type changeLog struct {
	mu    sync.Mutex
	zones map[string]*zoneChanges
}

// zoneChanges is one zone's part of a changeLog: its changes in feed
// order, each as the number of its space in the registry and its time: 12
// bytes a change, so a million spaces changing twice an hour hold about
// 24 MB.
type zoneChanges struct {
	pos   string              // position read up to; "" before the first read
	reg   *occupancy.Registry // the registry version that numbers the spaces
	space []int32             // per change, its space's number in reg (SpaceAt)
	ms    []int64             // per change, its time (Unix ms)
}

// lastHour returns the occupancy changes of zoneID's spaces within
// changeWindow of now, by space id, reading only what its feed holds since
// the last call. One round trip (two after a trim).
func (l *changeLog) lastHour(ctx context.Context, st IncidentStore, reg *occupancy.Registry, zoneID string, now time.Time) (map[string]int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	z := l.zones[zoneID]
	if z == nil || !z.reg.SameVersion(reg) { // new, or the registry was reloaded: number the spaces again
		z = &zoneChanges{reg: reg.Snapshot()}
		l.zones[zoneID] = z
	}
	since := now.Add(-changeWindow)
	changes, last, trimmed, err := st.SensorChanges(ctx, zoneID, z.pos, since)
	if err == nil && trimmed {
		z.space, z.ms = nil, nil
		changes, last, _, err = st.SensorChanges(ctx, zoneID, "", since)
	}
	if err != nil {
		return nil, err
	}
	z.add(changes, last)
	i := 0 // the changes are in feed order: those before the window come first
	for i < len(z.ms) && z.ms[i] < since.UnixMilli() {
		i++
	}
	z.space, z.ms = z.space[i:], z.ms[i:]
	out := map[string]int{}
	for _, n := range z.space {
		out[z.reg.SpaceAt(int(n)).ID]++
	}
	return out, nil
}

// add records changes (in feed order) and moves pos to last. A change of a
// space not in z.reg is left out.
func (z *zoneChanges) add(changes []occupancy.SensorChange, last string) {
	for _, c := range changes {
		if n := z.reg.SpaceIndex(c.SpaceID) - 1; n >= 0 && z.reg.SpaceAt(n).ID == c.SpaceID {
			z.space = append(z.space, int32(n))
			z.ms = append(z.ms, c.Time.UnixMilli())
		}
	}
	z.pos = last
}
