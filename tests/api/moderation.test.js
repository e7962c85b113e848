// Moderation and anti-spam end to end (issue 3 "Writing" and "Moderation API"): the four policies on four sites of
// one parleyd, pending visibility, the honeypot and form tokens (spam is stored, answered like pending), token age,
// duplicates, bans, the admin queue and actions, thread locks, and the visitor rate limits. Three parleyds share one
// redis-server under different key prefixes, because the comments: limits are global to a parleyd:
//   A: sites none / all / links / first, anti-spam relaxed (no form-age floor, no interval, no limits);
//   B: min_form_age_s 2, max_form_age_s 60, 5 a minute, 3 a minute per thread, no interval;
//   C: min_interval_s 15 (the defaults otherwise).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const {
  ADMIN_TOKEN, RELAXED, uniq, page, ua, urlHash, assertError, flatten, client, forgeFormToken,
} = require('./lib/comments');

const AWAITING = 'Your comment is awaiting moderation.';
let redis;
let A;
let B;
let C;
let a;
let b;
let cc;

before(async () => {
  redis = await h.startRedis();
  const env = { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN };
  A = await h.startParley({
    redisUrl: redis.url, prefix: 'a:', env, comments: RELAXED,
    sites: [
      { id: 'none', origins: ['https://none.example'], moderation: 'none' },
      { id: 'all', origins: ['https://all.example'], moderation: 'all' },
      { id: 'links', origins: ['https://links.example'], moderation: 'links' },
      { id: 'first', origins: ['https://first.example'] },
    ],
  });
  B = await h.startParley({
    redisUrl: redis.url, prefix: 'b:', env, sites: [{ id: 'blog', origins: ['https://blog.example'], moderation: 'none' }],
    comments: { min_form_age_s: 2, max_form_age_s: 60, per_minute: 5, per_hour: 30, per_thread_per_minute: 3, min_interval_s: 0 },
  });
  C = await h.startParley({
    redisUrl: redis.url, prefix: 'c:', env, sites: [{ id: 'blog', origins: ['https://blog.example'], moderation: 'none' }],
    comments: { min_form_age_s: 0, min_interval_s: 15 },
  });
  a = client(A);
  b = client(B);
  cc = client(C);
});

after(async () => {
  for (const p of [A, B, C]) if (p) await p.stop();
  if (redis) await redis.stop();
  for (const p of [A, B, C]) if (p) assert.deepEqual(h.sanitizerReport(p.log()), [], 'no sanitizer report in the parleyd log');
});

const ref = (canonical, id) => `${urlHash(canonical)}:${id}`;
const nowS = () => Math.floor(Date.now() / 1000);

function assertPendingAnswer(r, what) {
  assert.equal(r.status, 201, `${what}: ${r.text}`);
  assert.equal(r.json.comment.status, 'pending', what);
  assert.equal(r.json.comment.message, AWAITING, what);
}

