-- comment_import: store one comment brought in by `parleyd import` and index it, atomically and at most once.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] ROOTS  KEYS[4] ROOTS_TOP  KEYS[5] TREE  KEYS[6] PENDING  KEYS[7] DUPES
-- KEYS[8] APPROVED  KEYS[9] PUBLIC  KEYS[10] PENDING_BY  KEYS[11] VOTES  KEYS[12] IMPORTED
--   (all share the thread's hash tag)
-- ARGV[1] source id ('<format>:<id>')  ARGV[2] the parent's source id ('' = top level)
-- ARGV[3] id to keep if it is free ('0' = the thread's next id)  ARGV[4] the site's max_depth ('0' = no limit)
-- ARGV[5] the comment JSON as comment_create.lua stores it (its id, parent and depth are set here)
-- ARGV[6] duplicate hash ('' = none)  ARGV[7] '1' = refuse a duplicate, '0' = store it anyway (a restore)
-- ARGV[8] canonical URL  ARGV[9] title  ARGV[10] votes as a JSON object voter -> 1 | -1 ('' = none)
-- Returns {word, id, parent, flags, status}: word 'ok' (stored), 'exists' (this source id was imported before:
-- nothing changes; id is the Parley id it got, status its status now) or 'duplicate' (same author and text already
-- in the thread: nothing stored). flags: 1 = this comment created the thread, 2 = the parent was not imported, so
-- it became top level.
-- What comment_create.lua checks for a visitor (a locked thread, a parent that must be approved) does not apply:
-- the comments existed before. The indexes are the ones comment_create.lua and comment_update.lua keep: approved
-- comments, and placeholders kept for their replies, are visible (ROOTS/ROOTS_TOP, or TREE and APPROVED); only
-- approved ones are counted; pending ones are in PENDING; spam and deleted ones are in COMMENTS only. A visible
-- reply to a comment that is not visible makes that comment a placeholder (shown without author or text).
local done = redis.call('HGET', KEYS[12], ARGV[1])
if done then
    -- Its status now (a moderator may have acted since), for the caller's site-level entries.
    local raw = redis.call('HGET', KEYS[2], done)
    return {'exists', tonumber(done), 0, 0, raw and cjson.decode(raw).status or 'deleted'}
end
if ARGV[7] == '1' and ARGV[6] ~= '' and redis.call('SISMEMBER', KEYS[7], ARGV[6]) == 1 then
    return {'duplicate', 0, 0, 0, ''}
end
local rec = cjson.decode(ARGV[5])
local flags, parent, depth, max_depth = 0, 0, 0, tonumber(ARGV[4])
if ARGV[2] ~= '' then
    local pid = redis.call('HGET', KEYS[12], ARGV[2])
    local praw = pid and redis.call('HGET', KEYS[2], pid)
    if praw then
        local p = cjson.decode(praw)
        -- At the site's depth limit a reply joins its parent's level, as api_comments.c does for new replies.
        if max_depth > 0 and p.depth + 1 >= max_depth then
            parent, depth = p.parent, p.depth
        else
            parent, depth = tonumber(pid), p.depth + 1
        end
    else
        flags = 2
    end
end
local id = tonumber(ARGV[3])
if id == 0 or redis.call('HEXISTS', KEYS[2], id) == 1 then
    id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    while redis.call('HEXISTS', KEYS[2], id) == 1 do
        id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    end
elseif tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') < id then
    redis.call('HSET', KEYS[1], 'seq', id)
end
rec.id, rec.parent, rec.depth = id, parent, depth
rec.likes, rec.dislikes = rec.likes or 0, rec.dislikes or 0
redis.call('HSET', KEYS[2], id, cjson.encode(rec))
redis.call('HSET', KEYS[9], id, public_json(rec))
local status = rec.status
if ARGV[6] ~= '' and status ~= 'spam' then
    redis.call('SADD', KEYS[7], ARGV[6])
end
local function show(c, cid)
    if c.parent == 0 then
        redis.call('ZADD', KEYS[3], cid, cid)
        redis.call('ZADD', KEYS[4], (c.likes - c.dislikes) * 16777216 + 16777215 - cid, cid)
    else
        redis.call('ZADD', KEYS[5], 0, string.format('%010d:%010d', c.parent, cid))
        redis.call('ZADD', KEYS[8], cid, cid)
    end
end
if status == 'approved' or rec.placeholder then
    show(rec, id)
    -- A visible reply under a comment that is not (it waits, or it is spam): the parent becomes a placeholder that
    -- holds its replies, as comment_update.lua makes one of an approved comment sent back to the queue; and so on
    -- upwards. Approving it later turns it into a normal comment.
    local pid = parent
    for _ = 1, 12 do
        if pid == 0 then break end
        local praw = redis.call('HGET', KEYS[2], pid)
        if not praw then break end
        local p = cjson.decode(praw)
        if p.status == 'approved' or p.placeholder then break end
        p.placeholder = true
        redis.call('HSET', KEYS[2], pid, cjson.encode(p))
        redis.call('HSET', KEYS[9], pid, public_json(p))
        show(p, pid)
        pid = p.parent
    end
end
if status == 'approved' then
    redis.call('HINCRBY', KEYS[1], 'count', 1)
elseif status == 'pending' then
    redis.call('ZADD', KEYS[6], id, id)
    if (rec.visitor or '') ~= '' then
        redis.call('HINCRBY', KEYS[10], rec.visitor, 1)
    end
end
if ARGV[10] ~= '' then
    for voter, v in pairs(cjson.decode(ARGV[10])) do
        redis.call('HSET', KEYS[11], id .. ':' .. voter, v)
    end
end
redis.call('HSET', KEYS[12], ARGV[1], id)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
-- As in comment_create.lua: the first stored comment creates the thread and gives it its title.
redis.call('HSETNX', KEYS[1], 'url', ARGV[8])
if redis.call('HSETNX', KEYS[1], 'created', rec.created) == 1 then
    redis.call('HSET', KEYS[1], 'title', ARGV[9])
    flags = flags + 1
end
return {'ok', id, parent, flags, status}
