-- Opens a session after a successful login and forgets the account's failed logins.
-- KEYS[1] USER_SESSIONS, KEYS[2] LOGIN_FAILS of the account, KEYS[3] USER
-- ARGV[1] token hash (field), [2] now (ms), [3] user agent (trimmed), [4] idle timeout (ms), [5] absolute (ms),
--      [6] most sessions per account (the oldest beyond it end)
-- Returns 'ok' | 'missing' (the account vanished)
if redis.call('EXISTS', KEYS[3]) == 0 then return 'missing' end
local now, idle, max = tonumber(ARGV[2]), tonumber(ARGV[4]), tonumber(ARGV[5])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local created, seen = string.match(all[i + 1], '^(%d+)|(%d+)|')
  created, seen = tonumber(created or '0'), tonumber(seen or '0')
  if now - created > max or now - seen > idle then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live[#live + 1] = {all[i], created}
  end
end
table.sort(live, function(a, b) return a[2] < b[2] end)
for i = 1, #live - tonumber(ARGV[6]) + 1 do redis.call('HDEL', KEYS[1], live[i][1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[2] .. '|' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], max)
redis.call('DEL', KEYS[2])
return 'ok'