test('policies: none approves, all holds, links holds two or more links, first holds a new e-mail until approved', async () => {
  // none
  let url = page('pol', 'none.example');
  let r = await a.create({ site: 'none', url, body: 'https://a.example/ https://b.example/ https://c.example/' });
  assert.equal(r.comment.status, 'approved');
  assert.equal('message' in r.comment, false, 'no moderation message on an approved comment');
  assert.equal((await a.thread('none', url)).json.thread.count, 1);

  // all
  url = page('pol', 'all.example');
  r = await a.create({ site: 'all', url, body: 'plain words' });
  assert.equal(r.comment.status, 'pending');
  assert.equal(r.comment.message, AWAITING);
  assert.equal((await a.thread('all', url)).json.thread.count, 0);
  assert.ok(await a.adminFind('all', 'pending', url, r.comment.id), 'in the pending queue');

  // links: one link (markup or bare) passes, two wait.
  url = page('pol', 'links.example');
  const links = [
    ['no link', 'just text', 'approved'],
    ['one markup link', 'see <a href="https://one.example/">this</a>', 'approved'],
    ['one bare URL', 'see https://one.example/x', 'approved'],
    ['mailto link', '<a href="mailto:x@example.com">mail</a>', 'approved'],
    ['two markup links', '<a href="https://one.example/">1</a> <a href="https://two.example/">2</a>', 'pending'],
    ['two bare URLs', 'https://one.example/ and http://two.example/', 'pending'],
    ['one of each', '<a href="https://one.example/">1</a> https://two.example/', 'pending'],
    ['a link without href does not count', '<a>no href</a> https://one.example/', 'approved'],
    ['a javascript: link is no link', '<a href="javascript:x()">js</a> https://one.example/', 'approved'],
  ];
  let approved = 0;
  for (const [what, body, status] of links) {
    r = await a.create({ site: 'links', url, body });
    assert.equal(r.comment.status, status, `${what}: ${r.comment.html}`);
    if (status === 'approved') approved++;
  }
  assert.equal((await a.thread('links', url)).json.thread.count, approved);

  // first: an e-mail's first comments wait until one is approved; then it is trusted on that site.
  url = page('pol', 'first.example');
  const email = `first-${uniq('e')}@example.com`;
  const p1 = await a.create({ site: 'first', url, email, body: 'my first comment' });
  assert.equal(p1.comment.status, 'pending');
  const p2 = await a.create({ site: 'first', url, email, body: 'my second comment, before approval' });
  assert.equal(p2.comment.status, 'pending', 'still unknown until a moderator approves one');
  const entry = await a.adminFind('first', 'pending', url, p1.comment.id);
  assert.ok(entry, 'the first comment is in the pending queue');
  assert.equal(entry.email, email, 'admins see the e-mail');
  assert.equal(entry.status, 'pending');
  assert.equal(entry.thread, url);
  const ok = await a.adminAct('first', entry.ref, 'approve');
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.comment.status, 'approved');
  assert.equal(ok.json.comment.ref, entry.ref);
  let g = await a.thread('first', url, { ua: ua('reader') });
  assert.deepEqual(g.json.comments.map((x) => x.id), [p1.comment.id], 'the approved one is public, the second still waits');
  assert.equal(g.json.thread.count, 1);
  assert.equal(await a.adminFind('first', 'pending', url, p1.comment.id), undefined, 'left the pending queue');
  assert.ok(await a.adminFind('first', 'approved', url, p1.comment.id), 'joined the approved queue');
  const p3 = await a.create({ site: 'first', url, email, body: 'after approval' });
  assert.equal(p3.comment.status, 'approved', 'approved at once after the first approval');
  const p4 = await a.create({ site: 'first', url: page('pol', 'first.example'), email: email.toUpperCase(), body: 'elsewhere' });
  assert.equal(p4.comment.status, 'approved', 'on any thread of the site, the address compared case-insensitively');
  const stranger = await a.create({ site: 'first', url, email: `other-${uniq('e')}@example.com`, body: 'new here' });
  assert.equal(stranger.comment.status, 'pending', 'another address still waits');
  g = await a.thread('first', url, { ua: ua('reader') });
  assert.equal(g.json.thread.count, 2);
  // Trust on "first" does not leak to a site with another policy.
  const held = await a.create({ site: 'all', url: page('pol', 'all.example'), email, body: 'trusted elsewhere' });
  assert.equal(held.comment.status, 'pending');
});

