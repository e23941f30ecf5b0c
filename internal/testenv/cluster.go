package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterTimeout bounds creating a cluster and waiting for it to be ok.
const clusterTimeout = 30 * time.Second

// RedisCluster is a private Redis Cluster of masters without replicas,
// started by MustStartRedisCluster.
type RedisCluster struct {
	// Addrs are the nodes' host:port addresses.
	Addrs []string
	// Nodes are the servers, for stopping or killing one.
	Nodes []*Redis
}

// MustStartRedisCluster starts masters (at least 3) redis-server nodes with
// cluster-enabled yes on free ports, joins them with `redis-cli --cluster
// create ... --cluster-replicas 0`, waits until every node reports
// cluster_state:ok and registers tb.Cleanup to stop them. Nodes keep the
// defaults of MustStartRedis (AOF on).
func MustStartRedisCluster(tb testing.TB, masters int) *RedisCluster {
	tb.Helper()
	if masters < 3 {
		tb.Fatalf("testenv: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	cli := findBinary(tb, "redis-cli", "redis-tools")
	c := &RedisCluster{}
	for range masters {
		n := MustStartRedis(tb,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
			"--cluster-port", strconv.Itoa(FreePort(tb)), // not port+10000, which may be out of range
		)
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		if err := waitClusterOK(ctx, n.Addr, masters); err != nil {
			n.proc.fatal(tb, err)
		}
	}
	return c
}

// waitClusterOK polls CLUSTER INFO on addr until the node sees all slots
// served and all nodes known.
func waitClusterOK(ctx context.Context, addr string, nodes int) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384", fmt.Sprintf("cluster_known_nodes:%d", nodes)}
	var last string
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && containsAll(info, want) {
			return nil
		}
		last = fmt.Sprintf("%v %s", err, strings.ReplaceAll(strings.TrimSpace(info), "\r\n", " "))
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ok on %s: %s", addr, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Client returns a new cluster client for these nodes, closed on tb's
// cleanup.
func (c *RedisCluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
