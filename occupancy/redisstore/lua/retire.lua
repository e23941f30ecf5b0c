-- retire.lua: delete spaces of one zone (removed from the registry) and
-- take them out of its counters and free sets.
--
-- KEYS: 1 states hash, 2 counters hash, 3.. the zone's free geo sets.
-- ARGV: space ids. Returns how many it retired.
local n = 0
for _, id in ipairs(ARGV) do
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then
    local t = parse(cur)
    redis.call('HINCRBY', KEYS[2], names[t[1]], -1)
    redis.call('HINCRBY', KEYS[2], 'total', -1)
    redis.call('HDEL', KEYS[1], id)
    n = n + 1
  end
  for i = 3, #KEYS do redis.call('ZREM', KEYS[i], id) end
end
return n