test('first, in a burst: each comment is judged by its own address, and each lands in its own queue', async () => {
  // The known-address check is one SMISMEMBER for a worker's turn and the queue entries one ZADD
  // (store_call_command_grouped): known and new addresses interleaved in one burst must each get their own answer.
  const known = [];
  const seedUrl = page('burst-seed', 'first.example');
  for (let i = 0; i < 6; i++) {
    const email = `known${i}-${uniq('f')}@example.com`;
    const r = await a.create({ site: 'first', url: seedUrl, email, body: `seed ${i}` });
    const ok = await a.adminAct('first', ref(seedUrl, r.comment.id), 'approve');
    assert.equal(ok.status, 200, ok.text);
    known.push(email);
  }
  const metric = async (name) => Number(((await h.h1(A, 'GET', '/metrics')).text.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
  let grouped = false;
  for (let attempt = 0; attempt < 6 && !grouped; attempt++) {
    const url = page(`burst-${attempt}`, 'first.example');
    const token = await a.formToken('first', url);
    const sent = [];
    known.forEach((email, i) => {
      sent.push({ status: 'approved', body: { site: 'first', url, form_token: token, author: `K${i}`, email, body: `k ${i} ${attempt}` } });
      sent.push({ status: 'pending', body: { site: 'first', url, form_token: token, author: `N${i}`,
        email: `new${i}-${uniq('f')}@example.com`, body: `n ${i} ${attempt}` } });
    });
    const [g0, c0] = [await metric('parley_redis_group_commits_total'), await metric('parley_redis_grouped_calls_total')];
    const res = await Promise.all(sent.map((x) => a.post(x.body, { bare: true })));
    const [g1, c1] = [await metric('parley_redis_group_commits_total'), await metric('parley_redis_grouped_calls_total')];
    grouped = c1 - c0 > g1 - g0;
    const queues = {};
    for (const status of ['approved', 'pending']) {
      const r = await a.adminList('first', status);
      assert.equal(r.status, 200, r.text);
      queues[status] = new Set(r.json.items.map((it) => it.ref));
    }
    res.forEach((r, i) => {
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.comment.status, sent[i].status, `${sent[i].body.author}: ${sent[i].body.email}`);
      const entry = ref(url, r.json.comment.id);
      assert.ok(queues[sent[i].status].has(entry), `${entry} is in the ${sent[i].status} queue`);
    });
    const g = await a.thread('first', url, { ua: ua('reader') });
    assert.equal(g.json.thread.count, known.length, 'the known addresses\' comments are public, the new ones wait');
  }
  assert.ok(grouped, 'no burst was grouped: the test did not exercise group commit');
});

test('pending comments are shown only to their author, on the first page, with the message; never counted', async () => {
  const url = page('pend', 'links.example');
  const author = ua('author');
  const other = ua('other');
  const rootIds = [];
  for (let i = 0; i < 4; i++) rootIds.push((await a.create({ site: 'links', url, body: `approved ${i}` }, { ua: other })).comment.id);
  const pend = (await a.create({ site: 'links', url, body: 'mine: https://a.example/ https://b.example/' }, { ua: author })).comment;
  assert.equal(pend.status, 'pending');
  const preply = (await a.create({ site: 'links', url, parent: rootIds[0], body: 'reply https://a.example/ https://b.example/' },
    { ua: author })).comment;
  assert.equal(preply.status, 'pending');
  assert.equal(preply.parent, rootIds[0]);

  // Another visitor reads first (a page that may be cached without any pending comment), then the author.
  let g = await a.thread('links', url, { ua: other });
  assert.ok(!flatten(g.json.comments).some((x) => x.id === pend.id));
  g = await a.thread('links', url, { ua: author });
  assert.equal(g.json.thread.count, 4, 'pending comments are not counted');
  const mine = g.json.comments.find((x) => x.id === pend.id);
  assert.ok(mine, `the author sees the pending comment: ${g.text}`);
  assert.equal(mine.status, 'pending');
  assert.equal(mine.message, AWAITING);
  assert.equal(mine.html, pend.html);
  assert.deepEqual(g.json.comments[0].replies.map((x) => [x.id, x.status, x.message]), [[preply.id, 'pending', AWAITING]],
    'a pending reply sits under its parent for its author');

  for (const viewer of [other, ua('third'), null]) {
    g = await a.thread('links', url, { ua: viewer === null ? undefined : viewer, headers: viewer === null ? { 'user-agent': null } : {} });
    assert.equal(g.status, 200);
    const ids = flatten(g.json.comments).map((x) => x.id);
    assert.ok(!ids.includes(pend.id) && !ids.includes(preply.id), `${viewer}: no pending comments of others: ${ids}`);
    assert.ok(!g.text.includes(AWAITING));
    assert.equal(g.json.thread.count, 4);
  }
  // The author's pending comments are on the first page only.
  const p1 = await a.thread('links', url, { ua: author, limit: '2' });
  assert.ok(flatten(p1.json.comments).some((x) => x.id === pend.id), 'on page 1');
  const p2 = await a.thread('links', url, { ua: author, limit: '2', cursor: p1.json.next });
  assert.deepEqual(p2.json.comments.map((x) => x.id), rootIds.slice(2, 4));
  assert.ok(!flatten(p2.json.comments).some((x) => x.status === 'pending'), 'not repeated on page 2');
  // Nor in /counts or the feed.
  const counts = await a.counts('links', [url]);
  assert.equal(counts.json.items[0].comments, 4);
  const feed = await a.feed('links', url);
  assert.ok(!feed.text.includes(`#comment-${pend.id}<`) && !feed.text.includes('mine:'), 'no pending entry in the feed');

  // Approved by a moderator, it is everyone's and counted.
  assert.equal((await a.adminAct('links', ref(url, pend.id), 'approve')).status, 200);
  g = await a.thread('links', url, { ua: other });
  const now = g.json.comments.find((x) => x.id === pend.id);
  assert.ok(now, 'visible to others once approved');
  assert.equal(now.status, 'approved');
  assert.equal('message' in now, false);
  assert.equal(g.json.thread.count, 5);
});

test('honeypot and bad form tokens: answered 201 like pending, stored as spam, never shown, in the spam queue', async () => {
  const url = page('spam', 'none.example');
  const canonical = url;
  const good = await a.formToken('none', url);
  const otherUrlToken = await a.formToken('none', page('spam-other', 'none.example'));
  const otherSiteToken = await a.formToken('links', page('spam-site', 'links.example'));
  const flipped = good.slice(0, 20) + (good[20] === 'A' ? 'B' : 'A') + good.slice(21);
  const cases = [
    ['honeypot filled', { hp: 'http://spam.example/' }],
    ['honeypot whitespace', { hp: ' ' }],
    ['no form token', { form_token: null }],
    ['empty form token', { form_token: '' }],
    ['garbage form token', { form_token: 'not-a-token' }],
    ['tampered form token', { form_token: flipped }],
    ['truncated form token', { form_token: good.slice(0, 31) }],
    ['form token of another URL', { form_token: otherUrlToken }],
    ['form token of another site', { form_token: otherSiteToken }],
    ['expired form token (24 h + 10 s)', { form_token: forgeFormToken(A, 'none', canonical, nowS() - 86400 - 10) }],
    ['form token from the future', { form_token: forgeFormToken(A, 'none', canonical, nowS() + 120) }],
  ];
  const viewer = ua('spammer');
  const spamIds = [];
  for (const [what, extra] of cases) {
    const r = await a.post({ site: 'none', url, body: `spam: ${what}`, ...extra }, { ua: viewer });
    assertPendingAnswer(r, what);
    assert.match(r.json.edit_token, /^[A-Za-z0-9_-]{43}$/, 'looks like any other 201');
    spamIds.push(r.json.comment.id);
    const entry = await a.adminFind('none', 'spam', canonical, r.json.comment.id);
    assert.ok(entry, `${what}: stored as spam`);
    assert.equal(entry.status, 'spam');
    assert.equal(entry.html, r.json.comment.html);
    assert.equal(await a.adminFind('none', 'pending', canonical, r.json.comment.id), undefined, `${what}: not pending`);
  }
  let g = await a.thread('none', url, { ua: viewer });
  assert.deepEqual(g.json.comments, [], 'spam is shown to nobody, not even its sender');
  assert.equal(g.json.thread.count, 0);

  // Controls: the same request with a good token, with a token signed the way the server does (issued 10 s ago:
  // proves the forged ones above fail for their age, not their signature), and the server's own token of the same
  // second equals the forger's output.
  const fresh = await a.post({ site: 'none', url, body: 'a good one', form_token: good }, { ua: viewer });
  assert.equal(fresh.status, 201, fresh.text);
  assert.equal(fresh.json.comment.status, 'approved');
  const aged = await a.post({ site: 'none', url, body: 'signed 10 s ago', form_token: forgeFormToken(A, 'none', canonical, nowS() - 10) });
  assert.equal(aged.json.comment.status, 'approved', 'the forger signs like the server');
  const issued = Number(Buffer.from(good, 'base64url').readBigUInt64BE(0));
  assert.equal(forgeFormToken(A, 'none', canonical, issued), good);
  g = await a.thread('none', url, { ua: viewer });
  assert.equal(g.json.thread.count, 2);

  // A moderator can rescue a false positive.
  const rescue = await a.adminAct('none', ref(canonical, spamIds[0]), 'approve');
  assert.equal(rescue.status, 200, rescue.text);
  g = await a.thread('none', url);
  assert.ok(g.json.comments.some((x) => x.id === spamIds[0]));
  assert.equal(g.json.thread.count, 3);

  // /metrics counts comments by the status they were stored with (spam included, though answered like pending).
  const m = await h.metrics(A);
  assert.ok(h.metricValue(m, 'parley_comments_created_total', { status: 'spam' }) >= spamIds.length, 'spam counted');
  assert.ok(h.metricValue(m, 'parley_comments_created_total', { status: 'approved' }) >= 2, 'approved counted');
});

test('duplicates: same body and e-mail in the same thread is 409; another thread, e-mail or body is fine', async () => {
  const url = page('dupe', 'none.example');
  const body = `I said this once ${uniq('d')}`;
  await a.create({ site: 'none', url, body, email: 'dup@example.com' });
  assertError(await a.post({ site: 'none', url, body, email: 'dup@example.com' }), 409, 'duplicate', 'body', 'same');
  assertError(await a.post({ site: 'none', url, body: `  ${body}\n`, email: 'DUP@Example.com' }), 409, 'duplicate', 'body',
    'trimmed body, e-mail in other case');
  assertError(await a.post({ site: 'none', url: `${url}/?utm_source=x`, body, email: 'dup@example.com' }), 409, 'duplicate',
    'body', 'another spelling of the same URL');
  assert.equal((await a.post({ site: 'none', url: page('dupe', 'none.example'), body, email: 'dup@example.com' })).status, 201,
    'same body in another thread');
  assert.equal((await a.post({ site: 'none', url, body, email: 'dup2@example.com' })).status, 201, 'another e-mail');
  assert.equal((await a.post({ site: 'none', url, body: `${body}!`, email: 'dup@example.com' })).status, 201, 'another body');
  // Spam does not block the genuine comment that follows.
  const sbody = `maybe spam ${uniq('d')}`;
  assertPendingAnswer(await a.post({ site: 'none', url, body: sbody, hp: 'x' }), 'honeypot');
  const real = await a.post({ site: 'none', url, body: sbody });
  assert.equal(real.status, 201, real.text);
  assert.equal(real.json.comment.status, 'approved');
  // A pending comment counts as posted.
  const lurl = page('dupe', 'links.example');
  const pbody = `https://a.example/ https://b.example/ ${uniq('d')}`;
  await a.create({ site: 'links', url: lurl, body: pbody });
  assertError(await a.post({ site: 'links', url: lurl, body: pbody }), 409, 'duplicate', 'body', 'pending duplicate');
  assert.equal((await a.thread('none', url)).json.thread.count, 4);
});

test('bans: a banned e-mail is refused with 403 forbidden on that site only', async () => {
  const url = page('ban', 'none.example');
  const email = `banned-${uniq('e')}@example.com`;
  await a.create({ site: 'none', url, email, body: 'before the ban' });
  const ban = await a.admin('POST', '/api/v1/admin/bans', { site: 'none', email, duration_s: 3600 });
  assert.equal(ban.status, 201, ban.text);
  assert.deepEqual(ban.json, { banned: 'email', duration_s: 3600 });
  assertError(await a.post({ site: 'none', url, email, body: 'after the ban' }), 403, 'forbidden', undefined, 'banned');
  assertError(await a.post({ site: 'none', url: page('ban', 'none.example'), email: email.toUpperCase(), body: 'other case' }),
    403, 'forbidden', undefined, 'banned, other case');
  assert.equal((await a.post({ site: 'none', url, email: `ok-${uniq('e')}@example.com`, body: 'someone else' })).status, 201);
  assert.equal((await a.post({ site: 'links', url: page('ban', 'links.example'), email, body: 'another site' })).status, 201,
    'a ban is per site');
  const g = await a.thread('none', url);
  assert.equal(g.json.thread.count, 2);
  assert.ok(!g.text.includes('after the ban'));

  const bad = [
    [{ site: 'none', email, duration_s: 10 }, 'duration_s'],
    [{ site: 'none', email }, 'duration_s'],
    [{ site: 'none', duration_s: 3600 }, 'email'],
    [{ site: 'none', email, visitor: 'ab12', duration_s: 3600 }, 'email'],
    [{ site: 'none', visitor: 'not-hex!', duration_s: 3600 }, 'visitor'],
    [{ site: 'none', email, duration_s: 3600, why: 'x' }, 'why'],
  ];
  for (const [body, field] of bad) assertError(await a.admin('POST', '/api/v1/admin/bans', body), 422, 'invalid', field, JSON.stringify(body));
  assertError(await a.admin('POST', '/api/v1/admin/bans', { site: 'nope', email, duration_s: 3600 }), 404, 'unknown_site', 'site');
});

test('admin: 401 without the token; the queue shows e-mails; spam and delete take a comment out of thread and count', async () => {
  const url = page('adm', 'none.example');
  const email = `adm-${uniq('e')}@example.com`;
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await a.create({ site: 'none', url, email, body: `admin test ${i}` })).comment.id);

  // Authentication, on every admin endpoint.
  const calls = [
    ['GET', '/api/v1/admin/comments?site=none&status=approved', undefined],
    ['POST', `/api/v1/admin/comments/${ref(url, ids[0])}/spam`, { site: 'none' }],
    ['POST', '/api/v1/admin/threads/lock', { site: 'none', url }],
    ['POST', '/api/v1/admin/bans', { site: 'none', email, duration_s: 3600 }],
  ];
  for (const [method, path, body] of calls) {
    for (const [what, headers] of [
      ['no token', {}],
      ['wrong token', { authorization: 'Bearer wrong-token-of-enough-length' }],
      ['token plus a byte', { authorization: `Bearer ${ADMIN_TOKEN}x` }],
      ['token as Basic', { authorization: `Basic ${ADMIN_TOKEN}` }],
      ['token without scheme', { authorization: ADMIN_TOKEN }],
    ]) {
      const r = await h.h1(A, method, path, { body, headers });
      assertError(r, 401, 'unauthorized', undefined, `${method} ${path} ${what}`);
      assert.match(String(r.headers['www-authenticate']), /^Bearer/i);
    }
  }
  // None of those did anything.
  let g = await a.thread('none', url);
  assert.equal(g.json.thread.count, 3);
  assert.equal(g.json.thread.locked, false);
  const notBanned = await a.post({ site: 'none', url, email, body: 'not banned' });
  assert.equal(notBanned.status, 201, notBanned.text);
  ids.push(notBanned.json.comment.id);

  // The queue: newest first, with e-mail, ref and thread; bad parameters refused.
  const q = await a.adminList('none', 'approved');
  assert.equal(q.status, 200, q.text);
  const mine = q.json.items.filter((it) => it.thread === url);
  assert.deepEqual(mine.map((it) => it.ref), [...ids].reverse().map((id) => ref(url, id)));
  for (const it of mine) {
    assert.equal(it.email, email);
    assert.equal(it.status, 'approved');
    assert.equal('edit' in it, false);
    assert.match(it.visitor, /^[0-9a-f]{32}$/);
  }
  assertError(await a.admin('GET', '/api/v1/admin/comments?site=none&status=deleted'), 422, 'invalid', 'status');
  assertError(await a.admin('GET', '/api/v1/admin/comments?site=nope&status=pending'), 404, 'unknown_site', 'site');
  assertError(await a.admin('GET', '/api/v1/admin/comments?site=none&limit=0'), 422, 'invalid', 'limit');
  assertError(await a.admin('GET', '/api/v1/admin/comments?site=none&cursor=x'), 422, 'invalid', 'cursor');
  // Paging the queue with next.
  const p1 = await a.admin('GET', '/api/v1/admin/comments?site=none&status=approved&limit=2');
  assert.equal(p1.json.items.length, 2);
  assert.equal(typeof p1.json.next, 'string');
  const p2 = await a.admin('GET', `/api/v1/admin/comments?site=none&status=approved&limit=2&cursor=${p1.json.next}`);
  assert.equal(p2.status, 200, p2.text);
  const refs1 = p1.json.items.map((it) => it.ref);
  assert.ok(p2.json.items.every((it) => !refs1.includes(it.ref)), 'page 2 does not repeat page 1');

  // spam: out of the thread, the count, /counts and the feed; into the spam queue.
  let r = await a.adminAct('none', ref(url, ids[1]), 'spam');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.comment.status, 'spam');
  assert.equal(r.json.comment.email, email);
  g = await a.thread('none', url);
  assert.deepEqual(g.json.comments.map((x) => x.id), [ids[0], ids[2], ids[3]]);
  assert.equal(g.json.thread.count, 3);
  assert.equal((await a.counts('none', [url])).json.items[0].comments, 3);
  assert.ok(!(await a.feed('none', url)).text.includes(`#comment-${ids[1]}<`));
  assert.ok(await a.adminFind('none', 'spam', url, ids[1]));
  assert.equal(await a.adminFind('none', 'approved', url, ids[1]), undefined);
  assertError(await a.vote('none', url, ids[1], 1), 404, 'not_found', 'id', 'vote on spam');
  assertError(await a.one('none', url, ids[1]), 404, 'not_found', 'id', 'deep link to spam');

  // delete: gone from the thread and every queue.
  r = await a.adminAct('none', ref(url, ids[2]), 'delete');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.comment.status, 'deleted');
  g = await a.thread('none', url);
  assert.deepEqual(g.json.comments.map((x) => x.id), [ids[0], ids[3]]);
  assert.equal(g.json.thread.count, 2);
  for (const st of ['approved', 'pending', 'spam']) assert.equal(await a.adminFind('none', st, url, ids[2]), undefined, st);
  // A moderator deleting a comment with replies leaves a placeholder.
  const reply = (await a.create({ site: 'none', url, parent: ids[0], body: 'a reply' })).comment;
  r = await a.adminAct('none', ref(url, ids[0]), 'delete');
  assert.equal(r.status, 200, r.text);
  g = await a.thread('none', url);
  assert.equal(g.json.comments[0].id, ids[0]);
  assert.equal(g.json.comments[0].status, 'deleted');
  assert.equal(g.json.comments[0].html, '');
  assert.equal(g.json.comments[0].author, null);
  assert.deepEqual(g.json.comments[0].replies.map((x) => x.id), [reply.id]);
  assert.equal(g.json.thread.count, 2, 'the placeholder is not counted; the reply is');

  // Bad references and actions.
  assertError(await a.adminAct('none', ref(url, 999), 'approve'), 404, 'not_found', 'ref');
  assertError(await a.adminAct('none', `${urlHash(url)}:x`, 'approve'), 404, 'not_found', 'ref');
  assertError(await a.adminAct('none', 'nothing', 'approve'), 404, 'not_found', 'ref');
  assertError(await a.adminAct('none', ref(url, ids[3]), 'bless'), 404, 'not_found');
  assertError(await a.adminAct('nope', ref(url, ids[3]), 'approve'), 404, 'unknown_site', 'site');
  g = await a.thread('none', url);
  assert.equal(g.json.comments[1].status, 'approved', 'untouched');
});

