package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	if p <= 0 || p == 6379 || p == 1883 {
		t.Fatalf("FreePort = %d", p)
	}
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("port %d not free: %v", p, err)
	}
	l.Close()
}

func TestRedisRestartKeepsAOFData(t *testing.T) {
	r := MustStartRedis(t)
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop(t)
	if err := r.ping(); err == nil {
		t.Fatal("PING answered after Stop")
	}
	r.Start(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v1" {
		t.Fatalf("after restart GET k = %q, %v; want v1", got, err)
	}
}

func TestRedisKillAndStart(t *testing.T) {
	r := MustStartRedis(t)
	r.Kill(t)
	if err := r.ping(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	r.Start(t)
	if err := r.Client(t).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
}

func TestRedisArgs(t *testing.T) {
	r := MustStartRedis(t, "--maxmemory", "100mb")
	c := r.Client(t)
	ctx := context.Background()
	tests := []struct{ name, want string }{
		{"maxmemory", "104857600"},
		{"appendonly", "yes"},
		{"appendfsync", "everysec"},
		{"save", ""},
		{"bind", "127.0.0.1"},
		{"dir", r.Dir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ConfigGet(ctx, tc.name).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got[tc.name] != tc.want {
				t.Errorf("CONFIG GET %s = %q, want %q", tc.name, got[tc.name], tc.want)
			}
		})
	}
}

func TestMosquittoAcceptsAndRestarts(t *testing.T) {
	m := MustStartMosquitto(t)
	if err := mqttProbe(m.Addr); err != nil {
		t.Fatalf("probe: %v", err)
	}
	m.Kill(t)
	if err := mqttProbe(m.Addr); err == nil {
		t.Fatal("broker answered after Kill")
	}
	m.Start(t)
	if err := mqttProbe(m.Addr); err != nil {
		t.Fatalf("probe after Start: %v", err)
	}
}

// A QoS 1 message queued for an offline persistent session must survive a
// graceful broker restart: the restart tests of parkd rely on it.
func TestMosquittoStopKeepsQueuedMessages(t *testing.T) {
	m := MustStartMosquitto(t)
	sub, rc := dialMQTT(t, m.Addr, mqttConn{clientID: "parkd-test"})
	if rc != 0 {
		t.Fatalf("CONNACK %d", rc)
	}
	if got := sub.subscribe("parking/#", 1); got != 1 {
		t.Fatalf("SUBACK %#x, want QoS 1", got)
	}
	sub.disconnect()

	pub, _ := dialMQTT(t, m.Addr, mqttConn{clientID: "pub", clean: true})
	pub.publish("parking/v1/sensors/s1/up", "hello", 1)
	pub.disconnect()

	m.Stop(t)
	m.Start(t)

	sub, _ = dialMQTT(t, m.Addr, mqttConn{clientID: "parkd-test"})
	topic, payload, ok := sub.receive(5 * time.Second)
	if !ok || topic != "parking/v1/sensors/s1/up" || payload != "hello" {
		t.Fatalf("after restart got %q %q (ok=%v), want the queued message", topic, payload, ok)
	}
}

func TestMosquittoExtraConfig(t *testing.T) {
	m := MustStartMosquitto(t, "allow_anonymous false")
	_, rc := dialMQTT(t, m.Addr, mqttConn{clientID: "anon", clean: true})
	if rc != 5 {
		t.Fatalf("anonymous CONNACK = %d, want 5 (not authorised)", rc)
	}
}

// A server whose port was taken after FreePort must be recognised as such,
// so MustStart* retries on a new port instead of failing.
func TestPortTakenDetected(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		p    *process
	}{
		{"redis-server", newRedis(findBinary(t, "redis-server", "redis-server"), t.TempDir(), port, nil).proc},
		{"mosquitto", func() *process {
			m := newMosquitto(findBinary(t, "mosquitto", "mosquitto"), t.TempDir(), port)
			if err := os.WriteFile(m.ConfFile, []byte(m.config(nil)), 0o644); err != nil {
				t.Fatal(err)
			}
			return m.proc
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.startAndWait(func() error { return errors.New("never ready") })
			if !errors.Is(err, errExited) || !tc.p.portTaken() {
				t.Fatalf("err = %v, portTaken = %v; want an early exit on a taken port\n%s", err, tc.p.portTaken(), tailFile(tc.p.log, 10))
			}
		})
	}
}

// TestRedisFreezeAndThaw: a frozen server accepts connections but answers
// nothing; thawed, it answers again with its data.
func TestRedisFreezeAndThaw(t *testing.T) {
	r := MustStartRedis(t)
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Freeze(t)
	conn, err := net.DialTimeout("tcp", r.Addr, time.Second)
	if err != nil {
		t.Fatalf("a frozen server's port refused a connection: %v", err)
	}
	conn.Close()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := c.Get(short, "k").Err(); err == nil {
		t.Fatal("a frozen server answered GET")
	}
	r.Thaw(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v1" {
		t.Fatalf("after Thaw GET k = %q, %v; want v1", got, err)
	}
}
