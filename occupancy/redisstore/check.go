package redisstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/qiuai/parking/occupancy"
)

// CheckReport is what Check found, ready to print as JSON.
type CheckReport struct {
	// Zones is how many zones were checked.
	Zones int `json:"zones"`
	// Spaces is how many registry spaces were checked.
	Spaces int `json:"spaces"`
	// Drift lists every difference between the zones' indexes and counters
	// and their spaces' states, sorted by zone, kind and what.
	Drift []Drift `json:"drift"`
	// Repaired is true when Check was asked to repair.
	Repaired bool `json:"repaired"`
}

// Drift is one difference found by Check.
type Drift struct {
	// Zone is the zone's id.
	Zone string `json:"zone"`
	// Kind says what drifted: one of the Drift* constants.
	Kind string `json:"kind"`
	// What names the counter (total, free, …) or the space id.
	What string `json:"what"`
	// Expected is what the spaces' states imply; Found is what Redis held.
	Expected string `json:"expected"`
	Found    string `json:"found"`
	// Fixed is true when the repair corrected it. Some kinds are only
	// reported (DriftUnregistered, DriftBadState).
	Fixed bool `json:"fixed"`
}

// The kinds of drift Check reports.
const (
	// DriftCounter: a zone counter differs from the count of its spaces.
	DriftCounter = "counter"
	// DriftFreeSet: a free geo set (named in Expected/Found as
	// "free:KIND") lacks a free space or holds a space that is not free or
	// not of that kind.
	DriftFreeSet = "free_set"
	// DriftFreeSetPosition: a free space is in its geo set at a point more
	// than about a metre from its registry coordinates (Expected and Found
	// are "lon,lat").
	DriftFreeSetPosition = "free_set_position"
	// DriftMissing: a registry space has no stored state (repair adds it as
	// unknown).
	DriftMissing = "missing_state"
	// DriftUnregistered: a stored state belongs to no registry space of the
	// zone. Reported only: its indexes entries are removed by repair, the
	// state itself is kept for an operator to look at.
	DriftUnregistered = "unregistered_state"
	// DriftBadState: a stored state does not parse. Reported only; it counts
	// as unknown.
	DriftBadState = "bad_state"
	// DriftClosure: a space of a closure (its own or its zone's) is not
	// closed (repair closes it), or a closed space has no closure (repair
	// makes it unknown until its sensor's next reading).
	DriftClosure = "closure"
)

// Unfixed returns how many drift items remain: all of them without repair,
// the report-only kinds with it.
func (r CheckReport) Unfixed() int {
	n := 0
	for _, d := range r.Drift {
		if !d.Fixed {
			n++
		}
	}
	return n
}

// Check recomputes every zone's counters and free geo sets from the zone's space states and reports where they differ. With repair
// it also corrects them, and stores missing registry spaces as unknown.
// Each zone is checked (and repaired) by one atomic script, so Check is safe
// while readings are being applied; zones are checked one after the other.
// The error is EINTERNAL (Redis).
func (s *Store) Check(ctx context.Context, repair bool) (CheckReport, error) {
	rep := CheckReport{Drift: []Drift{}, Repaired: repair}
	for _, z := range s.reg.Zones() {
		items, err := s.checkZone(ctx, z.ID, repair)
		if err != nil {
			return rep, err
		}
		rep.Zones++
		rep.Spaces += len(s.reg.SpacesInZone(z.ID))
		rep.Drift = append(rep.Drift, items...)
	}
	if n := len(rep.Drift); n > 0 {
		s.opts.Logger.Warn("consistency check found drift", "items", n, "repair", repair, "unfixed", rep.Unfixed())
	}
	return rep, nil
}

// checkZone runs checkScript on one zone and decodes its answer.
func (s *Store) checkZone(ctx context.Context, zoneID string, repair bool) ([]Drift, error) {
	k := s.zones[zoneID]
	keys := append(append([]string{k.states, k.counters}, k.freeAll...), k.closures())
	flag := "0"
	if repair {
		flag = "1"
	}
	args := []any{flag, strconv.FormatInt(s.opts.Now().UnixMilli(), 10)}
	for _, sp := range s.reg.SpacesInZone(zoneID) {
		args = append(args, sp.ID, strconv.Itoa(slices.Index(occupancy.Kinds, sp.Kind)+1),
			strconv.FormatFloat(sp.Lon, 'f', -1, 64), strconv.FormatFloat(sp.Lat, 'f', -1, 64))
	}
	res, err := checkScript.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis store: check zone %s: %w", zoneID, err)
	}
	items := make([]Drift, 0, len(res)/5)
	for i := 0; i+4 < len(res); i += 5 {
		items = append(items, Drift{Zone: zoneID, Kind: res[i], What: res[i+1],
			Expected: res[i+2], Found: res[i+3], Fixed: res[i+4] == "1"})
	}
	slices.SortFunc(items, func(a, b Drift) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.What+a.Expected, b.What+b.Expected)
	})
	return items, nil
}

