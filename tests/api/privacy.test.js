// "Manage my comments" (issue 6): POST /api/v1/privacy/request mails a link that lets the owner of an address
// download (GET /api/v1/privacy/comments) or delete (DELETE, once) every comment made with it. Real redis-server,
// real parleyd, real SMTP sink. Covers every bad input, byte-identical answers whether or not the address has
// comments (and no mail in the second case), the mail and its link, the token kept only as SHA-256 with its expiry,
// export contents and scope, deletion as seen through GET /api/v1/comments (placeholders for comments with
// replies), used/expired/forged tokens, the per-address mail limit, the index backfill by the retention sweep, the
// page at /privacy, and the mail metrics after the mails went through the sink.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const { startMailStack } = require('./lib/mailstack');
const { client, RELAXED, flatten } = require('./lib/comments');
const { assertErr, assertSameAnswer } = require('./lib/accounts');

const REQ = '/api/v1/privacy/request';
const COMMENTS = '/api/v1/privacy/comments';
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
const SITES = [
  { id: 'blog', origins: ['https://blog.example'], moderation: 'none' },
  { id: 'news', origins: ['https://news.example'], moderation: 'all' },
];

let stack;
let p;
let c;
before(async () => {
  stack = await startMailStack({ sites: SITES, comments: RELAXED, limits: { auth: [100000, 60] } });
  p = stack.parley;
  c = client(p);
});
after(async () => {
  if (stack) await stack.stop();
});

let seq = 0;
const addr = (tag) => `${tag}.${process.pid}.${++seq}@example.com`;
const pageUrl = (tag, host = 'blog.example') => `https://${host}/${tag}-${process.pid}-${++seq}`;
const request = (body, headers = {}) => h.h1(p, 'POST', REQ, { body, headers });
const bearer = (token) => (token === null ? {} : { authorization: `Bearer ${token}` });
const exportAll = (token) => h.h1(p, 'GET', COMMENTS, { headers: bearer(token) });
const deleteAll = (token) => h.h1(p, 'DELETE', COMMENTS, { headers: bearer(token) });
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const lc = (s) => String(s).toLowerCase();
const secret = () => Buffer.from(fs.readFileSync(path.join(p.dir, 'data', 'secret'), 'utf8').trim(), 'hex');
// The keyed hash comments store as `ehash` (api_email_hash): HMAC-SHA256(secret, "email\n" + lower-cased), 16 bytes.
const ehash = (email) => crypto.createHmac('sha256', secret()).update(`email\n${lc(email)}`).digest('hex').slice(0, 32);

const mailsTo = (email) => stack.mails().filter((m) => m.rcpt_to.map(lc).includes(lc(email)));
async function waitMailTo(email, count = 1, ms = 10000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const got = mailsTo(email);
    if (got.length >= count) return got[count - 1];
    await h.sleep(50);
  }
  return assert.fail(`no mail #${count} to ${email} within ${ms} ms`);
}
// One mailer thread reads the outbox in order: once a later mail (to an address with comments) arrived, everything
// queued before it was sent too. The short grace covers a mail queued just after its answer.
async function flush() {
  const e = addr('sentinel');
  await c.create({ site: 'blog', url: pageUrl('sentinel'), author: 'Sentinel', email: e, body: `s ${seq}` });
  assert.equal((await request({ email: e })).status, 202);
  await waitMailTo(e);
  await h.sleep(300);
}
function tokenOf(mail) {
  const re = new RegExp(`${p.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/privacy#token=([^\\s<>"')\\]]*)`);
  const m = re.exec(String(mail.text));
  assert.ok(m, `a ${p.base}/privacy#token=… link in "${mail.subject}":\n${mail.text}`);
  assert.match(m[1], TOKEN_RE, 'the token is 43 base64url characters (256 bits)');
  return m[1];
}
// Asks for a link for EMAIL (optionally for one SITE) and returns the token from the mail (the COUNT-th to EMAIL).
async function linkFor(email, { site, count = 1 } = {}) {
  const r = await request(site ? { site, email } : { email });
  assert.equal(r.status, 202, r.text);
  return tokenOf(await waitMailTo(email, count));
}

