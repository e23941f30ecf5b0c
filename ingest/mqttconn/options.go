package mqttconn

import (
	"crypto/tls"
	"net"
	"net/url"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Options configure the connections Configure sets up.
type Options struct {
	// CloseTimeout bounds how long closing a connection tries to send what
	// is buffered and, after a DISCONNECT, waits for the broker to close its
	// side. Default 1s.
	CloseTimeout time.Duration
}

// closeTimeout returns CloseTimeout or its default.
func (o Options) closeTimeout() time.Duration {
	if o.CloseTimeout <= 0 {
		return time.Second
	}
	return o.CloseTimeout
}

// Quiesce is the most Client.Disconnect should wait, in milliseconds, for
// the connection to close: long enough for a Conn to hear the broker close
// its side after the DISCONNECT, so that every PUBACK has been taken when
// Disconnect returns. Disconnect returns as soon as the connection is
// closed, which is usually at once.
func (o Options) Quiesce() uint {
	return uint((o.closeTimeout() + 250*time.Millisecond) / time.Millisecond)
}

// Configure sets on co, whose brokers are added already, what a subscriber
// that acknowledges each message itself needs (see the package doc): manual
// acks, in-order delivery on paho's router goroutine, no resumed
// subscriptions, a DiscardStore, and Conn connections for brokers over TCP
// or TLS.
func Configure(co *mqtt.ClientOptions, o Options) {
	co.SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetResumeSubs(false).
		SetStore(DiscardStore{})
	for _, u := range co.Servers {
		if !dials(u) {
			return
		}
	}
	co.SetCustomOpenConnectionFn(func(uri *url.URL, co mqtt.ClientOptions) (net.Conn, error) {
		return open(uri, co, o.closeTimeout())
	})
}

// tlsSchemes are the URL schemes paho takes for MQTT over TLS.
var tlsSchemes = map[string]bool{"ssl": true, "tls": true, "mqtts": true, "mqtt+ssl": true, "tcps": true}

// Dials reports whether Configure dials brokerURL through a Conn: MQTT over
// TCP, plain or TLS.
func Dials(brokerURL string) bool {
	u, err := url.Parse(brokerURL)
	return err == nil && dials(u)
}

// dials reports whether u is MQTT over TCP, plain or TLS.
func dials(u *url.URL) bool { return u.Scheme == "tcp" || u.Scheme == "mqtt" || tlsSchemes[u.Scheme] }

// open dials uri as paho would, with the options' dialer (the connect
// timeout) and, for a TLS scheme, TLS config, but not through a proxy from
// the environment (ALL_PROXY), and wraps the connection in a Conn.
func open(uri *url.URL, o mqtt.ClientOptions, closeTimeout time.Duration) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	var conn net.Conn
	var err error
	if tlsSchemes[uri.Scheme] {
		conn, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	} else {
		conn, err = d.Dial("tcp", uri.Host)
	}
	if err != nil {
		return nil, err
	}
	return NewConn(conn, closeTimeout), nil
}
