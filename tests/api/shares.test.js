// Share counts end to end (issue 2 "Share counts" and the API tests): clicks over HTTP/1.1, h2c and TLS h2,
// dedupe per visitor, URL and network per day, canonicalisation, bots, the GET batches, /counts caching, and
// what ends up in Redis (the dedupe marker's lifetime, no raw IP anywhere).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const h = require('./lib/harness');

let redis;
let parley;
let seq = 0;
// A User-Agent no other test uses: a fresh visitor.
const ua = (tag) => `Mozilla/5.0 (X11; Linux x86_64) parley-test/${tag}-${process.pid}-${++seq}`;
// A page path no other test uses.
const page = (tag) => `https://blog.example/${tag}-${process.pid}-${++seq}`;
// Key hash of a canonical URL, as the server builds it (first 16 bytes of SHA-256, hex).
const urlHash = (canonical) => crypto.createHash('sha256').update(canonical).digest('hex').slice(0, 32);
const qs = (site, urls) => `site=${encodeURIComponent(site)}${urls.map((u) => `&url=${encodeURIComponent(u)}`).join('')}`;
const secondsToUtcMidnight = () => 86400 - (Math.floor(Date.now() / 1000) % 86400);

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({
    redisUrl: redis.url,
    tls: true,
    // blog as the harness's default site; quiet hides counts below 7 in the widget (min_shares).
    sites: [{ id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'] },
      { id: 'quiet', origins: ['https://quiet.example'], min_shares: 7 }],
  });
});

after(async () => {
  if (parley) await parley.stop();
  if (redis) await redis.stop();
});

function assertJson(res) {
  assert.match(String(res.headers['content-type']), /^application\/json\b/, `content-type of ${res.status} ${res.text}`);
  assert.notEqual(res.json, undefined, `body is JSON: ${res.text}`);
}

function post(send, body, agent) {
  return send('POST', '/api/v1/shares', { body, headers: { 'user-agent': agent } });
}

// One client per transport; `send(method, path, opts)` answers like harness.h1. Sessions are closed by done().
function transports() {
  return [
    { name: 'HTTP/1.1', proto: 'http/1.1', open: () => ({ send: (m, p, o) => h.h1(parley, m, p, o), done() {} }) },
    {
      name: 'h2c', proto: 'h2c', open: () => {
        const s = h.h2session(parley);
        return { send: (m, p, o) => s.request(m, p, o), done: () => s.close() };
      },
    },
    {
      name: 'TLS h2', proto: 'h2', open: () => {
        const s = h.h2session(parley, { tls: true });
        return { send: (m, p, o) => s.request(m, p, o), done: () => s.close() };
      },
    },
  ];
}

