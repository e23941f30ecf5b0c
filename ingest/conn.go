package ingest

import (
	"bufio"
	"net"
	"net/url"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
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

// discardStore is the subscriber's paho Store: it keeps nothing. paho's
// default MemoryStore keeps each received QoS 1 message until it is
// acknowledged (a map entry under a formatted key, and its deletion: about
// a tenth of parkd's CPU in a flood) for no use here: on reconnecting,
// paho discards stored inbound messages other than QoS 2 PUBRELs, and
// resends stored SUBSCRIBEs only with ResumeSubs, which is off (OnConnect
// subscribes). Unacknowledged messages are kept by the broker's session.
type discardStore struct{}

func (discardStore) Open()                             {}
func (discardStore) Put(string, packets.ControlPacket) {}
func (discardStore) Get(string) packets.ControlPacket  { return nil }
func (discardStore) All() []string                     { return nil }
func (discardStore) Del(string)                        {}
func (discardStore) Close()                            {}
func (discardStore) Reset()                            {}
