package redisstore

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DialOptions say how to reach Redis. The URL chooses the deployment:
//
//	redis://[user:password@]host:port[/db]                 one node
//	rediss://…                                             one node over TLS
//	redis+cluster://[user:password@]host:port?addr=host:port&addr=…
//	                                                       Redis Cluster: any
//	                                                       reachable nodes seed it
//	rediss+cluster://…                                     Redis Cluster over TLS
//	redis+sentinel://[user:password@]host:port/master[/db]?addr=host:port&…
//	                                                       Sentinel: the sentinels'
//	                                                       addresses and the
//	                                                       master's name
//	rediss+sentinel://…                                    Sentinel, data over TLS
//
// For Sentinel the user and password are the master's (the data nodes');
// the sentinels' own are the query parameters sentinel_username and
// sentinel_password. Other query parameters are go-redis options in snake
// case (dial_timeout=2s, pool_size=20, max_retries=-1, …).
type DialOptions struct {
	// URL is one of the forms above. Required.
	URL string
	// Password, when set, replaces the URL's password (of the data nodes),
	// so the URL can be logged or kept in a config file without it.
	// Default: the URL's.
	Password string
	// TLSConfig is used for the rediss schemes and is an error with the
	// others. Without a ServerName each connection checks the certificate
	// against the host it dials (for Cluster and Sentinel, the node's or
	// sentinel's address as announced, not the URL's). Default: the
	// system's roots.
	TLSConfig *tls.Config
}

// Defaults keep a command against an unreachable Redis short, so a 1 s
// readiness check answers in time: a refused dial is retried once after
// 100 ms, a failed command at most twice. Callers retry with their own
// backoff (ingest does). URL parameters override them.
const (
	defaultDialTimeout   = time.Second
	defaultDialerRetries = 2
	defaultMaxRetries    = 2
)

// NewClient opens a client from a URL of one of the forms of DialOptions.
// Command timeouts follow the caller's context.
func NewClient(url string) (redis.UniversalClient, error) {
	return Dial(DialOptions{URL: url})
}

// Dial opens a client for a single node, a Redis Cluster or a
// Sentinel-managed master, as o.URL says. It does not connect yet: the
// first command does. Command timeouts follow the caller's context.
func Dial(o DialOptions) (redis.UniversalClient, error) {
	scheme, _, ok := strings.Cut(o.URL, "://")
	if !ok || strings.ContainsAny(scheme, "@:/") {
		// Not echoed: it may hold a password.
		return nil, fmt.Errorf("redis store: the url does not start with a scheme such as redis://")
	}
	base, mode, _ := strings.Cut(scheme, "+")
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("redis store: url scheme %q is not redis, rediss, redis+cluster, redis+sentinel or their rediss forms", scheme)
	}
	if o.TLSConfig != nil && base != "rediss" {
		return nil, fmt.Errorf("redis store: TLS options given but the url scheme %s is not TLS: use rediss", scheme)
	}
	plain := base + o.URL[len(scheme):] // the URL with the go-redis scheme
	switch mode {
	case "":
		return dialSingle(plain, o)
	case "cluster":
		return dialCluster(plain, o)
	case "sentinel":
		return dialSentinel(plain, o)
	}
	return nil, fmt.Errorf("redis store: url scheme %q: unknown mode %q (want cluster or sentinel)", scheme, mode)
}

func dialSingle(u string, o DialOptions) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("redis store: parse url: %w", scrub(err))
	}
	tune(&opt.ContextTimeoutEnabled, &opt.DialTimeout, &opt.DialerRetries, &opt.MaxRetries, &opt.TLSConfig, &opt.Password, o)
	return redis.NewClient(opt), nil
}

func dialCluster(u string, o DialOptions) (redis.UniversalClient, error) {
	opt, err := redis.ParseClusterURL(u)
	if err != nil {
		return nil, fmt.Errorf("redis store: parse cluster url: %w", scrub(err))
	}
	perNodeServerName(opt.TLSConfig)
	tune(&opt.ContextTimeoutEnabled, &opt.DialTimeout, &opt.DialerRetries, &opt.MaxRetries, &opt.TLSConfig, &opt.Password, o)
	return redis.NewClusterClient(opt), nil
}

// dialSentinel turns redis+sentinel://user:pw@h:p/master/db?… into
// go-redis' failover URL (where the user info is the sentinels' and the
// master's name a parameter) and opens a failover client.
func dialSentinel(raw string, o DialOptions) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis store: parse sentinel url: %w", scrub(err))
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if parts[0] == "" || len(parts) > 2 {
		return nil, fmt.Errorf("redis store: sentinel url path %q is not /master or /master/db", u.Path)
	}
	q := u.Query()
	q.Set("master_name", parts[0])
	sentUser, sentPass := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	user, pass := u.User.Username(), ""
	if p, ok := u.User.Password(); ok {
		pass = p
	}
	fu := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: q.Encode()}
	if len(parts) == 2 {
		fu.Path = "/" + parts[1]
	}
	opt, err := redis.ParseFailoverURL(fu.String())
	if err != nil {
		return nil, fmt.Errorf("redis store: parse sentinel url: %w", scrub(err))
	}
	perNodeServerName(opt.TLSConfig)
	opt.Username, opt.Password = user, pass
	opt.SentinelUsername, opt.SentinelPassword = sentUser, sentPass
	tune(&opt.ContextTimeoutEnabled, &opt.DialTimeout, &opt.DialerRetries, &opt.MaxRetries, &opt.TLSConfig, &opt.Password, o)
	return redis.NewFailoverClient(opt), nil
}

// tlsFor merges the caller's TLS config into the one go-redis derived from
// a rediss URL (nil for redis URLs): the caller's wins, with the URL's
// server name unless it names one.
func tlsFor(fromURL, given *tls.Config) *tls.Config {
	if fromURL == nil || given == nil {
		return fromURL
	}
	c := given.Clone()
	if c.ServerName == "" {
		c.ServerName = fromURL.ServerName
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// perNodeServerName drops the server name go-redis took from the URL's
// first host: the other nodes (cluster nodes, the master a sentinel names)
// have their own names, which crypto/tls takes from each dialed address.
func perNodeServerName(c *tls.Config) {
	if c != nil {
		c.ServerName = ""
	}
}

// tune sets the fields every deployment's options share: command timeouts
// from the caller's context, the dial and retry defaults unless the URL
// set them, the caller's TLS config and password.
func tune(ctxTimeout *bool, dialTimeout *time.Duration, dialerRetries, maxRetries *int, tc **tls.Config, password *string, o DialOptions) {
	*ctxTimeout = true
	*dialTimeout = orDefault(*dialTimeout, defaultDialTimeout)
	*dialerRetries = orDefault(*dialerRetries, defaultDialerRetries)
	*maxRetries = orDefault(*maxRetries, defaultMaxRetries)
	*tc = tlsFor(*tc, o.TLSConfig)
	if o.Password != "" {
		*password = o.Password
	}
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// scrub keeps a URL parse error from repeating the URL, which may hold a
// password.
func scrub(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// RedactURL returns u with its password and any *password query parameter
// replaced by "xxxxx", for logs. A URL that does not parse becomes
// "(unparsable url)".
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable url)"
	}
	q := p.Query()
	for k := range q {
		if strings.HasSuffix(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	if len(q) > 0 {
		p.RawQuery = q.Encode()
	}
	return p.Redacted()
}
