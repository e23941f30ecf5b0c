package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Timeout is how long Verify retries until everything matches. Default 30s.
	Timeout time.Duration
	// Interval is the pause between attempts. Default 1s.
	Interval time.Duration
	// MaxListed caps the mismatches and counter problems listed in the
	// report (all are counted). Default 20.
	MaxListed int
	// Client makes the HTTP requests. Default: a client with a 10s timeout.
	Client *http.Client
	// Logger receives one line per failed attempt. Default: discard.
	Logger *slog.Logger
}

func (o *VerifyOptions) ensureDefaults() {
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.MaxListed == 0 {
		o.MaxListed = 20
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Mismatch is a space whose status in the API differs from the truth.
type Mismatch struct {
	SpaceID  string
	Want     occupancy.Status // from the truth; "" if the space is not in it
	Got      occupancy.Status // from the API; "" if the API did not list it
	Expected Expected
}

// Report is the outcome of Verify's last attempt.
type Report struct {
	Complete    bool // the last attempt read every page, the zones and the summary
	Spaces      int  // spaces in the truth
	Listed      int  // spaces the API listed
	Matched     int
	Mismatched  int // listed with another status than the truth's
	Missing     int // in the truth, not listed by the API
	Extra       int // listed by the API, not in the truth
	CounterErrs int // zone or summary counters that do not add up
	Mismatches  []Mismatch
	Counters    []string // what did not add up
	Attempts    int
	Elapsed     time.Duration
}

// OK reports whether the API was read, every space matched and every
// counter added up.
func (r *Report) OK() bool {
	return r.Complete && r.Matched == r.Spaces && r.Mismatched == 0 && r.Missing == 0 &&
		r.Extra == 0 && r.CounterErrs == 0
}

// String summarises the report on one line.
func (r *Report) String() string {
	verdict := "OK"
	switch {
	case !r.Complete:
		verdict = "FAILED (API not read)"
	case !r.OK():
		verdict = "FAILED"
	}
	return fmt.Sprintf("verify %s: %d spaces, %d matched, %d mismatched, %d missing, %d extra, "+
		"%d counter errors (%d attempts, %s)", verdict, r.Spaces, r.Matched, r.Mismatched, r.Missing,
		r.Extra, r.CounterErrs, r.Attempts, r.Elapsed.Round(time.Millisecond))
}

// Verify compares the service at apiURL (e.g. http://127.0.0.1:8080) with
// the truth: every space's status must be the truth's (occupied or free
// after its newest reading, unknown if it never sent one), each zone's
// counters must add up and equal its spaces' statuses, and the zones must
// add up to the summary. It retries until everything matches or
// opts.Timeout passes, and reports the last attempt. The error is non-nil
// only when the last attempt could not read the API.
func Verify(ctx context.Context, apiURL string, truth map[string]Expected, opts VerifyOptions) (Report, error) {
	opts.ensureDefaults()
	c := &apiClient{base: apiBase(apiURL), http: opts.Client}
	start := time.Now()
	deadline := start.Add(opts.Timeout)
	for attempt := 1; ; attempt++ {
		rep, err := verifyOnce(ctx, c, truth, opts.MaxListed)
		rep.Attempts, rep.Elapsed = attempt, time.Since(start)
		if err == nil && rep.OK() {
			return rep, nil
		}
		if err == nil {
			opts.Logger.Info("verify: not yet", "attempt", attempt, "report", rep.String())
		} else {
			opts.Logger.Warn("verify: reading the API failed", "attempt", attempt, "err", err)
		}
		if time.Now().Add(opts.Interval).After(deadline) || sleep(ctx, opts.Interval) != nil {
			return rep, err
		}
	}
}

// apiBase turns a user's API address into the base the paths follow.
func apiBase(u string) string {
	u = strings.TrimRight(u, "/")
	return strings.TrimSuffix(u, "/api/v1")
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// verifyOnce reads every space, the zones and the summary once and
// compares them.
func verifyOnce(ctx context.Context, c *apiClient, truth map[string]Expected, maxListed int) (Report, error) {
	rep := Report{Spaces: len(truth)}
	spaces, err := c.spaces(ctx)
	if err != nil {
		return rep, err
	}
	zones, err := c.zones(ctx)
	if err != nil {
		return rep, err
	}
	sum, err := c.summary(ctx)
	if err != nil {
		return rep, err
	}
	rep.Complete, rep.Listed = true, len(spaces)
	compareSpaces(&rep, spaces, truth, maxListed)
	checkCounters(&rep, spaces, zones, sum, maxListed)
	return rep, nil
}

// compareSpaces compares each listed space and each truth entry.
func compareSpaces(rep *Report, spaces []apiSpace, truth map[string]Expected, maxListed int) {
	add := func(m Mismatch) {
		if len(rep.Mismatches) < maxListed {
			rep.Mismatches = append(rep.Mismatches, m)
		}
	}
	seen := make(map[string]bool, len(spaces))
	for _, sp := range spaces {
		seen[sp.ID] = true
		exp, ok := truth[sp.ID]
		switch {
		case !ok:
			rep.Extra++
			add(Mismatch{SpaceID: sp.ID, Got: sp.Status})
		case exp.Status() != sp.Status:
			rep.Mismatched++
			add(Mismatch{SpaceID: sp.ID, Want: exp.Status(), Got: sp.Status, Expected: exp})
		default:
			rep.Matched++
		}
	}
	ids := make([]string, 0, len(truth))
	for id := range truth {
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		rep.Missing++
		add(Mismatch{SpaceID: id, Want: truth[id].Status(), Expected: truth[id]})
	}
}

// checkCounters checks that each zone's counters add up to its total and
// equal the statuses of its listed spaces, and that the zones add up to
// the summary.
func checkCounters(rep *Report, spaces []apiSpace, zones []apiZone, sum occupancy.Counts, maxListed int) {
	bad := func(format string, args ...any) {
		rep.CounterErrs++
		if len(rep.Counters) < maxListed {
			rep.Counters = append(rep.Counters, fmt.Sprintf(format, args...))
		}
	}
	fromSpaces := map[string]*occupancy.Counts{}
	for _, sp := range spaces {
		c := fromSpaces[sp.ZoneID]
		if c == nil {
			c = &occupancy.Counts{}
			fromSpaces[sp.ZoneID] = c
		}
		c.Count(sp.Status)
	}
	var total occupancy.Counts
	for _, z := range zones {
		if z.Free+z.Occupied+z.Unknown+z.Closed != z.Total {
			bad("zone %s: free+occupied+unknown+closed = %d, total = %d", z.ID, z.Free+z.Occupied+z.Unknown+z.Closed, z.Total)
		}
		want := occupancy.Counts{}
		if c := fromSpaces[z.ID]; c != nil {
			want = *c
		}
		if z.Counts != want {
			bad("zone %s: counters %+v, its spaces say %+v", z.ID, z.Counts, want)
		}
		delete(fromSpaces, z.ID)
		total.Add(z.Counts)
	}
	for id := range fromSpaces {
		bad("zone %s has spaces but is not in /api/v1/zones", id)
	}
	if total != sum {
		bad("summary %+v, the zones add up to %+v", sum, total)
	}
}

// apiSpace, apiZone and apiPage are the parts of the API's answers that
// Verify reads.
type apiSpace struct {
	ID     string           `json:"id"`
	ZoneID string           `json:"zone_id"`
	Status occupancy.Status `json:"status"`
}

type apiZone struct {
	ID string `json:"id"`
	occupancy.Counts
}

type apiPage struct {
	Spaces     []apiSpace `json:"spaces"`
	NextCursor *string    `json:"next_cursor"`
}

// apiClient reads the service's public API.
type apiClient struct {
	base string
	http *http.Client
}

// spaces pages through GET /api/v1/spaces.
func (c *apiClient) spaces(ctx context.Context) ([]apiSpace, error) {
	var all []apiSpace
	cursor := ""
	for {
		q := url.Values{"limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page apiPage
		if err := c.get(ctx, "/api/v1/spaces?"+q.Encode(), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Spaces...)
		if page.NextCursor == nil || *page.NextCursor == "" || len(page.Spaces) == 0 {
			return all, nil
		}
		if *page.NextCursor == cursor {
			return nil, fmt.Errorf("verify: /api/v1/spaces returned the same cursor %q twice", cursor)
		}
		cursor = *page.NextCursor
	}
}

// zones reads GET /api/v1/zones.
func (c *apiClient) zones(ctx context.Context) ([]apiZone, error) {
	var doc struct {
		Zones []apiZone `json:"zones"`
	}
	err := c.get(ctx, "/api/v1/zones", &doc)
	return doc.Zones, err
}

// summary reads GET /api/v1/summary.
func (c *apiClient) summary(ctx context.Context) (occupancy.Counts, error) {
	var sum occupancy.Counts
	err := c.get(ctx, "/api/v1/summary", &sum)
	return sum, err
}

// get decodes the JSON answer of a GET that must return 200.
func (c *apiClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("verify: GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("verify: GET %s: decode: %w", path, err)
	}
	return nil
}
