package testenv

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Mosquitto is a private Mosquitto broker started by MustStartMosquitto.
type Mosquitto struct {
	// Addr is host:port, e.g. 127.0.0.1:41235.
	Addr string
	// URL is tcp://host:port, for MQTT client options.
	URL string
	// Port is the TCP port.
	Port int
	// Dir holds the generated config, the persistence file and the log.
	Dir string
	// ConfFile is the generated mosquitto.conf.
	ConfFile string
	// LogFile receives the broker's log, across restarts.
	LogFile string

	proc *process
}

// MustStartMosquitto starts a private mosquitto on a free 127.0.0.1 port
// with a config generated in tb.TempDir() and registers tb.Cleanup to stop
// it. The config allows anonymous clients and keeps sessions on disk
// (persistence true, autosave_interval 1, so a graceful Stop keeps queued
// QoS 1 messages), with max_queued_messages 1000000 and
// max_inflight_messages 1000. Extra lines are appended to the config and
// override these (e.g. "max_inflight_messages 20"). It returns once the
// broker answers an MQTT CONNECT with CONNACK.
func MustStartMosquitto(tb testing.TB, extra ...string) *Mosquitto {
	tb.Helper()
	return startMosquitto(tb, func(m *Mosquitto) string { return m.config(extra) })
}

// startMosquitto starts a broker whose mosquitto.conf is made by conf for
// the chosen port and directory.
func startMosquitto(tb testing.TB, conf func(m *Mosquitto) string) *Mosquitto {
	tb.Helper()
	bin := findBinary(tb, "mosquitto", "mosquitto")
	dir := tb.TempDir()
	var m *Mosquitto
	startOnFreePort(tb, "mosquitto", func(port int) (*process, error) {
		m = newMosquitto(bin, dir, port)
		if err := os.WriteFile(m.ConfFile, []byte(conf(m)), 0o644); err != nil {
			return m.proc, fmt.Errorf("write config: %w", err)
		}
		return m.proc, m.proc.startAndWait(m.probe)
	})
	return m
}

// newMosquitto describes a broker on port with its files in dir.
func newMosquitto(bin, dir string, port int) *Mosquitto {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := filepath.Join(dir, "mosquitto.conf")
	log := filepath.Join(dir, "mosquitto.log")
	return &Mosquitto{
		Addr:     addr,
		URL:      "tcp://" + addr,
		Port:     port,
		Dir:      dir,
		ConfFile: conf,
		LogFile:  log,
		proc:     &process{name: "mosquitto", path: bin, args: []string{"-c", conf}, log: log},
	}
}

// config returns the broker's mosquitto.conf.
func (m *Mosquitto) config(extra []string) string {
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", m.Port),
		"allow_anonymous true",
		"persistence true",
		"persistence_location " + m.Dir + "/", // the trailing slash is required
		"persistence_file mosquitto.db",
		"autosave_interval 1",
		"max_queued_messages 1000000",
		"max_inflight_messages 1000",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"log_type information",
		userLine(),
	}
	return strings.Join(append(lines, extra...), "\n") + "\n"
}

// userLine keeps a broker started as root running as root: Mosquitto 2
// otherwise drops to user mosquitto, which cannot write the test's temporary
// directory. As any other user the line is harmless.
func userLine() string {
	if os.Geteuid() == 0 {
		return "user root"
	}
	return "# not root: no user line"
}

// probe opens an MQTT connection and checks that the broker accepts it.
func (m *Mosquitto) probe() error {
	return mqttProbe(m.Addr)
}

// Stop shuts the broker down gracefully (SIGTERM: it saves its persistence
// file, so sessions and queued QoS 1 messages survive) and waits for it to
// exit.
func (m *Mosquitto) Stop(tb testing.TB) {
	tb.Helper()
	if err := m.proc.stop(); err != nil {
		m.proc.fatal(tb, err)
	}
}

// Kill ends the broker with SIGKILL, as a crash would: changes since the
// last autosave (one second) are lost.
func (m *Mosquitto) Kill(tb testing.TB) {
	tb.Helper()
	m.proc.kill()
}

// Start starts the broker again on the same port with the same config and
// persistence file, and waits until it accepts MQTT connections.
func (m *Mosquitto) Start(tb testing.TB) {
	tb.Helper()
	if err := m.proc.startAndWait(m.probe); err != nil {
		m.proc.fatal(tb, err)
	}
}

// mqttConnect is an MQTT 3.1.1 CONNECT packet: clean session, keep-alive
// 10 s, client id "testenv-probe".
var mqttConnect = []byte{
	0x10, 25, // CONNECT, remaining length
	0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, // protocol, level 4, clean session, keep-alive
	0, 13, 't', 'e', 's', 't', 'e', 'n', 'v', '-', 'p', 'r', 'o', 'b', 'e',
}

// mqttProbe connects to an MQTT broker at addr, expects a CONNACK and
// disconnects. A CONNACK that refuses the anonymous probe still shows that
// the broker is up, so a config without anonymous access works too.
func mqttProbe(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write(mqttConnect); err != nil {
		return fmt.Errorf("send CONNECT: %w", err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(conn, ack); err != nil {
		return fmt.Errorf("read CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		return fmt.Errorf("unexpected CONNACK % x", ack)
	}
	_, _ = conn.Write([]byte{0xE0, 0}) // DISCONNECT
	return nil
}
