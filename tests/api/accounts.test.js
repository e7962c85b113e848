// Accounts (issue 4), end to end through the real SMTP sink: register, the verify mail and its link, login by user
// name or e-mail, /me, logout; commenting while logged in (author from the account, "verified": true, owner edits
// without an edit token); lost password and reset (every session ends); password change (the other sessions end);
// the sessions list and ending one session; resending the verify mail; links that expired; the admin role from
// accounts.admin_emails. The contract is the accounts API section of DESIGN.md (/api/v1/auth/...).
//
// Sites: blog (moderation none, edit window 1 s, so an owner's edit after it shows that owners have no window).
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, page, client, qs } = require('./lib/comments');
const {
  TOKEN_RE, ISO_UTC_RE, ANY_FIELD, startAccountStack, newUser, strongPassword, assertErr, assertAccepted, assertUser,
  authClient, mailsOf, waitMailOf, linkToken, registerVerified, flush,
} = require('./lib/accounts');

const SITES = [{ id: 'blog', origins: ['https://blog.example'], moderation: 'none', edit_window_s: 1 }];
const SESSION_MAX_S = 7776000; // accounts.session_max_s default: a login's `expires` is this far ahead
const ADMIN_EMAIL = `boss-${process.pid}@example.com`;

// The mail of a password change or reset: it says so and carries no token link.
function assertChangedMail(mail) {
  assert.match(String(mail.subject), /password was changed/i);
  assert.ok(!/#token=/.test(String(mail.text)), `no token link in "${mail.subject}":\n${mail.text}`);
}

describe('accounts: the flows through the real SMTP sink', () => {
  let stack;
  let p;
  let a;
  let c;

  before(async () => {
    stack = await startAccountStack({
      sites: SITES, admins: [ADMIN_EMAIL], comments: RELAXED, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    p = stack.parley;
    a = authClient(p);
    c = client(p);
  });

  after(async () => {
    if (stack) await stack.stop();
  });

  it('register is 202 and mails a verify link; unverified login is 403; the link verifies once; login by name or e-mail (any case); /me; logout ends the token', async () => {
    const u = newUser('flow');
    const reg = await a.register(u);
    assertAccepted(reg, 'register');

    const mail = await waitMailOf(stack, u.email, 'verify');
    assert.match(String(mail.subject), /Verify/);
    assert.deepEqual(mail.rcpt_to.map((x) => x.toLowerCase()), [u.email]);
    const token = linkToken(mail, p, 'verify');

    // The right password before verifying: 403 email_unverified (by name and by e-mail).
    assertErr(await a.login(u.username, u.password), 403, 'email_unverified', undefined, 'login before verifying');
    assertErr(await a.login(u.email, u.password), 403, 'email_unverified', undefined, 'login by e-mail before verifying');

    const v = await a.verify(token);
    assert.equal(v.status, 200, v.text);
    assert.deepEqual(v.json, { verified: true });
    assertErr(await a.verify(token), 400, 'token_invalid', 'token', 'the same verify token again');

    // Login by user name (as registered and upper-cased) and by e-mail in another case.
    const t0 = Date.now();
    const sessions = [];
    for (const login of [u.username, u.username.toUpperCase(), u.email.toUpperCase()]) {
      const r = await a.login(login, u.password);
      assert.equal(r.status, 200, `login as ${login}: ${r.text}`);
      assert.deepEqual(Object.keys(r.json).sort(), ['expires', 'token', 'user'], r.text);
      assert.match(r.json.token, TOKEN_RE, 'a session token: <account id>.<43 base64url characters>');
      assert.match(r.json.expires, ISO_UTC_RE, 'expires is ISO 8601 UTC');
      const ahead = (Date.parse(r.json.expires) - t0) / 1000;
      assert.ok(Math.abs(ahead - SESSION_MAX_S) < 300, `expires is the absolute end, session_max_s ahead: ${ahead} s`);
      assertUser(r.json.user, u, 'user', `login as ${login}`);
      assert.ok(!r.text.includes(u.password), 'the password is never echoed');
      sessions.push(r.json);
    }
    assert.equal(new Set(sessions.map((s) => s.token)).size, 3, 'every login is a new session token');
    assert.deepEqual(new Set(sessions.map((s) => JSON.stringify(s.user))).size, 1, 'the same user every time');

    const me = await a.me(sessions[0].token);
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.json, { user: sessions[0].user });

    const out = await a.logout(sessions[0].token);
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.json, { ok: true });
    assertErr(await a.me(sessions[0].token), 401, 'unauthorized', undefined, '/me after logout');
    assertErr(await a.logout(sessions[0].token), 401, 'unauthorized', undefined, 'logout again');
    // Only that session ended.
    assert.equal((await a.me(sessions[2].token)).status, 200, 'the other sessions live on');
  });

  it('a logged-in user comments without author/email: author is the user name, "verified": true, no e-mail in any answer; the owner edits and deletes without an edit token, after the edit window', async () => {
    const u = await registerVerified(stack, a, newUser('writer'));
    const s = await a.loginOk(u);
    const bearer = { headers: { authorization: `Bearer ${s.token}` } };
    const noEmail = (r, what) => {
      assert.ok(!r.text.toLowerCase().includes(u.email), `${what} leaks the e-mail: ${r.text.slice(0, 300)}`);
      assert.ok(!r.text.includes('@example.com'), `${what} shows an address: ${r.text.slice(0, 300)}`);
    };
    const url = page('account');

    const r = await c.post({ site: 'blog', url, body: 'Written while logged in.' }, { bare: true, ...bearer });
    assert.equal(r.status, 201, r.text);
    noEmail(r, 'POST 201');
    const cm = r.json.comment;
    assert.equal(cm.author, u.username, 'the author name comes from the account');
    assert.equal(cm.verified, true, 'a logged-in comment is marked verified');
    assert.equal(cm.status, 'approved');
    assert.equal(cm.html, '<p>Written while logged in.</p>');

    const g = await c.thread('blog', url);
    assert.equal(g.status, 200, g.text);
    noEmail(g, 'GET thread');
    const shown = g.json.comments.find((x) => x.id === cm.id);
    assert.ok(shown, 'the comment is in the thread');
    assert.equal(shown.author, u.username);
    assert.equal(shown.verified, true);
    const one = await c.one('blog', url, cm.id);
    assert.equal(one.status, 200, one.text);
    noEmail(one, 'GET one');
    const feed = await c.feed('blog', url);
    assert.equal(feed.status, 200);
    noEmail(feed, 'feed');

    // The site's edit window is 1 s; an owner has none.
    await h.sleep(1300);
    const other = await a.loginOk(await registerVerified(stack, a, newUser('other')));
    const foreign = await c.edit('blog', url, cm.id, 'Hijacked.', null, { headers: { authorization: `Bearer ${other.token}` } });
    assertErr(foreign, foreign.status === 401 ? 401 : 403, foreign.status === 401 ? 'unauthorized' : 'forbidden',
      ANY_FIELD, 'another user\'s PATCH');
    assertErr(await c.edit('blog', url, cm.id, 'Anonymous.', null), 401, 'unauthorized', ANY_FIELD, 'PATCH without anything');

    const e = await c.edit('blog', url, cm.id, 'Edited by the owner.', null, bearer);
    assert.equal(e.status, 200, e.text);
    noEmail(e, 'PATCH');
    assert.equal(e.json.comment.html, '<p>Edited by the owner.</p>');
    assert.equal(e.json.comment.author, u.username);
    assert.equal(e.json.comment.verified, true);
    assert.match(String(e.json.comment.edited), /^\d{4}-/);

    const d = await c.remove('blog', url, cm.id, null, bearer);
    assert.equal(d.status, 200, d.text);
    noEmail(d, 'DELETE');
    const afterDel = await c.thread('blog', url);
    assert.equal(afterDel.json.comments.some((x) => x.id === cm.id), false, 'deleted by its owner');
  });

  it('forgot mails a reset link; reset sets the password, ends every session, is single-use, does not log in; old password refused, new one works; "password was changed" mail', async () => {
    const u = await registerVerified(stack, a, newUser('reset'));
    const s1 = await a.loginOk(u, { ua: 'parley-test/reset-one' });
    const s2 = await a.loginOk(u, { login: u.email, ua: 'parley-test/reset-two' });

    assertAccepted(await a.forgot(u.email), 'forgot');
    const mail = await waitMailOf(stack, u.email, 'reset');
    assert.match(String(mail.subject), /Reset/);
    const token = linkToken(mail, p, 'reset');
    // Asking alone changes nothing yet.
    assert.equal((await a.me(s1.token)).status, 200, 'sessions live until the reset');

    const newPw = strongPassword();
    const r = await a.reset(token, newPw);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ok: true }, 'a reset answers ok and does not log in');
    assertErr(await a.me(s1.token), 401, 'unauthorized', undefined, 'session 1 after the reset');
    assertErr(await a.me(s2.token), 401, 'unauthorized', undefined, 'session 2 after the reset');
    assertErr(await a.reset(token, strongPassword()), 400, 'token_invalid', 'token', 'the reset token again');

    assertErr(await a.login(u.username, u.password), 401, 'invalid_credentials', undefined, 'the old password');
    const s3 = await a.loginOk(u, { password: newPw });
    assertUser(s3.user, u);
    assertChangedMail(await waitMailOf(stack, u.email, 'changed'));
  });

  it('password change: a wrong current password is 422 current; success ends every other session, keeps this one, mails "password was changed"', async () => {
    const u = await registerVerified(stack, a, newUser('change'));
    const s1 = await a.loginOk(u, { ua: 'parley-test/change-one' });
    const s2 = await a.loginOk(u, { ua: 'parley-test/change-two' });

    assertErr(await a.change(s1.token, `${u.password}x`, strongPassword()), 422, 'invalid', 'current', 'wrong current');
    assert.equal((await a.me(s2.token)).status, 200, 'a refused change ends nothing');
    assertErr(await a.login(u.username, `${u.password}x`), 401, 'invalid_credentials', undefined, 'the refused password');

    const newPw = strongPassword();
    const r = await a.change(s1.token, u.password, newPw);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ok: true });
    assertErr(await a.me(s2.token), 401, 'unauthorized', undefined, 'the other session after the change');
    const me = await a.me(s1.token);
    assert.equal(me.status, 200, `this session lives on: ${me.text}`);
    assertUser(me.json.user, u);

    assertErr(await a.login(u.username, u.password), 401, 'invalid_credentials', undefined, 'the old password');
    await a.loginOk(u, { password: newPw });
    assertChangedMail(await waitMailOf(stack, u.email, 'changed'));
  });

  it('sessions: both listed, exactly one "current", no token shown; deleting the other ends it; an unknown id is 404', async () => {
    const u = await registerVerified(stack, a, newUser('sess'));
    const UA1 = `Mozilla/5.0 parley-test/sessions-one-${process.pid}`;
    const UA2 = `Mozilla/5.0 parley-test/sessions-two-${process.pid}`;
    const s1 = await a.loginOk(u, { ua: UA1 });
    const s2 = await a.loginOk(u, { ua: UA2 });

    const list = await a.sessions(s1.token, { ua: UA1 });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(Object.keys(list.json), ['sessions']);
    const ss = list.json.sessions;
    assert.equal(ss.length, 2, list.text);
    for (const s of ss) {
      assert.deepEqual(Object.keys(s).sort(), ['created', 'current', 'expires', 'id', 'last_seen', 'user_agent'], list.text);
      assert.match(s.id, /^[0-9a-f]{16}$/, 'id: 16 hex characters');
      for (const k of ['created', 'last_seen', 'expires']) assert.match(String(s[k]), ISO_UTC_RE, `${k}: ${s[k]}`);
      assert.equal(typeof s.current, 'boolean');
    }
    assert.notEqual(ss[0].id, ss[1].id);
    assert.ok(!list.text.includes(s1.token) && !list.text.includes(s2.token), 'the list shows no session token');
    const mine = ss.filter((s) => s.current);
    assert.equal(mine.length, 1, 'exactly one session is current');
    assert.equal(mine[0].user_agent, UA1, 'the current one is the session that asked');
    const theOther = ss.find((s) => !s.current);
    assert.equal(theOther.user_agent, UA2);

    // Seen from the other session, the other one is current.
    const list2 = await a.sessions(s2.token, { ua: UA2 });
    assert.equal(list2.status, 200, list2.text);
    assert.deepEqual(list2.json.sessions.filter((s) => s.current).map((s) => s.id), [theOther.id]);

    const del = await a.deleteSession(s1.token, theOther.id);
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.json, { ok: true });
    assertErr(await a.me(s2.token), 401, 'unauthorized', undefined, 'the deleted session');
    assert.equal((await a.me(s1.token)).status, 200, 'the session that deleted it lives on');
    const left = await a.sessions(s1.token);
    assert.deepEqual(left.json.sessions.map((s) => s.id), [mine[0].id]);

    assertErr(await a.deleteSession(s1.token, '0123456789abcdef'), 404, 'not_found', ANY_FIELD, 'unknown session id');
    assertErr(await a.deleteSession(s1.token, theOther.id), 404, 'not_found', ANY_FIELD, 'an already deleted session');
  });

  it('resend: an unverified account gets a new verify mail whose token works; a verified or unknown address gets the same 202 and no mail', async () => {
    const u = newUser('resend');
    const reg = await a.register(u);
    assertAccepted(reg, 'register');
    const first = linkToken(await waitMailOf(stack, u.email, 'verify'), p, 'verify');

    const r = await a.resend(u.email);
    assertAccepted(r, 'resend');
    assert.equal(r.text, reg.text, 'resend answers the same bytes as register');
    const second = linkToken(await waitMailOf(stack, u.email, 'verify', { count: 2 }), p, 'verify');
    assert.notEqual(second, first, 'a new token');
    const v = await a.verify(second);
    assert.equal(v.status, 200, v.text);
    await a.loginOk(u);

    // Verified now, and an address nobody has: the same answer, no mail.
    const nobody = `nobody-${process.pid}-resend@example.com`;
    const again = await a.resend(u.email);
    const unknown = await a.resend(nobody);
    assertAccepted(again, 'resend for a verified account');
    assertAccepted(unknown, 'resend for an unknown address');
    assert.equal(again.text, reg.text);
    assert.equal(unknown.text, reg.text);
    await flush(stack, a);
    assert.equal(mailsOf(stack, u.email, 'verify').length, 2, 'no verify mail for a verified account');
    assert.equal(mailsOf(stack, nobody).length, 0, 'no mail for an unknown address');
  });

  it('admin: a verified account whose e-mail is in admin_emails has role "admin" and its session lists the moderation queue; a user\'s session is refused there', async () => {
    const boss = newUser('boss');
    boss.email = ADMIN_EMAIL;
    await registerVerified(stack, a, boss);
    const s = await a.loginOk(boss);
    assertUser(s.user, boss, 'admin', 'admin login');
    const me = await a.me(s.token);
    assert.equal(me.status, 200, me.text);
    assert.equal(me.json.user.role, 'admin');

    const queue = `/api/v1/admin/comments?${qs({ site: 'blog', status: 'approved' })}`;
    const ok = await h.h1(p, 'GET', queue, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(ok.status, 200, `the admin's session token on the moderation API: ${ok.text}`);
    assert.ok(Array.isArray(ok.json.items), ok.text);
    // The configured admin token still works too (control).
    assert.equal((await h.h1(p, 'GET', queue, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, 200);

    const u = await registerVerified(stack, a, newUser('plain'));
    const us = await a.loginOk(u);
    assert.equal(us.user.role, 'user');
    const refused = await h.h1(p, 'GET', queue, { headers: { authorization: `Bearer ${us.token}` } });
    assert.ok([401, 403].includes(refused.status), `a user's session on the moderation API: ${refused.status} ${refused.text}`);
    assertErr(refused, refused.status, refused.status === 401 ? 'unauthorized' : 'forbidden', ANY_FIELD, 'user on admin API');

    // A logged-out admin session is refused too.
    assert.equal((await a.logout(s.token)).status, 200);
    const gone = await h.h1(p, 'GET', queue, { headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(gone.status, 401, `a logged-out admin session: ${gone.text}`);
  });

  it('privacy: export lists the account and its comments; deleting the account needs the password, keeps comments as "Deleted user" or deletes them, frees the name', async () => {
    const u = await registerVerified(stack, a, newUser('leaver'));
    const s = await a.loginOk(u);
    const bearer = { headers: { authorization: `Bearer ${s.token}` } };
    const url = page('privacy');
    const one = await c.post({ site: 'blog', url, body: 'First words, kept after I leave.' }, { bare: true, ...bearer });
    assert.equal(one.status, 201, one.text);
    const two = await c.post({ site: 'blog', url, body: 'Second words.' }, { bare: true, ...bearer });
    assert.equal(two.status, 201, two.text);
    // Caught by the honeypot: stored as spam, and like everywhere its author only ever reads "pending".
    const caught = await c.post({ site: 'blog', url, body: 'Third words, caught.', hp: 'x' }, { bare: true, ...bearer });
    assert.equal(caught.status, 201, caught.text);

    const ex = await a.call('GET', '/me/export', undefined, { token: s.token });
    assert.equal(ex.status, 200, ex.text);
    assert.equal(ex.json.user.username, u.username);
    assert.equal(ex.json.user.email, u.email, 'the owner sees their own address');
    assert.deepEqual(ex.json.comments.map((x) => x.body).sort(), ['First words, kept after I leave.', 'Second words.', 'Third words, caught.']);
    assert.equal(ex.json.comments.find((x) => x.body === 'Third words, caught.').status, 'pending', 'spam reads pending');
    assert.ok(!ex.text.includes('spam'), 'the word spam appears nowhere in the export');
    for (const x of ex.json.comments) {
      assert.equal(x.site, 'blog');
      assert.match(x.url, /^https:\/\/blog\.example\//);
      assert.equal(x.ehash, undefined, 'no internal hashes');
      assert.equal(x.edit, undefined);
      assert.equal(x.visitor, undefined);
    }
    assert.equal((await a.call('GET', '/me/export')).status, 401, 'export needs a session');

    // Bad input, and a wrong password: nothing happens.
    assertErr(await a.call('DELETE', '/me', { password: u.password, comments: 'maybe' }, { token: s.token }), 422, 'invalid', 'comments', 'comments: maybe');
    assertErr(await a.call('DELETE', '/me', { comments: 'keep' }, { token: s.token }), 422, 'invalid', 'password', 'no password');
    assertErr(await a.call('DELETE', '/me', { password: strongPassword(), comments: 'keep' }, { token: s.token }), 422, 'invalid', 'password', 'wrong password');
    assertErr(await a.call('DELETE', '/me', { password: u.password, comments: 'keep' }), 401, 'unauthorized', undefined, 'no session');
    assert.equal((await a.me(s.token)).status, 200, 'still there');

    const del = await a.call('DELETE', '/me', { password: u.password, comments: 'keep' }, { token: s.token });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.json, { deleted: true, comments: 3, kept: 'anonymised' });
    assert.equal((await a.me(s.token)).status, 401, 'the session ended with the account');
    assertErr(await a.login(u.username, u.password), 401, 'invalid_credentials', undefined, 'the account is gone');
    const g = await c.thread('blog', url);
    const kept = g.json.comments.filter((x) => x.id === one.json.comment.id || x.id === two.json.comment.id);
    assert.equal(kept.length, 2, 'both comments stay');
    for (const x of kept) {
      assert.equal(x.author, 'Deleted user');
      assert.equal(x.verified, false);
      assert.equal(x.website, null);
      assert.ok(!g.text.includes(u.username), 'the name is gone from the thread');
    }
    // The name and the address are free again: a new registration gets a verification mail, not "taken".
    const again = { ...newUser('again'), username: u.username, email: u.email };
    assertAccepted(await a.register(again));
    await waitMailOf(stack, u.email, 'verify', { count: 2 });

    // "delete": the comments go.
    const w = await registerVerified(stack, a, newUser('eraser'));
    const ws = await a.loginOk(w);
    const gone = await c.post({ site: 'blog', url, body: 'Erase me with my account.' }, { bare: true, headers: { authorization: `Bearer ${ws.token}` } });
    assert.equal(gone.status, 201, gone.text);
    const d2 = await a.call('DELETE', '/me', { password: w.password, comments: 'delete' }, { token: ws.token });
    assert.equal(d2.status, 200, d2.text);
    assert.equal(d2.json.comments, 1);
    const g2 = await c.thread('blog', url);
    assert.equal(g2.json.comments.some((x) => x.id === gone.json.comment.id), false, 'the deleted comment is gone');
    assert.ok(!g2.text.includes('Erase me'), 'its text too');
  });
});

describe('accounts: links expire (verify_ttl_s 2, reset_ttl_s 2)', () => {
  let stack;
  let p;
  let a;

  before(async () => {
    stack = await startAccountStack({ sites: SITES, accounts: { verify_ttl_s: 2, reset_ttl_s: 2 } });
    p = stack.parley;
    a = authClient(p);
  });

  after(async () => {
    if (stack) await stack.stop();
  });

  it('a verify link and a reset link older than their lifetime are 400 token_invalid and change nothing', async () => {
    const x = newUser('expx');
    const y = newUser('expy');
    assertAccepted(await a.register(x), 'register x');
    assertAccepted(await a.register(y), 'register y');
    // x verifies at once (inside its 2 s) so that it can ask for a reset; y's link is left to expire.
    const vx = await a.verify(linkToken(await waitMailOf(stack, x.email, 'verify'), p, 'verify'));
    assert.equal(vx.status, 200, `x verified within the lifetime: ${vx.text}`);
    const ty = linkToken(await waitMailOf(stack, y.email, 'verify'), p, 'verify');
    assertAccepted(await a.forgot(x.email), 'forgot x');
    const tr = linkToken(await waitMailOf(stack, x.email, 'reset'), p, 'reset');

    await h.sleep(3000);
    assertErr(await a.verify(ty), 400, 'token_invalid', 'token', 'an expired verify token');
    assertErr(await a.reset(tr, strongPassword()), 400, 'token_invalid', 'token', 'an expired reset token');
    assertErr(await a.login(y.username, y.password), 403, 'email_unverified', undefined, 'y is still unverified');
    await a.loginOk(x); // x's password is unchanged
  });
});

describe('accounts: a raised argon2 cost upgrades a hash at the next login', () => {
  let stack;
  let p2;

  after(async () => {
    if (p2) {
      await p2.stop();
      assert.deepEqual(h.sanitizerReport(p2.log()), [], 'no sanitizer report in the second parleyd log');
    }
    if (stack) await stack.stop();
  });

  it('the stored PHC string moves from m=1024 to m=2048 after a login; old and new passwords behave as before', async () => {
    stack = await startAccountStack({ sites: SITES });
    const a = authClient(stack.parley);
    const u = await registerVerified(stack, a, newUser('rehash'));
    const phcOf = async () => {
      const keys = await h.redisCmd(stack.redis.port, ['KEYS', '*u:{acct}:*']);
      const users = keys.filter((k) => /u:\{acct\}:[0-9a-f]{16}$/.test(k));
      assert.equal(users.length, 1, `one account: ${keys}`);
      return h.redisCmd(stack.redis.port, ['HGET', users[0], 'phc']);
    };
    const before = await phcOf();
    assert.match(before, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/, before);

    // The same Redis, a parleyd with twice the memory cost.
    const conf = fs.readFileSync(stack.parley.conf, 'utf8');
    assert.match(conf, /argon2_memory_kib: 1024/);
    await stack.parley.stop();
    const port = await h.freePort();
    p2 = await h.startParley({ port, configText: conf.replace(/port: \d+/, `port: ${port}`).replace('argon2_memory_kib: 1024', 'argon2_memory_kib: 2048') });
    const a2 = authClient(p2);
    await a2.loginOk(u);
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await h.sleep(20);
      after = await phcOf();
    }
    assert.match(after, /^\$argon2id\$v=19\$m=2048,t=1,p=1\$/, 'upgraded after the login');
    await a2.loginOk(u); // the new hash verifies the same password
    assertErr(await a2.login(u.username, strongPassword()), 401, 'invalid_credentials', undefined, 'a wrong one still fails');
    assert.equal(await phcOf(), after, 'a login under the same cost changes nothing');
  });
});
