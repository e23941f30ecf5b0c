-- level.lua: store a zone's level thresholds ("afOn,afOff,fullOn,fullOff",
-- the counters' lv field) and recompute its level (the counters' level
-- field) from its counters. common.lua's relevel then keeps the level
-- following the counters with hysteresis whenever a script moves them.
--
-- KEYS: 1 counters hash. ARGV: 1 thresholds. Returns the level.
redis.call('HSET', KEYS[1], 'lv', ARGV[1])
relevel(KEYS[1])
return redis.call('HGET', KEYS[1], 'level')
