-- sync.lua: bring some registry spaces of one zone into the state: a space
-- without a state is stored as unknown (closed if its zone is closed) and
-- counted; a free space is put in its kind's free set at its registry
-- position and taken out of the others; a space that is not free is taken
-- out of every free set. Harmless to run again. Refused (error FENCED) when
-- the zone's counters name another registry version in force (rv).
--
-- KEYS: 1 states hash, 2 counters hash, 3 closures hash, 4.. the zone's
-- free geo sets in occupancy.Kinds order. ARGV: 1 the caller's registry
-- version, 2 now_ms, then per space: id, kind (1-based index into the free
-- sets), lon, lat. Returns {states created, free-set entries changed}.
local rv = redis.call('HGET', KEYS[2], 'rv')
if rv and rv ~= ARGV[1] then
  return redis.error_reply('FENCED registry version ' .. rv .. ' is in force, not ' .. ARGV[1])
end
local new = 'u||||||'
local counter = 'unknown'
if redis.call('HEXISTS', KEYS[3], '*') == 1 then
  new, counter = 'c||' .. ARGV[2] .. '||||', 'closed'
end
local created, changed = 0, 0
for i = 3, #ARGV, 4 do
  local id, kind, lon, lat = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[1], id)
  if not cur then
    redis.call('HSET', KEYS[1], id, new)
    created, cur = created + 1, new
  end
  local free = string.sub(cur, 1, 1) == 'f'
  for j = 4, #KEYS do
    if free and j - 3 == kind then
      local before = redis.call('ZSCORE', KEYS[j], id)
      redis.call('GEOADD', KEYS[j], lon, lat, id)
      if redis.call('ZSCORE', KEYS[j], id) ~= before then changed = changed + 1 end
    else
      changed = changed + redis.call('ZREM', KEYS[j], id)
    end
  end
end
if created > 0 then
  redis.call('HINCRBY', KEYS[2], 'total', created)
  redis.call('HINCRBY', KEYS[2], counter, created)
  redis.call('HSET', KEYS[2], 'updated', ARGV[2])
end
return {created, changed}
