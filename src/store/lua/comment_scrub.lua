-- comment_scrub: retention. Removes what identifies the author of guest comments older than the cutoff: the e-mail
-- address, its keyed hash and the daily visitor hash (privacy.retention_s). Comments of accounts keep theirs (the
-- account itself says who wrote them, and its owner can export or delete them). The public form does not change.
-- It also serves the e-mail index (EMAIL_COMMENTS), whose keys live in other slots and are written by the caller:
-- it names the scrubbed comments that must leave the index and, when asked, the comments that must be in it (to
-- fill the index for comments stored before it existed).
-- KEYS[1] COMMENTS of one thread
-- ARGV[1] cutoff (ms): comments created before it are scrubbed, ARGV[2] HSCAN cursor, ARGV[3] HSCAN count,
-- ARGV[4] '1' to list the comments that keep an e-mail hash (the index backfill), else '0'
-- Returns {next cursor ('0' when the thread is done), comments scrubbed in this call, {ehash, id, ...} of scrubbed
-- comments that had an e-mail hash, {ehash, id, ...} of the other comments with one (empty unless ARGV[4] is '1')}
local r = redis.call('HSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
local cutoff, n, f = tonumber(ARGV[1]), 0, r[2]
local gone, keep = {}, {}
for i = 1, #f, 2 do
    local ok, c = pcall(cjson.decode, f[i + 1])
    if ok and type(c) == 'table' and type(c.created) == 'number' and c.created < cutoff and
        (c.user == nil or c.user == 0) and ((c.email or '') ~= '' or (c.visitor or '') ~= '' or (c.ehash or '') ~= '') then
        if type(c.ehash) == 'string' and c.ehash ~= '' then
            gone[#gone + 1] = c.ehash
            gone[#gone + 1] = f[i]
        end
        c.email = ''
        c.ehash = ''
        c.visitor = ''
        redis.call('HSET', KEYS[1], f[i], cjson.encode(c))
        n = n + 1
    elseif ARGV[4] == '1' and ok and type(c) == 'table' and type(c.ehash) == 'string' and c.ehash ~= '' then
        keep[#keep + 1] = c.ehash
        keep[#keep + 1] = f[i]
    end
end
return {r[1], n, gone, keep}
