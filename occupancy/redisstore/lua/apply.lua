-- apply.lua: apply readings of one zone, in their order, under the
-- contract's ordering rule: per space, a reading newer than the stored one
-- (sensor time, then sequence) applies, an equal one is a duplicate, an
-- older one is stale. Readings of the same space in one call see each other
-- in order, as if applied one by one.
--
-- KEYS: 1 states hash, 2 counters hash, 3 the zone's event stream (a change
-- of status appends its space entry with the zone's counters after it),
-- 4.. the zone's free geo sets (one per kind, in occupancy.Kinds order).
-- ARGV: 1 now_ms, 2 the event stream's cap, 3 the entries' ms (empty when
-- their id says when), 4 the caller's registry version, then R per reading:
-- space id, occupied (1|0), ts_us, seq, ts_ms, battery_mv ('' if not reported), lon, lat, the KEYS index of
-- the space's free set, temp_c, firmware, reset_cause, rssi, snr ('' if not
-- reported). R is applyFields in apply.go (a test holds them equal).
-- Returns one letter per reading, in one string: a applied, d duplicate,
-- s stale, v for every reading when the zone's counters name another
-- registry version in force (rv, set by a reload: the caller's registry is
-- not the one in force, and nothing is written). A stale reading still
-- shows the sensor alive (its clock went back, or the message waited on
-- the way): the space's seen_ms moves to now, never back, and nothing else
-- changes. An applied one clears the
-- rejected clock (clock_ms, clock_ts_ms) that clock.lua noted.
--
-- It is the hot path of the ingest, so it costs few commands whatever the
-- number of readings: one HGET of the fence, one HMGET of their states, one
-- of the counters (only when a status changes or a space is new), then one HSET of the states,
-- one of the counters, one GEOADD or ZREM per free set that changes, and
-- one XADD of the call's changes of status. Every write comes after every
-- read, so an error part-way (a bug; Redis does not roll a script back)
-- leaves the zone as it was or with the entry missing, never with counters
-- that disagree with the states.
local pos = {f = 2, o = 3, u = 4, c = 5}
local R = 14
local now, cap, evms = ARGV[1], ARGV[2], ARGV[3]
local nr = (#ARGV - 4) / R
local rv = redis.call('HGET', KEYS[2], 'rv')
if rv and rv ~= ARGV[4] then return string.rep('v', nr) end
local ids = {}
for i = 1, nr do ids[i] = ARGV[4 + (i - 1) * R + 1] end
local curs = redis.call('HMGET', KEYS[1], unpack(ids))
local c, cv
local cdirty = false
local function counters()
  if not c then
    cv = redis.call('HMGET', KEYS[2], 'total', 'free', 'occupied', 'unknown', 'closed', 'level', 'lv')
    c = {}
    for i = 1, 5 do c[i] = tonumber(cv[i]) or 0 end
    c[6] = cv[6] or ''
  end
  return c
end
local states, first, where, order, chIDs, chSt, out = {}, {}, {}, {}, {}, {}, {}
for i = 1, nr do
  local b = 4 + (i - 1) * R
  local id = ARGV[b + 1]
  local t = states[id]
  if not t then
    if curs[i] then
      t = parse(curs[i])
    else
      t = {'u', '', '', '', '', '0', '', '', '', '', '', '', '', ''}
      local n = counters()
      n[1], n[4] = n[1] + 1, n[4] + 1
      cdirty = true
    end
    states[id], first[id] = t, t[1]
  end
  local res = 'a'
  if t[5] ~= '' then
    local nts, ots = tonumber(ARGV[b + 3]), tonumber(t[5])
    if nts < ots then res = 's'
    elseif nts == ots then
      local nseq, oseq = tonumber(ARGV[b + 4]), tonumber(t[6])
      if nseq < oseq then res = 's' elseif nseq == oseq then res = 'd' end
    end
  end
  if res == 'a' then
    local st = t[1]
    local nst = st
    if st ~= 'c' then
      if ARGV[b + 2] == '1' then nst = 'o' else nst = 'f' end
    end
    if nst ~= st then
      t[3] = ARGV[b + 5]
      local n = counters()
      local x, y = pos[st], pos[nst]
      n[x], n[y] = n[x] - 1, n[y] + 1
      local lv = levelOf(n[1], n[2], n[3], n[5], n[6], cv[7])
      if lv then n[6] = lv end
      cdirty = true
      chIDs[#chIDs + 1], chSt[#chSt + 1] = id, nst
    end
    if ARGV[b + 6] ~= '' then t[7] = ARGV[b + 6] end
    for j = 8, 12 do
      if ARGV[b + j + 2] ~= '' then t[j] = ARGV[b + j + 2] end
    end
    t[1], t[2], t[4], t[5], t[6] = nst, ARGV[b + 2], now, ARGV[b + 3], ARGV[b + 4]
    t[13], t[14] = '', ''
    if not where[id] then order[#order + 1] = id end
    where[id] = b
  elseif res == 's' and (tonumber(t[4]) or 0) < tonumber(now) then
    t[4] = now
    if not where[id] then
      order[#order + 1] = id
      where[id] = b
    end
  end
  out[i] = res
end
if #order == 0 then return table.concat(out) end
local hs, add, rem = {}, {}, {}
for _, id in ipairs(order) do
  hs[#hs + 1] = id
  hs[#hs + 1] = pack(states[id])
  local a, z, b = first[id], states[id][1], where[id]
  local k = tonumber(ARGV[b + 9])
  if z == 'f' and a ~= 'f' then
    local l = add[k] or {}
    add[k] = l
    local m = #l
    l[m + 1], l[m + 2], l[m + 3] = ARGV[b + 7], ARGV[b + 8], id
  elseif a == 'f' and z ~= 'f' then
    local l = rem[k] or {}
    rem[k] = l
    l[#l + 1] = id
  end
end
redis.call('HSET', KEYS[1], unpack(hs))
if cdirty then
  local args = {'updated', now}
  for j, f in ipairs({'total', 'free', 'occupied', 'unknown', 'closed'}) do
    args[#args + 1] = f
    args[#args + 1] = string.format('%d', c[j])
  end
  if c[6] ~= (cv[6] or '') then
    args[#args + 1] = 'level'
    args[#args + 1] = c[6]
  end
  redis.call('HSET', KEYS[2], unpack(args))
end
for k = 4, #KEYS do
  if add[k] then redis.call('GEOADD', KEYS[k], unpack(add[k])) end
  if rem[k] then redis.call('ZREM', KEYS[k], unpack(rem[k])) end
end
if #chIDs > 0 then
  addEvent(KEYS[3], cap, unpack(spaceEvent(table.concat(chIDs, ' '), table.concat(chSt), evms, c)))
end
return table.concat(out)
