-- Issues a verification or reset token for an existing account; a new one replaces the last (single live token).
-- KEYS[1] USER
-- ARGV[1] 'verify' | 'reset', [2] SHA-256 of the token, [3] when it ends (ms)
-- Returns 'ok' | 'missing' (no such account) | 'verified' (a verification token for a verified account)
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if ARGV[1] == 'verify' then
  if redis.call('HGET', KEYS[1], 'verified') == '1' then return 'verified' end
  redis.call('HSET', KEYS[1], 'verify', ARGV[2], 'verify_exp', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'reset', ARGV[2], 'reset_exp', ARGV[3])
end
return 'ok'
