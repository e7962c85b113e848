-- privacy_token: read, or use up, a manage-my-comments token (api_privacy.c).
-- KEYS[1] PRIVACY_TOKEN of the token
-- ARGV[1] 'read' (the token stays: an export may be downloaded again) or 'take' (the token is deleted in the same
--   step, so a delete link works once even when two requests race)
-- Returns {ehash, site ('' = every site), remaining life in ms}, or {} when there is no such token (never made,
-- expired or used).
local f = redis.call('HMGET', KEYS[1], 'ehash', 'site')
if not f[1] then
    return {}
end
local ttl = redis.call('PTTL', KEYS[1])
if ARGV[1] == 'take' then
    redis.call('DEL', KEYS[1])
end
return {f[1], f[2] or '', ttl}