test('POST /privacy/request: every bad input is a JSON error with the right status and field', async () => {
  assertErr(await request('{"email":'), 400, 'bad_json', undefined, 'truncated JSON');
  assertErr(await request('[]'), 400, 'bad_json', undefined, 'not an object');
  assertErr(await request(JSON.stringify({ email: 'a@example.com' }), { 'content-type': 'text/plain' }), 415,
    'unsupported_media_type', undefined, 'text/plain');
  assertErr(await request({}), 422, 'invalid', 'email', 'no email');
  assertErr(await request({ email: 42 }), 422, 'invalid', 'email', 'email not a string');
  assertErr(await request({ email: '' }), 422, 'invalid', 'email', 'empty email');
  for (const bad of ['plain', 'a@b', '@example.com', 'a b@example.com', 'a@exa mple.com', 'ü@exämple.com',
    `${'x'.repeat(250)}@example.com`]) {
    assertErr(await request({ email: bad }), 422, 'invalid', 'email', `email ${JSON.stringify(bad)}`);
  }
  assertErr(await request({ email: 'a@example.com', extra: 1 }), 422, 'invalid', 'extra', 'unknown key');
  assertErr(await request({ email: 'a@example.com', site: 7 }), 422, 'invalid', 'site', 'site not a string');
  assertErr(await request({ email: 'a@example.com', site: 'nope' }), 404, 'unknown_site', 'site', 'unknown site');
  assertErr(await request({ email: 'a@example.com', site: 'blog' }, { origin: 'https://evil.example' }), 403,
    'origin_not_allowed', undefined, 'a foreign origin naming a site');
  const get = await h.h1(p, 'GET', REQ);
  assertErr(get, 405, 'method_not_allowed', undefined, 'GET');
  assert.match(String(get.headers.allow), /POST/);
  const put = await h.h1(p, 'PUT', COMMENTS);
  assertErr(put, 405, 'method_not_allowed', undefined, 'PUT on the comments');
  assert.match(String(put.headers.allow), /GET.*DELETE|DELETE.*GET/);
});

test('POST /privacy/request without a mail relay is 503', async () => {
  const redis = await h.startRedis();
  const q = await h.startParley({ redisUrl: redis.url, sites: SITES });
  try {
    assertErr(await h.h1(q, 'POST', REQ, { body: { email: 'a@example.com' } }), 503, 'unavailable', undefined,
      'no smtp.url');
  } finally {
    await h.stopClean(q);
    await redis.stop();
  }
});

test('no enumeration: the same bytes whether or not the address has comments; only the owner of comments gets mail', async () => {
  const withComments = addr('has');
  const without = addr('none');
  await c.create({ site: 'blog', url: pageUrl('enum'), author: 'Has', email: withComments, body: 'I was here.' });
  const a = await request({ email: withComments });
  const b = await request({ email: without });
  assertSameAnswer(a, b, 'address with comments vs without');
  assert.equal(a.status, 202);
  assert.deepEqual(Object.keys(a.json).sort(), ['message', 'status']);
  assert.equal(a.json.status, 'accepted');
  assert.equal(a.headers['cache-control'], 'no-store');
  // Scoped to a site the address never used: still the same bytes.
  assertSameAnswer(await request({ site: 'news', email: withComments }), await request({ site: 'news', email: without }),
    'scoped requests');
  // Case and surrounding blanks do not matter (the keyed hash is over the lower-cased address).
  assertSameAnswer(await request({ email: `  ${withComments.toUpperCase()} ` }), b, 'upper-cased, with blanks');
  await flush();
  assert.equal(mailsTo(without).length, 0, 'no mail to an address that never commented');
  assert.equal(mailsTo(withComments).length, 3, 'a mail for each request of the address with comments');
});

