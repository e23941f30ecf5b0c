package ingest

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// readBufferSize is the read buffer of a connection to the broker.
const readBufferSize = 64 << 10

// writeBufferMax is how much a bufferedConn holds of writes not yet sent
// before a Write sends them itself.
const writeBufferMax = 64 << 10

// bufferedConn is a net.Conn whose reads go through a buffer and whose
// writes are coalesced.
//
// Reads: paho reads each packet's fixed header from the connection a byte
// or two at a time, which on a bare TCP connection is three or four read
// system calls per message; through the buffer, one call reads many
// messages.
//
// Writes: paho writes each packet with a write system call of its own, so
// a subscriber in a flood sends one small TCP segment per PUBACK, and the
// broker reads each with a system call of its own (about a fifth of
// parkd's CPU, and more of Mosquitto's). Here Write only appends to a
// buffer and wakes a flusher goroutine, which sends what has gathered in
// one call: while one call is on its way, the acknowledgements of the
// batches that finish meanwhile gather behind it. Nothing waits for a
// timer, so an idle connection sends each packet at once (the flusher
// yields once before sending). A write error closes the connection, so
// that paho's reader sees it and reconnects, and is returned by the
// following Writes.
//
// Close sends what is buffered first, and after a DISCONNECT it waits for
// the broker to close its side (see awaitPeerClose).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	mu    sync.Mutex // guards pend, spare, err
	wmu   sync.Mutex // held while sending, so sends keep the order of Writes
	kick  chan struct{}
	stop  chan struct{}
	err   error
	pend  []byte // written, not yet sent
	spare []byte // the other buffer, reused

	disconnecting atomic.Bool   // a DISCONNECT was written
	readEnd       chan struct{} // closed when a Read fails (the broker closed)
	readEndOnce   sync.Once
	closeOnce     sync.Once
	closeErr      error
}

func newBufferedConn(conn net.Conn) *bufferedConn {
	c := &bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, readBufferSize),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), readEnd: make(chan struct{})}
	go c.flusher()
	return c
}

// Read implements net.Conn. A failed read (the broker closed the
// connection, or Close did) is noted for awaitPeerClose.
func (c *bufferedConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil {
		c.readEndOnce.Do(func() { close(c.readEnd) })
	}
	return n, err
}

// isDisconnect reports whether p is an MQTT 3.1.1 DISCONNECT packet, the
// two bytes E0 00. paho writes each packet with one Write.
func isDisconnect(p []byte) bool { return len(p) == 2 && p[0] == 0xe0 && p[1] == 0 }

// Write implements net.Conn: it buffers p for the flusher, or sends the
// buffer itself when it holds writeBufferMax.
func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if err := c.err; err != nil {
		c.mu.Unlock()
		return 0, err
	}
	c.pend = append(c.pend, p...)
	full := len(c.pend) >= writeBufferMax
	c.mu.Unlock()
	if isDisconnect(p) {
		c.disconnecting.Store(true)
	}
	if full {
		if err := c.flush(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	select {
	case c.kick <- struct{}{}:
	default: // the flusher is already woken
	}
	return len(p), nil
}

// flusher sends what Write buffers, until Close.
func (c *bufferedConn) flusher() {
	for {
		select {
		case <-c.kick:
		case <-c.stop:
			return
		}
		runtime.Gosched() // let the writer that woke us add what it has
		if c.flush() != nil {
			return
		}
	}
}

// flush sends everything buffered in one write.
func (c *bufferedConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	b, err := c.pend, c.err
	c.pend, c.spare = c.spare[:0], nil
	c.mu.Unlock()
	if err != nil || len(b) == 0 {
		c.mu.Lock()
		c.spare = b[:0]
		c.mu.Unlock()
		return err
	}
	_, err = c.Conn.Write(b)
	c.mu.Lock()
	c.spare = b[:0]
	if err != nil && c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	if err != nil {
		c.Conn.Close() // paho's reader sees the connection end and reconnects
	}
	return err
}

// closeTimeout bounds how long Close tries to send what is buffered and,
// after a DISCONNECT, waits for the broker to close its side.
const closeTimeout = time.Second

// Close implements net.Conn: it sends what is buffered, waits for the
// broker after a DISCONNECT (awaitPeerClose), then closes. A send already
// blocked (a broker that stopped reading: paho closes the connection when
// its pings go unanswered) ends at the same deadline, so Close never waits
// for long. Later calls return the first one's result.
func (c *bufferedConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		deadline := time.Now().Add(closeTimeout)
		_ = c.Conn.SetWriteDeadline(deadline)
		if c.flush() == nil && c.disconnecting.Load() {
			c.awaitPeerClose(deadline)
		}
		c.closeErr = c.Conn.Close()
	})
	return c.closeErr
}

// awaitPeerClose half-closes the connection and waits, until deadline, for
// the broker to close its side, which paho's reader sees as a failed Read.
// A broker handles a connection's packets in order and closes it on
// DISCONNECT, so once it has, it has taken every PUBACK sent before.
//
// Without the wait, a subscriber started again at once with the same
// client id can take over the session while the broker still holds
// unread PUBACKs of the old connection: Mosquitto reads one packet of a
// connection per turn of its loop and drops the rest when a new
// connection takes the client id, then delivers those messages again.
func (c *bufferedConn) awaitPeerClose(deadline time.Time) {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-c.readEnd:
	case <-t.C:
	}
}

// dialBuffered is paho's OpenConnectionFunc for the brokers it can dial
// (see dialsBuffered): it dials with the options' dialer (the connect
// timeout) and, for a TLS scheme, the options' TLS config, as paho would,
// and buffers the reads and writes. Unlike paho's own dialling it does not
// go through a proxy from the environment (ALL_PROXY).
func dialBuffered(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
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
	return newBufferedConn(conn), nil
}

// tlsSchemes are the URL schemes paho takes for MQTT over TLS.
var tlsSchemes = map[string]bool{"ssl": true, "tls": true, "mqtts": true, "mqtt+ssl": true, "tcps": true}

// dialsBuffered reports whether dialBuffered can open brokerURL: MQTT over
// TCP, plain or TLS. WebSocket and Unix socket brokers are left to paho.
func dialsBuffered(brokerURL string) bool {
	u, err := url.Parse(brokerURL)
	return err == nil && (u.Scheme == "tcp" || u.Scheme == "mqtt" || tlsSchemes[u.Scheme])
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
