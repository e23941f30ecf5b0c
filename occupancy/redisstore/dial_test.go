package redisstore_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/internal/testenv"
	"github.com/qiuai/parking/occupancy/redisstore"
)

func TestDialChoosesTheDeployment(t *testing.T) {
	tests := []struct {
		name, url string
		password  string
		tls       *tls.Config
		check     func(t *testing.T, c redis.UniversalClient)
		err       string
	}{
		{name: "single node", url: "redis://u:pw@10.0.0.1:6380/2", check: func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "10.0.0.1:6380" || o.DB != 2 || o.Username != "u" || o.Password != "pw" || o.TLSConfig != nil ||
				!o.ContextTimeoutEnabled || o.MaxRetries != 2 || o.DialerRetries != 2 {
				t.Fatalf("options %+v", o)
			}
		}},
		{name: "password option replaces the url's", url: "redis://u:pw@h:1/0", password: "secret",
			check: func(t *testing.T, c redis.UniversalClient) {
				if o := c.(*redis.Client).Options(); o.Password != "secret" {
					t.Fatalf("password %q", o.Password)
				}
			}},
		{name: "url parameters win over the defaults", url: "redis://h:1/0?max_retries=-1&dial_timeout=3s",
			check: func(t *testing.T, c redis.UniversalClient) {
				if o := c.(*redis.Client).Options(); o.MaxRetries != 0 || o.DialTimeout != 3*time.Second {
					t.Fatalf("options %+v", o)
				}
			}},
		{name: "rediss with a CA", url: "rediss://cache.example:6380/0", tls: &tls.Config{InsecureSkipVerify: false},
			check: func(t *testing.T, c redis.UniversalClient) {
				if o := c.(*redis.Client).Options(); o.TLSConfig == nil || o.TLSConfig.ServerName != "cache.example" {
					t.Fatalf("tls %+v", o.TLSConfig)
				}
			}},
		{name: "cluster", url: "redis+cluster://:pw@n1:7000?addr=n2:7001&addr=n3:7002", check: func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.ClusterClient).Options()
			if fmt.Sprint(o.Addrs) != "[n1:7000 n2:7001 n3:7002]" || o.Password != "pw" || !o.ContextTimeoutEnabled || o.TLSConfig != nil {
				t.Fatalf("options %+v", o)
			}
		}},
		{name: "cluster over tls checks each node's own name", url: "rediss+cluster://n1:7000?addr=n2:7000",
			check: func(t *testing.T, c redis.UniversalClient) {
				if o := c.(*redis.ClusterClient).Options(); o.TLSConfig == nil || o.TLSConfig.ServerName != "" {
					t.Fatalf("tls %+v", o.TLSConfig)
				}
			}},
		{name: "cluster over tls with a given server name", url: "rediss+cluster://n1:7000",
			tls: &tls.Config{ServerName: "redis.internal"}, check: func(t *testing.T, c redis.UniversalClient) {
				if o := c.(*redis.ClusterClient).Options(); o.TLSConfig == nil || o.TLSConfig.ServerName != "redis.internal" {
					t.Fatalf("tls %+v", o.TLSConfig)
				}
			}},
		{name: "sentinel", url: "redis+sentinel://:pw@s1:26379/mymaster/3?addr=s2:26379&sentinel_password=sp",
			check: func(t *testing.T, c redis.UniversalClient) {
				if _, ok := c.(*redis.Client); !ok {
					t.Fatalf("client %T, want a failover *redis.Client", c)
				}
			}},
		{name: "unknown scheme", url: "http://h:1", err: `scheme "http"`},
		{name: "no scheme", url: "u:hunter2@h:1", err: "does not start with a scheme"},
		{name: "unknown mode", url: "redis+ring://h:1", err: `unknown mode "ring"`},
		{name: "tls options on a plain url", url: "redis://h:1/0", tls: &tls.Config{}, err: "use rediss"},
		{name: "sentinel without master", url: "redis+sentinel://s1:26379", err: "not /master"},
		{name: "unknown parameter", url: "redis+cluster://n1:1?bogus=1", err: "bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := redisstore.Dial(redisstore.DialOptions{URL: tc.url, Password: tc.password, TLSConfig: tc.tls})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want it to mention %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			tc.check(t, c)
		})
	}
}

func TestDialErrorsDoNotRepeatThePassword(t *testing.T) {
	_, err := redisstore.NewClient("redis://u:hunter2@h:1/0?max_retries=x")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err %v: want an error without the password", err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"redis://u:hunter2@h:1/0":                          "redis://u:xxxxx@h:1/0",
		"redis+sentinel://s:1/m?sentinel_password=hunter2": "redis+sentinel://s:1/m?sentinel_password=xxxxx",
		"tcp://broker:1883":                                "tcp://broker:1883",
	} {
		if got := redisstore.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPingAnswersFastWhenRedisIsDown makes sure a readiness check with a 1 s
// budget gets its answer inside it when nothing listens: the client itself
// gives up (about 350 ms: 3 tries of 2 dials), not the context. go-redis'
// defaults (3 retries of 5 dials) would take over 2 s.
func TestPingAnswersFastWhenRedisIsDown(t *testing.T) {
	c, err := redisstore.NewClient(fmt.Sprintf("redis://127.0.0.1:%d/0", testenv.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Ping(ctx).Err()
	if took := time.Since(start); err == nil || took >= time.Second || ctx.Err() != nil {
		t.Fatalf("ping of a closed port: %v after %s, want the client to give up inside 1s", err, took)
	}
}

func TestDialPasswordFromOptions(t *testing.T) {
	srv := testenv.MustStartRedis(t) // its start probe has no password: set one afterwards
	ctx := context.Background()
	if err := srv.Client(t).ConfigSet(ctx, "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	bad, _ := redisstore.NewClient(srv.URL)
	defer bad.Close()
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("ping without password: %v, want NOAUTH", err)
	}
	good, err := redisstore.Dial(redisstore.DialOptions{URL: srv.URL, Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := good.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping with password: %v", err)
	}
}