test('the mail: plain text, to the address, a /privacy#token= link; Redis keeps only SHA-256 of the token, with its expiry', async () => {
  const email = addr('mail');
  await c.create({ site: 'blog', url: pageUrl('mail'), author: 'Mia', email, body: 'Mail me.' });
  const token = await linkFor(email);
  const mail = mailsTo(email)[0];
  assert.deepEqual(mail.rcpt_to, [email]);
  assert.match(String(mail.subject), /your comments/i);
  assert.equal(mail.html, null, 'plain text only');
  assert.match(String(mail.text), /download them all, or to delete them all/);
  assert.match(String(mail.text), /works for 24 hours/);
  assert.match(String(mail.text), /ignore this mail/);
  const key = `t:pt:{${sha256(token)}}`;
  const fields = await h.redisCmd(stack.redis.port, ['HGETALL', key]);
  assert.ok(fields.length > 0, 'the token is stored under its SHA-256');
  const rec = Object.fromEntries(fields.reduce((acc, v, i) => (i % 2 ? acc : [...acc, [v, fields[i + 1]]]), []));
  assert.equal(rec.ehash, ehash(email));
  assert.equal(rec.site, '');
  assert.ok(!JSON.stringify(fields).includes(token), 'the token itself is not stored');
  const ttl = await h.redisCmd(stack.redis.port, ['TTL', key]);
  assert.ok(ttl > 86000 && ttl <= 86400, `expires with privacy.manage_ttl_s (TTL ${ttl})`);
  const keys = await h.redisCmd(stack.redis.port, ['KEYS', `*${token}*`]);
  assert.deepEqual(keys, [], 'no key holds the token');
});

