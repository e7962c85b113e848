-- Creates an unverified account unless its e-mail address or user name is taken, atomically.
-- KEYS[1] USER_NAMES, KEYS[2] USER_EMAILS, KEYS[3] USER of the new id
-- ARGV[1] id, [2] name, [3] name lower-cased, [4] e-mail, [5] e-mail lower-cased, [6] PHC string, [7] now (ms),
--      [8] SHA-256 of the verification token, [9] when it ends (ms), [10] life of the unverified account (ms)
-- Returns {'ok'} | {'email', id, exp} (the address has a live account; exp 0 = verified) | {'name'} (taken) |
--         {'retry'} (the random id exists: draw another)
local now = tonumber(ARGV[7])

-- An index entry is "id|exp"; an unverified account whose exp passed is gone (its USER key expired with it).
local function live(entry)
  if not entry then return nil end
  local id, exp = string.match(entry, '^([0-9a-f]+)|(%d+)$')
  if not id then return nil end
  exp = tonumber(exp)
  if exp > 0 and exp <= now then return nil end
  return id, exp
end

local eid, eexp = live(redis.call('HGET', KEYS[2], ARGV[5]))
if eid then return {'email', eid, string.format('%d', eexp)} end
if live(redis.call('HGET', KEYS[1], ARGV[3])) then return {'name'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'retry'} end

local exp = now + tonumber(ARGV[10])
local sexp = string.format('%d', exp)
redis.call('HSET', KEYS[3], 'name', ARGV[2], 'name_lc', ARGV[3], 'email', ARGV[4], 'email_lc', ARGV[5],
  'phc', ARGV[6], 'verified', '0', 'created', ARGV[7], 'exp', sexp, 'verify', ARGV[8], 'verify_exp', ARGV[9],
  'pwchanged', ARGV[7])
redis.call('PEXPIREAT', KEYS[3], exp)
redis.call('HSET', KEYS[1], ARGV[3], ARGV[1] .. '|' .. sexp)
redis.call('HSET', KEYS[2], ARGV[5], ARGV[1] .. '|' .. sexp)
return {'ok'}
