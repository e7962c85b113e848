-- comment_ids: allocate comment ids in a thread for a group of new comments (store_call_script_grouped: the
-- comments one worker prechecks in one thread in one event-loop turn), in one HINCRBY instead of one each.
-- KEYS[1] THREAD
-- ARGV: one argument per comment (its value unused; it makes the group's count)
-- Returns one id per comment, in the order given (consecutive).
local n = #ARGV
local last = redis.call('HINCRBY', KEYS[1], 'seq', n == 1 and '1' or tostring(n))
local out = {}
for i = 1, n do out[i] = last - n + i end
return out
