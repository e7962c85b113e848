-- comment_locate: resolve a deep link #comment-<id> to the comment and the cursor of the page that holds it.
-- KEYS[1] COMMENTS  KEYS[2] ROOTS  KEYS[3] PUBLIC  KEYS[4] APPROVED
-- ARGV[1] id  ARGV[2] page size (oldest order)
-- Returns {public JSON, cursor ('' = first page)} or {'', ''} when the comment is not visible.
-- Visible means shown in the thread: the comment and every ancestor are in ROOTS (top level) or APPROVED (replies),
-- which hold the approved comments and the placeholders of deleted ones that keep replies (a deleted comment
-- without replies, a pending or spam one, and anything below those are not).
local function visible(cid)
    return redis.call('ZSCORE', KEYS[4], cid) ~= false or redis.call('ZSCORE', KEYS[2], cid) ~= false
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
    return {'', ''}
end
local c = cjson.decode(raw)
if (c.status ~= 'approved' and c.status ~= 'deleted') or not visible(ARGV[1]) then
    return {'', ''}
end
-- Walk up to the top-level comment (bounded: depth is at most 10).
local root = c
for _ = 1, 12 do
    if root.parent == 0 then break end
    local p = redis.call('HGET', KEYS[1], root.parent)
    if not p or not visible(root.parent) then return {'', ''} end
    root = cjson.decode(p)
end
local rank = redis.call('ZRANK', KEYS[2], root.id)
if not rank then
    return {'', ''}
end
local size = tonumber(ARGV[2])
local start = math.floor(rank / size) * size
local pub = redis.call('HGET', KEYS[3], ARGV[1]) or ''
if start == 0 then
    return {pub, ''}
end
local prev = redis.call('ZRANGE', KEYS[2], start - 1, start - 1, 'WITHSCORES')
return {pub, prev[2]}
