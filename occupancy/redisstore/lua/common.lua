-- common.lua: the functions every state script shares; scripts.go puts it
-- before each of them.
--
-- A space's state is one field of its zone's states hash, packed as
--
--   status|occupied|since_ms|seen_ms|ts_us|seq|battery_mv|temp_c|firmware|reset_cause|rssi|snr[|clock_ms|clock_ts_ms]
--
-- status is f, o, u or c; occupied is the sensor's last word (1, 0 or
-- empty); since_ms is when the status began; seen_ms is when the sensor was
-- last heard (receive time); ts_us and seq are the sensor time and sequence
-- of the newest applied reading; battery_mv to snr are the sensor's health,
-- each the last value reported. Empty means never. States written before
-- the health fields existed have only the first seven fields; parse pads
-- them. Numbers come in and are stored as the strings Go formatted: Lua's
-- tostring would print large numbers in exponent form.
--
-- move shifts a space between two counters and relevel recomputes the
-- zone's level with hysteresis from the counters and the previous level:
-- levelOf is the rule (occupancy.NextLevel is the same rule in Go), nil
-- when the zone has no thresholds (its counters' lv field).
--
-- spaceEvent is the stream entry of the changes of status of one script
-- call: s the spaces' ids separated by spaces, st their new statuses, one
-- letter each, in the order of the changes (a space may appear more than
-- once), ms the time (Unix ms; left out when the entry's id says when), and
-- the zone's counters after the last of them: n total, f free, o occupied,
-- c closed (unknown is total minus these) and l the level as one letter
-- (lvCodes). One entry per call rather than per change: a flood of readings
-- costs one XADD per zone call, not one per reading.
--
-- addEvent appends an entry to a zone's stream, capped at cap entries
-- (approximately), and trimEvents, on one entry in 16 (by the new id's
-- time), trims the entries older than EVENT_KEEP_MS before it, by the
-- stream's own clock, so the stream holds the last EVENT_KEEP_MS whatever
-- clock the writer uses. EVENT_KEEP_MS is eventKeep in events.go (a test
-- holds them equal).
local EVENT_KEEP_MS = 4200000
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
  redis.call('XTRIM', key, 'MINID', '~', string.format('%d', ms - EVENT_KEEP_MS))
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
  if #t == 12 then
    t[13], t[14] = '', ''
    return t
  end
  local i = 1
  for f in string.gmatch(v .. '|', '([^|]*)|') do t[i] = f; i = i + 1 end
  for j = i, 14 do t[j] = '' end
  return t
end
local function pack(t)
  if (t[13] or '') == '' then return table.concat(t, '|', 1, 12) end
  return table.concat(t, '|', 1, 14)
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
