-- comment_update: change one comment's status or text, keeping every index of the thread consistent.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] ROOTS  KEYS[4] ROOTS_TOP  KEYS[5] TREE  KEYS[6] PENDING  KEYS[7] APPROVED
-- KEYS[8] PUBLIC  KEYS[9] PENDING_BY
-- ARGV[1] id  ARGV[2] action: approve | spam | pending | delete | edit | anonymize
-- ARGV[3] now (ms)  ARGV[4] edit-token hash, or 'u:<account id>' for the logged-in owner ('' = moderator, no check)  ARGV[5] edit window end check: created must
--   be >= this (ms; '0' = no window)  ARGV[6] new html (edit)  ARGV[7] new body (edit)  ARGV[8] status after an edit
--   ('' = keep the current status: a moderator's edit)
-- ARGV[9] now as ISO 8601 (the edit time shown)
-- Returns {result, old status, new status, e-mail hash, comment JSON after, public JSON after}; result is 'ok',
-- 'missing', 'denied'
-- (wrong token or window over) or 'same' (nothing to do).
-- Visibility: approved comments are in ROOTS/ROOTS_TOP (top level) or TREE and APPROVED (replies), counted in
-- THREAD.count; pending ones in PENDING; spam nowhere. A deleted comment that still has visible replies stays as
-- a placeholder (status 'deleted', text gone) so its replies keep their place; without replies it leaves every
-- index. Its stored JSON is kept with the text removed, for the moderation log. The same holds for an approved
-- comment with replies that is marked spam or sent back to pending (flag `placeholder`): shown as deleted, not
-- counted, its replies unaffected. A deleted comment cannot be approved, hidden or edited again ('missing').
local id, action, now = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local raw = redis.call('HGET', KEYS[2], id)
if not raw then
    return {'missing', '', '', '', '', ''}
end
local c = cjson.decode(raw)
local old = c.status
if ARGV[4] ~= '' then
    -- "u:<account id>" is the logged-in owner (no window); anything else is the hash of the edit token.
    local owner = string.match(ARGV[4], '^u:(.+)$')
    local allowed
    if owner then
        allowed = type(c.user) == 'string' and c.user == owner
    else
        allowed = c.edit == ARGV[4] and c.created >= tonumber(ARGV[5])
    end
    if not allowed or old == 'deleted' or old == 'spam' then
        return {'denied', old, old, c.ehash or '', raw, ''}
    end
end
local function tree_member(parent, child)
    return string.format('%010d:%010d', parent, child)
end
-- Whether comment NID has visible replies, and removing comment N (id NID) from every visible index.
local function replies_of(nid)
    local pfx = string.format('%010d:', nid)
    return #redis.call('ZRANGEBYLEX', KEYS[5], '[' .. pfx, '[' .. pfx .. '\255', 'LIMIT', 0, 1) > 0
end
local function unindex(n, nid)
    if n.parent == 0 then
        redis.call('ZREM', KEYS[3], nid)
        redis.call('ZREM', KEYS[4], nid)
    else
        redis.call('ZREM', KEYS[5], tree_member(n.parent, nid))
    end
    redis.call('ZREM', KEYS[7], nid) -- a reply's; a top-level comment's too where data predates ROOTS-only roots
end
local function has_replies() return replies_of(id) end
local function hide() unindex(c, id) end
local function show()
    if c.parent == 0 then
        redis.call('ZADD', KEYS[3], id, id)
        redis.call('ZADD', KEYS[4], (c.likes - c.dislikes) * 16777216 + 16777215 - id, id)
    else
        redis.call('ZADD', KEYS[5], 0, tree_member(c.parent, id))
        redis.call('ZADD', KEYS[7], id, id)
    end
end
-- anonymize: the author deleted their account and chose to keep their comments. Nothing that points to them stays:
-- name, address, its keyed hashes, website, account, notification wish; the text and the thread's shape stay.
if action == 'anonymize' then
    c.author = 'Deleted user'
    c.email = ''
    c.ehash = ''
    c.website = cjson.null
    c.user = 0
    c.notify = false
    c.notify_confirmed = nil
    c.avatar = '/avatar/00000000000000000000000000000000.svg'
    local after = cjson.encode(c)
    redis.call('HSET', KEYS[2], id, after)
    local pub = public_json(c)
    redis.call('HSET', KEYS[8], id, pub)
    redis.call('HINCRBY', KEYS[1], 'ver', 1)
    return {'ok', old, old, '', after, pub}
end
-- A deleted comment's text is gone: there is nothing to approve, hide or edit any more.
if old == 'deleted' and action ~= 'delete' then
    return {'missing', '', '', '', '', ''}
end
local new = old
if action == 'approve' then new = 'approved'
elseif action == 'spam' then new = 'spam'
elseif action == 'pending' then new = 'pending'
elseif action == 'delete' then new = 'deleted'
elseif action == 'edit' then
    -- An edit may send an approved comment back to the queue (the links rule) but never releases a waiting one:
    -- only a moderator's approve does, whatever the edited text would get as a new comment.
    -- A moderator's edit ('' as ARGV[8]) keeps the status, whatever it is.
    if old == 'pending' or ARGV[8] == '' then new = old else new = ARGV[8] end
end
if new == old and action ~= 'edit' then
    return {'same', old, new, c.ehash or '', raw, public_json(c)}
end
-- Leave the old state. A comment that leaves the approved state while it has visible replies stays in the tree as
-- a placeholder (shown without author or text, not counted), so its replies keep their place and their count.
if old == 'approved' then
    redis.call('HINCRBY', KEYS[1], 'count', -1)
    if new ~= 'approved' then
        if has_replies() then c.placeholder = true else hide() end
    end
elseif old == 'pending' then
    redis.call('ZREM', KEYS[6], id)
    if redis.call('HINCRBY', KEYS[9], c.visitor, -1) <= 0 then redis.call('HDEL', KEYS[9], c.visitor) end
elseif old == 'deleted' then
    hide()
end
-- Enter the new one.
if new == 'approved' then
    if old ~= 'approved' then show() end
    c.placeholder = nil
    redis.call('HINCRBY', KEYS[1], 'count', 1)
elseif new == 'pending' then
    redis.call('ZADD', KEYS[6], id, id)
    redis.call('HINCRBY', KEYS[9], c.visitor, 1)
elseif new == 'deleted' then
    c.html = ''
    c.body = ''
    if c.placeholder and has_replies() then
        -- stays indexed as a placeholder
    else
        c.placeholder = nil
        hide()
    end
end
if action == 'edit' then
    c.html = ARGV[6]
    c.body = ARGV[7]
    c.edited = now
    c.edited_iso = ARGV[9]
end
-- A placeholder is kept only while it holds replies: when its last reply leaves the thread, it leaves too (and so
-- on upwards). Not counted, so the count does not change.
local pid = c.parent
for _ = 1, 12 do
    if pid == 0 then break end
    local praw = redis.call('HGET', KEYS[2], pid)
    if not praw then break end
    local p = cjson.decode(praw)
    if not (p.status == 'deleted' or p.placeholder) or replies_of(pid) then
        break
    end
    if p.placeholder then
        -- a spam or pending comment kept for its replies: no replies left, so it leaves the tree (its status and
        -- its place in the moderation queue stay)
        p.placeholder = nil
        redis.call('HSET', KEYS[2], pid, cjson.encode(p))
        redis.call('HSET', KEYS[8], pid, public_json(p))
    end
    unindex(p, pid)
    pid = p.parent
end
c.status = new
local after = cjson.encode(c)
redis.call('HSET', KEYS[2], id, after)
local pub = public_json(c)
redis.call('HSET', KEYS[8], id, pub)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return {'ok', old, new, c.ehash or '', after, pub}
