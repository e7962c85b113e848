-- limit_hit: fixed-window rate limit counters, one or several of one client in one call (a comment's four counters
-- share the visitor's hash tag: COMMENT_RATE).
-- KEYS[i] a counter (RATE, COMMENT_RATE). ARGV[i] its window in milliseconds.
-- Returns {count in this window, milliseconds until the window ends} for each counter, in order, flat.
local out = {}
for i = 1, #KEYS do
    local n = redis.call('INCR', KEYS[i])
    local ttl = redis.call('PTTL', KEYS[i])
    if n == 1 or ttl < 0 then
        redis.call('PEXPIRE', KEYS[i], ARGV[i])
        ttl = tonumber(ARGV[i])
    end
    out[2 * i - 1], out[2 * i] = n, ttl
end
return out
