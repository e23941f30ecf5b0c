package httpapi

import (
	"log"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The HTTP server's own errors (accept failures, TLS handshakes, bad
// connections) go to the service's log at WARN, rate-limited: at the
// file-descriptor limit, net/http retries a failed accept every 5 ms to 1
// s and logs each failure, so an accept storm would otherwise write a
// line for every connection a client opens. Each kind of error (the
// line's first three words, as "http: Accept error:") is logged at once,
// then at most once every errorLogEvery with the count of the lines left
// out meanwhile ("suppressed").

// errorLogEvery is how often a kind of server error is logged at most.
const errorLogEvery = time.Second

// newServerErrorLog returns the http.Server ErrorLog that writes to l as
// above.
func newServerErrorLog(l *slog.Logger) *log.Logger {
	return log.New(&limitedLog{log: l, every: errorLogEvery, kinds: map[string]*logKind{}}, "", 0)
}

// limitedLog is the writer behind newServerErrorLog.
type limitedLog struct {
	log   *slog.Logger
	every time.Duration

	mu    sync.Mutex
	kinds map[string]*logKind // of the kinds logged in the last interval
}

// logKind is one kind of error within an interval after it was logged.
type logKind struct {
	suppressed int    // lines left out since
	last       string // the last of them
}

// Write logs one line of the server's, or counts it if its kind was logged
// less than every ago; a timer logs the count at the end of the interval.
func (l *limitedLog) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	kind := errorKind(line)
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.kinds[kind]; ok {
		k.suppressed++
		k.last = line
		return len(p), nil
	}
	l.kinds[kind] = &logKind{}
	l.log.Warn(line)
	time.AfterFunc(l.every, func() { l.flush(kind) })
	return len(p), nil
}

// flush ends an interval of kind: it logs the last line left out with
// their count and starts another interval, or forgets the kind if none
// was.
func (l *limitedLog) flush(kind string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.kinds[kind]
	if k.suppressed == 0 {
		delete(l.kinds, kind)
		return
	}
	l.log.Warn(k.last, "suppressed", k.suppressed, "over", l.every.String())
	k.suppressed, k.last = 0, ""
	time.AfterFunc(l.every, func() { l.flush(kind) })
}

// errorKind is the kind of a server error line: its first three words.
func errorKind(line string) string {
	f := strings.Fields(line)
	return strings.Join(f[:min(3, len(f))], " ")
}