test('thread lock: new comments are 403 thread_locked and GET says locked; unlock opens it again', async () => {
  const url = page('lock', 'none.example');
  const root = (await a.create({ site: 'none', url, title: 'Locked post', body: 'before the lock' })).comment;
  let r = await a.admin('POST', '/api/v1/admin/threads/lock', { site: 'none', url });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { url, locked: true });
  let g = await a.thread('none', url);
  assert.equal(g.json.thread.locked, true);
  assert.equal(g.json.thread.count, 1);
  assert.deepEqual(g.json.comments.map((x) => x.id), [root.id], 'existing comments stay readable');
  assertError(await a.post({ site: 'none', url, body: 'while locked' }), 403, 'thread_locked', undefined, 'root');
  assertError(await a.post({ site: 'none', url, parent: root.id, body: 'reply while locked' }), 403, 'thread_locked', undefined,
    'reply');
  assertError(await a.post({ site: 'none', url: `${url}/?utm_campaign=x`, body: 'other spelling' }), 403, 'thread_locked');
  assert.equal((await a.vote('none', url, root.id, 1)).status, 200, 'votes still count on a locked thread');
  assert.equal((await a.post({ site: 'none', url: page('lock', 'none.example'), body: 'another thread' })).status, 201);

  r = await a.admin('POST', '/api/v1/admin/threads/unlock', { site: 'none', url });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { url, locked: false });
  g = await a.thread('none', url);
  assert.equal(g.json.thread.locked, false);
  r = await a.post({ site: 'none', url, body: 'after the unlock' });
  assert.equal(r.status, 201, r.text);
  g = await a.thread('none', url);
  assert.equal(g.json.thread.count, 2);
  assert.equal(g.json.thread.title, 'Locked post');

  // A thread locked before anyone commented: refused; once unlocked, its first comment still sets the title.
  const fresh = page('lock-fresh', 'none.example');
  assert.equal((await a.admin('POST', '/api/v1/admin/threads/lock', { site: 'none', url: fresh })).status, 200);
  g = await a.thread('none', fresh);
  assert.equal(g.json.thread.locked, true);
  assertError(await a.post({ site: 'none', url: fresh, title: 'Fresh post', body: 'first try' }), 403, 'thread_locked');
  assert.equal((await a.admin('POST', '/api/v1/admin/threads/unlock', { site: 'none', url: fresh })).status, 200);
  assert.equal((await a.post({ site: 'none', url: fresh, title: 'Fresh post', body: 'first comment' })).status, 201);
  g = await a.thread('none', fresh);
  assert.deepEqual(g.json.thread, { url: fresh, title: 'Fresh post', count: 1, locked: false, max_depth: 5, edit_window_s: 900 });

  assertError(await a.admin('POST', '/api/v1/admin/threads/freeze', { site: 'none', url }), 404, 'not_found');
  assertError(await a.admin('POST', '/api/v1/admin/threads/lock', { site: 'none', url: 'https://evil.example/x' }), 403, 'foreign_url', 'url');
  assertError(await a.admin('POST', '/api/v1/admin/threads/lock', { site: 'none' }), 422, 'invalid', 'url');
});

