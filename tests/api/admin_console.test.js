// The moderation API additions behind the console (/admin): the queue across sites, a moderator's edit, bulk acts,
// the bounded search, lifting bans, and the /admin page itself. One parleyd with three sites (two hold every comment
// for moderation, one approves everything) and the env admin token; one more parleyd with a mail sink for the
// admin-account session checks.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, page, ua, qs, urlHash, assertError, flatten, client } = require('./lib/comments');
const acc = require('./lib/accounts');

let redis;
let P;
let c;

before(async () => {
  redis = await h.startRedis();
  P = await h.startParley({
    redisUrl: redis.url, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN }, comments: RELAXED,
    sites: [
      { id: 'qa', origins: ['https://qa.example'], moderation: 'all' },
      { id: 'qb', origins: ['https://qb.example'], moderation: 'all' },
      { id: 'open', origins: ['https://open.example'], moderation: 'none' },
    ],
  });
  c = client(P);
});

after(async () => {
  if (P) await P.stop();
  if (redis) await redis.stop();
  if (P) assert.deepEqual(h.sanitizerReport(P.log()), [], 'no sanitizer report in the parleyd log');
});

const ref = (canonical, id) => `${urlHash(canonical)}:${id}`;
const get = (path, token = ADMIN_TOKEN) => c.admin('GET', path, undefined, token);
const queue = (params) => get(`/api/v1/admin/comments?${qs({ limit: 200, ...params })}`);
const search = (params, token) => get(`/api/v1/admin/search?${qs(params)}`, token);
const edit = (site, r, body, token = ADMIN_TOKEN) => c.admin('PATCH', `/api/v1/admin/comments/${r}`,
  body === undefined ? { site } : { site, body }, token);
const bulk = (body, token) => c.admin('POST', '/api/v1/admin/comments/bulk', body, token);
const lift = (body, token) => c.admin('POST', '/api/v1/admin/bans/lift', body, token);

