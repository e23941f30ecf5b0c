-- sweep.lua: turn silent spaces of one zone unknown: each of the given
-- candidates that is free or occupied and was last seen before the cutoff
-- (Sweep finds them from a read of the zone's states; the script checks
-- again, as a reading may have come since). The spaces it marks are one
-- change of the zone's counters: the level follows from the counters after
-- all of them and the level before (so it does not depend on the order of
-- the candidates), and their one entry carries those counters.
--
-- KEYS: 1 states hash, 2 counters hash, 3 the zone's event stream, 4.. the
-- zone's free geo sets (one per kind). ARGV: 1 cutoff_ms (last seen before
-- it is silent), 2 now_ms, 3 the event stream's cap, 4 the entries' ms,
-- 5.. the candidates' ids. Returns how many spaces it marked unknown.
local cutoff, now = tonumber(ARGV[1]), ARGV[2]
local ids = {}
for i = 5, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return 0 end
local curs = redis.call('HMGET', KEYS[1], unpack(ids))
local marked = {}
for i, id in ipairs(ids) do
  if curs[i] then
    local t = parse(curs[i])
    local seen = tonumber(t[4])
    if (t[1] == 'f' or t[1] == 'o') and (not seen or seen < cutoff) then
      marked[#marked + 1] = {id, t}
    end
  end
end
if #marked == 0 then return 0 end
local v = redis.call('HMGET', KEYS[2], 'total', 'free', 'occupied', 'unknown', 'closed', 'level', 'lv')
local n = {}
for i = 1, 5 do n[i] = tonumber(v[i]) or 0 end
for _, m in ipairs(marked) do
  if m[2][1] == 'f' then n[2] = n[2] - 1 else n[3] = n[3] - 1 end
  n[4] = n[4] + 1
end
local args = {'updated', now}
for j, f in ipairs({'total', 'free', 'occupied', 'unknown', 'closed'}) do
  n[j] = string.format('%d', n[j])
  args[#args + 1] = f
  args[#args + 1] = n[j]
end
n[6] = v[6] or ''
local lv = levelOf(tonumber(n[1]), tonumber(n[2]), tonumber(n[3]), tonumber(n[5]), v[6], v[7])
if lv and lv ~= v[6] then
  n[6] = lv
  args[#args + 1] = 'level'
  args[#args + 1] = lv
end
redis.call('HSET', KEYS[2], unpack(args))
local hs = {}
for _, m in ipairs(marked) do
  local id, t = m[1], m[2]
  if t[1] == 'f' then
    for k = 4, #KEYS do redis.call('ZREM', KEYS[k], id) end
  end
  t[1], t[3] = 'u', now
  hs[#hs + 1] = id
  hs[#hs + 1] = pack(t)
end
redis.call('HSET', KEYS[1], unpack(hs))
local gone = {}
for i, m in ipairs(marked) do gone[i] = m[1] end
addEvent(KEYS[3], ARGV[3], unpack(spaceEvent(table.concat(gone, ' '), string.rep('u', #marked), ARGV[4], n)))
return #marked
