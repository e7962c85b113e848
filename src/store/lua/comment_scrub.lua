-- comment_scrub: retention. Removes what identifies the author of guest comments older than the cutoff: the e-mail
-- address, its keyed hash and the daily visitor hash (privacy.retention_s). Comments of accounts keep theirs (the
-- account itself says who wrote them, and its owner can export or delete them). The public form does not change.
-- KEYS[1] COMMENTS of one thread
-- ARGV[1] cutoff (ms): comments created before it are scrubbed, ARGV[2] HSCAN cursor, ARGV[3] HSCAN count
-- Returns {next cursor ('0' when the thread is done), comments scrubbed in this call}
local r = redis.call('HSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
local cutoff, n, f = tonumber(ARGV[1]), 0, r[2]
for i = 1, #f, 2 do
    local ok, c = pcall(cjson.decode, f[i + 1])
    if ok and type(c) == 'table' and type(c.created) == 'number' and c.created < cutoff and
        (c.user == nil or c.user == 0) and ((c.email or '') ~= '' or (c.visitor or '') ~= '' or (c.ehash or '') ~= '') then
        c.email = ''
        c.ehash = ''
        c.visitor = ''
        redis.call('HSET', KEYS[1], f[i], cjson.encode(c))
        n = n + 1
    end
end
return {r[1], n}
