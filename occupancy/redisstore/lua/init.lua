-- init.lua: add the spaces that have no state yet as unknown and count
-- them; spaces already stored keep their state.
--
-- KEYS: 1 states hash, 2 counters hash. ARGV: space ids. Returns how many
-- it added.
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
