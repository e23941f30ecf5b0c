-- clock.lua: note readings of one zone that were rejected for their
-- sensor time (occupancy.ClockError). Each still shows its sensor alive:
-- the space's seen_ms moves to now, never back, so the sweeper does not
-- take a live sensor for a silent one; and the rejected clock is kept
-- (clock_ms now, clock_ts_ms the reading's sensor time) for the sensor's
-- clock_skew condition, until a reading applies (apply.lua clears it).
-- Nothing else changes: not the status, not the counters, no event.
-- Running it again with the same readings leaves the same state, seen_ms
-- and clock_ms at the later now.
--
-- KEYS: 1 states hash. ARGV: 1 now_ms, then two per reading: space id,
-- ts_ms. Returns one letter per reading, in one string: k noted, n the
-- space has no state (not initialised, or removed meanwhile).
local now = ARGV[1]
local nr = (#ARGV - 1) / 2
local ids = {}
for i = 1, nr do ids[i] = ARGV[2 * i] end
local curs = redis.call('HMGET', KEYS[1], unpack(ids))
local states, order, out = {}, {}, {}
for i = 1, nr do
  local id = ids[i]
  local t = states[id]
  if not t and curs[i] then
    t = parse(curs[i])
    states[id] = t
    order[#order + 1] = id
  end
  if t then
    if (tonumber(t[4]) or 0) < tonumber(now) then t[4] = now end
    t[13], t[14] = now, ARGV[2 * i + 1]
    out[i] = 'k'
  else
    out[i] = 'n'
  end
end
if #order > 0 then
  local hs = {}
  for _, id in ipairs(order) do
    hs[#hs + 1] = id
    hs[#hs + 1] = pack(states[id])
  end
  redis.call('HSET', KEYS[1], unpack(hs))
end
return table.concat(out)
