-- Resolves a session token: checks the idle and absolute timeouts and that the account is still verified, and
-- slides the idle timeout (writing at most once per TOUCH ms, so reads stay cheap).
-- KEYS[1] USER_SESSIONS, KEYS[2] USER
-- ARGV[1] token hash (field), [2] now (ms), [3] idle timeout (ms), [4] absolute (ms), [5] touch interval (ms)
-- Returns {'none'} | {'ok', name, email, account created, session created}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return {'none'} end
local created, seen, ua = string.match(v, '^(%d+)|(%d+)|(.*)$')
local now = tonumber(ARGV[2])
created, seen = tonumber(created or '0'), tonumber(seen or '0')
if now - created > tonumber(ARGV[4]) or now - seen > tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {'none'}
end
local u = redis.call('HMGET', KEYS[2], 'name', 'email', 'verified', 'created')
if not u[1] or u[3] ~= '1' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {'none'}
end
if now - seen > tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d|%d|%s', created, now, ua))
end
return {'ok', u[1], u[2], u[4], string.format('%d', created)}
