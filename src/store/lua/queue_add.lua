-- queue_add: add a group of new comments to one moderation queue of a site (MODQ; the group is the creates one
-- worker makes for that queue in one event-loop turn), in one ZADD instead of one each.
-- KEYS[1] MODQ
-- ARGV: per comment its score (created, ms) and member ("url-hash:id")
-- Returns 1 per comment.
local out = {}
for i = 1, #ARGV / 2 do out[i] = 1 end
redis.call('ZADD', KEYS[1], unpack(ARGV))
return out