// checkScript checks (and with ARGV[1] = 1 repairs) one zone.
//
// KEYS: 1 states hash, 2 counters hash, 3.. the zone's free geo sets in
// occupancy.Kinds order, last the closures hash. ARGV: 1 repair (1|0), 2 now_ms,
// then per registry space of the zone: id, kind (1-based index into the
// free sets), lon, lat. Returns drift items flattened as kind, what,
// expected, found, fixed (1|0).
var checkScript = redis.NewScript(luaCommon + `
local repair = ARGV[1] == '1'
local fixed = '0'
if repair then fixed = '1' end
local out = {}
local function drift(kind, what, expected, found, fix)
  for _, v in ipairs({kind, what, expected, found, fix}) do out[#out + 1] = v end
end
local nsets = #KEYS - 3
local closures = {}
local cl = redis.call('HKEYS', KEYS[#KEYS])
for _, target in ipairs(cl) do closures[target] = true end
local states = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do states[all[i]] = all[i + 1] end
local sets = {}
for j = 1, nsets do
  sets[j] = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2 + j], 0, -1)) do sets[j][id] = true end
end
local counts = {total = 0, free = 0, occupied = 0, unknown = 0, closed = 0}
local registered = {}
for i = 3, #ARGV, 4 do
  local id, kind, lon, lat = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  registered[id] = true
  local cur = states[id]
  if not cur then
    drift('missing_state', id, 'u||||||', '', fixed)
    if repair then redis.call('HSET', KEYS[1], id, 'u||||||') end
    cur = 'u||||||'
  end
  local t = parse(cur)
  if not names[t[1]] then
    drift('bad_state', id, 'status f, o, u or c', cur, '0')
    t[1] = 'u'
  end
  local closed = closures['*'] or closures[id]
  if (closed and t[1] ~= 'c') or (t[1] == 'c' and not closed) then
    local to = 'u'
    if closed then to = 'c' end
    drift('closure', id, names[to], names[t[1]], fixed)
    if repair then
      t[1], t[3] = to, ARGV[2]
      redis.call('HSET', KEYS[1], id, table.concat(t, '|', 1, 12))
    end
  end
  counts.total = counts.total + 1
  counts[names[t[1]]] = counts[names[t[1]]] + 1
  for j = 1, nsets do
    local want = t[1] == 'f' and j == kind
    local has = sets[j][id] == true
    local key = string.match(KEYS[2 + j], 'free:.*$')
    if want and not has then
      drift('free_set', id, key, '', fixed)
      if repair then redis.call('GEOADD', KEYS[2 + j], lon, lat, id) end
    elseif has and not want then
      drift('free_set', id, '', key, fixed)
      if repair then redis.call('ZREM', KEYS[2 + j], id) end
    elseif has then
      local pos = redis.call('GEOPOS', KEYS[2 + j], id)[1]
      if not pos or math.abs(tonumber(pos[1]) - tonumber(lon)) > 1e-5 or math.abs(tonumber(pos[2]) - tonumber(lat)) > 1e-5 then
        local found = ''
        if pos then found = pos[1] .. ',' .. pos[2] end
        drift('free_set_position', id, lon .. ',' .. lat, found, fixed)
        if repair then redis.call('GEOADD', KEYS[2 + j], lon, lat, id) end
      end
    end
  end
end
for id, v in pairs(states) do
  if not registered[id] then drift('unregistered_state', id, '', v, '0') end
end
local function unregistered(id) return not registered[id] end
for j = 1, nsets do
  for id in pairs(sets[j]) do
    if unregistered(id) then
      drift('free_set', id, '', string.match(KEYS[2 + j], 'free:.*$'), fixed)
      if repair then redis.call('ZREM', KEYS[2 + j], id) end
    end
  end
end
local changed = false
for _, f in ipairs({'total', 'free', 'occupied', 'unknown', 'closed'}) do
  local found = redis.call('HGET', KEYS[2], f)
  if tonumber(found) ~= counts[f] then
    drift('counter', f, tostring(counts[f]), found or '', fixed)
    if repair then redis.call('HSET', KEYS[2], f, counts[f]); changed = true end
  end
end
if changed then
  redis.call('HSET', KEYS[2], 'updated', ARGV[2])
  relevel(KEYS[2])
end
return out
`)
