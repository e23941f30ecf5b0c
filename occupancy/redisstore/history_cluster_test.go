package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// TestHistoryOnRedisCluster records, reads and forecasts on a 3-master
// Redis Cluster: the town's history pipelines reads of zones on different
// masters, and each day key sits in its zone's slot.
func TestHistoryOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	_, rdb := startCluster(t)
	ctx := context.Background()
	clk := &clock{now: t0}
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: storetest.ClusterRegistry(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S7", false, t0, 1), occupancy.ResultApplied)
	for _, at := range []time.Time{t0.Add(-7 * 24 * time.Hour), t0.Add(-time.Hour), t0} {
		clk.now = at
		if err := s.RecordHistory(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	// A, B, C, D: 4+2+1+1 spaces; at t0 two are free.
	wantPoints(t, s, occupancy.AllZones, t0, t0.Add(time.Hour),
		occupancy.HistoryPoint{Start: t0, Counts: occupancy.Counts{Total: 8, Free: 2, Unknown: 6}})
	cc := rdb.(interface {
		ClusterKeySlot(context.Context, string) *redis.IntCmd
	})
	for _, z := range []string{"A", "C"} {
		day, zoneKey := "pk:{"+z+"}:h:20261125", "pk:{"+z+"}:c"
		if a, b := cc.ClusterKeySlot(ctx, day).Val(), cc.ClusterKeySlot(ctx, zoneKey).Val(); a != b {
			t.Errorf("%s in slot %d, its zone's counters in %d", day, a, b)
		}
	}
	f, err := forecast(ctx, s, clk.Now(), occupancy.AllZones, t0.Add(7*24*time.Hour-time.Hour)) // a week after the 07:00 sample
	if err != nil || f.Method != occupancy.ForecastWeekly || f.Weeks[0].Free == nil || *f.Weeks[0].Free != 2 {
		t.Errorf("town forecast: %+v, %v", f, err)
	}
}
