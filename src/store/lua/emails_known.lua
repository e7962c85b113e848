-- emails_known: whether each e-mail hash of a group has had a comment approved on the site (APPROVED_EMAILS; the
-- group is the prechecks one worker makes for the site in one event-loop turn), in one SMISMEMBER.
-- KEYS[1] APPROVED_EMAILS
-- ARGV: one e-mail hash per comment
-- Returns 1 or 0 per comment.
if #ARGV == 1 then
    return {redis.call('SISMEMBER', KEYS[1], ARGV[1])}
end
return redis.call('SMISMEMBER', KEYS[1], unpack(ARGV))
