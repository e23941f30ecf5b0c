-- closure.lua: close or open a space or a whole zone.
--
-- Closures live beside a zone's states: its closures hash (space id, or *
-- for the whole zone -> the closure as JSON) and its until sorted set (the
-- same targets -> when they reopen by themselves, ms). A space is closed
-- (status c) while it has its own closure or its zone has one. While
-- closed, apply.lua keeps status c but records the sensor's word and
-- last-seen time, so reopening restores free or occupied at once (unknown
-- if the sensor has been silent longer than the offline limit).
--
-- KEYS: 1 states hash, 2 counters hash, 3 closures hash, 4 until zset, 5
-- the zone's event stream, 6.. the zone's free geo sets in occupancy.Kinds
-- order. ARGV: 1 op (close|open|expire), 2 target (space id or *), 3
-- closure JSON (close), 4 until_ms ('' for none), 5 now_ms, 6 cutoff_ms (a
-- sensor last seen before it is silent), 7 the event stream's cap, 8 the
-- entries' ms, 9 the caller's registry version, then per space to close or
-- open: id, kind (1-based index into the free sets), lon, lat. Returns ok,
-- zone_closed (open of a space whose zone is closed: nothing done), not_due
-- (expire of a closure that has no until in the past: nothing done) or
-- fenced (the zone's counters name another registry version in force, rv:
-- nothing done).
--
-- Each space whose status it changes gets its space entry in the same
-- step, as the apply and sweep scripts do, so every reader of the stream
-- sees a closure or reopening exactly when it happens. The status is
-- written as a word (closed, free, ...), not apply.lua's letter, so a
-- sensor's flip count leaves closures out.
local op, target, now = ARGV[1], ARGV[2], ARGV[5]
local rv = redis.call('HGET', KEYS[2], 'rv')
if rv and rv ~= ARGV[9] then return 'fenced' end
local function changed(id, st)
  local ev = {'t', 'space', 's', id, 'st', names[st]}
  if ARGV[8] ~= '' then ev[7], ev[8] = 'ms', ARGV[8] end
  addEvent(KEYS[5], ARGV[7], unpack(ev))
end
local function load(id)
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then return parse(cur) end
  redis.call('HINCRBY', KEYS[2], 'total', 1)
  redis.call('HINCRBY', KEYS[2], 'unknown', 1)
  return {'u', '', '', '', '', '0', '', '', '', '', '', '', '', ''}
end
local function closeOne(id)
  local t = load(id)
  if t[1] == 'c' then return end
  move(KEYS[2], t[1], 'c', now)
  if t[1] == 'f' then
    for i = 6, #KEYS do redis.call('ZREM', KEYS[i], id) end
  end
  t[1], t[3] = 'c', now
  redis.call('HSET', KEYS[1], id, pack(t))
  changed(id, 'c')
end
local function openOne(id, kind, lon, lat)
  local t = load(id)
  if t[1] ~= 'c' then return end
  local nst = 'u'
  local seen = tonumber(t[4])
  if seen and seen >= tonumber(ARGV[6]) then
    if t[2] == '1' then nst = 'o' elseif t[2] == '0' then nst = 'f' end
  end
  move(KEYS[2], 'c', nst, now)
  if nst == 'f' then redis.call('GEOADD', KEYS[5 + kind], lon, lat, id) end
  t[1], t[3] = nst, now
  redis.call('HSET', KEYS[1], id, pack(t))
  changed(id, nst)
end
if op == 'expire' then
  local due = tonumber(redis.call('ZSCORE', KEYS[4], target))
  if not due or due > tonumber(now) then return 'not_due' end
  op = 'open'
end
if op == 'close' then
  redis.call('HSET', KEYS[3], target, ARGV[3])
  if ARGV[4] == '' then redis.call('ZREM', KEYS[4], target) else redis.call('ZADD', KEYS[4], ARGV[4], target) end
  for i = 10, #ARGV, 4 do closeOne(ARGV[i]) end
  return 'ok'
end
if target ~= '*' and redis.call('HEXISTS', KEYS[3], '*') == 1 then return 'zone_closed' end
redis.call('HDEL', KEYS[3], target)
redis.call('ZREM', KEYS[4], target)
for i = 10, #ARGV, 4 do
  local id = ARGV[i]
  if target ~= '*' or redis.call('HEXISTS', KEYS[3], id) == 0 then
    openOne(id, tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3])
  end
end
return 'ok'
