package testenv

import (
	"context"
	"fmt"
	"testing"
)

func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	c := MustStartRedisCluster(t, 3)
	cc := c.Client(t)
	ctx := context.Background()
	const keys = 100
	for i := range keys {
		if err := cc.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET k%d: %v", i, err)
		}
	}
	// The keys spread over all masters: each node holds some, none holds all.
	total := 0
	for _, n := range c.Nodes {
		size, err := n.Client(t).DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 || size == keys {
			t.Errorf("node %s holds %d of %d keys", n.Addr, size, keys)
		}
		total += int(size)
	}
	if total != keys {
		t.Errorf("nodes hold %d keys in all, want %d", total, keys)
	}
	// Keys with one hash tag share a slot, so a script may touch them all.
	n, err := cc.Eval(ctx, "redis.call('SET', KEYS[1], 1); return redis.call('INCR', KEYS[2])",
		[]string{"{Z01}:a", "{Z01}:b"}).Int()
	if err != nil || n != 1 {
		t.Fatalf("EVAL on hash-tagged keys = %d, %v", n, err)
	}
}
