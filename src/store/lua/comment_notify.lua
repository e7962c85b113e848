-- comment_notify: confirm or end a commenter's subscription to replies to their comment.
-- KEYS[1] COMMENTS
-- ARGV[1] id  ARGV[2] '1' = confirm (the author followed the signed subscribe link), '0' = unsubscribe
-- Returns {result, comment JSON after}; result is 'ok', 'same' (already in that state), 'missing' (no such comment)
-- or 'denied' (confirming a comment whose author never asked for replies: only `notify: true` may be confirmed).
-- Only the flag `notify_confirmed` changes: the public form, the indexes and the thread's version stay as they are,
-- so no cached page goes stale.
local id, on = tonumber(ARGV[1]), ARGV[2] == '1'
local raw = redis.call('HGET', KEYS[1], id)
if not raw then
    return {'missing', ''}
end
local c = cjson.decode(raw)
if on and c.notify ~= true then
    return {'denied', raw}
end
if (c.notify_confirmed == true) == on then
    return {'same', raw}
end
c.notify_confirmed = on
local after = cjson.encode(c)
redis.call('HSET', KEYS[1], id, after)
return {'ok', after}
