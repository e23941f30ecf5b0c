package mqttconn

import (
	"bufio"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// readBufferSize is the read buffer of a connection to the broker.
const readBufferSize = 64 << 10

// writeBufferMax is how much a bufferedConn holds of writes not yet sent
// before a Write sends them itself.
const writeBufferMax = 64 << 10

// Conn is a net.Conn whose reads go through a buffer and whose writes are
// coalesced (see the package doc for why).
//
// Reads: one read system call takes in many messages.
//
// Writes: Write only appends to a buffer and wakes a flusher goroutine,
// which sends what has gathered in one call: while one call is on its way,
// the acknowledgements that come meanwhile gather behind it. Nothing waits
// for a timer, so an idle connection sends each packet at once (the
// flusher yields once before sending). A write error closes the
// connection, so that paho's reader sees it and reconnects, and is
// returned by the following Writes.
//
// Close sends what is buffered first, and after a DISCONNECT it waits for
// the broker to close its side (see awaitPeerClose).
type Conn struct {
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
	closeTimeout  time.Duration
}

// NewConn returns conn with buffered reads and coalesced writes. Close
// tries for at most closeTimeout to send what is buffered and, after a
// DISCONNECT, to hear the broker close its side.
func NewConn(conn net.Conn, closeTimeout time.Duration) *Conn {
	c := &Conn{Conn: conn, r: bufio.NewReaderSize(conn, readBufferSize), closeTimeout: closeTimeout,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), readEnd: make(chan struct{})}
	go c.flusher()
	return c
}

// Read implements net.Conn. A failed read (the broker closed the
// connection, or Close did) is noted for awaitPeerClose.
func (c *Conn) Read(p []byte) (int, error) {
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
func (c *Conn) Write(p []byte) (int, error) {
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
func (c *Conn) flusher() {
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
func (c *Conn) flush() error {
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

// Close implements net.Conn: it sends what is buffered, waits for the
// broker after a DISCONNECT (awaitPeerClose), then closes. A send already
// blocked (a broker that stopped reading: paho closes the connection when
// its pings go unanswered) ends at the same deadline, so Close never waits
// for long. Later calls return the first one's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		deadline := time.Now().Add(c.closeTimeout)
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
// Without the wait, a subscriber started again at once with the same
// client id could find PUBACKs of this connection unread (see the package
// doc).
func (c *Conn) awaitPeerClose(deadline time.Time) {
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
