-- reindex.lua: take a space out of every free set of its zone and, if it is
-- free, put it in its kind's set at its position. A space that is not free
-- is taken out too: an apply that used the registry before a reload may
-- have left it in its old kind's set (apply removes a space only from the
-- set of the kind it was given).
--
-- KEYS: 1 states hash, 2 the free set of its kind, 3.. every free set of
-- the zone. ARGV: 1 space id, 2 lon, 3 lat. Returns 1 if the space is free.
for i = 3, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or parse(cur)[1] ~= 'f' then return 0 end
redis.call('GEOADD', KEYS[2], ARGV[2], ARGV[3], ARGV[1])
return 1
