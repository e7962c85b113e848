-- outbox_dead: moves an outbox entry to the dead-letter stream with the reason, atomically (no mail is both
-- dead and pending, and a retried call cannot file it twice: the second call finds the entry gone).
-- KEYS[1] the outbox stream (OUTBOX), KEYS[2] the dead-letter stream (OUTBOX_DEAD).
-- ARGV[1] consumer group, ARGV[2] entry id, ARGV[3] reason, ARGV[4] now in ms, ARGV[5] the dead stream's MAXLEN.
-- Returns 1 when filed, 0 when the entry no longer exists (it is only acknowledged then).
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 1 then
    local f = e[1][2]
    local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*'}
    for i = 1, #f, 2 do
        local v = f[i + 1]
        if f[i] == 'attempts' then
            v = tostring((tonumber(v) or 0) + 1) -- the attempt that failed for good counts too
        end
        args[#args + 1] = f[i]
        args[#args + 1] = v
    end
    for _, x in ipairs({'reason', ARGV[3], 'failed', ARGV[4], 'id', ARGV[2]}) do
        args[#args + 1] = x
    end
    redis.call(unpack(args))
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return #e