test('the queue spans every site when no site is named, or the sites named; each entry has what a moderator needs', async () => {
  const ua1 = ua('q1');
  const ua2 = ua('q2');
  const urlA = page('qa', 'qa.example');
  const urlB = page('qb', 'qb.example');
  const a1 = await c.create({ site: 'qa', url: urlA, title: 'Story A', author: 'Alma', email: 'alma@example.com',
    website: 'https://alma.example/', body: 'See https://one.example/ and https://two.example/ now' }, { ua: ua1 });
  await h.sleep(3);
  const b1 = await c.create({ site: 'qb', url: urlB, title: 'Story B', author: 'Bert', email: 'bert@example.com',
    body: 'Plain words from Bert' }, { ua: ua2 });
  assert.equal(a1.comment.status, 'pending');

  const all = await queue({});
  assert.equal(all.status, 200, all.text);
  const mine = all.json.items.filter((it) => [urlA, urlB].includes(it.thread));
  assert.deepEqual(mine.map((it) => it.site), ['qb', 'qa'], 'newest first, across sites');
  const [eb, ea] = mine;
  assert.equal(ea.ref, ref(urlA, a1.comment.id));
  assert.equal(eb.ref, ref(urlB, b1.comment.id));
  assert.equal(ea.title, 'Story A');
  assert.equal(ea.author, 'Alma');
  assert.equal(ea.email, 'alma@example.com');
  assert.equal(ea.website, 'https://alma.example/');
  assert.equal(ea.status, 'pending');
  assert.equal(ea.links, 2);
  assert.equal(eb.links, 0);
  assert.match(ea.html, /<a href="https:\/\/one\.example\/"/);
  assert.equal(ea.body, 'See https://one.example/ and https://two.example/ now');
  assert.ok(Number.isInteger(ea.created) && ea.created <= Date.now());
  assert.ok(Number.isInteger(ea.age_s) && ea.age_s >= 0 && ea.age_s < 600, String(ea.age_s));
  assert.match(ea.visitor, /^[0-9a-f]{32}$/);
  assert.equal('edit' in ea, false, 'the edit-token hash stays inside');
  assert.equal(ea.locked, false);
  assert.deepEqual(all.json.sites, ['qa', 'qb', 'open'], 'the configured sites, for the filter');
  assert.equal((await c.admin('POST', '/api/v1/admin/threads/lock', { site: 'qa', url: urlA })).status, 200);
  assert.equal((await queue({ site: 'qa' })).json.items.find((it) => it.ref === ea.ref).locked, true, 'a locked thread says so');

  const onlyA = await queue({ site: 'qa' });
  assert.ok(onlyA.json.items.every((it) => it.site === 'qa'));
  assert.ok(onlyA.json.items.some((it) => it.ref === ea.ref));
  const both = await queue({ site: ['qa', 'qb', 'qa'] });
  assert.deepEqual(both.json.items.filter((it) => [urlA, urlB].includes(it.thread)).map((it) => it.ref), [eb.ref, ea.ref]);
  assert.equal((await queue({ site: 'open' })).json.items.length, 0, 'a site with nothing pending');

  // Paging across sites: one at a time, every entry once, in order.
  const seen = [];
  let cursor;
  for (let i = 0; i < 50; i++) {
    const p = await queue({ limit: 1, cursor });
    assert.equal(p.status, 200, p.text);
    seen.push(...p.json.items.map((it) => it.ref));
    if (p.json.next === null) break;
    cursor = p.json.next;
  }
  assert.deepEqual(seen, all.json.items.map((it) => it.ref));

  // Bad input.
  assertError(await queue({ site: 'nope' }), 404, 'unknown_site', 'site');
  assertError(await queue({ site: ['qa', 'nope'] }), 404, 'unknown_site', 'site');
  assertError(await queue({ site: '' }), 404, 'unknown_site', 'site');
  assertError(await queue({ status: 'deleted' }), 422, 'invalid', 'status');
  assertError(await queue({ limit: 0 }), 422, 'invalid', 'limit');
  assertError(await queue({ limit: 201 }), 422, 'invalid', 'limit');
  assertError(await queue({ cursor: '-1' }), 422, 'invalid', 'cursor');
  assertError(await get('/api/v1/admin/comments', null), 401, 'unauthorized');
});

test('the e-mail appears only in the admin API: not in the thread, a deep link, the feed, a post or an edit answer', async () => {
  const url = page('leak', 'open.example');
  const email = `secret-${Date.now()}@example.com`;
  const r = await c.create({ site: 'open', url, author: 'Quiet', email, body: 'Hello there' }, { ua: ua('leak') });
  assert.ok(!JSON.stringify(r).includes(email), 'not in the 201');
  const reads = [
    await c.thread('open', url),
    await c.one('open', url, r.comment.id),
    await c.feed('open', url),
    await c.counts('open', [url]),
    await c.edit('open', url, r.comment.id, 'Hello again', r.edit_token),
  ];
  for (const x of reads) {
    assert.ok(x.status < 300, x.text);
    assert.ok(!x.text.includes(email), `no e-mail in ${x.text.slice(0, 200)}`);
    assert.ok(!x.text.includes('secret-'), 'no part of it either');
  }
  const found = await search({ q: email });
  assert.equal(found.json.items[0].email, email, 'the admin search shows it');
});

