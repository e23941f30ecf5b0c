package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy"
	"github.com/qiuai/parking/occupancy/redisstore"
)

// startSentinel starts a redis-server in sentinel mode watching master
// (named mymaster, with the data password masterPW) and requiring
// sentinelPW itself. It returns the sentinel's address.
func startSentinel(t *testing.T, master *testenv.Redis, masterPW, sentinelPW string) string {
	t.Helper()
	bin := testenv.RedisServerPath(t)
	dir := t.TempDir()
	port := testenv.FreePort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nrequirepass %s\n"+
		"sentinel monitor mymaster 127.0.0.1 %d 1\nsentinel auth-pass mymaster %s\n",
		port, dir, sentinelPW, master.Port, masterPW)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "sentinel.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); log.Close() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Password: sentinelPW, MaxRetries: -1})
	defer sc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := sc.GetMasterAddrByName(context.Background(), "mymaster").Result()
		if err == nil && len(got) == 2 && got[1] == fmt.Sprint(master.Port) {
			return addr
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("sentinel on %s does not know mymaster: %v %v\n%s", addr, got, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStoreThroughSentinel reaches the master through a redis+sentinel://
// URL: the URL's password is the master's, sentinel_password the
// sentinel's.
func TestStoreThroughSentinel(t *testing.T) {
	master := testenv.MustStartRedis(t)
	ctx := context.Background()
	if err := master.Client(t).ConfigSet(ctx, "requirepass", "masterpw").Err(); err != nil {
		t.Fatal(err)
	}
	sentinel := startSentinel(t, master, "masterpw", "sentpw")
	rdb, err := redisstore.NewClient("redis+sentinel://:masterpw@" + sentinel + "/mymaster/0?sentinel_password=sentpw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	clk := &clock{now: t0.Add(time.Minute)}
	s := newStore(t, rdb, clk)
	mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultApplied)
	mustApply(t, s, reading("S1", true, t0, 1), occupancy.ResultDuplicate)
	checkCounters(t, s, testRegistry(t))
	if rep, err := s.Check(ctx, false); err != nil || len(rep.Drift) != 0 {
		t.Fatalf("check: %+v, %v", rep, err)
	}
	// The state is on the master the sentinel named.
	direct := redis.NewClient(&redis.Options{Addr: master.Addr, Password: "masterpw"})
	defer direct.Close()
	if v, err := direct.HGet(ctx, "pk:{A}:s", "A-1").Result(); err != nil || v[0] != 'o' {
		t.Fatalf("A-1 on the master: %q, %v", v, err)
	}

	wrong, err := redisstore.NewClient("redis+sentinel://:masterpw@" + sentinel + "/mymaster/0?sentinel_password=nope")
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if err := wrong.Ping(ctx).Err(); err == nil {
		t.Fatal("ping through a sentinel with the wrong sentinel password succeeded")
	}
}
