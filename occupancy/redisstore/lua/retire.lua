-- retire.lua: delete spaces of one zone that are not in the registry: their
-- states (taken out of the counters), free-set entries, closures and
-- closure end times. A space without a state loses only its other entries.
-- Refused (error FENCED) when the zone's counters name another registry
-- version in force (rv), so a parkd or check holding an old registry cannot
-- delete the spaces of the new one.
--
-- KEYS: 1 states hash, 2 counters hash, 3 closures hash, 4 until zset,
-- 5.. the zone's free geo sets. ARGV: 1 the caller's registry version, 2
-- now_ms, 3.. space ids. Returns {states deleted, closures ended, free-set
-- entries removed}.
local rv = redis.call('HGET', KEYS[2], 'rv')
if rv and rv ~= ARGV[1] then
  return redis.error_reply('FENCED registry version ' .. rv .. ' is in force, not ' .. ARGV[1])
end
local deleted, closures, free = 0, 0, 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then
    local t = parse(cur)
    redis.call('HINCRBY', KEYS[2], names[t[1]] or 'unknown', -1)
    redis.call('HINCRBY', KEYS[2], 'total', -1)
    redis.call('HDEL', KEYS[1], id)
    deleted = deleted + 1
  end
  closures = closures + redis.call('HDEL', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  for k = 5, #KEYS do free = free + redis.call('ZREM', KEYS[k], id) end
end
if deleted > 0 then
  redis.call('HSET', KEYS[2], 'updated', ARGV[2])
  relevel(KEYS[2])
end
return {deleted, closures, free}
