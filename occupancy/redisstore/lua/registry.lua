-- registry.lua: the record of the registry in force (one hash, outside the
-- zones' slots): version (in force), target (being put in force by job, run
-- by owner, whose lease ends at lease_until, ms).
--
-- KEYS: 1 the record hash. ARGV: 1 op, 2 job, 3 owner, 4 target (begin) or
-- version (adopt), 5 now_ms, 6 lease_until_ms.
--   begin: take the lease for job and set target, unless another owner
--          holds a lease that has not ended: then {'busy', target, job,
--          owner, lease_until}. Otherwise {'ok', version in force}.
--   renew: extend the lease if job still holds it: {'ok'} or {'lost'}.
--   release: end job's lease now, keeping target (a failed job: any
--          instance may finish it): {'ok'} or {'lost'}.
--   finish: if job holds the lease, make target the version in force and
--          drop the lease: {'ok'} or {'lost'}.
--   adopt: record version as in force if none is: {'ok', version in force}.
local op, job, owner = ARGV[1], ARGV[2], ARGV[3]
local cur = redis.call('HMGET', KEYS[1], 'version', 'target', 'job', 'owner', 'lease_until')
if op == 'adopt' then
  redis.call('HSETNX', KEYS[1], 'version', ARGV[4])
  return {'ok', redis.call('HGET', KEYS[1], 'version')}
end
if op == 'begin' then
  local lease = tonumber(cur[5]) or 0
  if cur[2] and cur[4] and cur[4] ~= owner and lease > tonumber(ARGV[5]) then
    return {'busy', cur[2], cur[3] or '', cur[4], cur[5]}
  end
  redis.call('HSET', KEYS[1], 'target', ARGV[4], 'job', job, 'owner', owner, 'lease_until', ARGV[6])
  return {'ok', cur[1] or ''}
end
if cur[3] ~= job then return {'lost'} end
if op == 'renew' or op == 'release' then
  redis.call('HSET', KEYS[1], 'lease_until', ARGV[6])
  return {'ok'}
end
redis.call('HSET', KEYS[1], 'version', cur[2])
redis.call('HDEL', KEYS[1], 'target', 'job', 'owner', 'lease_until')
return {'ok'}
