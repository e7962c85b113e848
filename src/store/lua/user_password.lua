-- Sets a new password, by a reset token or by the logged-in owner, and ends sessions.
-- KEYS[1] USER, KEYS[2] USER_SESSIONS, KEYS[3] LOGIN_FAILS of the account, KEYS[4] USER_NAMES, KEYS[5] USER_EMAILS
-- ARGV[1] 'reset' | 'change' | 'rehash', [2] reset: SHA-256 of the token / change: the token hash of the session to keep,
--      [3] the new PHC string, [4] now (ms), [5] the account id, [6] change: the PHC string the current password
--      was checked against (the change fails if it changed meanwhile)
-- reset: consumes the token (single use), ends every session, and verifies the address (the mail proved it).
-- change: ends every other session. rehash: replaces the hash (same password, higher cost) and nothing else.
-- Returns 'ok' | 'invalid' (reset token unknown, used or expired) | 'changed' (the password changed meanwhile) |
--         'missing'
local u = redis.call('HMGET', KEYS[1], 'phc', 'reset', 'reset_exp', 'verified', 'name_lc', 'email_lc')
if not u[1] then
  if ARGV[1] == 'reset' then return 'invalid' end
  return 'missing'
end
if ARGV[1] == 'rehash' then
  -- a stronger hash of the same password (the cost was raised): only over the hash it was checked against
  if u[1] ~= ARGV[6] then return 'changed' end
  redis.call('HSET', KEYS[1], 'phc', ARGV[3])
  return 'ok'
end
if ARGV[1] == 'reset' then
  if not u[2] or u[2] ~= ARGV[2] or tonumber(u[3] or '0') < tonumber(ARGV[4]) then return 'invalid' end
  redis.call('HDEL', KEYS[1], 'reset', 'reset_exp')
  redis.call('DEL', KEYS[2])
  if u[4] ~= '1' then
    redis.call('HSET', KEYS[1], 'verified', '1', 'exp', '0')
    redis.call('HDEL', KEYS[1], 'verify', 'verify_exp')
    redis.call('PERSIST', KEYS[1])
    redis.call('HSET', KEYS[4], u[5], ARGV[5] .. '|0')
    redis.call('HSET', KEYS[5], u[6], ARGV[5] .. '|0')
  end
else
  if u[1] ~= ARGV[6] then return 'changed' end
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    if f ~= ARGV[2] then redis.call('HDEL', KEYS[2], f) end
  end
  -- a reset link asked for before the change must not undo it
  redis.call('HDEL', KEYS[1], 'reset', 'reset_exp')
end
redis.call('HSET', KEYS[1], 'phc', ARGV[3], 'pwchanged', ARGV[4])
redis.call('DEL', KEYS[3])
return 'ok'
