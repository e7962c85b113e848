-- Ends sessions of one account.
-- KEYS[1] USER_SESSIONS
-- ARGV[1] 'one' (ARGV[2] = token hash) | 'id' (ARGV[2] = a session id: the first 16 hex digits of its hash) |
--         'others' (all but ARGV[2], a token hash) | 'all'
-- Returns the number of sessions ended
local mode = ARGV[1]
if mode == 'all' then
  return redis.call('HLEN', KEYS[1]) * redis.call('DEL', KEYS[1])
end
if mode == 'one' then return redis.call('HDEL', KEYS[1], ARGV[2]) end
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if (mode == 'id' and string.sub(f, 1, 16) == ARGV[2]) or (mode == 'others' and f ~= ARGV[2]) then
    n = n + redis.call('HDEL', KEYS[1], f)
  end
end
return n