test('form token age (B: min 2 s, max 60 s): too young is spam; a 2.1 s old token is fine; too old is spam', async () => {
  const url = page('age');
  const viewer = ua('age');
  const young = await b.post({ site: 'blog', url, body: 'posted at once' }, { ua: viewer });
  assertPendingAnswer(young, 'token younger than 2 s');
  assert.ok(await b.adminFind('blog', 'spam', url, young.json.comment.id), 'stored as spam');
  const token = await b.formToken('blog', url, { ua: viewer });
  await h.sleep(2100);
  const ok = await b.post({ site: 'blog', url, body: 'posted after 2.1 s', form_token: token }, { ua: viewer });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.comment.status, 'approved');
  const old = await b.post({ site: 'blog', url, body: 'token 61 s old', form_token: forgeFormToken(B, 'blog', url, nowS() - 61) },
    { ua: ua('age2') });
  assertPendingAnswer(old, 'token older than max_form_age_s');
  const inside = await b.post({ site: 'blog', url, body: 'token 50 s old', form_token: forgeFormToken(B, 'blog', url, nowS() - 50) },
    { ua: ua('age3') });
  assert.equal(inside.json.comment.status, 'approved', 'a token inside the window is fine');
  const g = await b.thread('blog', url, { ua: viewer });
  assert.deepEqual(g.json.comments.map((x) => x.id), [ok.json.comment.id, inside.json.comment.id]);
});

