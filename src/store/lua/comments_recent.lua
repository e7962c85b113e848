-- comments_recent: the newest visible comments of a thread, for its Atom feed.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] APPROVED  KEYS[4] ROOTS   ARGV[1] how many
-- Returns {thread fields (flat HGETALL), comment JSON...} newest first; placeholders of deleted comments skipped.
-- The visible comments are the top-level ones in ROOTS and the replies in APPROVED, both scored by id: the newest n
-- are the newest n of the two merged (an id in both, as data written before top-level comments left APPROVED has,
-- is taken once).
local n = tonumber(ARGV[1])
local out = {redis.call('HGETALL', KEYS[1])}
local a = redis.call('ZREVRANGE', KEYS[3], 0, n - 1, 'WITHSCORES')
local r = redis.call('ZREVRANGE', KEYS[4], 0, n - 1, 'WITHSCORES')
local ids, seen, i, j = {}, {}, 1, 1
while #ids < n and (i <= #a or j <= #r) do
    local id
    if j > #r or (i <= #a and tonumber(a[i + 1]) >= tonumber(r[j + 1])) then
        id, i = a[i], i + 2
    else
        id, j = r[j], j + 2
    end
    if not seen[id] then
        seen[id] = true
        ids[#ids + 1] = id
    end
end
if #ids > 0 then
    for _, v in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
        if v and cjson.decode(v).status == 'approved' then
            out[#out + 1] = v
        end
    end
end
return out
