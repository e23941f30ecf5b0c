package main

import (
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/qiuai/parking/httpapi"
)

// applyHTTPEnv reads the staff tokens, the public rate limit and the trusted
// proxies from the environment over the YAML file, and checks them:
//
//	PARKD_TOKENS           "role:token,role:token" (roles viewer, operator, admin)
//	PARKD_TOKENS_FILE      a file of role:token lines (overrides http.tokens_file)
//	PARKD_PUBLIC_RATE      requests a second per client IP on the public API; 0 disables
//	PARKD_TRUSTED_PROXIES  comma-separated CIDRs or IPs whose X-Forwarded-For is believed
//	PARKD_METRICS_ADDR     serve /metrics there only (overrides http.metrics_addr)
//	PARKD_METRICS_TOKEN    the bearer token /metrics requires, or
//	PARKD_METRICS_TOKEN_FILE a file holding it (overrides http.metrics_token_file)
//	PARKD_EVENTS_MAX_STREAMS, PARKD_EVENTS_MAX_PER_IP  live event streams in all, and per client IP
//
// Errors never show a token.
func (c *Config) applyHTTPEnv(getenv func(string) string) error {
	if v := getenv("PARKD_TOKENS_FILE"); v != "" {
		c.HTTP.TokensFile = v
	}
	if err := c.loadTokens(getenv("PARKD_TOKENS")); err != nil {
		return err
	}
	if v := getenv("PARKD_PUBLIC_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("config: PARKD_PUBLIC_RATE %q is not a number of requests per second", v)
		}
		c.HTTP.PublicRate = r
	}
	if r := c.HTTP.PublicRate; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("config: http.public_rate (PARKD_PUBLIC_RATE) %v must be 0 (no limit) or more", r)
	}
	if v := getenv("PARKD_TRUSTED_PROXIES"); v != "" {
		c.HTTP.TrustedProxies = strings.Split(v, ",")
	}
	if err := intEnv(getenv, "PARKD_EVENTS_MAX_STREAMS", "streams", &c.HTTP.EventsMaxStreams); err != nil {
		return err
	}
	if err := intEnv(getenv, "PARKD_EVENTS_MAX_PER_IP", "streams", &c.HTTP.EventsMaxPerIP); err != nil {
		return err
	}
	if err := c.loadMetricsAccess(getenv); err != nil {
		return err
	}
	return c.checkTrustedProxies()
}

// loadMetricsAccess reads where /metrics is served and the token it
// requires, and checks the token as strictly as a staff token.
func (c *Config) loadMetricsAccess(getenv func(string) string) error {
	if v := getenv("PARKD_METRICS_ADDR"); v != "" {
		c.HTTP.MetricsAddr = v
	}
	if f := getenv("PARKD_METRICS_TOKEN_FILE"); f != "" {
		c.HTTP.MetricsTokenFile = f
	}
	c.HTTP.MetricsToken = strings.TrimSpace(getenv("PARKD_METRICS_TOKEN"))
	if f := c.HTTP.MetricsTokenFile; f != "" {
		v, err := readSecretFile("PARKD_METRICS_TOKEN_FILE", f)
		if err != nil {
			return err
		}
		c.HTTP.MetricsToken = strings.TrimSpace(v)
	}
	if t := c.HTTP.MetricsToken; t != "" {
		if err := httpapi.CheckToken(t); err != nil {
			return fmt.Errorf("config: metrics token (PARKD_METRICS_TOKEN, PARKD_METRICS_TOKEN_FILE): %w", err)
		}
	}
	if a := c.HTTP.MetricsAddr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("config: http.metrics_addr (PARKD_METRICS_ADDR) %q is not host:port", a)
		}
	}
	return nil
}

// loadTokens sets c.HTTP.Tokens from env (PARKD_TOKENS) and the tokens file;
// both may be given, and their tokens add up.
func (c *Config) loadTokens(env string) error {
	all := env
	if f := c.HTTP.TokensFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("config: tokens file (PARKD_TOKENS_FILE): %w", err)
		}
		all += "\n" + string(b)
	}
	if _, err := httpapi.ParseTokens(all); err != nil {
		return fmt.Errorf("config: staff tokens (PARKD_TOKENS, PARKD_TOKENS_FILE): %w", err)
	}
	c.HTTP.Tokens = all
	return nil
}

// checkTrustedProxies trims the trusted proxies and checks each is a CIDR
// or an IP.
func (c *Config) checkTrustedProxies() error {
	var out []string
	for _, p := range c.HTTP.TrustedProxies {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return fmt.Errorf("config: trusted proxy %q (PARKD_TRUSTED_PROXIES) is not a CIDR or an IP", p)
		}
		out = append(out, p)
	}
	c.HTTP.TrustedProxies = out
	return nil
}

// staffTokens returns the parsed staff tokens; loadTokens has checked
// them, but a Config made otherwise (tests, the demo) is checked again, so
// a weak token refuses the start rather than being dropped.
func (c *Config) staffTokens() ([]httpapi.Token, error) {
	toks, err := httpapi.ParseTokens(c.HTTP.Tokens)
	if err != nil {
		return nil, fmt.Errorf("config: staff tokens (PARKD_TOKENS, PARKD_TOKENS_FILE): %w", err)
	}
	return toks, nil
}
