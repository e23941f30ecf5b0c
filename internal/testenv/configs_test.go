package testenv

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
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
	many := map[string][]string{}
	for k, v := range repl {
		many[k] = []string{v}
	}
	return rewriteConfEach(tb, path, many)
}

// rewriteConfEach is rewriteConf for directives a file sets more than once
// (listener): the n-th uncommented line of a directive gets its n-th value
// (the last one for any further line); it fails unless every value is used.
func rewriteConfEach(tb testing.TB, path string, repl map[string][]string) string {
	tb.Helper()
	lines := strings.Split(readFile(tb, path), "\n")
	seen := map[string]int{}
	for i, line := range lines {
		key, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		if vs, ok := repl[key]; ok && !strings.HasPrefix(line, "#") {
			lines[i] = key + " " + vs[min(seen[key], len(vs)-1)]
			seen[key]++
		}
	}
	for key, vs := range repl {
		if seen[key] < len(vs) {
			tb.Fatalf("%s sets %s %d times, want at least %d", path, key, seen[key], len(vs))
		}
	}
	return strings.Join(lines, "\n")
}

// readFile returns the text of path.
func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// productionMosquitto is configs/mosquitto.conf running: its plain
// listener at Addr, its TLS one at TLSAddr with a certificate of pki.
type productionMosquitto struct {
	*Mosquitto
	TLSAddr string
	PKI     PKI
}

// productionUsers are the users of startProductionMosquitto, each with
// password "pw-" + its name.
var productionUsers = []string{"parkd", "S-000001", "S-000002", "lorawan-ns"}

