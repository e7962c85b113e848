// Comment threads end to end (issue 3): create and read, the e-mail never leaving the server, the sanitiser through
// the API and the preview, every bad input, sorting, cursor pagination (also while comments are added), reply depth,
// deep links, votes, the Atom feed, /counts and the identicons. Anti-spam is relaxed here (moderation.test.js covers
// it); sites: blog (moderation none, max_depth 3), links (moderation links), other (moderation none).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./lib/harness');
const {
  ADMIN_TOKEN, RELAXED, uniq, page, ua, urlHash, assertError, flatten, client, parseXml, decodeXml, kids, textOf,
} = require('./lib/comments');

const SITES = [
  { id: 'blog', origins: ['https://blog.example'], moderation: 'none', max_depth: 3 },
  { id: 'links', origins: ['https://links.example'], moderation: 'links' },
  { id: 'other', origins: ['https://other.example'], moderation: 'none' },
  { id: 'grav', origins: ['https://grav.example'], moderation: 'none', gravatar: true },
];
// The comment's public fields (DESIGN.md), plus `verified` (accounts) and `message` (pending only).
const PUBLIC_KEYS = ['id', 'parent', 'author', 'website', 'avatar', 'created', 'edited', 'html', 'likes', 'dislikes',
  'status', 'replies'];
const ALLOWED_KEYS = [...PUBLIC_KEYS, 'verified', 'message'];

let redis;
let parley;
let c;

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({ redisUrl: redis.url, sites: SITES, comments: RELAXED, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN } });
  c = client(parley);
});

after(async () => {
  if (parley) await parley.stop();
  if (redis) await redis.stop();
  if (parley) assert.deepEqual(h.sanitizerReport(parley.log()), [], 'no sanitizer report in the parleyd log');
});

function assertCommentShape(cm, what = '') {
  for (const k of PUBLIC_KEYS) assert.ok(k in cm, `${what}: comment has ${k}: ${JSON.stringify(cm)}`);
  const extra = Object.keys(cm).filter((k) => !ALLOWED_KEYS.includes(k));
  assert.deepEqual(extra, [], `${what}: no private fields in ${JSON.stringify(cm)}`);
}

// Creates N top-level comments in order on BLOG's URL; returns their ids.
async function roots(site, url, n, tag = 'root') {
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await c.create({ site, url, body: `${tag} ${i} ${uniq('b')}` })).comment.id);
  return ids;
}