for (const t of transports()) {
  test(`share flow over ${t.name}: count, dedupe, other network, other visitor, GET`, async () => {
    const c = t.open();
    try {
      const url = page(`flow-${t.proto}`);
      const alice = ua('alice');
      const bob = ua('bob');

      let r = await post(c.send, { site: 'blog', url, network: 'x' }, alice);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.proto, t.proto);
      assertJson(r);
      assert.deepEqual(r.json, { url, canonical: url, total: 1, networks: { x: 1 }, counted: true });

      r = await post(c.send, { site: 'blog', url, network: 'x' }, alice);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { url, canonical: url, total: 1, networks: { x: 1 }, counted: false },
        'the same visitor, URL and network on the same day is not counted again');

      r = await post(c.send, { site: 'blog', url, network: 'facebook' }, alice);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { url, canonical: url, total: 2, networks: { x: 1, facebook: 1 }, counted: true },
        'another network is another count');

      r = await post(c.send, { site: 'blog', url, network: 'x' }, bob);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, { url, canonical: url, total: 3, networks: { x: 2, facebook: 1 }, counted: true },
        'another User-Agent is another visitor');

      r = await c.send('GET', `/api/v1/shares?${qs('blog', [url])}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.proto, t.proto);
      assertJson(r);
      assert.deepEqual(r.json, { items: [{ url, canonical: url, total: 3, networks: { x: 2, facebook: 1 } }], min_shares: 0 });
    } finally {
      c.done();
    }
  });
}

test('dedupe is per visitor, not per connection or protocol', async () => {
  const url = page('cross');
  const carol = ua('carol');
  let r = await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url, network: 'reddit' }, carol);
  assert.equal(r.json.counted, true, r.text);
  r = await post((m, p, o) => h.h2(parley, m, p, o), { site: 'blog', url, network: 'reddit' }, carol);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.counted, false, r.text);
  r = await post((m, p, o) => h.h2(parley, m, p, { ...o, tls: true }), { site: 'blog', url, network: 'reddit' }, carol);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.counted, false, r.text);
  assert.equal(r.json.total, 1);
});

test('canonicalisation folds http/https, www., trailing slash, utm_* and the fragment into one count', async () => {
  const base = page('canon');
  const path = new URL(base).pathname;
  const variants = [
    base,
    `http://blog.example${path}`,
    `https://www.blog.example${path}/`,
    `${base}?utm_source=newsletter&utm_medium=email&utm_campaign=launch`,
    `HTTP://WWW.Blog.Example${path}/?utm_content=a#comments`,
  ];
  const visitors = variants.map((_, i) => ua(`canon${i}`));
  for (let i = 0; i < variants.length; i++) {
    const r = await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: variants[i], network: 'linkedin' }, visitors[i]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.url, variants[i], 'echoes the URL as sent');
    assert.equal(r.json.canonical, base, `canonical form of ${variants[i]}`);
    assert.equal(r.json.counted, true);
    assert.equal(r.json.total, i + 1, 'every variant adds to the one count');
  }
  // The first visitor with another spelling of the same page is the same click.
  let r = await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: variants[2], network: 'linkedin' }, visitors[0]);
  assert.equal(r.json.counted, false, r.text);
  assert.equal(r.json.total, variants.length);

  r = await h.h2(parley, 'GET', `/api/v1/shares?${qs('blog', variants)}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.items.length, variants.length);
  r.json.items.forEach((item, i) => {
    assert.deepEqual(item, { url: variants[i], canonical: base, total: variants.length, networks: { linkedin: variants.length } });
  });
  // One counts hash in Redis for all the spellings.
  assert.equal(await redis.cmd('HGET', `t:sh:{blog:${urlHash(base)}}`, 'total'), String(variants.length));
});

test('bots are answered 200 with the counts but not counted', async () => {
  const url = page('bots');
  const human = await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url, network: 'x' }, ua('human'));
  assert.equal(human.json.counted, true, human.text);
  const bots = [
    ['HTTP/1.1', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'],
    ['HTTP/1.1', 'Mozilla/5.0 (compatible; ExampleCrawler/1.0)'],
    ['HTTP/1.1', 'curl/8.5.0'],
    ['HTTP/1.1', null],
    ['h2c', 'Mozilla/5.0 (compatible; bingbot/2.0)'],
    ['h2c', null],
  ];
  for (const [proto, agent] of bots) {
    const send = proto === 'h2c' ? (m, p, o) => h.h2(parley, m, p, o) : (m, p, o) => h.h1(parley, m, p, o);
    const r = await post(send, { site: 'blog', url, network: 'telegram' }, agent);
    assert.equal(r.status, 200, `${agent}: ${r.text}`);
    assert.deepEqual(r.json, { url, canonical: url, total: 1, networks: { x: 1 }, counted: false }, `UA ${agent}`);
  }
  const hash = urlHash(url);
  assert.deepEqual(await redis.cmd('HGETALL', `t:sh:{blog:${hash}}`), ['x', '1', 'total', '1', 'url', url]);
  assert.deepEqual(await redis.cmd('KEYS', `t:sd:{blog:${hash}}:telegram:*`), [], 'no dedupe marker for bots');
});

test('GET /api/v1/shares answers several url= in order, unknown URLs with zero', async () => {
  const [a, b, never] = [page('multi-a'), page('multi-b'), page('multi-never')];
  const v = ua('multi');
  await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: a, network: 'x' }, v);
  await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: a, network: 'email' }, v);
  await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: b, network: 'copy' }, v);
  const urls = [b, never, `${a}/?utm_source=x`];
  const r = await h.h1(parley, 'GET', `/api/v1/shares?${qs('blog', urls)}`);
  assert.equal(r.status, 200, r.text);
  assertJson(r);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.deepEqual(r.json, {
    items: [
      { url: b, canonical: b, total: 1, networks: { copy: 1 } },
      { url: never, canonical: never, total: 0, networks: {} },
      { url: urls[2], canonical: a, total: 2, networks: { x: 1, email: 1 } },
    ],
    min_shares: 0,
  });
  // 100 URLs is the most allowed, and works.
  const many = Array.from({ length: 100 }, (_, i) => `${a}?n=${i}`);
  const big = await h.h2(parley, 'GET', `/api/v1/shares?${qs('blog', many)}`);
  assert.equal(big.status, 200, big.text.slice(0, 300));
  assert.equal(big.json.items.length, 100);
  assert.equal(big.json.items[99].url, many[99]);
});

test('GET /api/v1/shares carries the site\'s min_shares (the widget hides counts below it); /counts does not', async () => {
  const url = 'https://quiet.example/story';
  let r = await post((m, p, o) => h.h1(parley, m, p, o), { site: 'quiet', url, network: 'bluesky' }, ua('quiet'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.min_shares, undefined, 'the POST answer is the counts of one URL, as before');
  r = await h.h1(parley, 'GET', `/api/v1/shares?${qs('quiet', [url])}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { items: [{ url, canonical: url, total: 1, networks: { bluesky: 1 } }], min_shares: 7 });
  r = await h.h2(parley, 'GET', `/api/v1/shares?${qs('blog', [page('min')])}`);
  assert.equal(r.json.min_shares, 0, 'the default is 0: every count is shown');
  r = await h.h1(parley, 'GET', `/api/v1/counts?${qs('quiet', [url])}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.min_shares, undefined, 'listing counts are comments and shares only');
});

// The items of a /counts answer without their comment count (which joins with the comments feature; no test here
// posts comments, so it must be 0 when present).
function countsOf(res) {
  assert.deepEqual(Object.keys(res.json), ['items'], res.text);
  return res.json.items.map(({ comments, ...rest }) => {
    if (comments !== undefined) assert.equal(comments, 0, res.text);
    return rest;
  });
}

test('GET /api/v1/counts: strong ETag, 304 on If-None-Match, public max-age=30, new ETag after a click', async () => {
  const [a, b] = [page('counts-a'), page('counts-b')];
  await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: a, network: 'x' }, ua('counts'));
  const path = `/api/v1/counts?${qs('blog', [a, b])}`;

  const first = await h.h1(parley, 'GET', path);
  assert.equal(first.status, 200, first.text);
  assertJson(first);
  assert.deepEqual(countsOf(first), [{ url: a, canonical: a, shares: 1 }, { url: b, canonical: b, shares: 0 }]);
  const etag = first.headers.etag;
  assert.match(String(etag), /^"[^"]+"$/, 'a strong ETag (quoted, no W/)');
  assert.equal(first.headers['cache-control'], 'public, max-age=30');

  // Unchanged data, same validator, on every transport.
  const again = await h.h2(parley, 'GET', path);
  assert.equal(again.status, 200);
  assert.equal(again.headers.etag, etag, 'the ETag depends only on the data');

  for (const [name, send] of [['HTTP/1.1', (o) => h.h1(parley, 'GET', path, o)], ['h2c', (o) => h.h2(parley, 'GET', path, o)],
    ['TLS h2', (o) => h.h2(parley, 'GET', path, { ...o, tls: true })]]) {
    const nm = await send({ headers: { 'if-none-match': etag } });
    assert.equal(nm.status, 304, `${name}: If-None-Match with the current ETag: ${nm.text}`);
    assert.equal(nm.text, '', `${name}: 304 has no body`);
    assert.equal(nm.headers.etag, etag);
    assert.equal(nm.headers['cache-control'], 'public, max-age=30');
  }
  const listed = await h.h1(parley, 'GET', path, { headers: { 'if-none-match': `"nope", ${etag}` } });
  assert.equal(listed.status, 304, 'an ETag anywhere in the If-None-Match list matches');
  const other = await h.h1(parley, 'GET', path, { headers: { 'if-none-match': '"something-else"' } });
  assert.equal(other.status, 200, 'a different ETag gets the body');
  assert.deepEqual(other.json, first.json);

  await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: b, network: 'x' }, ua('counts2'));
  const after = await h.h1(parley, 'GET', path, { headers: { 'if-none-match': etag } });
  assert.equal(after.status, 200, 'the old ETag no longer matches after a click');
  assert.notEqual(after.headers.etag, etag);
  assert.match(String(after.headers.etag), /^"[^"]+"$/);
  assert.deepEqual(countsOf(after), [{ url: a, canonical: a, shares: 1 }, { url: b, canonical: b, shares: 1 }]);
});

test('the dedupe marker lives until the next UTC midnight; the counts hash has no TTL', async () => {
  const url = page('ttl');
  const before = secondsToUtcMidnight();
  const r = await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url, network: 'pinterest' }, ua('ttl'));
  assert.equal(r.json.counted, true, r.text);
  const hash = urlHash(url);
  const markers = await redis.cmd('KEYS', `t:sd:{blog:${hash}}:*`);
  assert.equal(markers.length, 1, `one marker: ${markers}`);
  assert.match(markers[0], new RegExp(`^t:sd:\\{blog:${hash}\\}:pinterest:[0-9a-f]{32}$`), 'site, URL hash, network, visitor hash');
  const ttl = await redis.cmd('TTL', markers[0]);
  const now = secondsToUtcMidnight();
  assert.ok(ttl > 0 && ttl <= before, `TTL ${ttl} s must be at most the ${before} s to midnight`);
  assert.ok(ttl >= Math.min(now, before) - 60, `TTL ${ttl} s is (nearly) all of the ${now} s to midnight`);
  assert.equal(await redis.cmd('TTL', `t:sh:{blog:${hash}}`), -1, 'counts never expire');
});

test('no raw client IP is stored anywhere in Redis (keys or values)', async () => {
  // Make sure every kind of key exists: a counted click, a bot read, a rate-limited route and a GET.
  await post((m, p, o) => h.h1(parley, m, p, o), { site: 'blog', url: page('ip'), network: 'bluesky' }, ua('ip'));
  await post((m, p, o) => h.h2(parley, m, p, o), { site: 'blog', url: page('ip'), network: 'threads' }, 'curl/8');
  await h.h1(parley, 'GET', `/api/v1/shares?${qs('blog', [page('ip')])}`);
  const found = [];
  let cursor = '0';
  let keys = 0;
  do {
    const [next, batch] = await redis.cmd('SCAN', cursor, 'COUNT', '1000');
    cursor = next;
    for (const key of batch) {
      keys++;
      const type = await redis.cmd('TYPE', key);
      let value;
      if (type === 'string') value = await redis.cmd('GET', key);
      else if (type === 'hash') value = await redis.cmd('HGETALL', key);
      else if (type === 'list') value = await redis.cmd('LRANGE', key, '0', '-1');
      else if (type === 'set') value = await redis.cmd('SMEMBERS', key);
      else if (type === 'zset') value = await redis.cmd('ZRANGE', key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.cmd('XRANGE', key, '-', '+');
      const text = `${key} ${JSON.stringify(value)}`;
      if (text.includes('127.0.0.1')) found.push(text);
    }
  } while (cursor !== '0');
  assert.ok(keys >= 5, `scanned ${keys} keys`);
  assert.deepEqual(found, [], 'keys or values holding the client address 127.0.0.1');
});

test('the TLS listener also speaks HTTP/1.1 (ALPN http/1.1)', async () => {
  const url = page('tls-h1');
  const r = await h.h1(parley, 'POST', '/api/v1/shares', { tls: true, body: { site: 'blog', url, network: 'mastodon' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.counted, true);
  assert.equal(r.headers['strict-transport-security'], 'max-age=31536000');
  assert.equal(r.proto, 'http/1.1', 'ALPN selects http/1.1 when the client offers only that');
});

test('h2c through Upgrade: 101 Switching Protocols, then the answer over HTTP/2', async () => {
  const out = await new Promise((resolve, reject) => {
    const s = net.connect(parley.port, '127.0.0.1', () => {
      s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n' +
        'HTTP2-Settings: AAMAAABkAAQAAP__\r\nUser-Agent: parley-test\r\n\r\n');
    });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => { s.destroy(); resolve(buf.toString('latin1')); }, 5000);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('{"status":"ok"}')) { clearTimeout(timer); s.destroy(); resolve(buf.toString('latin1')); }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
  assert.match(out, /^HTTP\/1\.1 101 /);
  assert.match(out, /\r\nupgrade: h2c\r\n/i);
  assert.ok(out.includes('{"status":"ok"}'), 'the /healthz body arrives in an HTTP/2 DATA frame');
});

test('parleyd stops on SIGTERM: exit 0 within 5 s, no sanitizer report', async () => {
  await h.stopClean(parley);
});
