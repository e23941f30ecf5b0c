package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run the production configs in configs/ on the real binaries,
// with only paths, ports and logging rewritten, so a setting the installed
// version rejects, or an ACL that lets a sensor write another's topic, fails
// the suite.

// rewriteConf replaces the value of each directive in repl (the first word of
// an uncommented line) and fails if the file does not set one of them.
func rewriteConf(tb testing.TB, path string, repl map[string]string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	seen := map[string]bool{}
	for i, line := range lines {
		key, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if v, ok := repl[key]; ok && !strings.HasPrefix(line, "#") {
			lines[i] = key + " " + v
			seen[key] = true
		}
	}
	for key := range repl {
		if !seen[key] {
			tb.Fatalf("%s does not set %s", path, key)
		}
	}
	return strings.Join(lines, "\n")
}

// startProductionMosquitto runs configs/mosquitto.conf with users parkd,
// S-000001 and S-000002 (password "pw-" + user) and configs/mosquitto.acl.
func startProductionMosquitto(tb testing.TB) *Mosquitto {
	tb.Helper()
	passwd := filepath.Join(tb.TempDir(), "passwd")
	tool := findBinary(tb, "mosquitto_passwd", "mosquitto")
	for i, user := range []string{"parkd", "S-000001", "S-000002"} {
		args := []string{"-b", passwd, user, "pw-" + user}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			tb.Fatalf("mosquitto_passwd: %v\n%s", err, out)
		}
	}
	acl, err := filepath.Abs("../../configs/mosquitto.acl")
	if err != nil {
		tb.Fatal(err)
	}
	return startMosquitto(tb, func(m *Mosquitto) string {
		return rewriteConf(tb, "../../configs/mosquitto.conf", map[string]string{
			"persistence_location": m.Dir + "/",
			"password_file":        passwd,
			"acl_file":             acl,
			"log_dest":             "stderr",
			"listener":             fmt.Sprintf("%d 127.0.0.1", m.Port),
		}) + "\n" + userLine() + "\n"
	})
}

func TestProductionMosquittoLogin(t *testing.T) {
	m := startProductionMosquitto(t)
	tests := []struct {
		name, user, pass string
		ok               bool
	}{
		{"anonymous", "", "", false},
		{"wrong password", "parkd", "nope", false},
		{"unknown user", "S-999999", "pw-S-999999", false},
		{"parkd", "parkd", "pw-parkd", true},
		{"sensor", "S-000001", "pw-S-000001", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, rc := dialMQTT(t, m.Addr, mqttConn{clientID: "login-" + tc.user, user: tc.user, pass: tc.pass, clean: true})
			if (rc == 0) != tc.ok {
				t.Errorf("CONNACK return code %d, want accepted=%v", rc, tc.ok)
			}
		})
	}
}

// The ACL lets a sensor publish only its own uplink and parkd read them all
// through a shared subscription; the persistent session keeps what arrives
// while parkd is away, across a graceful broker restart.
func TestProductionMosquittoACLAndPersistence(t *testing.T) {
	m := startProductionMosquitto(t)
	parkd := mqttConn{clientID: "parkd-ingest-0", user: "parkd", pass: "pw-parkd"}
	sub, rc := dialMQTT(t, m.Addr, parkd)
	if rc != 0 {
		t.Fatalf("parkd CONNACK %d", rc)
	}
	if got := sub.subscribe("$share/ingest/parking/v1/sensors/+/up", 1); got != 1 {
		t.Fatalf("shared SUBACK %#x, want QoS 1", got)
	}
	s1, _ := dialMQTT(t, m.Addr, mqttConn{clientID: "S-000001", user: "S-000001", pass: "pw-S-000001", clean: true})
	s1.publish("parking/v1/sensors/S-000002/up", "forged", 1) // denied: another sensor's topic
	sub.publish("parking/v1/sensors/S-000001/up", "from parkd", 1)
	s1.publish("parking/v1/sensors/S-000001/up", "own-1", 1)
	if topic, payload, ok := sub.receive(3 * time.Second); !ok || payload != "own-1" {
		t.Fatalf("parkd got %q %q (ok=%v), want only own-1 from S-000001", topic, payload, ok)
	}
	if topic, payload, ok := sub.receive(300 * time.Millisecond); ok {
		t.Fatalf("parkd got unexpected %q %q", topic, payload)
	}

	sub.disconnect()
	s1.publish("parking/v1/sensors/S-000001/up", "while-away", 1)
	s1.disconnect()
	m.Stop(t)
	m.Start(t)
	sub, _ = dialMQTT(t, m.Addr, parkd)
	if _, payload, ok := sub.receive(5 * time.Second); !ok || payload != "while-away" {
		t.Fatalf("after broker restart parkd got %q (ok=%v), want while-away", payload, ok)
	}
}

func TestProductionRedisConf(t *testing.T) {
	bin := findBinary(t, "redis-server", "redis-server")
	dir := t.TempDir()
	port := FreePort(t)
	conf := filepath.Join(dir, "redis.conf")
	text := rewriteConf(t, "../../configs/redis.conf", map[string]string{
		"dir": dir, "logfile": `""`, "port": fmt.Sprint(port), "bind": "127.0.0.1",
	})
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRedis(bin, dir, port, nil)
	r.proc.args = []string{conf}
	if err := r.proc.startAndWait(r.ping); err != nil {
		r.proc.fatal(t, err)
	}
	t.Cleanup(r.proc.kill)

	c := r.Client(t)
	ctx := context.Background()
	want := map[string]string{
		"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction",
		"maxmemory": "2147483648", "save": "3600 1 300 100", "protected-mode": "yes",
	}
	for name, v := range want {
		got, err := c.ConfigGet(ctx, name).Result()
		if err != nil || got[name] != v {
			t.Errorf("CONFIG GET %s = %q, %v; want %q", name, got[name], err, v)
		}
	}
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop(t)
	r.Start(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after restart GET k = %q, %v", got, err)
	}
}
