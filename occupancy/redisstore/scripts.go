package redisstore

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// A space's state is one field of its zone's hash, packed as
//
//	status|occupied|since_ms|seen_ms|ts_us|seq|battery_mv|temp_c|firmware|reset_cause|rssi|snr
//
// status is f, o, u or c; occupied is the sensor's last word (1, 0 or empty);
// since_ms is when the status began; seen_ms is when the sensor was last
// heard (receive time); ts_us and seq are the sensor time and sequence of the
// newest applied reading; battery_mv to snr are the sensor's health, each
// the last value reported. Empty means never. States written before the
// health fields existed have only the first seven fields; parse pads them.
// One hash per zone keeps the
// memory per space small and lets one script see a whole zone.
//
// Numbers are passed in and stored as the strings Go formatted: Lua's
// tostring would print large numbers in exponent form.
//
// move shifts a space between two counters and then relevel recomputes the
// zone's level with hysteresis from the counters and the previous level
// (level.go; occupancy.NextLevel is the same rule in Go): levelOf is that
// rule, nil when the zone has no thresholds (lv).
//
// spaceEvent is the entry of the changes of status of one script call: ids
// the spaces' ids separated by spaces, st their new statuses, one letter
// each, in the order of the changes (a space may appear more than once), at
// ms (Unix ms, or empty when the entry's id says when: eventMS), with the
// zone's counters c after the last of them (total, free, occupied, unknown,
// closed, level; the counts as strings or as Lua numbers, which redis.call
// writes as their digits below 2^53): the fields events.go reads
// (spaceChanges), kept small as a zone's stream holds an hour of changes.
// One entry per call rather than per change: a flood of readings costs one
// XADD per zone call, not one per reading. The unknown count is left out
// (total minus the others) and the level is one letter (lvCodes;
// decodeEvent spells it out).
//
// addEvent appends an entry to a zone's event stream, capped at cap entries
// (approximately), and trimEvents, on one entry in 16 (by the new id's time),
// trims the entries older than eventKeep before it, by the stream's own clock, so the
// stream holds the last eventKeep whatever the injected clock says
// (events.go). Trimming is approximate anyway (whole listpack nodes), and
// the readers of a window filter by time.
var luaCommon = `
local lvCodes = {spacesAvailable = 's', almostFull = 'a', full = 'f', unknown = 'u', closed = 'c'}
local function spaceEvent(ids, st, ms, c)
  local ev = {'t', 'space', 's', ids, 'st', st, 'n', c[1], 'f', c[2], 'o', c[3], 'c', c[5], 'l', lvCodes[c[6]] or c[6] or ''}
  if ms ~= '' then
    ev[#ev + 1] = 'ms'
    ev[#ev + 1] = ms
  end
  return ev
end
local function trimEvents(key, id)
  local ms = tonumber(string.match(id, '^(%d+)'))
  if ms % 16 ~= 0 then return end
  redis.call('XTRIM', key, 'MINID', '~', string.format('%d', ms - ` + strconv.FormatInt(eventKeep.Milliseconds(), 10) + `))
end
local function addEvent(key, cap, ...)
  local id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', ...)
  trimEvents(key, id)
  return id
end
local names = {f = 'free', o = 'occupied', u = 'unknown', c = 'closed'}
local state12 = '^' .. string.rep('([^|]*)|', 11) .. '([^|]*)$'
local function parse(v)
  local t = {string.match(v, state12)}
  if #t == 12 then return t end
  local i = 1
  for f in string.gmatch(v .. '|', '([^|]*)|') do t[i] = f; i = i + 1 end
  for j = i, 12 do t[j] = '' end
  return t
end
local thresholds = {}
local function levelOf(total, free, occ, closed, prev, lvs)
  if not lvs then return nil end
  local th = thresholds[lvs]
  if not th then
    th = {}
    for n in string.gmatch(lvs, '[^,]+') do th[#th + 1] = tonumber(n) end
    thresholds[lvs] = th
  end
  local lv = 'spacesAvailable'
  local open, known = total - closed, free + occ
  if total == 0 then lv = 'unknown'
  elseif open == 0 then lv = 'closed'
  elseif known == 0 or known * 2 < open then lv = 'unknown'
  else
    local p = occ * 100 / known
    if p >= th[3] or (prev == 'full' and p >= th[4]) then lv = 'full'
    elseif p >= th[1] or ((prev == 'almostFull' or prev == 'full') and p >= th[2]) then lv = 'almostFull' end
  end
  return lv
end
local function relevel(counters)
  local v = redis.call('HMGET', counters, 'total', 'free', 'occupied', 'closed', 'level', 'lv')
  local lv = levelOf(tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0, v[5], v[6])
  if lv and lv ~= v[5] then redis.call('HSET', counters, 'level', lv) end
end
local function move(counters, from, to, now)
  redis.call('HINCRBY', counters, names[from], -1)
  redis.call('HINCRBY', counters, names[to], 1)
  redis.call('HSET', counters, 'updated', now)
  relevel(counters)
end
`

