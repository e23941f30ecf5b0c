-- open_incidents.lua: open incidents of one zone, each unless its condition
-- already has one.
--
-- KEYS: 1 incidents hash (id -> incident JSON), 2 active hash ("type|space"
-- -> id of the incident of a condition that holds). ARGV: triplets of
-- condition key, id and incident JSON. Returns 1 for each triplet it opened
-- and 0 for each whose condition had an incident.
local opened = {}
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i+1]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[i+1], ARGV[i+2])
    opened[#opened+1] = 1
  else
    opened[#opened+1] = 0
  end
end
return opened
