package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy/redisstore"
)

// TLSConfig is the TLS part of a connection's configuration (mqtt.tls,
// redis.tls). All empty means the library's defaults: the system's roots
// when the URL asks for TLS.
type TLSConfig struct {
	// CAFile is a PEM file of the certificate authorities to trust instead
	// of the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are PEM files of this client's certificate and
	// key, for servers that require client certificates. Both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name expected in the server's certificate. Default:
	// the URL's host.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns off the server certificate check. For tests
	// only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// set reports whether any option is given.
func (t TLSConfig) set() bool { return t != TLSConfig{} }

// build returns the tls.Config of t, or nil when t is empty. name ("mqtt",
// "redis") prefixes errors.
func (t TLSConfig) build(name string) (*tls.Config, error) {
	if !t.set() {
		return nil, nil
	}
	c := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("config: %s.tls.ca_file: %w", name, err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("config: %s.tls.ca_file %s holds no PEM certificate", name, t.CAFile)
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("config: %s.tls.cert_file and key_file go together", name)
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("config: %s.tls client certificate: %w", name, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// newRedisClient opens the Redis client the config describes: the URL's
// deployment (single node, cluster, sentinel), the password and TLS.
func newRedisClient(cfg Config) (redis.UniversalClient, error) {
	tc, err := cfg.Redis.TLS.build("redis")
	if err != nil {
		return nil, err
	}
	return redisstore.Dial(redisstore.DialOptions{URL: cfg.Redis.URL, Password: cfg.Redis.Password, TLSConfig: tc})
}

// readSecretFile reads a secret from the file named by a *_FILE variable,
// without the trailing newline editors add.
func readSecretFile(variable, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("config: %s: %w", variable, err)
	}
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	if s == "" {
		return "", errors.New("config: " + variable + " names an empty file")
	}
	return s, nil
}

// mqttTLSScheme reports whether a broker URL is one paho connects to over
// TLS.
func mqttTLSScheme(u string) bool {
	for _, p := range []string{"ssl://", "tls://", "mqtts://", "tcps://", "wss://"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// parses reports whether u is a URL with a scheme and a host.
func parses(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme != "" && p.Host != ""
}