test('PATCH /admin/comments/{ref}: a moderator\'s edit is sanitised, marked edited, and keeps the status', async () => {
  const url = page('ed', 'qa.example');
  const visitor = ua('ed');
  const p = await c.create({ site: 'qa', url, body: 'Original text' }, { ua: visitor });
  const r1 = ref(url, p.comment.id);
  const e = await edit('qa', r1, '  <script>alert(1)</script><b>bold</b> <a href="javascript:x()">x</a> https://link.example/  ');
  assert.equal(e.status, 200, e.text);
  const ce = e.json.comment;
  assert.equal(ce.status, 'pending', 'still waiting: an admin edit does not release it');
  assert.equal(ce.ref, r1);
  assert.equal(ce.site, 'qa');
  assert.ok(ce.edited > 0, 'marked edited');
  assert.ok(!/<script/i.test(ce.html), ce.html);
  assert.match(ce.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(ce.html, /<b>bold<\/b>/);
  assert.ok(!/href="javascript/i.test(ce.html), ce.html);
  assert.match(ce.html, /<a href="https:\/\/link\.example\/" rel="nofollow ugc noopener">/);
  assert.equal(ce.links, 1);
  assert.equal(ce.body, '<script>alert(1)</script><b>bold</b> <a href="javascript:x()">x</a> https://link.example/');
  assert.equal('edit' in ce, false);
  const listed = (await queue({ site: 'qa' })).json.items.find((it) => it.ref === r1);
  assert.equal(listed.html, ce.html, 'the queue shows the new text');

  // Approved, then edited: stays approved, and readers see the new text.
  assert.equal((await c.adminAct('qa', r1, 'approve')).status, 200);
  const e2 = await edit('qa', r1, 'Now *fine* <em>text</em>');
  assert.equal(e2.status, 200, e2.text);
  assert.equal(e2.json.comment.status, 'approved');
  const t = await c.thread('qa', url);
  const shown = flatten(t.json.comments).find((x) => x.id === p.comment.id);
  assert.equal(shown.html, e2.json.comment.html);
  assert.match(shown.html, /<em>text<\/em>/);
  assert.ok(shown.edited, 'readers see it as edited');
  assert.equal(t.json.thread.count, 1, 'the count did not change');

  // Bad input.
  assertError(await edit('qa', r1, undefined), 422, 'invalid', 'body');
  assertError(await edit('qa', r1, '   '), 422, 'invalid', 'body');
  assertError(await edit('qa', r1, 'x'.repeat(10001)), 422, 'invalid', 'body');
  assertError(await edit('qa', r1, 42), 422, 'invalid', 'body');
  assertError(await c.admin('PATCH', `/api/v1/admin/comments/${r1}`, { site: 'qa', body: 'x', status: 'approved' }), 422, 'invalid', 'status');
  assertError(await c.admin('PATCH', `/api/v1/admin/comments/${r1}`, { body: 'x' }), 422, 'invalid', 'site');
  assertError(await edit('nope', r1, 'x'), 404, 'unknown_site', 'site');
  assertError(await edit('qa', 'not-a-ref', 'x'), 404, 'not_found', 'ref');
  assertError(await edit('qa', ref(url, 999), 'x'), 404, 'not_found', 'ref');
  assertError(await edit('qb', r1, 'x'), 404, 'not_found', 'ref', 'the ref of another site');
  assertError(await edit('qa', r1, 'x', null), 401, 'unauthorized');
  assertError(await edit('qa', r1, 'x', 'wrong-token-of-enough-length'), 401, 'unauthorized');
  const raw = await h.h1(P, 'PATCH', `/api/v1/admin/comments/${r1}`, { body: 'site=qa', headers: {
    'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${ADMIN_TOKEN}` } });
  assertError(raw, 415, 'unsupported_media_type');
  // A deleted comment cannot be edited.
  assert.equal((await c.adminAct('qa', r1, 'delete')).status, 200);
  assertError(await edit('qa', r1, 'back from the dead'), 404, 'not_found', 'ref');
});

test('POST /admin/comments/bulk acts on many refs in order; one that fails does not stop the others', async () => {
  const url = page('bulk', 'qb.example');
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await c.create({ site: 'qb', url, body: `bulk ${i}` }, { ua: ua('bulk') })).comment.id);
  const refs = [ref(url, ids[0]), 'garbage', ref(url, 999), ref(url, ids[1])];
  const r = await bulk({ site: 'qb', action: 'approve', refs });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.results.map((x) => [x.ref, x.ok]), refs.map((x, i) => [x, i === 0 || i === 3]));
  assert.equal(r.json.results[0].status, 'approved');
  assert.equal(r.json.results[1].error.code, 'not_found');
  assert.equal(r.json.results[2].error.code, 'not_found');
  const t = await c.thread('qb', url);
  assert.equal(t.json.thread.count, 2);
  const pend = (await queue({ site: 'qb' })).json.items.filter((it) => it.thread === url);
  assert.deepEqual(pend.map((it) => it.ref), [ref(url, ids[2])], 'the approved ones left the pending queue');

  const d = await bulk({ site: 'qb', action: 'delete', refs: [ref(url, ids[0]), ref(url, ids[2])] });
  assert.deepEqual(d.json.results.map((x) => x.ok), [true, true]);
  assert.equal((await c.thread('qb', url)).json.thread.count, 1);
  const s = await bulk({ site: 'qb', action: 'spam', refs: [ref(url, ids[1])] });
  assert.equal(s.json.results[0].status, 'spam');
  assert.ok((await queue({ site: 'qb', status: 'spam' })).json.items.some((it) => it.ref === ref(url, ids[1])));

  // Bad input.
  assertError(await bulk({ site: 'qb', action: 'nope', refs }), 422, 'invalid', 'action');
  assertError(await bulk({ site: 'qb', refs }), 422, 'invalid', 'action');
  assertError(await bulk({ site: 'qb', action: 'approve' }), 422, 'invalid', 'refs');
  assertError(await bulk({ site: 'qb', action: 'approve', refs: [] }), 422, 'invalid', 'refs');
  assertError(await bulk({ site: 'qb', action: 'approve', refs: 'x' }), 422, 'invalid', 'refs');
  assertError(await bulk({ site: 'qb', action: 'approve', refs: [1] }), 422, 'invalid', 'refs');
  assertError(await bulk({ site: 'qb', action: 'approve', refs: Array(101).fill(refs[0]) }), 422, 'invalid', 'refs');
  assertError(await bulk({ action: 'approve', refs }), 422, 'invalid', 'site');
  assertError(await bulk({ site: 'qb', action: 'approve', refs, extra: 1 }), 422, 'invalid', 'extra');
  assertError(await bulk({ site: 'zz', action: 'approve', refs }), 404, 'unknown_site', 'site');
  assertError(await bulk({ site: 'qb', action: 'approve', refs }, null), 401, 'unauthorized');
  const foreign = await h.h1(P, 'POST', '/api/v1/admin/comments/bulk', { body: { site: 'qb', action: 'approve', refs },
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, origin: 'https://evil.example' } });
  assertError(foreign, 403, 'origin_not_allowed');
});

test('search by author (name or e-mail, any case) or by text, across sites and statuses, with its bounds', async () => {
  const tag = `zq${Date.now().toString(36)}`;
  const url1 = page('s1', 'qa.example');
  const url2 = page('s2', 'open.example');
  const x = await c.create({ site: 'qa', url: url1, author: `Élodie ${tag}`, email: `elodie.${tag}@example.com`,
    body: 'Nothing special here' }, { ua: ua('s1') });
  const y = await c.create({ site: 'open', url: url2, author: 'Someone', email: 'someone@example.com',
    body: `I mention ${tag.toUpperCase()} and ÉLODIE in my text` }, { ua: ua('s2') });
  const rx = ref(url1, x.comment.id);
  const ry = ref(url2, y.comment.id);

  const byName = await search({ q: `élodie ${tag}`, in: 'author' });
  assert.equal(byName.status, 200, byName.text);
  assert.deepEqual(byName.json.items.map((it) => it.ref), [rx]);
  assert.equal(byName.json.items[0].status, 'pending');
  assert.equal(byName.json.items[0].title, '');
  assert.ok(byName.json.scanned >= 2);
  assert.equal(byName.json.next, null, 'everything was read');
  assert.deepEqual((await search({ q: `ELODIE.${tag.toUpperCase()}@EXAMPLE`, in: 'author' })).json.items.map((it) => it.ref), [rx], 'by e-mail');
  assert.deepEqual((await search({ q: tag, in: 'text' })).json.items.map((it) => it.ref), [ry], 'the text only');
  assert.deepEqual((await search({ q: tag })).json.items.map((it) => it.ref), [ry, rx], 'both, newest first');
  assert.deepEqual((await search({ q: 'élodie', in: 'text' })).json.items.map((it) => it.ref).filter((r) => [rx, ry].includes(r)), [ry], 'case-folded Unicode');
  assert.deepEqual((await search({ q: tag, site: 'qa' })).json.items.map((it) => it.ref), [rx]);
  assert.deepEqual((await search({ q: tag, status: 'approved' })).json.items.map((it) => it.ref), [ry]);
  assert.deepEqual((await search({ q: 'no-such-words-anywhere' })).json.items, []);

  // Paging the matches.
  const p1 = await search({ q: tag, limit: 1 });
  assert.deepEqual(p1.json.items.map((it) => it.ref), [ry]);
  assert.equal(typeof p1.json.next, 'string');
  const p2 = await search({ q: tag, limit: 1, cursor: p1.json.next });
  assert.deepEqual(p2.json.items.map((it) => it.ref), [rx]);

  // A deleted comment is not found.
  assert.equal((await c.adminAct('open', ry, 'delete')).status, 200);
  assert.deepEqual((await search({ q: tag })).json.items.map((it) => it.ref), [rx]);

  // Bad input.
  assertError(await search({}), 422, 'invalid', 'q');
  assertError(await search({ q: '   ' }), 422, 'invalid', 'q');
  assertError(await search({ q: 'x'.repeat(201) }), 422, 'invalid', 'q');
  assertError(await search({ q: 'x', in: 'email' }), 422, 'invalid', 'in');
  assertError(await search({ q: 'x', status: 'deleted' }), 422, 'invalid', 'status');
  assertError(await search({ q: 'x', site: 'nope' }), 404, 'unknown_site', 'site');
  assertError(await search({ q: 'x', cursor: 'abc' }), 422, 'invalid', 'cursor');
  assertError(await search({ q: 'x', limit: '0' }), 422, 'invalid', 'limit');
  assertError(await search({ q: 'x' }, null), 401, 'unauthorized');
  assertError(await get(`/api/v1/admin/search?q=%FF%FE`), 422, 'invalid', 'q');
});

test('the search reads at most the newest 1000 comments per call and says how to go further back', async () => {
  const url = page('many', 'open.example');
  const oldest = `needle${Date.now().toString(36)}`;
  const token = await c.formToken('open', url);
  await c.create({ site: 'open', url, body: `the oldest says ${oldest}`, form_token: token }, { ua: ua('many') });
  const N = 1000;
  for (let i = 0; i < N; i += 25) {
    await Promise.all(Array.from({ length: 25 }, (_, k) => c.create({ site: 'open', url, body: `filler ${i + k}`,
      form_token: token }, { ua: ua('many') })));
  }
  const first = await search({ q: oldest, site: 'open' });
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.json.items, [], 'beyond the first 1000');
  assert.equal(first.json.scanned, 1000);
  assert.equal(typeof first.json.next, 'string');
  const further = await search({ q: oldest, site: 'open', cursor: first.json.next });
  assert.equal(further.json.items.length, 1, further.text.slice(0, 300));
  assert.match(further.json.items[0].body, new RegExp(oldest));
  assert.ok(further.json.scanned >= 1 && further.json.scanned < 1000);
});