test('create: 201 with the public comment and an edit token; GET returns the thread, title from the first comment', async () => {
  const url = page('create');
  const before = Date.now();
  const r = await c.post({ site: 'blog', url, title: 'Hello, world', author: '  Ann Author ', website: 'https://ann.example/me',
    body: '  First!  ' });
  assert.equal(r.status, 201, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json\b/);
  assert.deepEqual(Object.keys(r.json).sort(), ['comment', 'edit_token']);
  assert.match(r.json.edit_token, /^[A-Za-z0-9_-]{43}$/, '256-bit base64url edit token');
  const cm = r.json.comment;
  assertCommentShape(cm, 'created');
  assert.ok(Number.isInteger(cm.id) && cm.id > 0, `id ${cm.id}`);
  assert.equal(cm.parent, 0);
  assert.equal(cm.author, 'Ann Author', 'the name is trimmed');
  assert.equal(cm.website, 'https://ann.example/me');
  assert.match(cm.avatar, /^\/avatar\/[0-9a-f]{32}\.svg$/);
  const created = Date.parse(cm.created);
  assert.match(cm.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(created >= before - 2000 && created <= Date.now() + 2000, `created ${cm.created}`);
  assert.equal(cm.edited, null);
  assert.equal(cm.html, '<p>First!</p>');
  assert.equal(cm.likes, 0);
  assert.equal(cm.dislikes, 0);
  assert.equal(cm.status, 'approved');
  assert.deepEqual(cm.replies, []);

  let g = await c.thread('blog', url);
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(Object.keys(g.json).sort(), ['comments', 'form_token', 'next', 'thread']);
  assert.deepEqual(g.json.thread, { url, title: 'Hello, world', count: 1, locked: false, max_depth: 3, edit_window_s: 900 });
  assert.deepEqual(g.json.comments, [cm], 'GET shows exactly what the 201 answered');
  assert.equal(g.json.next, null);
  assert.match(g.json.form_token, /^[A-Za-z0-9_-]{32}$/);

  // The form token is fresh on every answer, even when the page itself has not changed.
  await h.sleep(1100);
  const again = await c.thread('blog', url);
  assert.deepEqual(again.json.comments, g.json.comments);
  assert.notEqual(again.json.form_token, g.json.form_token, 'a new token (a later issue time) on every GET');
  const issued = (t) => Number(Buffer.from(t, 'base64url').readBigUInt64BE(0));
  assert.ok(issued(again.json.form_token) > issued(g.json.form_token));
  assert.ok(Math.abs(issued(again.json.form_token) - Date.now() / 1000) < 5, 'issued now');

  // A later comment's title does not replace the first one's; the count follows.
  const second = await c.create({ site: 'blog', url, title: 'Another title', body: 'Second' });
  assert.equal(second.comment.id, cm.id + 1, 'ids are allocated in order within the thread');
  assert.notEqual(second.edit_token, r.json.edit_token);
  g = await c.thread('blog', url);
  assert.deepEqual(g.json.thread, { url, title: 'Hello, world', count: 2, locked: false, max_depth: 3, edit_window_s: 900 });
  assert.deepEqual(g.json.comments.map((x) => x.id), [cm.id, second.comment.id]);

  // The thread URL is the canonical one, whatever spelling the page sends.
  const variant = `${url.replace('https://', 'http://www.')}/?utm_source=x#comments`;
  g = await c.thread('blog', variant);
  assert.equal(g.status, 200, g.text);
  assert.deepEqual(g.json.thread, { url, title: 'Hello, world', count: 2, locked: false, max_depth: 3, edit_window_s: 900 });

  // A thread nobody commented on yet: empty, no title.
  g = await c.thread('blog', page('empty'));
  assert.equal(g.status, 200, g.text);
  assert.equal(g.json.thread.title, null);
  assert.equal(g.json.thread.count, 0);
  assert.deepEqual(g.json.comments, []);
});

test('title: at most 300 characters, stored as sent (trimmed); 301 is 422 title', async () => {
  const url = page('title');
  const t300 = 'é'.repeat(150) + 't'.repeat(150);
  assertError(await c.post({ site: 'blog', url, title: `${t300}x`, body: 'too long a title' }), 422, 'invalid', 'title');
  let g = await c.thread('blog', url);
  assert.equal(g.json.thread.title, null, 'the refused comment did not create the thread');
  await c.create({ site: 'blog', url, title: t300, body: 'ok title' });
  g = await c.thread('blog', url);
  assert.equal(g.json.thread.title, t300);
  assertError(await c.post({ site: 'blog', url: page('title'), title: 'a\u0001b', body: 'ctl' }), 422, 'invalid', 'title');
});

test('the e-mail address is in no response of any public endpoint (only the admin queue shows it)', async () => {
  const email = `Priv.Acy+${process.pid}@Secret-Mail.Example`;
  const low = email.toLowerCase();
  const local = `priv.acy+${process.pid}`;
  const url = page('privacy');
  const url2 = page('privacy');
  const seen = [];
  const check = (what, res, status) => {
    seen.push(what);
    if (status !== undefined) assert.equal(res.status, status, `${what}: ${res.text.slice(0, 200)}`);
    const blob = `${JSON.stringify(res.headers)}\n${res.text}`.toLowerCase();
    assert.ok(!blob.includes(low), `${what} leaks the e-mail: ${res.text.slice(0, 300)}`);
    assert.ok(!blob.includes(local), `${what} leaks the e-mail's local part: ${res.text.slice(0, 300)}`);
    return res;
  };
  const post = async (what, fields, status) => check(what, await c.post({ email, ...fields }), status);
  const root = (await post('POST root', { site: 'blog', url, title: 'Privacy', body: 'root <b>x</b> https://a.example/' }, 201)).json;
  assert.equal(root.comment.status, 'approved');
  const reply = (await post('POST reply', { site: 'blog', url, parent: root.comment.id, body: 'a reply' }, 201)).json;
  assert.equal(reply.comment.parent, root.comment.id);
  await post('POST other thread', { site: 'blog', url: url2, body: 'elsewhere' }, 201);
  await post('POST links site (pending)', { site: 'links', url: page('privacy', 'links.example'),
    body: 'https://one.example/ https://two.example/' }, 201);
  await post('POST spam (honeypot)', { site: 'blog', url, body: 'bot', hp: 'x' }, 201);
  await post('POST duplicate (409)', { site: 'blog', url, body: 'a reply', parent: root.comment.id }, 409);
  await post('POST invalid website (422)', { site: 'blog', url, body: 'w', website: 'ftp://nope.example/' }, 422);
  await post('POST bad parent (422)', { site: 'blog', url, body: 'p', parent: 99999 }, 422);

  for (const sort of ['oldest', 'newest', 'top']) {
    const g = check(`GET comments sort=${sort}`, await c.thread('blog', url, { sort }), 200);
    assert.equal(g.json.thread.count, 2);
    assert.equal(flatten(g.json.comments).length, 2);
  }
  check('GET comments page 2', await c.thread('blog', url, { limit: 1, cursor: String(root.comment.id) }), 200);
  check('GET comment (deep link)', await c.one('blog', url, reply.comment.id), 200);
  check('POST vote', await c.vote('blog', url, root.comment.id, 1), 200);
  check('PATCH (edit)', await c.edit('blog', url, reply.comment.id, 'edited reply', reply.edit_token), 200);
  check('PATCH (wrong token)', await c.edit('blog', url, reply.comment.id, 'x', 'A'.repeat(43)), 403);
  check('preview', await c.preview('a neutral preview'), 200);
  check('feed', await c.feed('blog', url), 200);
  check('counts', await c.counts('blog', [url, url2]), 200);
  check('avatar', await h.h1(parley, 'GET', root.comment.avatar), 200);
  check('DELETE (wrong token)', await c.remove('blog', url2, 1, 'wrong-token'), 403);
  const mine2 = await c.create({ site: 'blog', url: url2, email, body: 'to be deleted' });
  check('DELETE', await c.remove('blog', url2, mine2.comment.id, mine2.edit_token), 200);
  // The avatar is a keyed hash: it is not Gravatar's MD5 of the address, nor a plain SHA-256.
  const hash = root.comment.avatar.slice(8, 40);
  assert.notEqual(hash, crypto.createHash('md5').update(low).digest('hex'));
  assert.notEqual(hash, crypto.createHash('sha256').update(low).digest('hex').slice(0, 32));

  // Positive control: the address was stored, and the admin queue (the one exception) shows it.
  const q = await c.adminList('blog', 'approved');
  assert.equal(q.status, 200, q.text);
  const mine = q.json.items.find((it) => it.ref === `${urlHash(url)}:${root.comment.id}`);
  assert.ok(mine, 'the admin queue lists the comment');
  assert.equal(mine.email, email);
  assert.equal('edit' in mine, false, 'the admin queue leaves out the edit-token hash');
  assert.match(mine.visitor, /^[0-9a-f]{32}$/, 'admins see the visitor hash (to ban a visitor), never an IP');
  assert.ok(seen.length >= 20);
});

test('sanitiser through the API: inert script, kept tags, rel on links, bare URLs linked, paragraphs; preview = stored', async () => {
  const url = page('sanitise');
  const body = 'Hi <script>alert(1)</script> <b>bold</b> <em>em</em> <code>c</code> '
    + '<a href="https://x.example/p" title="T" onclick="evil()">link</a> see https://bare.example/path.\n\n'
    + 'Second para\nnext line <img src=x onerror=alert(1)> <a href="javascript:alert(1)">js</a> <strike>s</strike>';
  const created = (await c.create({ site: 'blog', url, body })).comment;
  const html = created.html;
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), html);
  assert.ok(!/<script/i.test(html), html);
  assert.ok(!/<img/i.test(html) && html.includes('&lt;img src=x onerror=alert(1)&gt;'), html);
  assert.ok(!/onclick|onerror=[^&]*>/i.test(html.replace(/&lt;img[^&]*&gt;/, '')), html);
  assert.ok(!/href="javascript/i.test(html), html);
  for (const kept of ['<b>bold</b>', '<em>em</em>', '<code>c</code>', '<strike>s</strike>',
    '<a href="https://x.example/p" title="T" rel="nofollow ugc noopener">link</a>',
    '<a href="https://bare.example/path" rel="nofollow ugc noopener">https://bare.example/path</a>.',
    '<a rel="nofollow ugc noopener">js</a>']) {
    assert.ok(html.includes(kept), `${kept} in ${html}`);
  }
  assert.ok(html.startsWith('<p>Hi '), html);
  assert.ok(html.includes('</p><p>Second para<br>next line '), html);
  assert.ok(html.endsWith('</p>'), html);
  assert.ok(!html.includes('\n'), 'no raw newline in the output');
  for (const m of html.matchAll(/<a\b[^>]*>/g)) assert.ok(m[0].includes('rel="nofollow ugc noopener"'), m[0]);

  let p = await c.preview(body);
  assert.equal(p.status, 200, p.text);
  assert.deepEqual(p.json, { html }, 'preview gives exactly the stored HTML');
  const g = await c.thread('blog', url);
  assert.equal(g.json.comments[0].html, html);

  // The layout rule exactly, and the preview's own validation.
  p = await c.preview('a\n\nb\nc');
  assert.deepEqual(p.json, { html: '<p>a</p><p>b<br>c</p>' });
  p = await c.preview('<blockquote cite="https://q.example/">quoted</blockquote>\n\n<q cite="ftp://x">q</q>');
  assert.equal(p.status, 200, p.text);
  assert.ok(p.json.html.includes('<blockquote cite="https://q.example/">'), p.json.html);
  assert.ok(p.json.html.includes('<q>q</q>'), `cite with a non-http URL is dropped: ${p.json.html}`);
  assertError(await c.preview('   \n '), 422, 'invalid', 'body');
  assertError(await c.preview('x'.repeat(10001)), 422, 'invalid', 'body');
  assertError(await h.h1(parley, 'POST', '/api/v1/comments/preview', { body: { body: 'x', extra: 1 } }), 422, 'invalid', 'extra');
  assertError(await h.h1(parley, 'POST', '/api/v1/comments/preview', { body: {} }), 422, 'invalid', 'body');
});

