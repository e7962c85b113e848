-- outbox_promote: moves retries that are due from the delay set back into the outbox stream, where the mailer's
-- consumer group reads them like new mails. One script, so a mail is never in both places or in neither.
-- KEYS[1] the delay set (OUTBOX_DELAY), KEYS[2] the outbox stream (OUTBOX).
-- ARGV[1] now in ms, ARGV[2] at most this many mails per call, ARGV[3] the stream's approximate MAXLEN.
-- Returns the number of mails moved. A member that is not our JSON (hand-written) is dropped, not looped on.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
    local ok, m = pcall(cjson.decode, member)
    if ok and type(m) == 'table' then
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'from', tostring(m.from or ''), 'rcpt',
            tostring(m.rcpt or ''), 'msg', tostring(m.msg or ''), 'attempts', tostring(m.attempts or '0'), 'first',
            tostring(m.first or '0'))
    end
    redis.call('ZREM', KEYS[1], member)
end
return #due
