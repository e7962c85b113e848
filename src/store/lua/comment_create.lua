-- comment_create: index new comments of one thread, atomically: one comment, or every comment of the thread that
-- one worker was given in the same event-loop turn (group commit, store_conn.c), each checked and answered on its
-- own as if it had come alone, in the order given.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] ROOTS  KEYS[4] ROOTS_TOP  KEYS[5] TREE  KEYS[6] PENDING  KEYS[7] DUPES
-- KEYS[8] APPROVED  KEYS[9] PUBLIC  KEYS[10] PENDING_BY
--   (all share the thread's hash tag)
-- ARGV[1] canonical URL  ARGV[2] title (both written only when the thread is created)
-- then per comment 7 arguments: id, parent id (0 = top level), status (approved|pending|spam), duplicate hash,
-- created (ms), the visitor hash, its place: the ROOTS_TOP score of a top-level comment (16777215 - id, votes being
-- 0), the TREE member of a reply ("%010d:%010d" of parent and id)
-- The comment itself is already written when this runs: its stored record in COMMENTS and its public form (without
-- its closing brace) in PUBLIC, each under its id, by HSETs in the same MULTI/EXEC just before this script
-- (store_call_script_grouped_hset). A comment refused here has both fields deleted again.
-- Cost notes (callgrind and perf, per comment): the caller renders the public form (api_comments.c, comment_public)
-- rather than this script decoding the JSON it was just given and encoding it again, which was a third of Redis's
-- time; the record and the public form (1.3 KB a comment) no longer pass through Lua at all: copied into Lua strings
-- and collected by Lua's garbage collector they took a tenth of Redis's main thread (perf); every number goes to
-- redis.call as the string it arrived as, since Redis turns a Lua number into a string with printf("%.17g"); and
-- the writes of a group are gathered into one command per key, so that a group of n costs one script call, one
-- MULTI/EXEC and about ten commands in the AOF instead of n of each. A group of one is the common case at low load:
-- the tables below are sized for it, and counts of one are written as the string '1' rather than through tostring.
-- prelude.lua's public_json stays the one definition for every later render; tests/api/comments.test.js checks that
-- both give the same object.
-- Returns one word per comment: 'ok', or 'locked' (thread locked), 'duplicate' (same e-mail and body in this thread,
-- earlier or earlier in the group), 'parent' (the parent is gone or not approved any more).
-- Spam is stored but indexed nowhere in the thread; only the moderation queue (written by the caller) lists it.
local N = 7
local n = (#ARGV - 2) / N
local out = {}
-- The fields of refused comments, deleted again at the end (written ahead of this script, see above).
local gone = {}
if redis.call('HGET', KEYS[1], 'locked') == '1' then
    for i = 1, n do
        out[i] = 'locked'
        gone[i] = ARGV[2 + N * (i - 1) + 1]
    end
    redis.call('HDEL', KEYS[2], unpack(gone))
    redis.call('HDEL', KEYS[9], unpack(gone))
    return out
end
local known
if n == 1 then
    known = {redis.call('SISMEMBER', KEYS[7], ARGV[6])}
else
    local dupes = {}
    for i = 1, n do dupes[i] = ARGV[2 + N * (i - 1) + 4] end
    known = redis.call('SMISMEMBER', KEYS[7], unpack(dupes))
end
local seen = {}
-- Sized for one comment (a table constructor presizes its array part): most groups are of one.
local roots, top, appr = {nil, nil}, {nil, nil}, {nil, nil}
local dadd, tree, pend, pendby = {nil}, {}, {}, {}
local approved, stored, first = 0, 0, nil
for i = 1, n do
    local a = 2 + N * (i - 1)
    local id, parent, status, dupe = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
    local word = 'ok'
    if known[i] == 1 or seen[dupe] then
        word = 'duplicate'
    elseif parent ~= '0' then
        -- A parent in this very group is refused, as it was before its record was written ahead of the script: it
        -- is not stored yet as far as anyone could know (an id guessed ahead), and may yet be refused itself.
        for j = 1, n do
            if ARGV[2 + N * (j - 1) + 1] == parent then word = 'parent' end
        end
        if word == 'ok' then
            local p = redis.call('HGET', KEYS[2], parent)
            if not p or cjson.decode(p).status ~= 'approved' then word = 'parent' end
        end
    end
    out[i] = word
    if word == 'ok' then
        stored = stored + 1
        first = first or a
        if status ~= 'spam' then
            seen[dupe] = true
            dadd[#dadd + 1] = dupe
        end
        if status == 'approved' then
            approved = approved + 1
            if parent == '0' then
                roots[#roots + 1], roots[#roots + 2] = id, id
                top[#top + 1], top[#top + 2] = ARGV[a + 7], id
            else
                tree[#tree + 1], tree[#tree + 2] = '0', ARGV[a + 7]
                appr[#appr + 1], appr[#appr + 2] = id, id
            end
        elseif status == 'pending' then
            pend[#pend + 1], pend[#pend + 2] = id, id
            local v = ARGV[a + 6]
            pendby[v] = (pendby[v] or 0) + 1
        end
    else
        gone[#gone + 1] = id
    end
end
if #gone > 0 then
    redis.call('HDEL', KEYS[2], unpack(gone))
    redis.call('HDEL', KEYS[9], unpack(gone))
end
if stored == 0 then
    return out
end
if #dadd > 0 then redis.call('SADD', KEYS[7], unpack(dadd)) end
if #roots > 0 then
    redis.call('ZADD', KEYS[3], unpack(roots))
    redis.call('ZADD', KEYS[4], unpack(top))
end
if #tree > 0 then redis.call('ZADD', KEYS[5], unpack(tree)) end
if #appr > 0 then redis.call('ZADD', KEYS[8], unpack(appr)) end
if approved > 0 then
    redis.call('HINCRBY', KEYS[1], 'count', approved == 1 and '1' or tostring(approved))
end
if #pend > 0 then
    redis.call('ZADD', KEYS[6], unpack(pend))
    for v, k in pairs(pendby) do redis.call('HINCRBY', KEYS[10], v, tostring(k)) end
end
redis.call('HINCRBY', KEYS[1], 'ver', stored == 1 and '1' or tostring(stored))
-- The first stored comment creates the thread and gives it its title. 'url' is not the marker: an admin lock of a
-- thread nobody has commented on yet writes it (and 'locked') before any comment.
-- (An earlier lock's 'url' is the same canonical URL, so writing it again changes nothing.)
if redis.call('HSETNX', KEYS[1], 'created', ARGV[first + 5]) == 1 then
    redis.call('HSET', KEYS[1], 'url', ARGV[1], 'title', ARGV[2])
end
return out
