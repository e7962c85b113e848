-- comments_page: one page of a thread: top-level comments after a cursor, each with all its visible replies.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] ROOTS or ROOTS_TOP (by sort)  KEYS[4] TREE  KEYS[5] PENDING
-- KEYS[6] PUBLIC
-- ARGV[1] sort: oldest | newest | top   ARGV[2] cursor: score of the last root already shown ('' = first page)
-- ARGV[3] page size  ARGV[4] viewer's visitor hash ('' = none): their own pending comments are included
-- Returns {thread fields (flat HGETALL), next cursor or '', then id, parent, public JSON for each comment}: the
-- page's roots in order, then every reply below them (parents before children, siblings by id), then the viewer's
-- pending comments. Cost grows with the page, not the thread: every range is O(log N + page).
local sort, cursor, limit, viewer = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local roots
if sort == 'oldest' then
    roots = redis.call('ZRANGEBYSCORE', KEYS[3], cursor == '' and '-inf' or '(' .. cursor, '+inf',
        'WITHSCORES', 'LIMIT', 0, limit + 1)
else
    roots = redis.call('ZREVRANGEBYSCORE', KEYS[3], cursor == '' and '+inf' or '(' .. cursor, '-inf',
        'WITHSCORES', 'LIMIT', 0, limit + 1)
end
local ids, parents, next_cursor = {}, {}, ''
for i = 1, #roots, 2 do
    if #ids == limit then
        next_cursor = roots[i - 1]
        break
    end
    ids[#ids + 1] = roots[i]
    parents[#parents + 1] = '0'
end
-- Breadth-first over the tree: a node's children are one lexicographic range of TREE.
local head = 1
while head <= #ids and #ids < 5000 do
    local pid = ids[head]
    local prefix = string.format('%010d:', tonumber(pid))
    head = head + 1
    for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[4], '[' .. prefix, '[' .. prefix .. '\255')) do
        ids[#ids + 1] = tostring(tonumber(string.sub(m, 12)))
        parents[#parents + 1] = pid
    end
end
if viewer ~= '' then
    for _, pid in ipairs(redis.call('ZRANGE', KEYS[5], 0, 199)) do
        local raw = redis.call('HGET', KEYS[2], pid)
        if raw then
            local c = cjson.decode(raw)
            if c.visitor == viewer then
                ids[#ids + 1] = pid
                parents[#parents + 1] = tostring(c.parent)
            end
        end
    end
end
local out = {redis.call('HGETALL', KEYS[1]), next_cursor}
if #ids > 0 then
    -- HMGET turns missing fields into false, so ipairs walks the whole list.
    for i, v in ipairs(redis.call('HMGET', KEYS[6], unpack(ids))) do
        if v then
            out[#out + 1] = ids[i]
            out[#out + 1] = parents[i]
            out[#out + 1] = v
        end
    end
end
return out
