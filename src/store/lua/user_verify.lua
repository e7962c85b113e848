-- Consumes a verification token: the account becomes verified and stops expiring.
-- KEYS[1] USER, KEYS[2] USER_NAMES, KEYS[3] USER_EMAILS
-- ARGV[1] SHA-256 of the token, [2] now (ms), [3] the account id
-- Returns 'ok' | 'invalid' (unknown, used or expired token, or no such account)
local u = redis.call('HMGET', KEYS[1], 'verify', 'verify_exp', 'name_lc', 'email_lc')
if not u[1] or u[1] ~= ARGV[1] or tonumber(u[2] or '0') < tonumber(ARGV[2]) then return 'invalid' end
redis.call('HDEL', KEYS[1], 'verify', 'verify_exp')
redis.call('HSET', KEYS[1], 'verified', '1', 'exp', '0')
redis.call('PERSIST', KEYS[1])
redis.call('HSET', KEYS[2], u[3], ARGV[3] .. '|0')
redis.call('HSET', KEYS[3], u[4], ARGV[3] .. '|0')
return 'ok'
