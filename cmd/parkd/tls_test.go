package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
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

// testPKI is a throwaway certificate authority with a server certificate
// for 127.0.0.1/localhost and a client certificate, as PEM files in a
// temporary directory.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	// OtherCA is a second authority that signed nothing here.
	OtherCA string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caDER := newCA(t, "parkd test CA")
	_, _, otherDER := newCA(t, "some other CA")
	p := testPKI{CA: filepath.Join(dir, "ca.pem"), OtherCA: filepath.Join(dir, "other-ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key")}
	writePEM(t, p.CA, "CERTIFICATE", caDER)
	writePEM(t, p.OtherCA, "CERTIFICATE", otherDER)
	server := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	issue(t, server, caCert, caKey, p.ServerCert, p.ServerKey)
	client := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "parkd"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	issue(t, client, caCert, caKey, p.ClientCert, p.ClientKey)
	return p
}

func newCA(t *testing.T, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, der
}

// issue signs tmpl with the CA and writes the certificate and its new key.
func issue(t *testing.T, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startTLSMosquitto starts Mosquitto with its usual plain listener (for the
// test's publisher) and a second listener that speaks only TLS and requires
// a client certificate signed by the test CA. It returns the broker and the
// ssl:// URL of the TLS listener.
func startTLSMosquitto(t *testing.T, p testPKI) (*testenv.Mosquitto, string) {
	t.Helper()
	port := testenv.FreePort(t)
	m := testenv.MustStartMosquitto(t,
		"listener "+strconv.Itoa(port)+" 127.0.0.1",
		"cafile "+p.CA, "certfile "+p.ServerCert, "keyfile "+p.ServerKey,
		"require_certificate true", "tls_version tlsv1.2")
	return m, "ssl://127.0.0.1:" + strconv.Itoa(port)
}

func TestMQTTOverTLSWithClientCertificate(t *testing.T) {
	p := newTestPKI(t)
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
	p := newTestPKI(t)
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
