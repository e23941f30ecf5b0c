package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/feed"
)

// ClusterRegistry is Registry with zones C and D, so that the zones' keys
// hash to all three masters of a 3-master Cluster (A and B share one:
// slots 6373 and 10374; C is 14503, D 2112).
func ClusterRegistry(tb testing.TB) *occupancy.Registry {
	tb.Helper()
	base := Registry(tb)
	zones := append(base.Zones(),
		occupancy.Zone{ID: "C", Name: "南区", Type: occupancy.OffStreet, Lat: 29.852, Lon: 121.641},
		occupancy.Zone{ID: "D", Name: "西区", Type: occupancy.OnStreet, Lat: 29.856, Lon: 121.639})
	spaces := append(base.Spaces(),
		occupancy.Space{ID: "C-1", ZoneID: "C", SensorID: "S7", Lat: 29.852, Lon: 121.641, Kind: occupancy.KindStandard},
		occupancy.Space{ID: "D-1", ZoneID: "D", SensorID: "S8", Lat: 29.856, Lon: 121.639, Kind: occupancy.KindLoading})
	reg, err := occupancy.NewRegistry(zones, spaces)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// Gate is a feed.Sink that, once held, holds the feed's Tailer in its next
// delivery until opened: what is written meanwhile waits in Redis.
type Gate struct {
	mu      sync.Mutex
	armed   bool
	held    chan struct{}
	release chan struct{}
}

// NewGate returns an open gate.
func NewGate() *Gate { return &Gate{held: make(chan struct{}), release: make(chan struct{})} }

// Deliver holds the Tailer if the gate was armed by Hold.
func (g *Gate) Deliver(ctx context.Context, _ feed.Batch) {
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(g.held)
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
}

// Hold returns once the Tailer is held in a delivery.
func (g *Gate) Hold(tb testing.TB) {
	tb.Helper()
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	select {
	case <-g.held:
	case <-time.After(10 * time.Second):
		tb.Fatal("the tailer delivered nothing for 10s")
	}
}

// Open lets the held Tailer go on.
func (g *Gate) Open() { close(g.release) }