function assertLimited(r, maxRetry, what) {
  assertError(r, 429, 'rate_limited', undefined, what);
  const ra = Number(r.headers['retry-after']);
  assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= maxRetry, `${what}: Retry-After ${r.headers['retry-after']}`);
}

test('rate limits (B): 3 a minute per visitor and thread, 5 a minute per visitor, each 429 with Retry-After', async () => {
  // Tokens signed 10 s ago, so B's 2 s floor does not turn these into spam.
  const post = (url, body, who) => b.post({ site: 'blog', url, body, form_token: forgeFormToken(B, 'blog', url, nowS() - 10) }, { ua: who });
  const v = ua('thread-limit');
  const t1 = page('rl');
  const t2 = page('rl');
  for (let i = 0; i < 3; i++) {
    const r = await post(t1, `per thread ${i}`, v);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.comment.status, 'approved');
  }
  assertLimited(await post(t1, 'per thread 4th', v), 60, '4th in one thread');
  assert.equal((await post(t2, 'another thread', v)).status, 201, 'the same visitor on another thread');
  assert.equal((await post(t1, 'another visitor', ua('thread-limit-2'))).status, 201, 'another visitor on the same thread');
  assert.equal((await b.thread('blog', t1)).json.thread.count, 4);

  const w = ua('minute-limit');
  const threads = [page('rl'), page('rl'), page('rl')];
  for (let i = 0; i < 5; i++) {
    const r = await post(threads[i % 3], `per minute ${i}`, w);
    assert.equal(r.status, 201, `comment ${i + 1}: ${r.text}`);
  }
  assertLimited(await post(threads[2], 'per minute 6th', w), 60, '6th in a minute');
  assertLimited(await post(page('rl'), 'per minute 7th', w), 60, '7th in a minute, fresh thread');
  assert.equal((await post(threads[2], 'another visitor', ua('minute-limit-2'))).status, 201);
  const g = await b.thread('blog', threads[2]);
  assert.ok(!g.text.includes('per minute 6th'), 'the refused comment was not stored');
});

test('min_interval_s (C: 15 s): a second comment right away is 429 with Retry-After', async () => {
  const v = ua('interval');
  const url = page('iv');
  const first = await cc.post({ site: 'blog', url, body: 'first' }, { ua: v });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.json.comment.status, 'approved');
  assertLimited(await cc.post({ site: 'blog', url, body: 'second, at once' }, { ua: v }), 15, 'same thread');
  assertLimited(await cc.post({ site: 'blog', url: page('iv'), body: 'second, elsewhere' }, { ua: v }), 15, 'other thread');
  const other = await cc.post({ site: 'blog', url, body: 'someone else' }, { ua: ua('interval-2') });
  assert.equal(other.status, 201, 'the interval is per visitor');
  assert.equal((await cc.thread('blog', url)).json.thread.count, 2);
});
