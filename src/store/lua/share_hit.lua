-- share_hit: count one share click unless this visitor was already counted today.
-- KEYS[1] the URL's counts hash (SHARES), KEYS[2] the visitor's seen-marker (SHARE_SEEN); both share one hash tag.
-- ARGV[1] network id, ARGV[2] seconds the marker lives (to the next UTC midnight), ARGV[3] canonical URL.
-- Returns {counted (0|1), field1, value1, field2, value2, ...} = the hash after the click.
local counted = 0
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[2])) then
    redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
    redis.call('HINCRBY', KEYS[1], 'total', 1)
    redis.call('HSETNX', KEYS[1], 'url', ARGV[3])
    counted = 1
end
local all = redis.call('HGETALL', KEYS[1])
table.insert(all, 1, counted)
return all
