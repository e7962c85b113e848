-- comment_vote: one vote per voter and comment; a new value moves the vote, 0 withdraws it.
-- KEYS[1] COMMENTS  KEYS[2] VOTES  KEYS[3] ROOTS_TOP  KEYS[4] PUBLIC  KEYS[5] THREAD
-- ARGV[1] id  ARGV[2] voter (visitor hash or user id)  ARGV[3] value: 1, -1 or 0
-- Returns {'ok', likes, dislikes} or {'missing', 0, 0} for a comment that is not approved.
local id, value = tonumber(ARGV[1]), tonumber(ARGV[3])
local raw = redis.call('HGET', KEYS[1], id)
if not raw then
    return {'missing', 0, 0}
end
local c = cjson.decode(raw)
if c.status ~= 'approved' then
    return {'missing', 0, 0}
end
local field = id .. ':' .. ARGV[2]
local before = tonumber(redis.call('HGET', KEYS[2], field) or '0')
if before == value then
    return {'ok', c.likes, c.dislikes}
end
if before == 1 then c.likes = c.likes - 1 elseif before == -1 then c.dislikes = c.dislikes - 1 end
if value == 1 then c.likes = c.likes + 1 elseif value == -1 then c.dislikes = c.dislikes + 1 end
if value == 0 then
    redis.call('HDEL', KEYS[2], field)
else
    redis.call('HSET', KEYS[2], field, value)
end
redis.call('HSET', KEYS[1], id, cjson.encode(c))
redis.call('HSET', KEYS[4], id, public_json(c))
redis.call('HINCRBY', KEYS[5], 'ver', 1)
if c.parent == 0 then
    redis.call('ZADD', KEYS[3], (c.likes - c.dislikes) * 16777216 + 16777215 - id, id)
end
return {'ok', c.likes, c.dislikes}