test('POST /admin/bans/lift lifts an e-mail or visitor ban', async () => {
  const url = page('ban', 'open.example');
  const email = `banme-${Date.now()}@example.com`;
  const visitor = ua('banned-visitor');
  assert.equal((await c.admin('POST', '/api/v1/admin/bans', { site: 'open', email: email.toUpperCase(), duration_s: 3600 })).status, 201);
  assertError(await c.post({ site: 'open', url, email, body: 'while banned' }, { ua: ua('b1') }), 403, 'forbidden');
  const l = await lift({ site: 'open', email });
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.json, { lifted: 'email', was_banned: true });
  const ok = await c.post({ site: 'open', url, email, body: 'after the ban' }, { ua: visitor });
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual((await lift({ site: 'open', email })).json, { lifted: 'email', was_banned: false });

  const v = (await search({ q: 'after the ban', site: 'open' })).json.items.find((it) => it.email === email).visitor;
  assert.equal((await c.admin('POST', '/api/v1/admin/bans', { site: 'open', visitor: v, duration_s: 60 })).status, 201);
  assertError(await c.post({ site: 'open', url, email: 'other@example.com', body: 'same visitor' }, { ua: visitor }), 403, 'forbidden');
  assert.deepEqual((await lift({ site: 'open', visitor: v })).json, { lifted: 'visitor', was_banned: true });
  assert.equal((await c.post({ site: 'open', url, email: 'other@example.com', body: 'same visitor' }, { ua: visitor })).status, 201);

  // Bad input.
  assertError(await lift({ site: 'open' }), 422, 'invalid', 'email');
  assertError(await lift({ site: 'open', email, visitor: v }), 422, 'invalid', 'email');
  assertError(await lift({ site: 'open', visitor: 'not hex!' }), 422, 'invalid', 'visitor');
  assertError(await lift({ site: 'open', visitor: '' }), 422, 'invalid', 'visitor');
  assertError(await lift({ site: 'open', email, duration_s: 60 }), 422, 'invalid', 'duration_s');
  assertError(await lift({ email }), 422, 'invalid', 'site');
  assertError(await lift({ site: 'open', email }, null), 401, 'unauthorized');
});

