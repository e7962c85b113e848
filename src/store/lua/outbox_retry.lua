-- outbox_retry: schedules one more attempt of an outbox entry and takes it out of the stream, atomically, so a
-- crash leaves the mail either pending in the group (it is sent again) or waiting in the delay set -- never lost.
-- KEYS[1] the outbox stream (OUTBOX), KEYS[2] the delay set (OUTBOX_DELAY).
-- ARGV[1] consumer group, ARGV[2] entry id, ARGV[3] due time in ms.
-- Returns 1 when scheduled, 0 when the entry no longer exists (it is only acknowledged then).
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 1 then
    local f = e[1][2]
    local m = {id = ARGV[2]}
    for i = 1, #f, 2 do
        m[f[i]] = f[i + 1]
    end
    m.attempts = tostring((tonumber(m.attempts) or 0) + 1)
    redis.call('ZADD', KEYS[2], ARGV[3], cjson.encode(m))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return #e
