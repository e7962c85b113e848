-- user_import: restore one account from a `parleyd export` file, unless it is there already or its name or e-mail
-- address belongs to another live account.
-- KEYS[1] USER_NAMES, KEYS[2] USER_EMAILS, KEYS[3] USER of the account's id
-- ARGV[1] id, [2] lower-cased name, [3] lower-cased e-mail, [4] exp (ms; 0 = verified), [5] now (ms),
-- ARGV[6..] the USER hash as field, value, field, value...
-- Returns 'ok' | 'exists' (an account with this id is there) | 'conflict' (the name or address is taken) |
-- 'expired' (an unverified account whose time is over)
local now, exp = tonumber(ARGV[5]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[3]) == 1 then return 'exists' end
if exp > 0 and exp <= now then return 'expired' end
local function live(entry)
  if not entry then return false end
  local e = tonumber(string.match(entry, '|(%d+)$') or '0')
  return e == 0 or e > now
end
if live(redis.call('HGET', KEYS[1], ARGV[2])) or live(redis.call('HGET', KEYS[2], ARGV[3])) then
  return 'conflict'
end
redis.call('HSET', KEYS[3], unpack(ARGV, 6))
if exp > 0 then redis.call('PEXPIREAT', KEYS[3], exp) end
local entry = ARGV[1] .. '|' .. ARGV[4]
redis.call('HSET', KEYS[1], ARGV[2], entry)
redis.call('HSET', KEYS[2], ARGV[3], entry)
return 'ok'
