package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/qiuai/parking/internal/testenv"
)

// startTLSMosquitto starts Mosquitto with its usual plain listener (for the
// test's publisher) and a second listener that speaks only TLS and requires
// a client certificate signed by the test CA. It returns the broker and the
// ssl:// URL of the TLS listener.
func startTLSMosquitto(t *testing.T, p testenv.PKI) (*testenv.Mosquitto, string) {
	t.Helper()
	port := testenv.FreePort(t)
	m := testenv.MustStartMosquitto(t,
		"listener "+strconv.Itoa(port)+" 127.0.0.1",
		"cafile "+p.CA, "certfile "+p.ServerCert, "keyfile "+p.ServerKey,
		"require_certificate true", "tls_version tlsv1.2")
	return m, "ssl://127.0.0.1:" + strconv.Itoa(port)
}

func TestMQTTOverTLSWithClientCertificate(t *testing.T) {
	p := testenv.NewPKI(t)
	mosq, tlsURL := startTLSMosquitto(t, p)
	rds := testenv.MustStartRedis(t)

	t.Run("parkd ingests over TLS with CA and client certificate", func(t *testing.T) {
		cfg := testConfig(tlsURL, rds.URL, "testdata/registry")
		cfg.MQTT.TLS = TLSConfig{CAFile: p.CA, CertFile: p.ClientCert, KeyFile: p.ClientKey}
		pd := startParkd(t, cfg) // returns once /readyz (broker connected) is 200
		publish(t, publisher(t, mosq.URL), "S-000001", msg(true, time.Now().Add(-time.Second), 1))
		eventually(t, 10*time.Second, "reading applied over TLS", func() error {
			var sp spaceJSON
			if pd.get(t, "/api/v1/spaces/QA-Z01-0001", &sp); sp.Status != "occupied" {
				return fmt.Errorf("QA-Z01-0001 is %s", sp.Status)
			}
			return nil
		})
	})

	refused := []struct {
		name string
		tls  TLSConfig
	}{
		{"without a client certificate", TLSConfig{CAFile: p.CA}},
		{"trusting another CA", TLSConfig{CAFile: p.OtherCA, CertFile: p.ClientCert, KeyFile: p.ClientKey}},
		{"with the system roots only", TLSConfig{CertFile: p.ClientCert, KeyFile: p.ClientKey}},
		{"expecting another server name", TLSConfig{CAFile: p.CA, CertFile: p.ClientCert, KeyFile: p.ClientKey,
			ServerName: "broker.example"}},
	}
	for _, tc := range refused {
		t.Run("refused "+tc.name, func(t *testing.T) {
			tc := tc.tls
			conf, err := tc.build("mqtt")
			if err != nil {
				t.Fatal(err)
			}
			c := paho.NewClient(paho.NewClientOptions().AddBroker(tlsURL).SetClientID("tls-probe").
				SetTLSConfig(conf).SetConnectTimeout(10 * time.Second).SetConnectRetry(false))
			tok := c.Connect()
			if !tok.WaitTimeout(15*time.Second) || tok.Error() == nil {
				c.Disconnect(0)
				t.Fatal("connected; want the TLS handshake to fail")
			}
		})
	}
	t.Run("plain tcp to the TLS listener is refused", func(t *testing.T) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(strings.Replace(tlsURL, "ssl://", "tcp://", 1)).
			SetClientID("plain-probe").SetConnectTimeout(10 * time.Second))
		if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() == nil {
			c.Disconnect(0)
			t.Fatal("connected without TLS")
		}
	})
}

// redisSupportsTLS reports whether this redis-server was built with TLS.
func redisSupportsTLS(t *testing.T) bool {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return false
	}
	// With TLS built in it only complains that it listens nowhere.
	out, _ := exec.Command(bin, "--port", "0", "--tls-port", "0", "--save", "").CombinedOutput()
	return !strings.Contains(string(out), "FATAL CONFIG")
}

func TestRedisOverTLS(t *testing.T) {
	if !redisSupportsTLS(t) {
		t.Skip("redis-server was built without TLS (BUILD_TLS=yes): rediss:// is not tested here")
	}
	p := testenv.NewPKI(t)
	port := testenv.FreePort(t)
	// The plain port stays for testenv's start probe; the TLS port requires
	// a client certificate.
	srv := testenv.MustStartRedis(t, "--tls-port", strconv.Itoa(port), "--tls-cert-file", p.ServerCert,
		"--tls-key-file", p.ServerKey, "--tls-ca-cert-file", p.CA, "--tls-auth-clients", "yes")
	if err := srv.Client(t).ConfigSet(context.Background(), "requirepass", "s3cret").Err(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "redis-password")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsURL := "rediss://127.0.0.1:" + strconv.Itoa(port) + "/0"
	base := map[string]string{"PARKD_REDIS_URL": tlsURL, "PARKD_REGISTRY": "testdata/registry",
		"PARKD_REDIS_TLS_CA_FILE": p.CA, "PARKD_REDIS_TLS_CERT_FILE": p.ClientCert,
		"PARKD_REDIS_TLS_KEY_FILE": p.ClientKey, "PARKD_REDIS_PASSWORD_FILE": pwFile}
	tests := []struct {
		name  string
		edit  map[string]string // "" deletes
		works bool
	}{
		{"CA, client certificate and password", nil, true},
		{"no client certificate", map[string]string{"PARKD_REDIS_TLS_CERT_FILE": "", "PARKD_REDIS_TLS_KEY_FILE": ""}, false},
		{"another CA", map[string]string{"PARKD_REDIS_TLS_CA_FILE": p.OtherCA}, false},
		{"no password", map[string]string{"PARKD_REDIS_PASSWORD_FILE": ""}, false},
		{"plain url", map[string]string{"PARKD_REDIS_URL": srv.URL}, false}, // TLS options on redis:// are refused
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.edit {
				env[k] = v
			}
			cfg, err := loadConfig("", false, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rep, err := checkStore(ctx, cfg, true) // a real round trip: scripts over TLS
			if tc.works && (err != nil || rep.Spaces != 5) {
				t.Fatalf("check over TLS: %+v, %v", rep, err)
			}
			if !tc.works && err == nil {
				t.Fatal("check succeeded; want it refused")
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error repeats the password: %v", err)
			}
		})
	}
}
