-- outbox_revive: puts a dead letter back into the outbox as a new mail (attempts 0, first = now), atomically, for a
-- moderator who fixed the cause (a relay setting, a full mailbox). The dead-letter entry is removed.
-- KEYS[1] the dead-letter stream (OUTBOX_DEAD), KEYS[2] the outbox stream (OUTBOX).
-- ARGV[1] the dead-letter entry id, ARGV[2] now in ms, ARGV[3] the outbox's MAXLEN.
-- Returns the new outbox entry id, or '' when there is no such dead letter.
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return '' end
local f = {}
local fields = e[1][2]
for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'from', f.from or '', 'rcpt', f.rcpt or '',
    'msg', f.msg or '', 'attempts', '0', 'first', ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[1])
return id
