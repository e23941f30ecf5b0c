package redisstore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/storetest"
	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// startCluster starts a 3-master Redis Cluster and returns it with a client
// reached through a redis+cluster:// URL.
func startCluster(t *testing.T) (*testenv.RedisCluster, redis.UniversalClient) {
	t.Helper()
	cl := testenv.MustStartRedisCluster(t, 3)
	rdb, err := redisstore.NewClient("redis+cluster://" + cl.Addrs[0] + "?addr=" + strings.Join(cl.Addrs[1:], "&addr="))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	return cl, rdb
}

// TestStoreOnRedisCluster runs the store's operations on a real 3-master
// Redis Cluster reached through a redis+cluster:// URL: every script's keys
// must hash to one slot, pipelines span the masters, scripts are on every
// master and a master restart (which empties its script cache) stays
// invisible.
func TestStoreOnRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node Redis Cluster")
	}
	cl, rdb := startCluster(t)
	ctx := context.Background()
	clk := &clock{now: t0}
	reg := storetest.ClusterRegistry(t)
	s, err := redisstore.New(redisstore.Options{Client: rdb, Registry: reg, Now: clk.Now, OfflineAfter: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("zones spread over masters", func(t *testing.T) {
		cc := rdb.(*redis.ClusterClient)
		masters := map[string]bool{}
		for _, z := range reg.Zones() {
			key := "pk:{" + z.ID + "}:s"
			slot := cc.ClusterKeySlot(ctx, key).Val()
			masters[masterOfSlot(t, cc, slot)] = true
		}
		if len(masters) != 3 {
			t.Fatalf("the zones are on %d master(s), want all 3", len(masters))
		}
	})
	t.Run("scripts loaded on every master", func(t *testing.T) {
		for _, addr := range cl.Addrs {
			c := redis.NewClient(&redis.Options{Addr: addr})
			got, err := c.ScriptExists(ctx, redisstore.ScriptHashes()...).Result()
			c.Close()
			if err != nil || slices.Contains(got, false) {
				t.Fatalf("SCRIPT EXISTS on %s: %v %v; want every script", addr, got, err)
			}
		}
	})
	t.Run("ordering and counters", func(t *testing.T) {
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultApplied)
		mustApply(t, s, reading("S1", false, t0, 1), occupancy.ResultDuplicate)
		mustApply(t, s, reading("S1", true, t0.Add(-time.Second), 9), occupancy.ResultStale)
		mustApply(t, s, reading("S5", true, t0, 1), occupancy.ResultApplied)
		mustApply(t, s, reading("S6", false, t0, 1), occupancy.ResultApplied)
		c := checkCounters(t, s, reg)
		if c["A"].Free != 1 || c["B"].Occupied != 1 || c["B"].Free != 1 {
			t.Fatalf("counters %+v", c)
		}
	})
	t.Run("concurrent batches", func(t *testing.T) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Every worker sends the same readings (duplicates), odd
				// workers newest first (reordering).
				var rs []occupancy.Reading
				for i := uint64(2); i <= 40; i++ {
					seq := i
					if w%2 == 1 {
						seq = 42 - i
					}
					for _, sp := range reg.Spaces() {
						rs = append(rs, reading(sp.SensorID, seq%3 == 0, t0.Add(time.Duration(seq)*time.Second), seq))
					}
				}
				_, errs := s.ApplyBatch(ctx, rs)
				for _, err := range errs {
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		checkCounters(t, s, reg)
		for _, sp := range reg.Spaces() {
			if st, _ := s.Space(ctx, sp.ID); st.Seq != 40 || st.Status != occupancy.StatusFree { // 40%3 != 0
				t.Fatalf("%s: %+v, want free at seq 40", sp.ID, st)
			}
		}
	})
	t.Run("nearby across zones", func(t *testing.T) {
		got, err := s.Nearby(ctx, occupancy.NearbyQuery{Lat: 29.854, Lon: 121.64, RadiusM: 1000, Limit: 10})
		if err != nil || len(got) != 8 {
			t.Fatalf("nearby: %d results, %v; want all 8 free spaces of the 4 zones", len(got), err)
		}
	})
	t.Run("scripts flushed on every master", func(t *testing.T) {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		res, errs := s.ApplyBatch(ctx, []occupancy.Reading{reading("S1", true, t0.Add(time.Minute), 1),
			reading("S5", true, t0.Add(time.Minute), 1)})
		for i := range res {
			if errs[i] != nil || res[i] != occupancy.ResultApplied {
				t.Fatalf("after SCRIPT FLUSH: %v %v", res, errs)
			}
		}
	})
	t.Run("sweep and check", func(t *testing.T) {
		clk.now = t0.Add(time.Hour)
		if n, err := s.Sweep(ctx); err != nil || n != 8 {
			t.Fatalf("sweep: %d, %v; want 8", n, err)
		}
		rep, err := s.Check(ctx, false)
		if err != nil || len(rep.Drift) != 0 || rep.Zones != 4 {
			t.Fatalf("check: %+v, %v", rep, err)
		}
		cc := rdb.(*redis.ClusterClient)
		key := "pk:{A}:c"
		node := redis.NewClient(&redis.Options{Addr: masterOfSlot(t, cc, cc.ClusterKeySlot(ctx, key).Val())})
		defer node.Close()
		node.HIncrBy(ctx, key, "free", 2)
		if rep, _ := s.Check(ctx, true); len(rep.Drift) != 1 {
			t.Fatalf("check after corrupting zone A: %+v", rep.Drift)
		}
		if rep, _ := s.Check(ctx, false); len(rep.Drift) != 0 {
			t.Fatalf("drift after repair: %+v", rep.Drift)
		}
	})
	t.Run("master restart", func(t *testing.T) {
		cc := rdb.(*redis.ClusterClient)
		addr := masterOfSlot(t, cc, cc.ClusterKeySlot(ctx, "pk:{A}:s").Val())
		for _, n := range cl.Nodes {
			if n.Addr == addr {
				n.Stop(t)
				n.Start(t) // AOF reloads the data; the script cache is empty
			}
		}
		var res []occupancy.Result
		var errs []error
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, errs = s.ApplyBatch(ctx, []occupancy.Reading{reading("S2", true, t0.Add(2*time.Hour), 1)})
			if errs[0] == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond) // the cluster notices the node is back
		}
		if errs[0] != nil || res[0] != occupancy.ResultApplied {
			t.Fatalf("apply after the master restarted: %v %v", res, errs)
		}
		checkCounters(t, s, reg)
	})
}

// masterOfSlot returns the address of the master serving slot.
func masterOfSlot(t *testing.T, cc *redis.ClusterClient, slot int64) string {
	t.Helper()
	slots, err := cc.ClusterSlots(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range slots {
		if int64(r.Start) <= slot && slot <= int64(r.End) {
			return r.Nodes[0].Addr
		}
	}
	t.Fatalf("no master serves slot %d", slot)
	return ""
}
