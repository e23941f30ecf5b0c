-- check.lua: check (and with ARGV[1] = 1 repair) one zone: recompute its
-- counters and free sets from its spaces' states and closures.
--
-- KEYS: 1 states hash, 2 counters hash, 3.. the zone's free geo sets in
-- occupancy.Kinds order, last the closures hash. ARGV: 1 repair (1|0), 2
-- now_ms, 3 the caller's registry version, then per registry space of the
-- zone: id, kind (1-based index into the free sets), lon, lat. Returns drift
-- items flattened as kind, what, expected, found, fixed (1|0); the kinds
-- are occupancy's Drift* values. The states of spaces not in the registry
-- and their free-set entries are found and deleted by the caller (check.go),
-- not here. A repair is
-- refused (error FENCED) when the zone's counters name another registry
-- version in force (rv): a check holding an old registry must not rewrite
-- the zone.
local repair = ARGV[1] == '1'
local rv = redis.call('HGET', KEYS[2], 'rv')
if repair and rv and rv ~= ARGV[3] then
  return redis.error_reply('FENCED registry version ' .. rv .. ' is in force, not ' .. ARGV[3])
end
local fixed = '0'
if repair then fixed = '1' end
local out = {}
local function drift(kind, what, expected, found, fix)
  for _, v in ipairs({kind, what, expected, found, fix}) do out[#out + 1] = v end
end
local nsets = #KEYS - 3
local closures = {}
local cl = redis.call('HKEYS', KEYS[#KEYS])
for _, target in ipairs(cl) do closures[target] = true end
local states = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do states[all[i]] = all[i + 1] end
local sets = {}
for j = 1, nsets do
  sets[j] = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2 + j], 0, -1)) do sets[j][id] = true end
end
local counts = {total = 0, free = 0, occupied = 0, unknown = 0, closed = 0}
local registered = {}
for i = 4, #ARGV, 4 do
  local id, kind, lon, lat = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  registered[id] = true
  local cur = states[id]
  if not cur then
    drift('missing_state', id, 'u||||||', '', fixed)
    if repair then redis.call('HSET', KEYS[1], id, 'u||||||') end
    cur = 'u||||||'
  end
  local t = parse(cur)
  if not names[t[1]] then
    drift('bad_state', id, 'status f, o, u or c', cur, '0')
    t[1] = 'u'
  end
  local closed = closures['*'] or closures[id]
  if (closed and t[1] ~= 'c') or (t[1] == 'c' and not closed) then
    local to = 'u'
    if closed then to = 'c' end
    drift('closure', id, names[to], names[t[1]], fixed)
    if repair then
      t[1], t[3] = to, ARGV[2]
      redis.call('HSET', KEYS[1], id, pack(t))
    end
  end
  counts.total = counts.total + 1
  counts[names[t[1]]] = counts[names[t[1]]] + 1
  for j = 1, nsets do
    local want = t[1] == 'f' and j == kind
    local has = sets[j][id] == true
    local key = string.match(KEYS[2 + j], 'free:.*$')
    if want and not has then
      drift('free_set', id, key, '', fixed)
      if repair then redis.call('GEOADD', KEYS[2 + j], lon, lat, id) end
    elseif has and not want then
      drift('free_set', id, '', key, fixed)
      if repair then redis.call('ZREM', KEYS[2 + j], id) end
    elseif has then
      local pos = redis.call('GEOPOS', KEYS[2 + j], id)[1]
      if not pos or math.abs(tonumber(pos[1]) - tonumber(lon)) > 1e-5 or math.abs(tonumber(pos[2]) - tonumber(lat)) > 1e-5 then
        local found = ''
        if pos then found = pos[1] .. ',' .. pos[2] end
        drift('free_set_position', id, lon .. ',' .. lat, found, fixed)
        if repair then redis.call('GEOADD', KEYS[2 + j], lon, lat, id) end
      end
    end
  end
end
local changed = false
for _, f in ipairs({'total', 'free', 'occupied', 'unknown', 'closed'}) do
  local found = redis.call('HGET', KEYS[2], f)
  if tonumber(found) ~= counts[f] then
    drift('counter', f, tostring(counts[f]), found or '', fixed)
    if repair then redis.call('HSET', KEYS[2], f, counts[f]); changed = true end
  end
end
if changed then
  redis.call('HSET', KEYS[2], 'updated', ARGV[2])
  relevel(KEYS[2])
end
return out