// applyScript applies readings of one zone, in their order, under the
// contract's ordering rule: per space, a reading newer than the stored one
// (sensor time, then sequence) applies, an equal one is a duplicate, an
// older one is stale. Readings of the same space in one call see each other
// in order, as if applied one by one.
//
// KEYS: 1 states hash, 2 counters hash, 3 the zone's event stream
// (events.go: a status change appends its space event with the zone's
// counters after it; health.go counts a space's changes in the last hour
// from these events), 4.. the zone's free geo sets (one per kind, in
// occupancy.Kinds order). ARGV: 1 now_ms, 2 the event stream's cap
// (eventCap), 3 the events' ms (empty when their id says when: eventMS),
// then applyFields per reading: space id, occupied (1|0), ts_us, seq, ts_ms,
// battery_mv (” if not reported), lon, lat, the KEYS index of the space's
// free set, temp_c, firmware, reset_cause, rssi, snr (” if not reported).
// Returns one letter per reading, in one string: a applied, d duplicate,
// s stale (resultCodes): one reply, not a bulk string per reading.
//
// It is the hot path of the ingest, so it costs few commands whatever the
// number of readings: one HMGET of their states, one of the counters (only
// when a status changes or a space is new), then one HSET of the states,
// one of the counters, one GEOADD or ZREM per free set that changes, and
// one XADD of the call's changes of status (spaceEvent). (The sweeper finds
// silent sensors from the states' last-seen times: no index to keep per
// reading, see Sweep.) Every write comes after every read, so an error
// part-way (a bug; Redis does not roll a script back)
// leaves the zone as it was or with the events missing, never with counters
// that disagree with the states.
var applyScript = redis.NewScript(luaCommon + `
local pos = {f = 2, o = 3, u = 4, c = 5}
local R = ` + strconv.Itoa(applyFields) + `
local now, cap, evms = ARGV[1], ARGV[2], ARGV[3]
local nr = (#ARGV - 3) / R
local ids = {}
for i = 1, nr do ids[i] = ARGV[3 + (i - 1) * R + 1] end
local curs = redis.call('HMGET', KEYS[1], unpack(ids))
local c, cv
local cdirty = false
local function counters()
  if not c then
    cv = redis.call('HMGET', KEYS[2], 'total', 'free', 'occupied', 'unknown', 'closed', 'level', 'lv')
    c = {}
    for i = 1, 5 do c[i] = tonumber(cv[i]) or 0 end
    c[6] = cv[6] or ''
  end
  return c
end
local states, first, where, order, chIDs, chSt, out = {}, {}, {}, {}, {}, {}, {}
for i = 1, nr do
  local b = 3 + (i - 1) * R
  local id = ARGV[b + 1]
  local t = states[id]
  if not t then
    if curs[i] then
      t = parse(curs[i])
    else
      t = {'u', '', '', '', '', '0', '', '', '', '', '', ''}
      local n = counters()
      n[1], n[4] = n[1] + 1, n[4] + 1
      cdirty = true
    end
    states[id], first[id] = t, t[1]
  end
  local res = 'a'
  if t[5] ~= '' then
    local nts, ots = tonumber(ARGV[b + 3]), tonumber(t[5])
    if nts < ots then res = 's'
    elseif nts == ots then
      local nseq, oseq = tonumber(ARGV[b + 4]), tonumber(t[6])
      if nseq < oseq then res = 's' elseif nseq == oseq then res = 'd' end
    end
  end
  if res == 'a' then
    local st = t[1]
    local nst = st
    if st ~= 'c' then
      if ARGV[b + 2] == '1' then nst = 'o' else nst = 'f' end
    end
    if nst ~= st then
      t[3] = ARGV[b + 5]
      local n = counters()
      local x, y = pos[st], pos[nst]
      n[x], n[y] = n[x] - 1, n[y] + 1
      local lv = levelOf(n[1], n[2], n[3], n[5], n[6], cv[7])
      if lv then n[6] = lv end
      cdirty = true
      chIDs[#chIDs + 1], chSt[#chSt + 1] = id, nst
    end
    if ARGV[b + 6] ~= '' then t[7] = ARGV[b + 6] end
    for j = 8, 12 do
      if ARGV[b + j + 2] ~= '' then t[j] = ARGV[b + j + 2] end
    end
    t[1], t[2], t[4], t[5], t[6] = nst, ARGV[b + 2], now, ARGV[b + 3], ARGV[b + 4]
    if not where[id] then order[#order + 1] = id end
    where[id] = b
  end
  out[i] = res
end
if #order == 0 then return table.concat(out) end
local hs, add, rem = {}, {}, {}
for _, id in ipairs(order) do
  hs[#hs + 1] = id
  hs[#hs + 1] = table.concat(states[id], '|', 1, 12)
  local a, z, b = first[id], states[id][1], where[id]
  local k = tonumber(ARGV[b + 9])
  if z == 'f' and a ~= 'f' then
    local l = add[k] or {}
    add[k] = l
    local m = #l
    l[m + 1], l[m + 2], l[m + 3] = ARGV[b + 7], ARGV[b + 8], id
  elseif a == 'f' and z ~= 'f' then
    local l = rem[k] or {}
    rem[k] = l
    l[#l + 1] = id
  end
end
redis.call('HSET', KEYS[1], unpack(hs))
if cdirty then
  local args = {'updated', now}
  for j, f in ipairs({'total', 'free', 'occupied', 'unknown', 'closed'}) do
    args[#args + 1] = f
    args[#args + 1] = string.format('%d', c[j])
  end
  if c[6] ~= (cv[6] or '') then
    args[#args + 1] = 'level'
    args[#args + 1] = c[6]
  end
  redis.call('HSET', KEYS[2], unpack(args))
end
for k = 4, #KEYS do
  if add[k] then redis.call('GEOADD', KEYS[k], unpack(add[k])) end
  if rem[k] then redis.call('ZREM', KEYS[k], unpack(rem[k])) end
end
if #chIDs > 0 then
  addEvent(KEYS[3], cap, unpack(spaceEvent(table.concat(chIDs, ' '), table.concat(chSt), evms, c)))
end
return table.concat(out)
`)

