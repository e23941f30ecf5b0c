package testenv

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// mqttClient is a minimal MQTT 3.1.1 client for testing the broker setups
// here without depending on an MQTT library: QoS 0 and 1, one packet at a
// time.
type mqttClient struct {
	tb     testing.TB
	conn   net.Conn
	r      *bufio.Reader
	nextID uint16
}

// mqttConn describes a connection: empty user means anonymous; a TLS
// config makes it MQTT over TLS.
type mqttConn struct {
	clientID, user, pass string
	clean                bool
	tls                  *tls.Config
}

// dialMQTT connects and returns the client and the CONNACK return code
// (0 accepted, 4 bad user name or password, 5 not authorised).
func dialMQTT(tb testing.TB, addr string, c mqttConn) (*mqttClient, byte) {
	tb.Helper()
	var conn net.Conn
	var err error
	if c.tls != nil {
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, c.tls)
	} else {
		conn, err = net.DialTimeout("tcp", addr, 2*time.Second)
	}
	if err != nil {
		tb.Fatalf("mqtt dial %s: %v", addr, err)
	}
	tb.Cleanup(func() { conn.Close() })
	cl := &mqttClient{tb: tb, conn: conn, r: bufio.NewReader(conn)}
	flags := byte(0)
	if c.clean {
		flags |= 0x02
	}
	payload := mqttString(c.clientID)
	if c.user != "" {
		flags |= 0xC0
		payload = append(append(payload, mqttString(c.user)...), mqttString(c.pass)...)
	}
	body := append(append(mqttString("MQTT"), 4, flags, 0, 30), payload...)
	cl.send(0x10, body)
	typ, ack := cl.read(5 * time.Second)
	if typ != 0x20 || len(ack) != 2 {
		tb.Fatalf("mqtt: expected CONNACK, got type %#x % x", typ, ack)
	}
	return cl, ack[1]
}

// subscribe subscribes to filter at QoS qos and returns the SUBACK code
// (the granted QoS, or 0x80 for a refusal).
func (c *mqttClient) subscribe(filter string, qos byte) byte {
	c.tb.Helper()
	id := c.id()
	body := append(binary.BigEndian.AppendUint16(nil, id), append(mqttString(filter), qos)...)
	c.send(0x82, body)
	typ, ack := c.read(5 * time.Second)
	if typ != 0x90 || len(ack) != 3 || binary.BigEndian.Uint16(ack) != id {
		c.tb.Fatalf("mqtt: expected SUBACK %d, got type %#x % x", id, typ, ack)
	}
	return ack[2]
}

// publish sends a message; at QoS 1 it waits for PUBACK.
func (c *mqttClient) publish(topic, payload string, qos byte) {
	c.tb.Helper()
	c.publishFlags(topic, payload, qos, false)
}

// publishFlags is publish, with the retain flag when retain is set.
func (c *mqttClient) publishFlags(topic, payload string, qos byte, retain bool) {
	c.tb.Helper()
	flags := qos << 1
	if retain {
		flags |= 1
	}
	body := mqttString(topic)
	var id uint16
	if qos > 0 {
		id = c.id()
		body = binary.BigEndian.AppendUint16(body, id)
	}
	c.send(0x30|flags, append(body, payload...))
	if qos == 0 {
		return
	}
	typ, ack := c.read(5 * time.Second)
	if typ != 0x40 || len(ack) != 2 || binary.BigEndian.Uint16(ack) != id {
		c.tb.Fatalf("mqtt: expected PUBACK %d, got type %#x % x", id, typ, ack)
	}
}

// receive waits up to timeout for a PUBLISH, acks it at QoS 1 and returns
// its topic and payload; ok is false on timeout.
func (c *mqttClient) receive(timeout time.Duration) (topic, payload string, ok bool) {
	c.tb.Helper()
	typ, body := c.read(timeout)
	if typ == 0 {
		return "", "", false
	}
	if typ&0xF0 != 0x30 {
		c.tb.Fatalf("mqtt: expected PUBLISH, got type %#x % x", typ, body)
	}
	n := int(binary.BigEndian.Uint16(body))
	topic, rest := string(body[2:2+n]), body[2+n:]
	if qos := (typ >> 1) & 3; qos > 0 {
		c.send(0x40, rest[:2]) // PUBACK with the packet id
		rest = rest[2:]
	}
	return topic, string(rest), true
}

// disconnect sends DISCONNECT and closes the connection.
func (c *mqttClient) disconnect() {
	c.send(0xE0, nil)
	c.conn.Close()
}

func (c *mqttClient) id() uint16 {
	c.nextID++
	return c.nextID
}

// send writes one packet.
func (c *mqttClient) send(typ byte, body []byte) {
	c.tb.Helper()
	pkt := []byte{typ}
	for n := len(body); ; {
		b := byte(n % 128)
		if n /= 128; n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(append(pkt, body...)); err != nil {
		c.tb.Fatalf("mqtt: write: %v", err)
	}
}

// closed reports whether the broker closes the connection within
// timeout, reading and dropping whatever it sends before.
func (c *mqttClient) closed(timeout time.Duration) bool {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, c.r) // to EOF (nil) or a reset: closed
	ne, ok := err.(net.Error)
	return !ok || !ne.Timeout()
}

// read reads one packet; typ 0 means the timeout passed first.
func (c *mqttClient) read(timeout time.Duration) (typ byte, body []byte) {
	c.tb.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	typ, err := c.r.ReadByte()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return 0, nil
	}
	if err != nil {
		c.tb.Fatalf("mqtt: read: %v", err)
	}
	n, mul := 0, 1
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			c.tb.Fatalf("mqtt: read length: %v", err)
		}
		n += int(b&0x7F) * mul
		if b&0x80 == 0 {
			break
		}
		mul *= 128
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.tb.Fatalf("mqtt: read body: %v", err)
	}
	return typ, body
}

// mqttString encodes s with its two-byte length.
func mqttString(s string) []byte {
	if len(s) > 0xFFFF {
		panic(fmt.Sprintf("mqtt string too long: %d", len(s)))
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}
