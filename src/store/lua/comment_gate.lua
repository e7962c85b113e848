-- comment_gate: what the precheck of each new comment of a group needs from the site's slot (the group is the
-- prechecks one worker makes for a site in one event-loop turn, store_call_script_grouped): whether its e-mail hash
-- has had a comment approved on the site, and whether its address or its visitor is banned there.
-- KEYS[1] APPROVED_EMAILS, then per comment its two BAN keys: the address's ("e:<hash>"), then the visitor's ("v:<hash>")
-- ARGV: one e-mail hash per comment
-- Returns per comment: 1 if the address is known, plus 2 if the address or the visitor is banned.
-- Cost notes: one SMISMEMBER and one MGET for the whole group, where each comment used to cost its own EXISTS
-- command (parsed, run and answered by Redis on its own, the serial stage of a comment write).
local n = #ARGV
local known
if n == 1 then
    known = {redis.call('SISMEMBER', KEYS[1], ARGV[1])}
else
    known = redis.call('SMISMEMBER', KEYS[1], unpack(ARGV))
end
local bans = redis.call('MGET', unpack(KEYS, 2))
for i = 1, n do
    if bans[2 * i - 1] or bans[2 * i] then known[i] = known[i] + 2 end
end
return known