// applyFields is the number of ARGV of applyScript per reading.
const applyFields = 14

// sweepScript turns silent spaces of one zone unknown: each of the given
// candidates that is free or occupied and was last seen before the cutoff
// (Sweep finds them from a read of the zone's states; the script checks
// again, as a reading may have come since). The spaces it marks are one
// change of the zone's counters: the level follows from the counters after
// all of them and the level before (so it does not depend on the order of
// the candidates), and their one entry (spaceEvent) carries those counters.
//
// KEYS: 1 states hash, 2 counters hash, 3 the zone's event stream (the
// spaces marked unknown are one space entry, events.go), 4.. the zone's free
// geo sets (one per kind). ARGV: 1 cutoff_ms (last seen before it is
// silent), 2 now_ms, 3 the event stream's cap (eventCap), 4 the events' ms
// (eventMS), 5.. the candidates' ids. Returns how many spaces it marked
// unknown.
var sweepScript = redis.NewScript(luaCommon + `
local cutoff, now = tonumber(ARGV[1]), ARGV[2]
local ids = {}
for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return 0 end
local curs = redis.call('HMGET', KEYS[1], unpack(ids))
local marked = {}
for i, id in ipairs(ids) do
  if curs[i] then
    local t = parse(curs[i])
    local seen = tonumber(t[4])
    if (t[1] == 'f' or t[1] == 'o') and (not seen or seen < cutoff) then
      marked[#marked + 1] = {id, t}
    end
  end
end
if #marked == 0 then return 0 end
local v = redis.call('HMGET', KEYS[2], 'total', 'free', 'occupied', 'unknown', 'closed', 'level', 'lv')
local n = {}
for i = 1, 5 do n[i] = tonumber(v[i]) or 0 end
for _, m in ipairs(marked) do
  if m[2][1] == 'f' then n[2] = n[2] - 1 else n[3] = n[3] - 1 end
  n[4] = n[4] + 1
end
local args = {'updated', now}
for j, f in ipairs({'total', 'free', 'occupied', 'unknown', 'closed'}) do
  n[j] = string.format('%d', n[j])
  args[#args + 1] = f
  args[#args + 1] = n[j]
end
n[6] = v[6] or ''
local lv = levelOf(tonumber(n[1]), tonumber(n[2]), tonumber(n[3]), tonumber(n[5]), v[6], v[7])
if lv and lv ~= v[6] then
  n[6] = lv
  args[#args + 1] = 'level'
  args[#args + 1] = lv
end
redis.call('HSET', KEYS[2], unpack(args))
local hs = {}
for _, m in ipairs(marked) do
  local id, t = m[1], m[2]
  if t[1] == 'f' then
    for k = 4, #KEYS do redis.call('ZREM', KEYS[k], id) end
  end
  t[1], t[3] = 'u', now
  hs[#hs + 1] = id
  hs[#hs + 1] = table.concat(t, '|', 1, 12)
end
redis.call('HSET', KEYS[1], unpack(hs))
local gone = {}
for i, m in ipairs(marked) do gone[i] = m[1] end
addEvent(KEYS[3], ARGV[3], unpack(spaceEvent(table.concat(gone, ' '), string.rep('u', #marked), ARGV[4], n)))
return #marked
`)

// initScript adds spaces that have no state yet as unknown and counts them.
// Spaces already stored keep their state.
//
// KEYS: 1 states hash, 2 counters hash. ARGV: space ids. Returns how many it
// added.
var initScript = redis.NewScript(`
local n = 0
for _, id in ipairs(ARGV) do
  n = n + redis.call('HSETNX', KEYS[1], id, 'u||||||')
end
if n > 0 then
  redis.call('HINCRBY', KEYS[2], 'total', n)
  redis.call('HINCRBY', KEYS[2], 'unknown', n)
end
for _, f in ipairs({'free', 'occupied', 'closed'}) do redis.call('HINCRBY', KEYS[2], f, 0) end
return n
`)
