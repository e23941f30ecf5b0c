package jobs

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/qiuai/parking/occupancy"
)

// IncidentStore is what the incident detector reads and writes.
// *redisstore.Store implements it.
type IncidentStore interface {
	// States returns the states of registry spaces, in the same order.
	States(ctx context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error)
	// SensorChanges returns a zone's occupancy changes by sensor at or
	// after since, after the feed position after ("": the last hour), and
	// the position read up to; trimmed when the feed was trimmed past
	// after.
	SensorChanges(ctx context.Context, zoneID, after string, since time.Time) (changes []occupancy.SensorChange, last string, trimmed bool, err error)
	// ActiveConditions returns a zone's conditions that have an incident
	// (occupancy.ConditionKey -> incident id).
	ActiveConditions(ctx context.Context, zoneID string) (map[string]string, error)
	// OpenIncidents opens incidents of one zone, each unless its condition
	// has one, and returns those it opened.
	OpenIncidents(ctx context.Context, zoneID string, incs []occupancy.Incident) ([]occupancy.Incident, error)
	// ClearCondition forgets a condition that no longer holds and resolves
	// its incident unless staff did; it reports whether it resolved it.
	ClearCondition(ctx context.Context, zoneID, key, id string) (bool, error)
	// PruneIncidents deletes the incidents resolved before cutoff.
	PruneIncidents(ctx context.Context, cutoff time.Time) (int, error)
}

// DetectorOptions configure a Detector.
type DetectorOptions struct {
	// Store holds the states and incidents. Required.
	Store IncidentStore
	// Registry lists the zones and spaces. Required.
	Registry *occupancy.Registry
	// Rules decide the conditions (occupancy.HealthRules.Conditions).
	// Default: the rules' defaults.
	Rules occupancy.HealthRules
	// Interval is how often Run makes a pass: an incident opens at most
	// this long after its condition starts and resolves itself at most
	// this long after it clears. Default DetectInterval.
	Interval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives what each pass opened and resolved. Default: discard.
	Logger *slog.Logger
}

// DetectInterval is the default pause between two passes of the detector.
const DetectInterval = 30 * time.Second

// Detector opens an incident for each condition of a sensor or space
// (overstay, offline, low battery, flapping) and resolves it when the
// condition clears. A condition opens at most one incident however many
// instances detect it at once (the store opens it only if it has none).
type Detector struct {
	opts    DetectorOptions
	log     *slog.Logger
	changes changeLog
}

// NewDetector returns a Detector. It panics without Store or Registry (a
// wiring bug).
func NewDetector(opts DetectorOptions) *Detector {
	if opts.Store == nil || opts.Registry == nil {
		panic("jobs: DetectorOptions.Store and Registry are required")
	}
	opts.Rules = opts.Rules.WithDefaults()
	if opts.Interval <= 0 {
		opts.Interval = DetectInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Detector{opts: opts, log: orDiscard(opts.Logger).With("component", "detector"),
		changes: changeLog{zones: map[string]*zoneChanges{}}}
}

// Result counts what one pass did.
type Result struct {
	Opened   []occupancy.Incident // incidents opened in this pass
	Resolved []string             // ids resolved because their condition cleared
}

// Run makes a pass every Interval until ctx is done, each spread over
// about half the interval (a pause between zones), so a storm of
// conditions comes as small bursts of work beside the API's requests; once
// an hour it deletes incidents resolved longer than
// occupancy.IncidentRetention ago. It returns nil.
func (d *Detector) Run(ctx context.Context) error {
	var pruned time.Time
	pause := d.opts.Interval / 2 / time.Duration(max(len(d.opts.Registry.Zones()), 1))
	every(ctx, d.opts.Interval, func() {
		if now := d.opts.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if n, err := d.opts.Store.PruneIncidents(ctx, now.Add(-occupancy.IncidentRetention)); err != nil {
				d.log.Warn("incident pruning failed", "err", err)
			} else if n > 0 {
				d.log.Info("old resolved incidents deleted", "count", n)
			}
		}
		res, err := d.pass(ctx, pause)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("incident detection failed", "err", err)
		}
		for _, inc := range res.Opened {
			d.log.Info("incident opened", "id", inc.ID, "type", inc.Type, "space", inc.SpaceID)
		}
		for _, id := range res.Resolved {
			d.log.Info("incident resolved: condition cleared", "id", id)
		}
	})
	return nil
}

// Detect makes one pass over every zone at once.
func (d *Detector) Detect(ctx context.Context) (Result, error) { return d.pass(ctx, 0) }

// pass makes one pass over every zone, pausing pause between zones.
func (d *Detector) pass(ctx context.Context, pause time.Duration) (Result, error) {
	var res Result
	for i, z := range d.opts.Registry.Zones() {
		if i > 0 && pause > 0 && !sleep(ctx, pause) {
			return res, ctx.Err()
		}
		if err := d.zone(ctx, z.ID, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// zone makes the pass of one zone: it clears the active conditions that no
// longer hold and opens incidents for the new ones.
func (d *Detector) zone(ctx context.Context, zoneID string, res *Result) error {
	st := d.opts.Store
	active, err := st.ActiveConditions(ctx, zoneID)
	if err != nil {
		return err
	}
	holds, err := d.conditions(ctx, zoneID)
	if err != nil {
		return err
	}
	for key, id := range active {
		_, _, start, ok := occupancy.ParseIncidentID(id)
		if h, held := holds[key]; ok && held && occupancy.SameCondition(h.Condition, start) {
			delete(holds, key) // still holds: its incident stays as it is
			continue
		}
		resolved, err := st.ClearCondition(ctx, zoneID, key, id)
		if err != nil {
			return err
		}
		if resolved {
			res.Resolved = append(res.Resolved, id)
		}
	}
	now := d.opts.Now().UTC()
	var open []occupancy.Incident
	for key, c := range holds {
		if _, ok := active[key]; ok {
			continue // cleared above; it opens again (as a new incident) on the next pass
		}
		open = append(open, occupancy.Incident{ID: occupancy.IncidentID(c.Type, c.spaceID, c.Start), Type: c.Type,
			SpaceID: c.spaceID, ZoneID: zoneID, Status: occupancy.IncidentOpen, Detail: c.Detail,
			OpenedAt: now, Start: c.Start.UTC()})
	}
	sort.Slice(open, func(i, j int) bool { return open[i].ID < open[j].ID })
	opened, err := st.OpenIncidents(ctx, zoneID, open)
	res.Opened = append(res.Opened, opened...)
	return err
}

// held is a condition that holds at a space.
type held struct {
	occupancy.Condition
	spaceID string
}

// conditions returns the conditions that hold now in a zone, by
// occupancy.ConditionKey: from its spaces' states and their changes in
// the last hour.
func (d *Detector) conditions(ctx context.Context, zoneID string) (map[string]held, error) {
	spaces := d.opts.Registry.SpacesInZone(zoneID)
	states, err := d.opts.Store.States(ctx, spaces)
	if err != nil {
		return nil, err
	}
	changes, err := d.changes.lastHour(ctx, d.opts.Store, d.opts.Registry, zoneID, d.opts.Now())
	if err != nil {
		return nil, err
	}
	now := d.opts.Now()
	holds := map[string]held{}
	for i, sp := range spaces {
		h := occupancy.SensorHealth{State: states[i], ChangesLastHour: changes[sp.ID]}
		for _, c := range d.opts.Rules.Conditions(sp, h, now) {
			holds[occupancy.ConditionKey(c.Type, sp.ID)] = held{c, sp.ID}
		}
	}
	return holds, nil
}
