-- Records one failed login and computes the delay before the next attempt: none for the first FREE - 1 failures,
-- then 1 s, 2 s, 4 s ... at most MAX_DELAY. Never a lock-out: the delay is short and a reset clears it.
-- KEYS[1] LOGIN_FAILS
-- ARGV[1] now (ms), [2] free failures, [3] max delay (ms), [4] how long failures are remembered (ms)
-- Returns {failures, until (ms, 0 = no delay)}
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local free = tonumber(ARGV[2])
local untilms = 0
if n >= free then
  local d = math.min(1000 * 2 ^ math.min(n - free, 30), tonumber(ARGV[3]))
  untilms = tonumber(ARGV[1]) + d
  redis.call('HSET', KEYS[1], 'until', string.format('%d', untilms))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {n, untilms}
