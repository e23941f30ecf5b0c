package ingest

import (
	"bufio"
	"net"
	"net/url"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// readBufferSize is the read buffer of a plain TCP connection to the broker.
const readBufferSize = 64 << 10

// bufferedConn is a net.Conn whose reads go through a buffer. paho reads
// each packet's fixed header from the connection a byte or two at a time,
// which on a bare TCP connection is three or four read system calls per
// message; through the buffer, one call reads many messages.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

// Read implements net.Conn.
func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dialBuffered is paho's OpenConnectionFunc for tcp:// and mqtt:// brokers:
// it dials with the options' dialer (the connect timeout) and buffers the
// reads. Unlike paho's own dialling it does not go through a proxy from
// the environment (ALL_PROXY).
func dialBuffered(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	conn, err := d.Dial("tcp", uri.Host)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, readBufferSize)}, nil
}

// plainTCP reports whether brokerURL is a plain TCP broker, which
// dialBuffered can open (TLS connections buffer by themselves).
func plainTCP(brokerURL string) bool {
	u, err := url.Parse(brokerURL)
	return err == nil && (u.Scheme == "tcp" || u.Scheme == "mqtt")
}
