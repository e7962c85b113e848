-- comment_create: store one new comment and index it, atomically.
-- KEYS[1] THREAD  KEYS[2] COMMENTS  KEYS[3] ROOTS  KEYS[4] ROOTS_TOP  KEYS[5] TREE  KEYS[6] PENDING  KEYS[7] DUPES
-- KEYS[8] APPROVED  KEYS[9] PUBLIC  KEYS[10] PENDING_BY
--   (all share the thread's hash tag)
-- ARGV[1] id  ARGV[2] parent id (0 = top level)  ARGV[3] status (approved|pending|spam)  ARGV[4] comment JSON
-- ARGV[5] duplicate hash  ARGV[6] canonical URL  ARGV[7] title  ARGV[8] created (ms)  ARGV[9] the public form
-- (without its closing brace)  ARGV[10] the visitor hash  ARGV[11] its place: the ROOTS_TOP score of a top-level
-- comment (16777215 - id, votes being 0), the TREE member of a reply ("%010d:%010d" of parent and id)
-- Cost notes (callgrind, per comment): the caller renders the public form (api_comments.c, comment_public) rather
-- than this script decoding the JSON it was just given and encoding it again, which was a third of Redis's time;
-- and every number goes to redis.call as the string it arrived as, since Redis turns a Lua number into a string
-- with printf("%.17g") (a sixth of what was left). prelude.lua's public_json stays the one definition for every
-- later render; tests/api/comments.test.js checks that both give the same object.
-- Returns {'ok', public JSON (see prelude)}, or {error word, ''}: 'locked' (thread locked), 'duplicate' (same e-mail
-- and body in this thread), 'parent' (the parent is gone or not approved any more).
-- Spam is stored but indexed nowhere in the thread; only the moderation queue (written by the caller) lists it.
local id, parent, status = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', KEYS[1], 'locked') == '1' then
    return {'locked', ''}
end
if redis.call('SISMEMBER', KEYS[7], ARGV[5]) == 1 then
    return {'duplicate', ''}
end
if parent ~= '0' then
    local p = redis.call('HGET', KEYS[2], parent)
    if not p or cjson.decode(p).status ~= 'approved' then
        return {'parent', ''}
    end
end
redis.call('HSET', KEYS[2], id, ARGV[4])
local pub = ARGV[9]
redis.call('HSET', KEYS[9], id, pub)
if status ~= 'spam' then
    redis.call('SADD', KEYS[7], ARGV[5])
end
if status == 'approved' then
    if parent == '0' then
        redis.call('ZADD', KEYS[3], id, id)
        redis.call('ZADD', KEYS[4], ARGV[11], id)
    else
        redis.call('ZADD', KEYS[5], '0', ARGV[11])
    end
    redis.call('ZADD', KEYS[8], id, id)
    redis.call('HINCRBY', KEYS[1], 'count', '1')
elseif status == 'pending' then
    redis.call('ZADD', KEYS[6], id, id)
    redis.call('HINCRBY', KEYS[10], ARGV[10], '1')
end
redis.call('HINCRBY', KEYS[1], 'ver', '1')
-- The first stored comment creates the thread and gives it its title. 'url' is not the marker: an admin lock of a
-- thread nobody has commented on yet writes it (and 'locked') before any comment.
-- (An earlier lock's 'url' is the same canonical URL, so writing it again changes nothing.)
if redis.call('HSETNX', KEYS[1], 'created', ARGV[8]) == 1 then
    redis.call('HSET', KEYS[1], 'url', ARGV[6], 'title', ARGV[7])
end
return {'ok', pub}