test('validation: every bad field is 422 naming it; unknown site 404, foreign URL 403, bad JSON 400, 415', async () => {
  const url = page('valid');
  const tok = await c.formToken('blog', url);
  const ok = (extra = {}) => ({ site: 'blog', url, author: 'Val', email: 'val@example.com', body: uniq('valid body'),
    form_token: tok, ...extra });
  const without = (k) => { const o = ok(); delete o[k]; return o; };
  const cases = [
    ['author missing', without('author'), 'author'],
    ['author empty', ok({ author: '' }), 'author'],
    ['author blank', ok({ author: '   ' }), 'author'],
    ['author 101', ok({ author: 'a'.repeat(101) }), 'author'],
    ['author not a string', ok({ author: 5 }), 'author'],
    ['author control char', ok({ author: 'a\u0007b' }), 'author'],
    ['email missing', without('email'), 'email'],
    ['email empty', ok({ email: '' }), 'email'],
    ['email no @', ok({ email: 'val.example.com' }), 'email'],
    ['email two @', ok({ email: 'a@b@example.com' }), 'email'],
    ['email no dot', ok({ email: 'val@localhost' }), 'email'],
    ['email space', ok({ email: 'v al@example.com' }), 'email'],
    ['email 255', ok({ email: `${'e'.repeat(243)}@example.com` }), 'email'],
    ['website ftp', ok({ website: 'ftp://files.example/' }), 'website'],
    ['website javascript', ok({ website: 'javascript:alert(1)' }), 'website'],
    ['website 201', ok({ website: `https://w.example/${'p'.repeat(183)}` }), 'website'],
    ['body missing', without('body'), 'body'],
    ['body empty', ok({ body: '' }), 'body'],
    ['body whitespace', ok({ body: ' \n\t \r\n ' }), 'body'],
    ['body 10001', ok({ body: 'b'.repeat(10001) }), 'body'],
    ['body 10001 non-ASCII', ok({ body: 'é'.repeat(10001) }), 'body'],
    ['parent not a number', ok({ parent: 'abc' }), 'parent'],
    ['parent numeric string', ok({ parent: '1' }), 'parent'],
    ['parent negative', ok({ parent: -1 }), 'parent'],
    ['parent fraction', ok({ parent: 1.5 }), 'parent'],
    ['parent nonexistent', ok({ parent: 987654 }), 'parent'],
    ['unknown key', ok({ colour: 'red' }), 'colour'],
    ['site missing', without('site'), 'site'],
    ['url missing', without('url'), 'url'],
    ['url relative', ok({ url: '/relative' }), 'url'],
    ['notify not a bool', ok({ notify: 'yes' }), 'notify'],
  ];
  assert.equal('a'.repeat(101).length, 101);
  assert.equal(`${'e'.repeat(243)}@example.com`.length, 255);
  assert.equal(`https://w.example/${'p'.repeat(183)}`.length, 201);
  assert.equal(`https://w.example/${'p'.repeat(182)}`.length, 200);
  for (const [what, body, field] of cases) {
    const r = await c.post(body, { bare: true });
    assertError(r, 422, 'invalid', field, what);
  }
  // Nothing of that was stored.
  let g = await c.thread('blog', url);
  assert.equal(g.json.thread.count, 0);
  assert.deepEqual(g.json.comments, []);

  // The limits themselves are allowed.
  for (const [what, extra] of [
    ['author 100', { author: 'a'.repeat(100) }],
    ['author 100 non-ASCII', { author: 'é'.repeat(100) }],
    ['email 254', { email: `${'e'.repeat(242)}@example.com` }],
    ['website 200', { website: `https://w.example/${'p'.repeat(182)}` }],
    ['website empty (none)', { website: '' }],
    ['body 10000', { body: 'b'.repeat(10000) }],
    ['body 10000 non-ASCII', { body: 'é'.repeat(10000) }],
  ]) {
    const r = await c.post(ok(extra));
    assert.equal(r.status, 201, `${what}: ${r.text.slice(0, 200)}`);
    if (what === 'website empty (none)') assert.equal(r.json.comment.website, null);
  }

  // A parent must be in the same thread and approved.
  const urlA = page('valid-a');
  const urlB = page('valid-b');
  const a1 = (await c.create({ site: 'blog', url: urlA, body: 'A1' })).comment.id;
  const bIds = await roots('blog', urlB, 3);
  const foreignId = bIds.find((id) => id > a1);
  assertError(await c.post({ site: 'blog', url: urlA, parent: foreignId, body: 'reply to another thread' }), 422, 'invalid',
    'parent', 'parent in another thread');
  const lurl = page('valid-l', 'links.example');
  const pendingParent = await c.create({ site: 'links', url: lurl, body: 'https://one.example/ and https://two.example/' });
  assert.equal(pendingParent.comment.status, 'pending');
  assertError(await c.post({ site: 'links', url: lurl, parent: pendingParent.comment.id, body: 'reply to pending' }), 422,
    'invalid', 'parent', 'pending parent');
  const r = await c.post({ site: 'blog', url: urlA, parent: a1, body: 'a real reply' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.comment.parent, a1);

  // Envelope errors.
  assertError(await c.post(ok({ site: 'nope' })), 404, 'unknown_site', 'site', 'unknown site');
  assertError(await c.post(ok({ url: 'https://evil.example/page' })), 403, 'foreign_url', 'url', 'foreign URL');
  assertError(await c.post(ok({ site: 'other' })), 403, 'foreign_url', 'url', 'URL of another site');
  const raw = (body, headers = {}) => h.h1(parley, 'POST', '/api/v1/comments', { body, headers });
  assertError(await raw('{"site": "blog", '), 400, 'bad_json', undefined, 'truncated JSON');
  assertError(await raw('[1,2]'), 400, 'bad_json', undefined, 'JSON array');
  assertError(await raw(JSON.stringify(ok()), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type', undefined,
    'text/plain');
  assertError(await raw(JSON.stringify(ok()), { 'content-type': 'application/x-www-form-urlencoded' }), 415,
    'unsupported_media_type', undefined, 'form encoding');
  // The reading side refuses the same way.
  assertError(await c.thread('nope', url), 404, 'unknown_site', 'site');
  assertError(await c.thread('blog', 'https://evil.example/x'), 403, 'foreign_url', 'url');
  assertError(await h.h1(parley, 'GET', '/api/v1/comments?site=blog'), 422, 'invalid', 'url');
  g = await c.thread('blog', url);
  assert.equal(g.json.thread.count, 7, 'only the seven good comments were stored');
});

test('reading: sorts oldest/newest/top, limit default 50 and max 200, bad sort/limit/cursor are 422', async () => {
  const url = page('sorts');
  const ids = await roots('blog', url, 4);
  const order = async (sort) => (await c.thread('blog', url, { sort })).json.comments.map((x) => x.id);
  assert.deepEqual(await order(undefined), ids, 'oldest is the default');
  assert.deepEqual(await order('oldest'), ids);
  assert.deepEqual(await order('newest'), [...ids].reverse());
  assert.deepEqual(await order('top'), ids, 'without votes, top keeps the oldest first');
  // Votes: ids[2] +2, ids[3] +1, ids[0] -1.
  const v = async (id, value, who) => assert.equal((await c.vote('blog', url, id, value, { ua: who })).status, 200);
  await v(ids[2], 1, ua('t1'));
  await v(ids[2], 1, ua('t2'));
  await v(ids[3], 1, ua('t3'));
  await v(ids[0], -1, ua('t4'));
  assert.deepEqual(await order('top'), [ids[2], ids[3], ids[1], ids[0]]);
  assert.deepEqual(await order('oldest'), ids, 'votes do not move oldest');
  const g = await c.thread('blog', url, { sort: 'top' });
  assert.deepEqual(g.json.comments.map((x) => [x.likes, x.dislikes]), [[2, 0], [1, 0], [0, 0], [0, 1]]);

  for (const [sort] of [['old'], ['OLDEST'], ['']]) assertError(await c.thread('blog', url, { sort }), 422, 'invalid', 'sort', sort);
  for (const limit of ['0', '201', '-1', 'abc', '1.5', '']) {
    assertError(await c.thread('blog', url, { limit }), 422, 'invalid', 'limit', `limit=${limit}`);
  }
  for (const cursor of ['abc', '1x', '', '9'.repeat(40)]) {
    assertError(await c.thread('blog', url, { cursor }), 422, 'invalid', 'cursor', `cursor=${cursor}`);
  }
  assertError(await h.h1(parley, 'GET', `/api/v1/comments?site=blog&url=${encodeURIComponent(url)}&colour=red`), 422, 'invalid',
    'colour', 'unknown parameter');
  assertError(await h.h1(parley, 'GET', `/api/v1/comments?colour=red&site=blog&url=${encodeURIComponent(url)}`), 422, 'invalid',
    'colour', 'unknown parameter first');

  // Page sizes: 50 by default, up to 200 on request.
  const big = page('big');
  const bigIds = await roots('blog', big, 52, 'big');
  let r = await c.thread('blog', big);
  assert.equal(r.json.comments.length, 50);
  assert.deepEqual(r.json.comments.map((x) => x.id), bigIds.slice(0, 50));
  assert.equal(typeof r.json.next, 'string');
  r = await c.thread('blog', big, { cursor: r.json.next });
  assert.deepEqual(r.json.comments.map((x) => x.id), bigIds.slice(50));
  assert.equal(r.json.next, null);
  r = await c.thread('blog', big, { limit: '200' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.comments.length, 52);
  assert.equal(r.json.next, null);
  assert.equal(r.json.thread.count, 52);
});

// Walks every page of URL with LIMIT; returns the root ids in page order and the number of pages.
async function walk(url, limit, sort) {
  const seen = [];
  let cursor;
  let pages = 0;
  do {
    const r = await c.thread('blog', url, { limit: String(limit), cursor, sort });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.comments.length <= limit);
    seen.push(...r.json.comments.map((x) => x.id));
    cursor = r.json.next === null ? undefined : r.json.next;
    if (++pages > 50) throw new Error('pagination does not end');
  } while (cursor !== undefined);
  return { seen, pages };
}

test('pagination: 7 roots with limit 3 give 3 pages covering every root once, in both orders', async () => {
  const url = page('pages');
  const ids = await roots('blog', url, 7);
  const r1 = await c.thread('blog', url, { limit: '3' });
  assert.deepEqual(r1.json.comments.map((x) => x.id), ids.slice(0, 3));
  assert.equal(typeof r1.json.next, 'string');
  assert.ok(r1.json.next.length > 0);
  let w = await walk(url, 3);
  assert.deepEqual(w.seen, ids);
  assert.equal(w.pages, 3);
  w = await walk(url, 3, 'newest');
  assert.deepEqual(w.seen, [...ids].reverse());
  w = await walk(url, 7);
  assert.deepEqual(w.seen, ids);
  assert.equal(w.pages, 1, 'an exactly full page has no next');
  // Replies come with their root on its page and do not count toward the page size.
  const reply = (await c.create({ site: 'blog', url, parent: ids[4], body: 'reply on page 2' })).comment;
  const p2 = await c.thread('blog', url, { limit: '3', cursor: r1.json.next });
  assert.deepEqual(p2.json.comments.map((x) => x.id), ids.slice(3, 6));
  assert.deepEqual(p2.json.comments[1].replies.map((x) => x.id), [reply.id]);
});

test('pagination is stable while comments are added between pages', async () => {
  const url = page('stable');
  const ids = await roots('blog', url, 5);
  // oldest: new roots go to the end; nothing repeats or is skipped.
  const p1 = await c.thread('blog', url, { limit: '3' });
  assert.deepEqual(p1.json.comments.map((x) => x.id), ids.slice(0, 3));
  const added = await roots('blog', url, 2, 'late');
  const p2 = await c.thread('blog', url, { limit: '3', cursor: p1.json.next });
  assert.deepEqual(p2.json.comments.map((x) => x.id), [ids[3], ids[4], added[0]]);
  const p3 = await c.thread('blog', url, { limit: '3', cursor: p2.json.next });
  assert.deepEqual(p3.json.comments.map((x) => x.id), [added[1]]);
  assert.equal(p3.json.next, null);
  // newest: roots added after page 1 do not shift page 2.
  const n1 = await c.thread('blog', url, { limit: '3', sort: 'newest' });
  const all = [...ids, ...added].reverse();
  assert.deepEqual(n1.json.comments.map((x) => x.id), all.slice(0, 3));
  const more = await roots('blog', url, 3, 'later');
  const n2 = await c.thread('blog', url, { limit: '3', sort: 'newest', cursor: n1.json.next });
  assert.deepEqual(n2.json.comments.map((x) => x.id), all.slice(3, 6));
  const n3 = await c.thread('blog', url, { limit: '3', sort: 'newest', cursor: n2.json.next });
  assert.deepEqual(n3.json.comments.map((x) => x.id), all.slice(6));
  assert.equal(n3.json.next, null);
  assert.equal(more.length, 3);
});

test('replies nest under their parents; at max_depth 3 a reply joins its parent\'s level', async () => {
  const url = page('depth');
  const r0 = (await c.create({ site: 'blog', url, body: 'root' })).comment;
  const d1 = (await c.create({ site: 'blog', url, parent: r0.id, body: 'depth 1' })).comment;
  const d2 = (await c.create({ site: 'blog', url, parent: d1.id, body: 'depth 2' })).comment;
  assert.equal(d1.parent, r0.id);
  assert.equal(d2.parent, d1.id);
  // d2 is at depth 2, the last level of max_depth 3: a reply to it attaches to d1 (d2's parent).
  const d3 = (await c.create({ site: 'blog', url, parent: d2.id, body: 'reply to depth 2' })).comment;
  assert.equal(d3.parent, d1.id, 'the reply attaches to its requested parent\'s parent');
  const d3b = (await c.create({ site: 'blog', url, parent: d3.id, body: 'reply to the flattened one' })).comment;
  assert.equal(d3b.parent, d1.id);
  const sib = (await c.create({ site: 'blog', url, parent: r0.id, body: 'second depth 1' })).comment;
  const r1 = (await c.create({ site: 'blog', url, body: 'root 2' })).comment;

  const g = await c.thread('blog', url);
  const tree = g.json.comments;
  assert.deepEqual(tree.map((x) => x.id), [r0.id, r1.id]);
  assert.deepEqual(tree[0].replies.map((x) => x.id), [d1.id, sib.id]);
  assert.deepEqual(tree[0].replies[0].replies.map((x) => x.id), [d2.id, d3.id, d3b.id]);
  for (const x of tree[0].replies[0].replies) assert.deepEqual(x.replies, [], 'nothing deeper than depth 2');
  assert.deepEqual(tree[1].replies, []);
  assert.equal(g.json.thread.count, 7, 'replies count');
  for (const x of flatten(tree)) assertCommentShape(x, `comment ${x.id}`);
  // Newest first applies to roots; replies stay in conversation order.
  const n = await c.thread('blog', url, { sort: 'newest' });
  assert.deepEqual(n.json.comments.map((x) => x.id), [r1.id, r0.id]);
  assert.deepEqual(n.json.comments[1].replies.map((x) => x.id), [d1.id, sib.id]);
});

test('deep link: GET /comments/{id} gives the comment and the cursor of the page holding its root', async () => {
  const url = page('deeplink');
  const ids = await roots('blog', url, 7);
  const reply = (await c.create({ site: 'blog', url, parent: ids[4], body: 'deep reply' })).comment;
  const deeper = (await c.create({ site: 'blog', url, parent: reply.id, body: 'deeper reply' })).comment;
  for (const [target, rootId] of [[reply, ids[4]], [deeper, ids[4]], [{ id: ids[6] }, ids[6]], [{ id: ids[3] }, ids[3]]]) {
    const r = await c.one('blog', url, target.id, { limit: '3' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.comment.id, target.id);
    assertCommentShape(r.json.comment, 'deep link');
    assert.equal(typeof r.json.cursor, 'string', `cursor for ${target.id}: ${r.text}`);
    const pg = await c.thread('blog', url, { limit: '3', cursor: r.json.cursor });
    assert.equal(pg.status, 200, pg.text);
    const onPage = flatten(pg.json.comments).map((x) => x.id);
    assert.ok(pg.json.comments.some((x) => x.id === rootId), `root ${rootId} on the page ${JSON.stringify(onPage)}`);
    assert.ok(onPage.includes(target.id), `comment ${target.id} on the page ${JSON.stringify(onPage)}`);
  }
  // A comment on the first page has no cursor (null = first page).
  let r = await c.one('blog', url, ids[1], { limit: '3' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.cursor, null);
  assert.deepEqual(r.json.comment, (await c.thread('blog', url)).json.comments[1]);
  // Default page size 50: everything is on the first page.
  r = await c.one('blog', url, reply.id);
  assert.equal(r.json.cursor, null);
  assertError(await c.one('blog', url, 99999), 404, 'not_found', 'id', 'unknown id');
  assertError(await c.one('blog', page('deeplink-empty'), ids[0]), 404, 'not_found', 'id', 'id of another thread');
  assertError(await h.h1(parley, 'GET', `/api/v1/comments/abc?site=blog&url=${encodeURIComponent(url)}`), 404, 'not_found',
    'id', 'id not a number');
  assertError(await c.one('blog', url, ids[0], { limit: '0' }), 422, 'invalid', 'limit');
  // A pending comment cannot be deep-linked.
  const lurl = page('deeplink', 'links.example');
  const pend = (await c.create({ site: 'links', url: lurl, body: 'https://a.example/ https://b.example/' })).comment;
  assert.equal(pend.status, 'pending');
  assertError(await c.one('links', lurl, pend.id), 404, 'not_found', 'id', 'pending comment');
});

test('votes: one per visitor, moved by a new value, withdrawn by 0; 2 is 422; pending is 404', async () => {
  const url = page('votes');
  const cm = (await c.create({ site: 'blog', url, body: 'vote on me' })).comment;
  const alice = ua('alice');
  const bob = ua('bob');
  const vote = async (value, who, expect) => {
    const r = await c.vote('blog', url, cm.id, value, { ua: who });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: cm.id, likes: expect[0], dislikes: expect[1], vote: value });
  };
  await vote(1, alice, [1, 0]);
  await vote(1, alice, [1, 0]);
  await vote(-1, alice, [0, 1]);
  await vote(0, alice, [0, 0]);
  await vote(0, alice, [0, 0]);
  await vote(1, alice, [1, 0]);
  await vote(1, bob, [2, 0]);
  await vote(-1, bob, [1, 1]);
  const g = await c.thread('blog', url);
  assert.equal(g.json.comments[0].likes, 1);
  assert.equal(g.json.comments[0].dislikes, 1);

  for (const value of [2, -2, '1', 1.5, null]) {
    assertError(await c.vote('blog', url, cm.id, value, { ua: alice }), 422, 'invalid', 'value', `value ${value}`);
  }
  assertError(await h.h1(parley, 'POST', `/api/v1/comments/${cm.id}/vote`, { body: { site: 'blog', url, value: 1, x: 1 } }),
    422, 'invalid', 'x');
  assertError(await c.vote('blog', url, 4242, 1), 404, 'not_found', 'id', 'unknown comment');
  assertError(await c.vote('nope', url, cm.id, 1), 404, 'unknown_site', 'site');
  const lurl = page('votes', 'links.example');
  const pend = (await c.create({ site: 'links', url: lurl, body: 'https://a.example/ https://b.example/' })).comment;
  assertError(await c.vote('links', lurl, pend.id, 1), 404, 'not_found', 'id', 'vote on a pending comment');
  const after = await c.thread('blog', url);
  assert.deepEqual([after.json.comments[0].likes, after.json.comments[0].dislikes], [1, 1], 'refused votes changed nothing');
});

test('the public form parleyd renders for a new comment is what prelude.lua renders from the stored record', async () => {
  // comment_create.lua stores the public form the C side rendered; every later render (votes, edits, moderation)
  // is prelude.lua's public_json. Both must give the same object for every kind of new comment.
  const fs = require('node:fs');
  const path = require('node:path');
  const prelude = fs.readFileSync(path.resolve(__dirname, '../../src/store/lua/prelude.lua'), 'utf8');
  const script = `${prelude}\nreturn public_json(cjson.decode(ARGV[1])) .. '}'`;
  const cases = [
    { site: 'blog', fields: { author: 'Ann "Q" <A>', website: 'https://ann.example/a?b=1&c=2', body: 'a/b <b>x</b> \u00e9 \ud83d\ude00\n\nline' } },
    { site: 'blog', fields: { body: 'no website, a https://example.com/link' } },
    { site: 'links', fields: { body: 'pending: https://a.example/ https://b.example/' } },
    { site: 'blog', fields: { body: 'spam by the honeypot', hp: 'filled' }, raw: true },
  ];
  for (const k of cases) {
    const url = page('pubform', k.site === 'links' ? 'links.example' : 'blog.example');
    const body = { site: k.site, url, ...k.fields };
    const created = k.raw ? await c.post(body) : { status: 201, json: await c.create(body) };
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const cm = created.json.comment;
    const canonical = new URL(url).href;
    const stored = await redis.cmd('HGET', `t:cm:{${k.site}:${urlHash(canonical)}}`, String(cm.id));
    assert.ok(stored, `stored record of ${cm.id} (${k.fields.body})`);
    const fromLua = JSON.parse(await redis.cmd('EVAL', script, '0', stored));
    const { replies, ...fromC } = cm;
    assert.deepEqual(replies, []);
    assert.deepEqual(fromC, fromLua, `same public form for: ${k.fields.body}`);
    const pub = await redis.cmd('HGET', `t:cj:{${k.site}:${urlHash(canonical)}}`, String(cm.id));
    assert.deepEqual(JSON.parse(`${pub}}`), fromLua, 'the stored public form too');
  }
});

// Group commit (store_call_script_grouped, comment_create.lua): the comments one worker stores in one thread in the
// same event-loop turn go to Redis as one script call. Each must be answered and stored as if it had come alone.
async function groupStats() {
  const r = await h.h1(parley, 'GET', '/metrics');
  const n = (name) => Number((r.text.match(new RegExp(`^${name} (\\d+)$`, 'm')) || [])[1]);
  return { groups: n('parley_redis_group_commits_total'), calls: n('parley_redis_grouped_calls_total') };
}

test('group commit: comments sent at once to one thread are each answered and stored as if they came alone', async () => {
  const url = page('group');
  const canonical = new URL(url).href;
  const parent = (await c.create({ site: 'blog', url, body: 'the parent' })).comment;
  const token = await c.formToken('blog', url);
  const stranger = ua('group-reader');
  // Bans are checked by one MGET for the worker's turn (two keys a comment, store_call_command_grouped): a banned
  // address and a banned visitor ride along in each burst and must be refused alone.
  const bannedEmail = `banned.${uniq('g')}@example.com`;
  const bannedUa = ua('group-banned-visitor');
  const seed = await c.post({ site: 'blog', url: page('group-ban'), author: 'B', email: `seed.${uniq('g')}@example.com`,
    body: 'seen once' }, { ua: bannedUa });
  assert.equal(seed.status, 201, seed.text);
  const q = await c.adminList('blog', 'approved');
  const visitor = q.json.items.find((it) => it.ref.endsWith(`:${seed.json.comment.id}`) && it.author === 'B').visitor;
  for (const b of [{ email: bannedEmail }, { visitor }]) {
    const r = await c.admin('POST', '/api/v1/admin/bans', { site: 'blog', ...b, duration_s: 3600 });
    assert.equal(r.status, 201, r.text);
  }
  let grouped = false;
  let stored = 1;
  const ids = new Set([parent.id]);
  const replyIds = new Set();
  for (let attempt = 0; attempt < 6 && !grouped; attempt++) {
    const tag = uniq('g');
    const base = { site: 'blog', url, form_token: token };
    const sent = [];
    sent.push({ kind: 'banned', body: { ...base, author: 'Banned', email: bannedEmail, body: `banned address ${tag}` } });
    sent.push({ kind: 'banned', ua: bannedUa, body: { ...base, author: 'BV', email: `bv.${tag}@example.com`, body: `banned visitor ${tag}` } });
    for (let i = 0; i < 24; i++) {
      sent.push({ kind: 'ok', body: { ...base, author: `A${i}`, email: `a${i}.${tag}@example.com`, body: `distinct ${i} ${tag}` } });
    }
    for (let i = 0; i < 4; i++) {
      sent.push({ kind: 'dupe', body: { ...base, author: 'Dup', email: `dup.${tag}@example.com`, body: `same words ${tag}` } });
    }
    for (let i = 0; i < 4; i++) {
      sent.push({ kind: 'reply', body: { ...base, parent: parent.id, author: `R${i}`, email: `r${i}.${tag}@example.com`, body: `reply ${i} ${tag}` } });
    }
    sent.push({ kind: 'spam', body: { ...base, author: 'Spam', email: `spam.${tag}@example.com`, body: `buy ${tag}`, hp: 'filled' } });
    const before = await groupStats();
    const res = await Promise.all(sent.map((x) => c.post(x.body, x.ua ? { bare: true, ua: x.ua } : { bare: true })));
    const after = await groupStats();
    // More comments than script calls: at least one call carried several (the machinery under test).
    grouped = after.calls - before.calls > after.groups - before.groups;
    let dupesStored = 0;
    res.forEach((r, i) => {
      const kind = sent[i].kind;
      if (kind === 'banned') {
        assertError(r, 403, 'forbidden', undefined, 'a banned address or visitor in a burst');
        return;
      }
      if (kind === 'dupe' && r.status === 409) {
        assertError(r, 409, 'duplicate', 'body', 'a duplicate in the same burst');
        return;
      }
      assert.equal(r.status, 201, `${kind}: ${r.text}`);
      const cm = r.json.comment;
      assert.ok(!ids.has(cm.id), `ids are unique (${cm.id})`);
      ids.add(cm.id);
      assert.match(r.json.edit_token, /^[A-Za-z0-9_-]{43}$/);
      if (kind === 'dupe') dupesStored++;
      if (kind === 'reply') {
        assert.equal(cm.parent, parent.id);
        replyIds.add(String(cm.id));
      }
      else assert.equal(cm.parent, 0);
      assert.equal(cm.status, kind === 'spam' ? 'pending' : 'approved', kind);
      assert.equal(cm.html, `<p>${sent[i].body.body}</p>`);
    });
    assert.equal(dupesStored, 1, 'exactly one of four identical comments is stored');
    stored += 24 + 1 + 4;
    const g = await c.thread('blog', url, { ua: stranger, limit: 200 });
    assert.equal(g.status, 200, g.text);
    assert.equal(g.json.thread.count, stored, 'the count moved by the approved comments only');
    const all = flatten(g.json.comments);
    assert.equal(all.length, stored, 'every approved comment is in the thread, once');
    assert.equal(new Set(all.map((x) => x.id)).size, stored);
    assert.ok(!all.some((x) => x.html.includes('buy ')), 'spam is not shown to others');
    const p = g.json.comments.find((x) => x.id === parent.id);
    assert.equal(p.replies.length, 4 * (attempt + 1), 'the replies nest under their parent');
  }
  assert.ok(grouped, 'no burst was grouped: the test did not exercise group commit');
  // Spam is stored (each burst's one), not indexed in the thread.
  const spam = await redis.cmd('HLEN', `t:cm:{blog:${urlHash(canonical)}}`);
  assert.equal(Number(spam), ids.size, 'every answered 201 is stored, spam included');
  // Visible top-level comments are in ROOTS, visible replies in APPROVED: each approved comment in one of them.
  const approvedReplies = await redis.cmd('ZRANGE', `t:ca:{blog:${urlHash(canonical)}}`, '0', '-1');
  assert.deepEqual(new Set(approvedReplies), replyIds, 'APPROVED holds the replies');
  assert.equal(Number(await redis.cmd('ZCARD', `t:cr:{blog:${urlHash(canonical)}}`)) + approvedReplies.length, stored);
});

test('comment_create.lua: a group is checked in order, each comment as if alone (duplicates within the group too)', async () => {
  // The script straight on the real Redis, with a group whose shape the API cannot force: what a worker would send
  // for comments that met in one turn.
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = path.resolve(__dirname, '../../src/store/lua');
  const script = `${fs.readFileSync(path.join(dir, 'prelude.lua'), 'utf8')}\n${fs.readFileSync(path.join(dir, 'comment_create.lua'), 'utf8')}`;
  const tag = `{blog:${uniq('lua')}}`;
  const keys = ['th', 'cm', 'cr', 'ct', 'tr', 'cp', 'cu', 'ca', 'cj', 'pb'].map((k) => `t:${k}:${tag}`);
  // Each comment: its 7 script arguments, and the record and public form the worker writes ahead of the script
  // (store_call_script_grouped_hset: MULTI, HSET COMMENTS, HSET PUBLIC, the script, EXEC).
  const one = (id, { parent = 0, status = 'approved', dupe = `d${id}`, visitor = 'v1' } = {}) => ({
    argv: [String(id), String(parent), status, dupe, String(1000 + id), visitor,
      parent === 0 ? String(16777215 - id) : `${String(parent).padStart(10, '0')}:${String(id).padStart(10, '0')}`],
    record: JSON.stringify({ id, parent, status }), pub: `{"id":${id}`,
  });
  // (In order, one command at a time: this test is about the script; the API tests run the real transaction.)
  const run = async (...group) => {
    await redis.cmd('HSET', keys[1], ...group.flatMap((g) => [g.argv[0], g.record]));
    await redis.cmd('HSET', keys[8], ...group.flatMap((g) => [g.argv[0], g.pub]));
    return redis.cmd('EVAL', script, String(keys.length), ...keys, 'https://blog.example/x', 'Title',
      ...group.flatMap((g) => g.argv));
  };
  // 1 approved; 2 the same words as 1 (duplicate within the group); 3 spam (stored, but its words mark nothing);
  // 4 pending; 5 a reply to 1, not stored when checked; 6 pending, same visitor as 4, the same words as the spam.
  let out = await run(one(1, { dupe: 'same' }), one(2, { dupe: 'same' }), one(3, { status: 'spam', dupe: 'sp' }),
    one(4, { status: 'pending' }), one(5, { parent: 1 }), one(6, { status: 'pending', dupe: 'sp' }));
  assert.deepEqual(out, ['ok', 'duplicate', 'ok', 'ok', 'parent', 'ok']);
  assert.deepEqual((await redis.cmd('HKEYS', keys[1])).sort(), ['1', '3', '4', '6']);
  assert.deepEqual(await redis.cmd('HKEYS', keys[8]), await redis.cmd('HKEYS', keys[1]), 'a public form for each');
  assert.deepEqual(await redis.cmd('ZRANGE', keys[2], '0', '-1'), ['1'], 'roots: approved top-level only');
  assert.deepEqual(await redis.cmd('ZRANGE', keys[7], '0', '-1'), [], 'approved replies: none yet (1 is in roots)');
  assert.deepEqual(await redis.cmd('ZRANGE', keys[5], '0', '-1'), ['4', '6'], 'pending');
  assert.equal(await redis.cmd('HGET', keys[9], 'v1'), '2', 'pending per visitor, counted once each');
  assert.equal(await redis.cmd('HGET', keys[0], 'count'), '1');
  assert.equal(await redis.cmd('HGET', keys[0], 'ver'), '4', 'one version step per stored comment');
  assert.equal(await redis.cmd('HGET', keys[0], 'created'), '1001', 'created by the first stored comment');
  assert.equal(await redis.cmd('HGET', keys[0], 'title'), 'Title');
  // A later group: the reply to 1 now lands, the earlier words are a duplicate, everything else as alone.
  out = await run(one(7, { parent: 1 }), one(8, { dupe: 'same' }), one(9, { parent: 4 }), one(10));
  assert.deepEqual(out, ['ok', 'duplicate', 'parent', 'ok']);
  assert.deepEqual(await redis.cmd('ZRANGE', keys[4], '0', '-1'), ['0000000001:0000000007'], 'the reply in the tree');
  assert.deepEqual(await redis.cmd('ZRANGE', keys[7], '0', '-1'), ['7'], 'and in the approved replies');
  assert.deepEqual(await redis.cmd('ZRANGE', keys[2], '0', '-1'), ['1', '10'], 'roots');
  assert.equal(await redis.cmd('HGET', keys[0], 'count'), '3');
  assert.equal(await redis.cmd('HGET', keys[0], 'created'), '1001', 'the thread is created once');
  assert.deepEqual((await redis.cmd('HKEYS', keys[1])).sort(), ['1', '10', '3', '4', '6', '7'], 'refused: fields deleted');
  assert.deepEqual((await redis.cmd('HKEYS', keys[8])).sort(), ['1', '10', '3', '4', '6', '7']);
  assert.equal(await redis.cmd('HGET', keys[8], '7'), '{"id":7', 'the public form as the worker wrote it');
  // A reply to a comment of the same group is refused, even though that comment's record is already written.
  out = await run(one(14), one(15, { parent: 14 }));
  assert.deepEqual(out, ['ok', 'parent']);
  assert.equal(await redis.cmd('HEXISTS', keys[1], '15'), 0);
  // Nothing stored: no version step, no field left.
  out = await run(one(11, { dupe: 'same' }));
  assert.deepEqual(out, ['duplicate']);
  assert.equal(await redis.cmd('HGET', keys[0], 'ver'), '7');
  assert.equal(await redis.cmd('HEXISTS', keys[1], '11'), 0);
  assert.equal(await redis.cmd('HEXISTS', keys[8], '11'), 0);
  // Locked: every comment of the group is refused and its fields deleted.
  await redis.cmd('HSET', keys[0], 'locked', '1');
  assert.deepEqual(await run(one(12), one(13)), ['locked', 'locked']);
  assert.equal(Number(await redis.cmd('HLEN', keys[1])), 7);
  assert.equal(Number(await redis.cmd('HLEN', keys[8])), 7);
});

test('comment_ids.lua: consecutive ids for a group, in the order given', async () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const src = fs.readFileSync(path.resolve(__dirname, '../../src/store/lua/comment_ids.lua'), 'utf8');
  // Consecutive ids in the order given, continuing the thread's sequence.
  const th = `t:th:{blog:${uniq('grp')}}`;
  assert.deepEqual(await redis.cmd('EVAL', src, '1', th, '1'), [1]);
  assert.deepEqual(await redis.cmd('EVAL', src, '1', th, '1', '1', '1'), [2, 3, 4]);
  assert.equal(await redis.cmd('HGET', th, 'seq'), '4');
});

test('group commit: a burst on a locked thread is refused whole, nothing stored', async () => {
  const url = page('group-locked');
  const canonical = new URL(url).href;
  const token = await c.formToken('blog', url);
  assert.equal((await c.admin('POST', '/api/v1/admin/threads/lock', { site: 'blog', url })).status, 200);
  const res = await Promise.all(Array.from({ length: 16 }, (_, i) => c.post({ site: 'blog', url, form_token: token,
    author: `L${i}`, email: `l${i}.${uniq('lk')}@example.com`, body: `locked ${i}` }, { bare: true })));
  for (const r of res) assertError(r, 403, 'thread_locked', undefined, 'burst on a locked thread');
  assert.equal(Number(await redis.cmd('HLEN', `t:cm:{blog:${urlHash(canonical)}}`)), 0);
});

test('group commit: when the script fails after the transaction wrote the comments, the writes are taken back', async () => {
  // The record and public form are written by HSET ahead of the script in one MULTI/EXEC
  // (store_call_script_grouped_hset). A script that fails there (here: the thread's duplicate set replaced by a
  // string, so the script's duplicate check raises WRONGTYPE) must not leave those fields behind for comments nobody
  // was told about.
  const url = page('group-undo');
  const canonical = new URL(url).href;
  const first = (await c.create({ site: 'blog', url, body: 'the thread exists' })).comment;
  const cm = `t:cm:{blog:${urlHash(canonical)}}`;
  const cj = `t:cj:{blog:${urlHash(canonical)}}`;
  const cu = `t:cu:{blog:${urlHash(canonical)}}`;
  const dupes = await redis.cmd('SMEMBERS', cu);
  assert.equal(dupes.length, 1, 'the duplicate set is the key this test breaks');
  await redis.cmd('DEL', cu);
  await redis.cmd('SET', cu, 'not a set');
  const token = await c.formToken('blog', url);
  const res = await Promise.all(Array.from({ length: 8 }, (_, i) => c.post({ site: 'blog', url, form_token: token,
    author: `U${i}`, email: `u${i}.${uniq('un')}@example.com`, body: `undone ${i}` }, { bare: true })));
  for (const r of res) assertError(r, 503, 'unavailable', undefined, 'the script failed');
  assert.deepEqual(await redis.cmd('HKEYS', cm), [String(first.id)], 'no record left behind');
  assert.deepEqual(await redis.cmd('HKEYS', cj), [String(first.id)], 'no public form left behind');
  // The thread takes comments again once the set is sound.
  await redis.cmd('DEL', cu);
  await redis.cmd('SADD', cu, ...dupes);
  const ok = await c.post({ site: 'blog', url, form_token: token, author: 'W', email: `w.${uniq('un')}@example.com`,
    body: 'after the repair' });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(Number(await redis.cmd('HLEN', cm)), 2);
});

test('feed: well-formed Atom of the approved comments, newest first, at most 50, escaped HTML', async () => {
  const url = page('feed', 'links.example');
  const title = 'Feed & <friends> "quoted"';
  const ids = [];
  ids.push((await c.create({ site: 'links', url, title, author: 'Tom & "Jerry" <tj>', body: 'first <b>bold</b> & co' })).comment.id);
  for (let i = 1; i < 52; i++) ids.push((await c.create({ site: 'links', url, body: `feed comment ${i}` })).comment.id);
  const pending = (await c.create({ site: 'links', url, body: 'https://a.example/ https://b.example/' })).comment;
  assert.equal(pending.status, 'pending');
  const spam = await c.post({ site: 'links', url, body: 'spam body', hp: 'filled' });
  assert.equal(spam.status, 201, spam.text);
  const spamId = spam.json.comment.id;
  const reply = (await c.create({ site: 'links', url, parent: ids[0], body: 'a reply is in the feed too' })).comment;
  ids.push(reply.id);

  const r = await c.feed('links', url);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.match(String(r.headers['content-type']), /^application\/atom\+xml\b/);
  assert.ok(r.text.startsWith('<?xml'), r.text.slice(0, 40));
  const feed = parseXml(r.text);
  assert.equal(feed.name, 'feed');
  assert.equal(feed.attrs.xmlns, 'http://www.w3.org/2005/Atom');
  assert.equal(decodeXml(textOf(kids(feed, 'title')[0])), `Comments on ${title}`);
  assert.equal(kids(feed, 'id').length, 1);
  assert.match(textOf(kids(feed, 'updated')[0]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const entries = kids(feed, 'entry');
  assert.equal(entries.length, 50, 'the newest 50');
  const entryIds = entries.map((e) => Number(/#comment-(\d+)$/.exec(textOf(kids(e, 'id')[0]))[1]));
  const expected = [...ids].sort((a, b) => b - a).slice(0, 50);
  assert.deepEqual(entryIds, expected, 'newest first');
  assert.ok(!entryIds.includes(pending.id) && !entryIds.includes(spamId), 'no pending or spam entries');
  assert.ok(!r.text.includes('https://a.example/') && !r.text.includes('spam body'), 'no pending or spam content');
  for (const e of entries) {
    for (const k of ['id', 'title', 'author', 'link', 'published', 'updated', 'content']) {
      assert.equal(kids(e, k).length, 1, `entry has one <${k}>`);
    }
    assert.equal(kids(e, 'content')[0].attrs.type, 'html');
    assert.equal(kids(kids(e, 'author')[0], 'name').length, 1);
    assert.ok(kids(e, 'link')[0].attrs.href.endsWith(`#comment-${/#comment-(\d+)$/.exec(textOf(kids(e, 'id')[0]))[1]}`));
  }
  // Content is the stored HTML, escaped as text.
  const g = await c.thread('links', url, { limit: '200' });
  const byId = new Map(flatten(g.json.comments).map((x) => [x.id, x]));
  for (const [i, e] of entries.entries()) {
    const raw = textOf(kids(e, 'content')[0]);
    assert.ok(raw.includes('&lt;p&gt;'), raw);
    assert.equal(decodeXml(raw), byId.get(entryIds[i]).html);
  }
  // The oldest comments fell off; the first comment's author is escaped where it appears.
  const r2 = await c.feed('links', url);
  assert.equal(r2.text, r.text, 'the feed is deterministic');
  assert.ok(!r.text.includes('first &lt;b&gt;'), 'the first comment is not among the newest 50');

  const small = page('feed-small', 'links.example');
  await c.create({ site: 'links', url: small, title: 'Small', author: 'Tom & "Jerry" <tj>', body: 'x < y & <b>z</b>' });
  const s = await c.feed('links', small);
  const sf = parseXml(s.text);
  const [only] = kids(sf, 'entry');
  assert.equal(decodeXml(textOf(kids(only, 'title')[0])), 'Comment by Tom & "Jerry" <tj>');
  assert.equal(decodeXml(textOf(kids(kids(only, 'author')[0], 'name')[0])), 'Tom & "Jerry" <tj>');
  assert.equal(decodeXml(textOf(kids(only, 'content')[0])), '<p>x &lt; y &amp; <b>z</b></p>');

  // An empty thread is a well-formed feed without entries; a bad site is the JSON error.
  const empty = await c.feed('links', page('feed-empty', 'links.example'));
  assert.equal(empty.status, 200);
  assert.equal(kids(parseXml(empty.text), 'entry').length, 0);
  assertError(await c.feed('nope', url), 404, 'unknown_site', 'site');
  assertError(await c.feed('links', 'https://blog.example/x'), 403, 'foreign_url', 'url');
});


test('data from before top-level comments left APPROVED: the feed takes each comment once, deep links still resolve', async () => {
  // Until 2026-11-27 APPROVED held every visible comment; now it holds the replies and ROOTS the top-level ones.
  // A thread written the old way has its top-level ids in both; readers must take them once.
  const url = page('legacy-approved', 'links.example');
  const canonical = new URL(url).href;
  const ids = [];
  for (let i = 0; i < 4; i++) ids.push((await c.create({ site: 'links', url, body: `legacy root ${i}` })).comment.id);
  const reply = (await c.create({ site: 'links', url, parent: ids[1], body: 'legacy reply' })).comment;
  const ca = `t:ca:{links:${urlHash(canonical)}}`;
  assert.deepEqual(await redis.cmd('ZRANGE', ca, '0', '-1'), [String(reply.id)], 'new data: replies only');
  await redis.cmd('ZADD', ca, ...ids.flatMap((id) => [String(id), String(id)])); // the old layout
  const feed = parseXml((await c.feed('links', url)).text);
  const entryIds = kids(feed, 'entry').map((e) => Number(/#comment-(\d+)$/.exec(textOf(kids(e, 'id')[0]))[1]));
  assert.deepEqual(entryIds, [reply.id, ...[...ids].reverse()], 'newest first, each once');
  for (const id of [ids[0], reply.id]) {
    const r = await c.one('links', url, id);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.comment.id, id);
  }
  // Hiding a top-level comment (moderation: spam) takes it out of both, old layout or new.
  const spam = await c.adminAct('links', `${urlHash(canonical)}:${ids[0]}`, 'spam');
  assert.equal(spam.status, 200, spam.text);
  assert.equal(await redis.cmd('ZSCORE', ca, String(ids[0])), null);
  assertError(await c.one('links', url, ids[0]), 404, 'not_found', 'id', 'deep link to a comment marked spam');
  const after = parseXml((await c.feed('links', url)).text);
  assert.equal(kids(after, 'entry').length, 4);
});
test('feed stays well-formed XML whatever characters a commenter uses (U+FFFE/U+FFFF are not XML)', async () => {
  // In the title, the author's name, the body and the page URL as the reader sends it.
  const url = `${page('feed-chars')}/odd-\uFFFF-path`;
  const r = await c.post({ site: 'blog', url, title: 'Odd \uFFFE title', author: 'Odd \uFFFF name', body: 'x \uFFFF y' });
  if (r.status !== 422 || r.json.error.field !== 'author') assert.equal(r.status, 201, r.text); // refusing the name is fine too
  const f = await c.feed('blog', url);
  assert.equal(f.status, 200);
  const feed = parseXml(f.text);
  assert.equal(kids(feed, 'entry').length, r.status === 201 ? 1 : 0);
});

test('counts: GET /counts gives the approved comment count per URL', async () => {
  const u1 = page('counts', 'links.example');
  const u2 = page('counts', 'links.example');
  const u3 = page('counts', 'links.example');
  const a = await roots('links', u1, 3);
  await c.create({ site: 'links', url: u1, parent: a[0], body: 'reply counts too' });
  const pend = await c.create({ site: 'links', url: u1, body: 'https://a.example/ https://b.example/' });
  assert.equal(pend.comment.status, 'pending');
  assert.equal((await c.post({ site: 'links', url: u1, body: 'spam', hp: 'x' })).status, 201);
  await roots('links', u2, 1);
  const r = await c.counts('links', [u1, u2, u3]);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.items.map((x) => [x.url, x.comments]), [[u1, 4], [u2, 1], [u3, 0]]);
  for (const it of r.json.items) assert.equal(it.shares, 0);
  const g = await c.thread('links', u1);
  assert.equal(g.json.thread.count, 4, 'thread.count agrees');
});

test('avatar: the comment\'s identicon is an SVG; the same e-mail gives the same one; bad names are 404', async () => {
  const url = page('avatar');
  const one = (await c.create({ site: 'blog', url, email: 'Pat@Example.com', body: 'a1' })).comment;
  const same = (await c.create({ site: 'blog', url, email: 'pat@example.COM', body: 'a2' })).comment;
  const other = (await c.create({ site: 'blog', url, email: 'sam@example.com', body: 'a3' })).comment;
  assert.equal(one.avatar, same.avatar, 'the address is compared case-insensitively');
  assert.notEqual(one.avatar, other.avatar);
  const r = await h.h1(parley, 'GET', one.avatar);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'image/svg+xml');
  assert.ok(r.text.startsWith('<svg') && r.text.includes('xmlns="http://www.w3.org/2000/svg"'), r.text.slice(0, 80));
  assert.ok(r.text.trimEnd().endsWith('</svg>'));
  parseXml(`<?xml version="1.0"?>${r.text}`);
  assert.ok(!/<script|on\w+=/i.test(r.text));
  const r2 = await h.h1(parley, 'GET', other.avatar);
  assert.notEqual(r2.text, r.text, 'another e-mail draws another identicon');
  const hex = one.avatar.slice(8, 40);
  for (const bad of ['/avatar/nope', `/avatar/${hex}`, `/avatar/${hex.toUpperCase()}.svg`, `/avatar/${hex.slice(1)}.svg`,
    `/avatar/${hex}.png`, `/avatar/${'g'.repeat(32)}.svg`]) {
    const b = await h.h1(parley, 'GET', bad);
    assertError(b, 404, 'not_found', undefined, bad);
  }
});

test('gravatar: only a site that turns it on links Gravatar (MD5 of the trimmed, lower-cased address)', async () => {
  const r = await c.create({ site: 'grav', url: page('grav', 'grav.example'), email: '  Gr.Av@Example.COM ', body: 'g' });
  const md5 = crypto.createHash('md5').update('gr.av@example.com').digest('hex');
  assert.match(r.comment.avatar, new RegExp(`^https://(www|secure)\\.gravatar\\.com/avatar/${md5}\\b`));
  const plain = await c.create({ site: 'blog', url: page('grav'), email: 'gr.av@example.com', body: 'g' });
  assert.match(plain.comment.avatar, /^\/avatar\/[0-9a-f]{32}\.svg$/, 'the other sites keep Parley\'s own identicons');
  assert.ok(!plain.comment.avatar.includes(md5));
});