test('export: every comment of the address (all statuses, replies, both sites), nothing of others, no internal hashes; reusable', async () => {
  const email = addr('exp');
  const other = addr('other');
  const url1 = pageUrl('exp');
  const url2 = pageUrl('exp', 'news.example');
  const top = await c.create({ site: 'blog', url: url1, author: 'Eve', email, body: 'First <b>bold</b>.' });
  const reply = await c.create({ site: 'blog', url: url1, author: 'Eve', email: email.toUpperCase(), body: 'Reply.',
    parent: top.comment.id });
  await c.create({ site: 'blog', url: url1, author: 'Other', email: other, body: 'Not Eve.' });
  const pending = await c.create({ site: 'news', url: url2, author: 'Eve', email, body: 'Waits.' });
  assert.equal(pending.comment.status, 'pending');
  const spam = await c.create({ site: 'blog', url: url1, author: 'Eve', email, body: 'Caught.', hp: 'bot' });
  const token = await linkFor(email);

  const r = await exportAll(token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(r.json.exported, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(r.json.site, null, 'every site');
  const got = r.json.comments.map((x) => `${x.site}:${x.id}:${x.status}`).sort();
  assert.deepEqual(got, [`blog:${top.comment.id}:approved`, `blog:${reply.comment.id}:approved`,
    `blog:${spam.comment.id}:pending`, `news:${pending.comment.id}:pending`].sort(),
  'all four, spam shown as pending (its author is never told)');
  const first = r.json.comments.find((x) => x.site === 'blog' && x.id === top.comment.id);
  assert.deepEqual(Object.keys(first).sort(), ['author', 'body', 'created', 'dislikes', 'edited', 'email', 'html',
    'id', 'likes', 'parent', 'site', 'status', 'url', 'website'].sort());
  assert.equal(first.url, url1);
  assert.equal(first.body, 'First <b>bold</b>.');
  assert.equal(first.html, top.comment.html);
  assert.equal(first.email, email);
  assert.equal(r.json.comments.find((x) => x.site === 'blog' && x.id === reply.comment.id).parent, top.comment.id);
  assert.ok(!/ehash|visitor|"edit"/.test(r.text), 'no internal hashes');

  const again = await exportAll(token);
  assert.equal(again.status, 200, 'the export link works again until it expires');
  assert.deepEqual(again.json.comments, r.json.comments);

  // A link asked for one site covers that site only.
  const scoped = await linkFor(email, { site: 'news', count: 2 });
  assert.match(String(mailsTo(email)[1].text), /on the site "news"/);
  const s = await exportAll(scoped);
  assert.equal(s.status, 200, s.text);
  assert.equal(s.json.site, 'news');
  assert.deepEqual(s.json.comments.map((x) => x.id), [pending.comment.id]);
});

test('delete: every comment goes (placeholders where others replied), visible through GET /comments; the link works once', async () => {
  const email = addr('del');
  const other = addr('keep');
  const url = pageUrl('del');
  const a1 = await c.create({ site: 'blog', url, author: 'Dan', email, body: 'Delete me, I have a reply.' });
  await c.create({ site: 'blog', url, author: 'Kim', email: other, body: 'A reply that stays.', parent: a1.comment.id });
  const a2 = await c.create({ site: 'blog', url, author: 'Dan', email, body: 'Delete me too.' });
  const news = await c.create({ site: 'news', url: pageUrl('del', 'news.example'), author: 'Dan', email, body: 'News.' });
  const before1 = await c.thread('blog', url);
  assert.equal(before1.json.thread.count, 3);

  const token = await linkFor(email);
  const d = await deleteAll(token);
  assert.equal(d.status, 200, d.text);
  assert.deepEqual(d.json, { deleted: 3 });

  const after1 = await c.thread('blog', url);
  assert.equal(after1.status, 200);
  assert.equal(after1.json.thread.count, 1, 'only the other author\'s reply is counted');
  const all = flatten(after1.json.comments);
  const ph = all.find((x) => x.id === a1.comment.id);
  assert.equal(ph.status, 'deleted', 'the comment with a reply stays as a placeholder');
  assert.equal(ph.author, null);
  assert.equal(ph.html, '');
  assert.equal(ph.replies.length, 1);
  assert.equal(ph.replies[0].author, 'Kim');
  assert.equal(all.find((x) => x.id === a2.comment.id), undefined, 'without replies it is gone');
  assert.ok(!after1.text.includes('Delete me'), 'no text left');

  // Nothing in Redis ties the address to what is left.
  const keys = await h.redisCmd(stack.redis.port, ['KEYS', 't:cm:{blog:*']);
  for (const k of keys) {
    const vals = await h.redisCmd(stack.redis.port, ['HVALS', k]);
    for (const v of vals) assert.ok(!v.includes(email) && !v.includes(ehash(email)), `${k}: ${v}`);
  }
  assert.equal(await h.redisCmd(stack.redis.port, ['SCARD', `t:ec:{${ehash(email)}}`]), 0, 'index emptied');
  assert.equal(await h.redisCmd(stack.redis.port, ['SISMEMBER', 't:ae:{blog}', ehash(email)]), 0,
    'first moderation forgets the address');
  assert.equal(await h.redisCmd(stack.redis.port, ['SCARD', `t:ec:{${ehash(other)}}`]), 1, 'others untouched');

  // Used: the link is gone, for deleting and for exporting.
  assertErr(await deleteAll(token), 401, 'unauthorized', undefined, 'used token, DELETE');
  assertErr(await exportAll(token), 401, 'unauthorized', undefined, 'used token, GET');
  assert.equal(news.comment.status, 'pending', 'the pending one on the other site was among the three');
  // Nothing is left, so a new request mails nothing (and answers as ever).
  assert.equal((await request({ email })).status, 202);
  await flush();
  assert.equal(mailsTo(email).length, 1, 'no second mail');
});

test('two racing deletes with one link: exactly one acts', async () => {
  const email = addr('race');
  const url = pageUrl('race');
  for (let i = 0; i < 4; i++) await c.create({ site: 'blog', url, author: 'Ray', email, body: `Race ${i}.` });
  const token = await linkFor(email);
  const [x, y] = await Promise.all([deleteAll(token), deleteAll(token)]);
  const ok = [x, y].filter((r) => r.status === 200);
  const refused = [x, y].filter((r) => r.status === 401);
  assert.equal(ok.length, 1, `${x.status} ${x.text} / ${y.status} ${y.text}`);
  assert.equal(refused.length, 1);
  assert.deepEqual(ok[0].json, { deleted: 4 });
  assertErr(refused[0], 401, 'unauthorized', undefined, 'the loser of the race');
  assert.equal((await c.thread('blog', url)).json.thread.count, 0);
});

test('bad, forged and expired tokens are 401 JSON errors', async () => {
  const email = addr('tok');
  await c.create({ site: 'blog', url: pageUrl('tok'), author: 'Tom', email, body: 'Tokens.' });
  const token = await linkFor(email);
  const forged = crypto.randomBytes(32).toString('base64url');
  for (const [what, hdr] of [
    ['no Authorization', {}],
    ['not Bearer', { authorization: `Basic ${token}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
    ['short', { authorization: `Bearer ${token.slice(1)}` }],
    ['long', { authorization: `Bearer ${token}A` }],
    ['not base64url', { authorization: `Bearer ${'!'.repeat(43)}` }],
    ['forged', { authorization: `Bearer ${forged}` }],
    ['one character changed', { authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` }],
  ]) {
    assertErr(await h.h1(p, 'GET', COMMENTS, { headers: hdr }), 401, 'unauthorized', undefined, `GET, ${what}`);
    assertErr(await h.h1(p, 'DELETE', COMMENTS, { headers: hdr }), 401, 'unauthorized', undefined, `DELETE, ${what}`);
  }
  assert.equal((await exportAll(token)).status, 200, 'the real token still works after all that');
  // Expired: Redis drops the key when its TTL runs out.
  await h.redisCmd(stack.redis.port, ['PEXPIRE', `t:pt:{${sha256(token)}}`, '1']);
  await h.sleep(20);
  assertErr(await exportAll(token), 401, 'unauthorized', undefined, 'expired, GET');
  assertErr(await deleteAll(token), 401, 'unauthorized', undefined, 'expired, DELETE');
});

test('per-address limit: privacy.mails_per_hour (3) mails an hour, the answer never changes', async () => {
  const email = addr('lim');
  await c.create({ site: 'blog', url: pageUrl('lim'), author: 'Lim', email, body: 'Limits.' });
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await request({ email }));
  for (const x of answers.slice(1)) assertSameAnswer(answers[0], x, 'within and over the limit');
  await flush();
  assert.equal(mailsTo(email).length, 3, 'three mails, then none');
});

test('the page: GET /privacy is the first-party page with its own script, no inline script, no-store', async () => {
  const r = await h.h1(p, 'GET', '/privacy');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/html/);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['referrer-policy'], 'no-referrer');
  assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
  assert.doesNotMatch(String(r.headers['content-security-policy']), /unsafe-inline/);
  assert.match(r.text, /<script src="\/assets\/privacy\.js" defer><\/script>/);
  assert.equal((r.text.match(/<script/g) || []).length, 1, 'one script tag, and it has a src');
  assert.match(r.text, /<label for="confirm">/);
  const same = await h.h1(p, 'GET', '/account/privacy');
  assert.equal(same.text, r.text);
  const js = await h.h1(p, 'GET', '/assets/privacy.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  // The token leaves the address bar before the first request the script makes.
  const iReplace = js.text.indexOf('history.replaceState');
  assert.ok(iReplace > 0 && iReplace < js.text.indexOf('fetch('), 'replaceState before any fetch');
});

