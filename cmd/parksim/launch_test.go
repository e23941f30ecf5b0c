package main

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestRedisMemorySettings checks that the bench's redis-server has the
// memory settings of configs/redis.conf: the same ones, with the same
// values, and that redis-server takes them.
func TestRedisMemorySettings(t *testing.T) {
	conf := memorySettingsOf(t, "../../configs/redis.conf")
	bench := map[string]string{}
	for i := 0; i+1 < len(redisMemorySettings); i += 2 {
		bench[strings.TrimPrefix(redisMemorySettings[i], "--")] = redisMemorySettings[i+1]
	}
	for name, v := range conf {
		if bench[name] != v {
			t.Errorf("configs/redis.conf has %s %s, the bench's redis-server %q", name, v, bench[name])
		}
	}
	for name := range bench {
		if _, ok := conf[name]; !ok {
			t.Errorf("the bench's redis-server sets %s, configs/redis.conf does not", name)
		}
	}
	if testing.Short() {
		return
	}
	c, addr, err := startRedis(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	got, err := rdb.ConfigGet(context.Background(), "*listpack*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range bench {
		if strings.Contains(name, "listpack") && got[name] != v {
			t.Errorf("redis-server runs with %s %q, want %q", name, got[name], v)
		}
	}
}

// memorySettingsOf returns the maxmemory and listpack settings of a
// redis.conf.
func memorySettingsOf(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && (strings.HasPrefix(fields[0], "maxmemory") || strings.Contains(fields[0], "listpack")) {
			out[fields[0]] = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no memory settings", path)
	}
	return out
}
