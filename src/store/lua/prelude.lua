-- prelude: prepended to the comment scripts at start-up (store_script.c); not a script of its own.
-- public_json(c) renders the public form of a stored comment: never the e-mail, the visitor hash or the edit-token
-- hash. The result lacks its closing brace so that readers can append the nested "replies" array. A comment
-- stored as spam is rendered as pending (the author is never told it was caught). This is the only place the
-- public form is defined.
local function public_json(c)
    local shown = c.status
    if c.placeholder then
        -- A comment kept in the tree only to hold its replies (see comment_update.lua) shows no author or text: as
        -- "pending" when an edit sent it back to the queue, as "deleted" when a moderator marked it spam.
        if shown ~= 'pending' then shown = 'deleted' end
    elseif shown == 'spam' then
        shown = 'pending'
    end
    local deleted = shown == 'deleted' or c.placeholder == true
    local p = {
        id = c.id, parent = c.parent, created = c.created_iso, edited = c.edited_iso or cjson.null,
        author = deleted and cjson.null or c.author, website = deleted and cjson.null or c.website,
        avatar = deleted and cjson.null or c.avatar, html = deleted and '' or c.html,
        likes = c.likes, dislikes = c.dislikes, status = shown, verified = (c.user or 0) ~= 0,
    }
    if shown == 'pending' then p.message = 'Your comment is awaiting moderation.' end
    local s = cjson.encode(p)
    return string.sub(s, 1, -2)
end