test('metrics: mails sent, failed, dead and queued, comments by status and Redis latency after mail went through the sink', async () => {
  await flush();
  // The queue gauges are refreshed when the mailer goes idle, just after the last mail.
  let m;
  for (let i = 0; i < 50; i++) {
    m = await h.metrics(p);
    if (h.metricValue(m, 'parley_mail_queue', { state: 'pending' }) === 0) break;
    await h.sleep(100);
  }
  const sent = stack.mails().length;
  assert.equal(h.metricValue(m, 'parley_mail_sent_total'), sent, `every mail the sink got (${sent}) is counted`);
  assert.equal(h.metricValue(m, 'parley_mail_failures_total'), 0);
  assert.equal(h.metricValue(m, 'parley_mail_dead_total'), 0);
  for (const state of ['pending', 'delayed', 'dead']) {
    assert.equal(h.metricValue(m, 'parley_mail_queue', { state }), 0, `queue ${state}`);
  }
  assert.ok(h.metricValue(m, 'parley_comments_created_total', { status: 'approved' }) >= 10);
  assert.ok(h.metricValue(m, 'parley_comments_created_total', { status: 'pending' }) >= 2);
  assert.ok(h.metricValue(m, 'parley_comments_created_total', { status: 'spam' }) >= 1);
  const count = h.metricValue(m, 'parley_redis_call_seconds_count');
  const sum = h.metricValue(m, 'parley_redis_call_seconds_sum');
  assert.ok(count > 50, `Redis calls counted (${count})`);
  assert.ok(sum > 0 && sum / count < 0.5, `a sensible mean Redis latency (${sum / count} s)`);
  const buckets = m.filter((s) => s.name === 'parley_redis_call_seconds_bucket');
  assert.ok(buckets.length >= 5, 'a latency histogram');
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative');
  assert.equal(buckets[buckets.length - 1].labels.le, '+Inf');
  assert.equal(buckets[buckets.length - 1].value, count);
  assert.equal(h.metricValue(m, 'parley_http_requests_total', { route: 'privacy_request', status: '202' }) > 0, true);
});