// startProductionMosquitto runs configs/mosquitto.conf with
// productionUsers and configs/mosquitto.acl, both listeners on free
// 127.0.0.1 ports, the TLS one with a throwaway PKI.
func startProductionMosquitto(tb testing.TB) *productionMosquitto {
	tb.Helper()
	passwd := filepath.Join(tb.TempDir(), "passwd")
	tool := findBinary(tb, "mosquitto_passwd", "mosquitto")
	for i, user := range productionUsers {
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
	pm := &productionMosquitto{PKI: NewPKI(tb)}
	pm.Mosquitto = startMosquitto(tb, func(m *Mosquitto) string {
		tlsPort := FreePort(tb)
		pm.TLSAddr = fmt.Sprintf("127.0.0.1:%d", tlsPort)
		return rewriteConfEach(tb, "../../configs/mosquitto.conf", map[string][]string{
			"persistence_location": {m.Dir + "/"},
			"password_file":        {passwd},
			"acl_file":             {acl},
			"log_dest":             {"stderr"},
			"listener":             {fmt.Sprintf("%d 127.0.0.1", m.Port), fmt.Sprintf("%d 127.0.0.1", tlsPort)},
			"cafile":               {pm.PKI.CA},
			"certfile":             {pm.PKI.ServerCert},
			"keyfile":              {pm.PKI.ServerKey},
		}) + "\n" + userLine() + "\n"
	})
	return pm
}

// tlsConfig trusts the broker's throwaway authority.
func (pm *productionMosquitto) tlsConfig(tb testing.TB) *tls.Config {
	tb.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(readFile(tb, pm.PKI.CA))) {
		tb.Fatal("no CA certificate")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
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

// TestProductionMosquittoListeners: the shipped file listens in plain MQTT
// on the loopback interface only and in TLS on every interface; run, the
// TLS listener takes a sensor's login and reading, and refuses plain MQTT.
func TestProductionMosquittoListeners(t *testing.T) {
	var listeners []string
	for _, line := range strings.Split(readFile(t, "../../configs/mosquitto.conf"), "\n") {
		if v, ok := strings.CutPrefix(line, "listener "); ok {
			listeners = append(listeners, v)
		}
	}
	if len(listeners) != 2 || listeners[0] != "1883 127.0.0.1" || listeners[1] != "8883" {
		t.Fatalf("listeners %q, want plain 1883 on 127.0.0.1 and TLS 8883", listeners)
	}
	m := startProductionMosquitto(t)
	parkd, rc := dialMQTT(t, m.Addr, mqttConn{clientID: "parkd-ingest-0", user: "parkd", pass: "pw-parkd", clean: true})
	if rc != 0 {
		t.Fatalf("parkd CONNACK %d on the plain listener", rc)
	}
	parkd.subscribe("parking/v1/sensors/+/up", 1)
	s1, rc := dialMQTT(t, m.TLSAddr, mqttConn{clientID: "S-000001", user: "S-000001", pass: "pw-S-000001", clean: true,
		tls: m.tlsConfig(t)})
	if rc != 0 {
		t.Fatalf("sensor CONNACK %d over TLS", rc)
	}
	s1.publish("parking/v1/sensors/S-000001/up", "over-tls", 1)
	if _, payload, ok := parkd.receive(3 * time.Second); !ok || payload != "over-tls" {
		t.Fatalf("parkd got %q (ok=%v), want the reading sent over TLS", payload, ok)
	}
	conn, err := net.DialTimeout("tcp", m.TLSAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	plain := &mqttClient{tb: t, conn: conn, r: bufio.NewReader(conn)}
	plain.send(0x10, append(append(mqttString("MQTT"), 4, 0x02, 0, 30), mqttString("plain")...))
	if !plain.closed(5 * time.Second) {
		t.Error("the TLS listener kept a plain MQTT connection open")
	}
}

// TestProductionMosquittoLoRaWANACL: parkd reads every uplink topic it
// subscribes to by default (native, The Things Stack, ChirpStack); the
// network server's account writes its own uplink topics and nothing else.
func TestProductionMosquittoLoRaWANACL(t *testing.T) {
	m := startProductionMosquitto(t)
	parkd, _ := dialMQTT(t, m.Addr, mqttConn{clientID: "parkd-ingest-0", user: "parkd", pass: "pw-parkd", clean: true})
	for _, filter := range []string{"parking/v1/sensors/+/up", "v3/+/devices/+/up", "application/+/device/+/event/up"} {
		parkd.subscribe(filter, 1)
	}
	ns, rc := dialMQTT(t, m.TLSAddr, mqttConn{clientID: "lorawan-ns", user: "lorawan-ns", pass: "pw-lorawan-ns", clean: true,
		tls: m.tlsConfig(t)})
	if rc != 0 {
		t.Fatalf("network server CONNACK %d", rc)
	}
	ns.publish("parking/v1/sensors/S-000001/up", "forged-native", 1)                 // denied: a sensor's topic
	ns.publish("v3/parking@qiuai/devices/eui-1/down/push", "downlink", 1)            // denied: not an uplink
	ns.publish("v3/parking@qiuai/devices/eui-1/up", "tts", 1)                        // allowed
	ns.publish("application/7d3e/device/70b3d57ed0065a01/event/up", "chirpstack", 1) // allowed
	for _, want := range []string{"tts", "chirpstack"} {
		if topic, payload, ok := parkd.receive(3 * time.Second); !ok || payload != want {
			t.Fatalf("parkd got %q on %q (ok=%v), want %q", payload, topic, ok, want)
		}
	}
	if topic, payload, ok := parkd.receive(300 * time.Millisecond); ok {
		t.Fatalf("parkd got %q on %q: the network server wrote outside its topics", payload, topic)
	}
}

// TestProductionMosquittoRefusesRetained: a sensor publishing with the
// retain flag is disconnected and its message neither delivered nor kept
// for later subscribers.
func TestProductionMosquittoRefusesRetained(t *testing.T) {
	m := startProductionMosquitto(t)
	parkd, _ := dialMQTT(t, m.Addr, mqttConn{clientID: "parkd-ingest-0", user: "parkd", pass: "pw-parkd", clean: true})
	parkd.subscribe("parking/v1/sensors/+/up", 1)
	s1, _ := dialMQTT(t, m.TLSAddr, mqttConn{clientID: "S-000001", user: "S-000001", pass: "pw-S-000001", clean: true,
		tls: m.tlsConfig(t)})
	body := append(mqttString("parking/v1/sensors/S-000001/up"), 0, 1) // packet id 1
	s1.send(0x30|1<<1|1, append(body, "retained"...))                  // PUBLISH, QoS 1, retain
	if !s1.closed(5 * time.Second) {
		t.Fatal("the broker kept a sensor that published a retained message")
	}
	if _, payload, ok := parkd.receive(300 * time.Millisecond); ok {
		t.Fatalf("parkd got %q: a retained message went through", payload)
	}
	late, _ := dialMQTT(t, m.Addr, mqttConn{clientID: "late", user: "parkd", pass: "pw-parkd", clean: true})
	late.subscribe("parking/v1/sensors/+/up", 1)
	if _, payload, ok := late.receive(300 * time.Millisecond); ok {
		t.Fatalf("a new subscriber got %q: the broker kept a retained message", payload)
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
