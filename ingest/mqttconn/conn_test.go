package mqttconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qiuai/parking/internal/testenv"
)

// testCloseTimeout is the CloseTimeout of the Conns under test.
const testCloseTimeout = time.Second

func TestDials(t *testing.T) {
	for url, want := range map[string]bool{
		"tcp://127.0.0.1:1883":  true,
		"mqtt://broker:1883":    true,
		"ssl://broker:8883":     true,
		"mqtts://broker:8883":   true,
		"tls://broker:8883":     true,
		"ws://broker:9001/mqtt": false,
		"wss://broker/mqtt":     false,
		"unix:///run/mqtt.sock": false,
		"::not a url":           false,
	} {
		if got := Dials(url); got != want {
			t.Errorf("Dials(%q) = %v, want %v", url, got, want)
		}
	}
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestBufferedConnWrites: what is written from several goroutines arrives
// whole and in each writer's order; what is still buffered at Close is
// sent before the connection closes; after the peer is gone a Write fails.
func TestBufferedConnWrites(t *testing.T) {
	raw, peer := tcpPair(t)
	c := NewConn(raw, testCloseTimeout)
	const writers, each = 4, 5000
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(peer) // until Close
		got <- b
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// A packet: its writer, its number, a newline.
				if _, err := fmt.Fprintf(c, "%d %d\n", w, i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	b := <-got
	next := make([]int, writers)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l, "%d %d", &w, &i); err != nil || w < 0 || w >= writers || i != next[w] {
			t.Fatalf("line %q out of order (writer %d expects %d next)", l, w, next[w%writers])
		}
		next[w]++
	}
	if len(lines) != writers*each {
		t.Fatalf("%d lines arrived, want %d", len(lines), writers*each)
	}

	raw2, peer2 := tcpPair(t)
	c2 := NewConn(raw2, testCloseTimeout)
	peer2.Close()
	waitFor(t, "a write to the closed peer to fail", func() bool {
		_, err := c2.Write([]byte("after the peer left\n"))
		return err != nil
	})
	c2.Close()
}

// TestBufferedConnCloseWhilePeerStalls: with a peer that stopped reading,
// writes block once the buffers are full, and Close still returns at once
// (within its flush deadline), ending the blocked writes with an error.
func TestBufferedConnCloseWhilePeerStalls(t *testing.T) {
	raw, _ := tcpPair(t) // the peer never reads
	c := NewConn(raw, testCloseTimeout)
	blocked := make(chan error, 1)
	var writes atomic.Int64
	go func() {
		chunk := make([]byte, 16<<10)
		for {
			if _, err := c.Write(chunk); err != nil {
				blocked <- err
				return
			}
			writes.Add(1)
		}
	}()
	// The socket buffers fill, and the writer blocks: no Write returns.
	waitFor(t, "the writer to block", func() bool {
		n := writes.Load()
		time.Sleep(100 * time.Millisecond)
		return n > 0 && writes.Load() == n
	})
	select {
	case err := <-blocked:
		t.Fatalf("writes to a stalled peer failed before Close: %v", err)
	default:
	}
	start := time.Now()
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still blocked after 5s behind a stalled send")
	}
	if d := time.Since(start); d > 3*testCloseTimeout {
		t.Errorf("Close took %v", d)
	}
	select {
	case <-blocked:
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked writer did not end after Close")
	}
}

// TestBufferedConnCloseAfterDisconnect: after a DISCONNECT, Close
// half-closes and returns only once the peer has closed its side (the
// broker has read everything), bounded by testCloseTimeout when the peer never
// does; without a DISCONNECT (a connection given up) it closes at once.
// Over plain TCP and TLS.
func TestBufferedConnCloseAfterDisconnect(t *testing.T) {
	const peerDelay = 200 * time.Millisecond
	tests := []struct {
		name        string
		last        []byte // written last, before Close
		peerCloses  bool   // the peer closes peerDelay after reading to the end
		minDuration time.Duration
		maxDuration time.Duration
	}{
		{"DISCONNECT: waits for the peer", []byte{0xe0, 0}, true, peerDelay, testCloseTimeout - 100*time.Millisecond},
		{"DISCONNECT, peer stays: gives up at the deadline", []byte{0xe0, 0}, false, testCloseTimeout - 50*time.Millisecond, 3 * testCloseTimeout},
		{"no DISCONNECT: closes at once", []byte{0x40, 2, 0, 9}, false, 0, testCloseTimeout / 2},
	}
	for _, tc := range tests {
		for transport, pair := range map[string]func(*testing.T) (net.Conn, net.Conn){"tcp": tcpPair, "tls": tlsPair} {
			t.Run(transport+": "+tc.name, func(t *testing.T) {
				raw, peer := pair(t)
				c := NewConn(raw, testCloseTimeout)
				go io.Copy(io.Discard, c) // paho's reader: it sees the peer close
				got := make(chan []byte, 1)
				go func() {
					var b []byte
					buf := make([]byte, 64)
					for {
						n, err := peer.Read(buf)
						b = append(b, buf[:n]...)
						if err != nil { // the half-close, or Close
							break
						}
					}
					got <- b
					if tc.peerCloses {
						time.Sleep(peerDelay) // a broker slow to close: what Close must wait for
						peer.Close()
					}
				}()
				want := append([]byte{0x40, 2, 0, 1}, tc.last...)
				for _, p := range [][]byte{want[:4], tc.last} {
					if _, err := c.Write(p); err != nil {
						t.Fatal(err)
					}
				}
				start := time.Now()
				c.Close()
				d := time.Since(start)
				if d < tc.minDuration || d > tc.maxDuration {
					t.Errorf("Close took %v, want %v to %v", d, tc.minDuration, tc.maxDuration)
				}
				if b := <-got; string(b) != string(want) {
					t.Errorf("the peer read % x, want % x", b, want)
				}
			})
		}
	}
}

// tlsPair returns both ends of a loopback TLS connection, its handshake
// done, with the certificates of a throwaway PKI.
func tlsPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	pki := testenv.NewPKI(t)
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	rawClient, rawServer := tcpPair(t)
	tc := tls.Client(rawClient, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	ts := tls.Server(rawServer, &tls.Config{Certificates: []tls.Certificate{cert}})
	errs := make(chan error, 1)
	go func() { errs <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return tc, ts
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
