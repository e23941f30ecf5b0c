package main

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// tileServer serves 256-pixel XYZ tiles it draws itself (a street grid,
// tinted by zoom level, each tile framed) at /{z}/{x}/{y}.png, and records
// every tile asked for.
type tileServer struct {
	*httptest.Server
	mu    sync.Mutex
	asked map[string]int // "z/x/y" -> times
	pngs  sync.Map       // "z/x/y" -> []byte
}

func startTileServer(t *testing.T) *tileServer {
	t.Helper()
	ts := &tileServer{asked: map[string]int{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tileServer) serve(w http.ResponseWriter, r *http.Request) {
	var z, x, y int
	if n, _ := fmt.Sscanf(r.URL.Path, "/%d/%d/%d.png", &z, &x, &y); n != 3 || z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		http.NotFound(w, r)
		return
	}
	key := fmt.Sprintf("%d/%d/%d", z, x, y)
	ts.mu.Lock()
	ts.asked[key]++
	ts.mu.Unlock()
	b, ok := ts.pngs.Load(key)
	if !ok {
		b = drawTile(z, x, y)
		ts.pngs.Store(key, b)
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b.([]byte))
}

// drawTile draws one tile: streets every 64 pixels of the world at that
// zoom (so they continue across tiles), a frame, a tint per zoom level.
func drawTile(z, x, y int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	bg := color.RGBA{236 - uint8(z%3)*8, 234, 224 + uint8(z%2)*10, 255}
	street, frame := color.RGBA{255, 255, 255, 255}, color.RGBA{190, 186, 175, 255}
	for py := range 256 {
		for px := range 256 {
			c := bg
			if (px+x*256)%64 < 5 || (py+y*256)%64 < 5 {
				c = street
			}
			if px == 0 || py == 0 {
				c = frame
			}
			img.SetRGBA(px, py, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

// tilesAt returns the tiles asked for at zoom z.
func (ts *tileServer) tilesAt(z int) map[string]bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := map[string]bool{}
	for k := range ts.asked {
		if strings.HasPrefix(k, fmt.Sprint(z)+"/") {
			out[k] = true
		}
	}
	return out
}

// worldPixel is a position's pixel in the 256·2^z-pixel Web Mercator world.
func worldPixel(lat, lon float64, z int) (float64, float64) {
	s := math.Sin(lat * math.Pi / 180)
	n := 256 * math.Exp2(float64(z))
	return (lon + 180) / 360 * n, (0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * n
}

// flakyProxy stands between the browser and parkd as a phone's network
// does: it passes connections through, or cuts every open one (the radio
// lost), answers 503 to everything (a proxy or gateway while the service
// is away), or drops every new connection (no network at all).
type flakyProxy struct {
	ln     net.Listener
	target string
	URL    string

	mu      sync.Mutex
	mode    string // "", "503" or "down"
	conns   map[net.Conn]bool
	refused []string // request lines answered 503
}

func startFlakyProxy(t *testing.T, targetURL string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: strings.TrimPrefix(targetURL, "http://"), URL: "http://" + ln.Addr().String(), conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *flakyProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *flakyProxy) handle(c net.Conn) {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	switch mode {
	case "down":
		c.Close()
	case "503":
		defer c.Close()
		r := bufio.NewReader(c)
		line, _ := r.ReadString('\n')
		for l := line; l != "\r\n" && l != ""; {
			l, _ = r.ReadString('\n')
		}
		p.mu.Lock()
		p.refused = append(p.refused, strings.TrimSpace(line))
		p.mu.Unlock()
		_, _ = io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	default:
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			return
		}
		p.track(c, up)
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		_, _ = io.Copy(c, up)
		c.Close()
	}
}

func (p *flakyProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = true
	}
}

// set switches the mode ("" passes, "503", "down").
func (p *flakyProxy) set(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
}

// cut closes every connection passed through so far.
func (p *flakyProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// refusedLines returns the request lines answered 503 so far.
func (p *flakyProxy) refusedLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.refused...)
}
