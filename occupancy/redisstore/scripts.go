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
// spaceEvent is the entry of a space's change of status st, at ms (Unix ms,
// or empty when the entry's id says when: eventMS), with the zone's counters c
// (total, free, occupied, unknown, closed, level): the fields events.go
// reads, kept small as a zone's stream holds an hour of changes. The unknown
// count is left out (total minus the others) and the level is one letter
// (lvCodes; decodeEvent spells it out).
//
// addEvent appends an entry to a zone's event stream, capped at cap entries
// (approximately), and on one entry in 16 (by the new id's time) trims the
// entries older than eventKeep before it, by the stream's own clock, so the
// stream holds the last eventKeep whatever the injected clock says
// (events.go). Trimming is approximate anyway (whole listpack nodes), and
// the readers of a window filter by time.
var luaCommon = `
local lvCodes = {spacesAvailable = 's', almostFull = 'a', full = 'f', unknown = 'u', closed = 'c'}
local function spaceEvent(id, st, ms, c)
  local ev = {'t', 'space', 's', id, 'st', st, 'n', c[1], 'f', c[2], 'o', c[3], 'c', c[5], 'l', lvCodes[c[6]] or c[6] or ''}
  if ms ~= '' then
    ev[#ev + 1] = 'ms'
    ev[#ev + 1] = ms
  end
  return ev
end
local function addEvent(key, cap, ...)
  local id = redis.call('XADD', key, 'MAXLEN', '~', cap, '*', ...)
  local ms = tonumber(string.match(id, '^(%d+)'))
  if ms % 16 ~= 0 then return id end
  redis.call('XTRIM', key, 'MINID', '~', string.format('%d', ms - ` + strconv.FormatInt(eventKeep.Milliseconds(), 10) + `))
  return id
end
local names = {f = 'free', o = 'occupied', u = 'unknown', c = 'closed'}
local function parse(v)
  local t, i = {}, 1
  for f in string.gmatch(v .. '|', '([^|]*)|') do t[i] = f; i = i + 1 end
  for j = i, 12 do t[j] = '' end
  return t
end
local function levelOf(total, free, occ, closed, prev, lvs)
  if not lvs then return nil end
  local th = {}
  for n in string.gmatch(lvs, '[^,]+') do th[#th + 1] = tonumber(n) end
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

// applyScript applies one reading under the contract's ordering rule.
//
// KEYS: 1 states hash, 2 counters hash, 3 last-seen zset, 4 free geo set of
// the space's kind, 5 the zone's event stream (events.go: a status change
// appends its space event with the zone's counters; health.go counts a
// space's changes in the last hour from these events). ARGV: 1 space id,
// 2 occupied (1|0), 3 ts_us, 4 seq, 5 ts_ms, 6 now_ms, 7 battery_mv (” if
// not reported), 8 lon, 9 lat, 10-14 temp_c, firmware, reset_cause, rssi,
// snr (” if not reported), 15 the event stream's cap (eventCap), 16 the
// event's ms (empty when its id says when: eventMS).
// Returns applied, duplicate or stale.
//
// It is the hot path of the ingest, so a change of status costs few
// commands: shift reads the zone's counters once, moves the space, sets
// updated and the level in one HSET, and hands the counters to the event
// (the same effect as move, with one HMGET and one HSET instead of two
// HINCRBY, two HSET and two HMGET).
var applyScript = redis.NewScript(luaCommon + `
local pos = {f = 2, o = 3, u = 4, c = 5}
local function shift(counters, from, to, now)
  local v = redis.call('HMGET', counters, 'total', 'free', 'occupied', 'unknown', 'closed', 'level', 'lv')
  local n = {}
  for i = 1, 5 do n[i] = tonumber(v[i]) or 0 end
  local a, b = pos[from], pos[to]
  n[a], n[b] = n[a] - 1, n[b] + 1
  local args = {'updated', now, names[from], string.format('%d', n[a]), names[to], string.format('%d', n[b])}
  local level = v[6] or ''
  local lv = levelOf(n[1], n[2], n[3], n[5], v[6], v[7])
  if lv and lv ~= v[6] then
    args[7], args[8], level = 'level', lv, lv
  end
  redis.call('HSET', counters, unpack(args))
  for i = 1, 5 do n[i] = string.format('%d', n[i]) end
  return n, level
end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local t
if cur then
  t = parse(cur)
else
  t = {'u', '', '', '', '', '0', '', '', '', '', '', ''}
  redis.call('HINCRBY', KEYS[2], 'total', 1)
  redis.call('HINCRBY', KEYS[2], 'unknown', 1)
end
if t[5] ~= '' then
  local nts, ots = tonumber(ARGV[3]), tonumber(t[5])
  if nts < ots then return 'stale' end
  if nts == ots then
    local nseq, oseq = tonumber(ARGV[4]), tonumber(t[6])
    if nseq < oseq then return 'stale' end
    if nseq == oseq then return 'duplicate' end
  end
end
local st = t[1]
local nst = st
if st ~= 'c' then
  if ARGV[2] == '1' then nst = 'o' else nst = 'f' end
end
if nst ~= st then
  t[3] = ARGV[5]
  local n, level = shift(KEYS[2], st, nst, ARGV[6])
  n[6] = level
  addEvent(KEYS[5], ARGV[15], unpack(spaceEvent(ARGV[1], nst, ARGV[16], n)))
  if nst == 'f' then
    redis.call('GEOADD', KEYS[4], ARGV[8], ARGV[9], ARGV[1])
  elseif st == 'f' then
    redis.call('ZREM', KEYS[4], ARGV[1])
  end
end
if ARGV[7] ~= '' then t[7] = ARGV[7] end
for j = 8, 12 do
  if ARGV[j + 2] ~= '' then t[j] = ARGV[j + 2] end
end
t[1], t[2], t[4], t[5], t[6] = nst, ARGV[2], ARGV[6], ARGV[3], ARGV[4]
redis.call('HSET', KEYS[1], ARGV[1], table.concat(t, '|', 1, 12))
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
return 'applied'
`)

// sweepScript turns silent spaces of one zone unknown.
//
// KEYS: 1 states hash, 2 counters hash, 3 last-seen zset, 4 the zone's event
// stream (each space marked unknown is a space event, events.go), 5.. the
// zone's free geo sets (one per kind). ARGV: 1 cutoff_ms (last seen before
// it is silent), 2 now_ms, 3 most spaces to handle in this call, 4 the event
// stream's cap (eventCap), 5 the events' ms (eventMS). Returns how many spaces it marked unknown.
var sweepScript = redis.NewScript(luaCommon + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[3], id)
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then
    local t = parse(cur)
    if t[1] == 'f' or t[1] == 'o' then
      move(KEYS[2], t[1], 'u', ARGV[2])
      for i = 5, #KEYS do redis.call('ZREM', KEYS[i], id) end
      local c = redis.call('HMGET', KEYS[2], 'total', 'free', 'occupied', 'unknown', 'closed', 'level')
      addEvent(KEYS[4], ARGV[4], unpack(spaceEvent(id, 'u', ARGV[5], c)))
      t[1], t[3] = 'u', ARGV[2]
      redis.call('HSET', KEYS[1], id, table.concat(t, '|', 1, 12))
      n = n + 1
    end
  end
end
return {n, #ids}
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