// A second stack whose retention sweep runs every second: with retention off it only fills the e-mail index for
// comments stored before the index existed (simulated by removing the index and its "built" marker); with a
// 2-second retention the scrubbed comments leave the index, so the address can no longer find them.
async function sweepStack(privacy) {
  const s = await startMailStack({ sites: SITES, comments: RELAXED, limits: { auth: [100000, 60] },
    extra: `privacy:\n  sweep_interval_s: 1\n${privacy}` });
  return s;
}
async function until(what, fn, ms = 8000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await h.sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('backfill: the retention sweep indexes comments stored before the e-mail index, once', async () => {
  const s = await sweepStack('  retention_s: 0\n');
  try {
    const q = s.parley;
    const port = s.redis.port;
    await until('the first sweep', async () => (await h.redisCmd(port, ['EXISTS', 't:ec:built'])) === 1);
    const email = addr('old');
    const cc = client(q);
    const made = await cc.create({ site: 'blog', url: pageUrl('old'), author: 'Old', email, body: 'From before.' });
    const eh = crypto.createHmac('sha256', Buffer.from(fs.readFileSync(path.join(q.dir, 'data', 'secret'), 'utf8')
      .trim(), 'hex')).update(`email\n${lc(email)}`).digest('hex').slice(0, 32);
    assert.equal(await h.redisCmd(port, ['SCARD', `t:ec:{${eh}}`]), 1, 'indexed when created');
    // As if the comment predated the index.
    await h.redisCmd(port, ['DEL', `t:ec:{${eh}}`, 't:ec:built']);
    await until('the backfill', async () => (await h.redisCmd(port, ['EXISTS', 't:ec:built'])) === 1);
    const members = await h.redisCmd(port, ['SMEMBERS', `t:ec:{${eh}}`]);
    assert.equal(members.length, 1);
    assert.match(members[0], new RegExp(`^blog:[0-9a-f]{32}:${made.comment.id}$`));
    assert.equal((await h.h1(q, 'POST', REQ, { body: { email } })).status, 202);
    const end = Date.now() + 10000;
    while (Date.now() < end && !s.mails().some((m) => m.rcpt_to.includes(email))) await h.sleep(50);
    const mail = s.mails().find((m) => m.rcpt_to.includes(email));
    assert.ok(mail, 'the old comment\'s author gets the link');
    const tok = /\/privacy#token=([A-Za-z0-9_-]{43})/.exec(mail.text)[1];
    const e = await h.h1(q, 'GET', COMMENTS, { headers: { authorization: `Bearer ${tok}` } });
    assert.deepEqual(e.json.comments.map((x) => x.id), [made.comment.id]);
  } finally {
    await s.stop();
  }
});

test('retention: scrubbed comments leave the e-mail index (the address cannot find them any more)', async () => {
  const s = await sweepStack('  retention_s: 2\n');
  try {
    const q = s.parley;
    const port = s.redis.port;
    const email = addr('scrub');
    const cc = client(q);
    await cc.create({ site: 'blog', url: pageUrl('scrub'), author: 'Scrub', email, body: 'Soon anonymous.' });
    const eh = crypto.createHmac('sha256', Buffer.from(fs.readFileSync(path.join(q.dir, 'data', 'secret'), 'utf8')
      .trim(), 'hex')).update(`email\n${lc(email)}`).digest('hex').slice(0, 32);
    assert.equal(await h.redisCmd(port, ['SCARD', `t:ec:{${eh}}`]), 1);
    await until('the scrub', async () => (await h.redisCmd(port, ['SCARD', `t:ec:{${eh}}`])) === 0);
  } finally {
    await s.stop();
  }
});