test('GET /admin is a first-party page with a strict CSP, no inline script, and hashed assets that exist', async () => {
  const r = await h.h1(P, 'GET', '/admin');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/html/);
  assert.match(String(r.headers['cache-control']), /no-store/);
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  const csp = String(r.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.ok(!/<script>|<script [^>]*>[^<]/.test(r.text), 'no inline script');
  assert.ok(!/ style=/.test(r.text), 'no inline style');
  const assets = [...r.text.matchAll(/(?:src|href)="(\/assets\/admin\.[0-9a-f]{8}\.(?:js|css))"/g)].map((m) => m[1]);
  assert.equal(assets.length, 2, r.text);
  for (const a of assets) {
    const x = await h.h1(P, 'GET', a);
    assert.equal(x.status, 200, a);
    assert.match(String(x.headers['cache-control']), /immutable/);
  }
  assert.equal((await h.h1(P, 'GET', '/assets/admin.html')).status, 404, 'the page is not an asset');
  assert.equal((await h.h1(P, 'POST', '/admin')).status, 405);
});

test('an admin account\'s session works on the new endpoints; a user\'s session gets 403', async () => {
  const admin = acc.newUser('adm');
  const stack = await acc.startAccountStack({ admins: [admin.email],
    sites: [{ id: 'blog', origins: ['https://blog.example'], moderation: 'all' }], comments: RELAXED });
  try {
    const a = acc.authClient(stack.parley);
    await acc.registerVerified(stack, a, admin);
    const user = await acc.registerVerified(stack, a, acc.newUser('usr'));
    const s = await a.loginOk(admin);
    assert.equal(s.user.role, 'admin');
    const us = await a.loginOk(user);
    const k = client(stack.parley);
    const url = page('sess', 'blog.example');
    const p = await k.create({ site: 'blog', url, body: 'Check me' });
    const r1 = ref(url, p.comment.id);
    for (const [token, status] of [[s.token, 200], [us.token, 403], ['', 401]]) {
      const calls = [
        await k.admin('GET', '/api/v1/admin/search?q=check', undefined, token || null),
        await k.admin('PATCH', `/api/v1/admin/comments/${r1}`, { site: 'blog', body: 'Checked' }, token || null),
        await k.admin('POST', '/api/v1/admin/comments/bulk', { site: 'blog', action: 'approve', refs: [r1] }, token || null),
        await k.admin('POST', '/api/v1/admin/bans/lift', { site: 'blog', email: 'x@example.com' }, token || null),
        await k.admin('GET', '/api/v1/admin/comments', undefined, token || null),
      ];
      for (const x of calls) assert.equal(x.status, status, `${status}: ${x.text}`);
    }
    assert.equal((await k.thread('blog', url)).json.thread.count, 1, 'the admin session approved it');
  } finally {
    await stack.stop();
  }
});
