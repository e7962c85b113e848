-- comments_recent: the newest visible comments of a thread, for its Atom feed.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] APPROVED   ARGV[1] how many
-- Returns {thread fields (flat HGETALL), comment JSON...} newest first; placeholders of deleted comments skipped.
local out = {redis.call('HGETALL', KEYS[1])}
local ids = redis.call('ZREVRANGE', KEYS[3], 0, tonumber(ARGV[1]) - 1)
if #ids > 0 then
    for _, v in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
        if v and cjson.decode(v).status == 'approved' then
            out[#out + 1] = v
        end
    end
end
return out
