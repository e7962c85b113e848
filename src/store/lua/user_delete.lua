-- Removes an account: its record, its index entries (only while they still point to it), its sessions, failed
-- logins and comment list. The comments themselves are handled before, thread by thread (comment_update.lua).
-- KEYS[1] USER, KEYS[2] USER_NAMES, KEYS[3] USER_EMAILS, KEYS[4] USER_SESSIONS, KEYS[5] LOGIN_FAILS of the account,
-- KEYS[6] USER_COMMENTS
-- ARGV[1] the account id, ARGV[2] its lower-cased name, ARGV[3] its lower-cased e-mail
-- Returns 1 when the account existed, else 0
local existed = redis.call('DEL', KEYS[1])
for i, k in ipairs({KEYS[2], KEYS[3]}) do
  local entry = redis.call('HGET', k, ARGV[i + 1])
  if entry and string.sub(entry, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('HDEL', k, ARGV[i + 1]) end
end
redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
return existed
