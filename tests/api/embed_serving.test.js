// How parleyd serves the embed (src/http/http_assets.c) over real HTTP: /embed.js (short cache, ETag, 304, gzip),
// content-hashed /assets/<stem>.<hash8>.<ext> (a year, immutable, the same bytes), /embed/thread (the site's origins
// as frame-ancestors, unknown site 404), /demo (a CSP that lets it frame the thread), the start-up templating of
// every HTML file ({{...}} never reaches a client), and the size budget of embed.js: at most 4 KB gzipped.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const h = require('./lib/harness');
const { RELAXED, client } = require('./lib/comments');

const BUDGET = 4096; // bytes of embed.js after gzip -9 (issue 5: "at most 4 KB gzipped")

const SITES = [
  { id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'], moderation: 'none' },
  { id: 'news', origins: ['https://news.example', 'https://www.news.example:8443', 'http://localhost:3000'], gravatar: true },
  { id: 'solo', origins: ['https://solo.example'] },
];

let redis;
let parley;

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({ redisUrl: redis.url, sites: SITES, comments: RELAXED });
});

after(async () => {
  if (parley) await h.stopClean(parley);
  if (redis) await redis.stop();
});

const raw = (method, path, headers = {}) => h.h1raw(parley, method, path, headers);

const text = (r) => r.body.toString('utf8');
const hash8 = (buf) => crypto.createHash('sha256').update(buf).digest('hex').slice(0, 8);
const hashedName = (file, buf) => {
  const dot = file.lastIndexOf('.');
  return `${file.slice(0, dot)}.${hash8(buf)}${file.slice(dot)}`;
};

// One CSP header as { directive: [sources] }.
function csp(header) {
  const out = {};
  for (const part of String(header).split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out[name] = sources;
  }
  return out;
}

function assertJsonError(r, status, code, what) {
  assert.equal(r.status, status, what);
  assert.match(String(r.headers['content-type']), /^application\/json\b/, what);
  assert.equal(JSON.parse(text(r)).error.code, code, what);
}

// The top-level widget files that get immutable names (every one that is not HTML); thread.* come with the thread UI.
const TOP_LEVEL = ['embed.js', 'account.js', 'parley.css', 'demo.css', 'thread.js', 'thread.css'];

test('/embed.js: JavaScript, a strong ETag, public max-age=300, 304 on If-None-Match, HEAD', async () => {
  const r = await raw('GET', '/embed.js');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'public, max-age=300');
  assert.match(String(r.headers.etag), /^"[0-9a-f]{16}"$/);
  assert.equal(Number(r.headers['content-length']), r.body.length);
  assert.equal(r.headers['content-security-policy'], undefined, 'CSP is for HTML');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.deepEqual(r.body, (await raw('GET', '/assets/embed.js')).body, 'the same file as /assets/embed.js');
  for (const inm of [r.headers.etag, `W/${r.headers.etag}`, `"0000000000000000", ${r.headers.etag}`, '*']) {
    const c = await raw('GET', '/embed.js', { 'if-none-match': inm });
    assert.equal(c.status, 304, inm);
    assert.equal(c.body.length, 0);
    assert.equal(c.headers.etag, r.headers.etag);
    assert.equal(c.headers['cache-control'], 'public, max-age=300');
  }
  assert.equal((await raw('GET', '/embed.js', { 'if-none-match': '"0000000000000000"' })).status, 200);
  const head = await raw('HEAD', '/embed.js');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(Number(head.headers['content-length']), r.body.length);
  const post = await h.h1(parley, 'POST', '/embed.js', { body: {} });
  assert.equal(post.status, 405);
  // Over HTTP/2 too.
  const r2 = await h.h2(parley, 'GET', '/embed.js');
  assert.equal(r2.status, 200);
  assert.equal(r2.text, text(r));
});

test('/embed.js is gzipped for a client that asks, and revalidates compressed', async () => {
  const plain = await raw('GET', '/embed.js');
  const gz = await raw('GET', '/embed.js', { 'accept-encoding': 'gzip, deflate, br' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.match(String(gz.headers.vary), /accept-encoding/i);
  assert.deepEqual(zlib.gunzipSync(gz.body), plain.body);
  assert.ok(gz.body.length < plain.body.length);
  assert.ok(gz.headers.etag, 'a compressed answer keeps a validator');
  const again = await raw('GET', '/embed.js', { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag });
  assert.equal(again.status, 304);
  // Gzipped once at level 9 when parleyd starts (not per request at h2o's level 1), as its own representation: its
  // strong ETag differs from the identity one, and each validates only its own bytes.
  assert.notEqual(gz.headers.etag, plain.headers.etag, 'a strong ETag names one representation');
  assert.ok(gz.body.length <= zlib.gzipSync(plain.body, { level: 9 }).length, 'at least as small as gzip -9');
  assert.ok(gz.body.length <= BUDGET, `served gzipped: ${gz.body.length} bytes; the budget is ${BUDGET}`);
  const cross = await raw('GET', '/embed.js', { 'if-none-match': gz.headers.etag });
  assert.equal(cross.status, 200, 'the gzip tag does not validate the identity bytes');
  for (const ae of ['gzip;q=0', 'identity', 'br', 'gzip;q=0.0, br']) {
    const r = await raw('GET', '/embed.js', { 'accept-encoding': ae });
    assert.equal(r.headers['content-encoding'], undefined, `no gzip for Accept-Encoding: ${ae}`);
    assert.deepEqual(r.body, plain.body);
  }
  for (const ae of ['GZIP', 'br, gzip;q=0.5', 'deflate,gzip']) {
    const r = await raw('GET', '/embed.js', { 'accept-encoding': ae });
    assert.equal(r.headers['content-encoding'], 'gzip', `gzip for Accept-Encoding: ${ae}`);
  }
});

test(`embed.js is at most ${BUDGET} bytes gzipped (zlib level 9)`, async (t) => {
  const js = (await raw('GET', '/embed.js')).body;
  const size = zlib.gzipSync(js, { level: 9 }).length;
  t.diagnostic(`embed.js: ${js.length} bytes, ${size} gzipped (budget ${BUDGET})`);
  assert.ok(size <= BUDGET, `embed.js is ${size} bytes gzipped; the budget is ${BUDGET}`);
});

test('hashed asset names: a year, immutable, the same bytes as /assets/<file>, 304; the ETag is the file\'s', async () => {
  for (const file of TOP_LEVEL) {
    const plain = await raw('GET', `/assets/${file}`);
    assert.equal(plain.status, 200, file);
    const name = hashedName(file, plain.body);
    const r = await raw('GET', `/assets/${name}`);
    assert.equal(r.status, 200, name);
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', name);
    assert.equal(r.headers['content-type'], plain.headers['content-type'], name);
    assert.equal(r.headers.etag, plain.headers.etag, name);
    assert.deepEqual(r.body, plain.body, name);
    const c = await raw('GET', `/assets/${name}`, { 'if-none-match': r.headers.etag });
    assert.equal(c.status, 304, name);
    assert.equal(c.headers['cache-control'], 'public, max-age=31536000, immutable', name);
    const hd = await raw('HEAD', `/assets/${name}`);
    assert.equal(hd.status, 200, name);
    assert.equal(hd.body.length, 0, name);
  }
});

test('a wrong or malformed hash is the JSON 404, and so are HTML and sub-directory files under any name', async () => {
  const js = (await raw('GET', '/assets/embed.js')).body;
  const good = hash8(js);
  const css = (await raw('GET', '/assets/demo.css')).body;
  const bad = [
    `/assets/embed.${good === '00000000' ? '11111111' : '00000000'}.js`,
    `/assets/embed.${good.toUpperCase() === good ? 'ffffffff' : good.toUpperCase()}.js`,
    `/assets/embed.${good.slice(0, 7)}.js`,
    `/assets/embed.${good}0.js`,
    `/assets/embed.${good}.css`,
    `/assets/demo.${good}.css`,
    `/assets/embed.${hash8(css)}.js`,
    `/assets/embed.${good}`,
    `/assets/${good}.js`,
    `/assets/embed.js.${good}`,
    `/assets/demo.${hash8(Buffer.from('x'))}.html`,
    '/assets/demo.html',
    '/assets/thread.html',
    '/assets/embed/thread.html',
    `/assets/embed%2Fthread.${good}.html`,
  ];
  for (const p of bad) assertJsonError(await raw('GET', p), 404, 'not_found', p);
});

test('/embed/thread: the site\'s origins are its frame-ancestors and its data-origins, exactly', async () => {
  for (const site of SITES) {
    const r = await raw('GET', `/embed/thread?site=${site.id}&url=${encodeURIComponent('https://x.example/p')}&origin=x&lang=de&theme=dark`);
    const what = `site ${site.id}`;
    assert.equal(r.status, 200, what);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', what);
    // With the article's url it carries that thread's first page: never cached, no ETag.
    assert.equal(r.headers['cache-control'], 'no-store', what);
    assert.equal(r.headers.etag, undefined, what);
    // Without, it is the same for every article of the site: revalidated by ETag.
    const plain = await raw('GET', `/embed/thread?site=${site.id}`);
    assert.equal(plain.headers['cache-control'], 'no-cache', what);
    assert.match(String(plain.headers.etag), /^"[0-9a-f]{16}"$/, what);
    assert.deepEqual(csp(plain.headers['content-security-policy']), csp(r.headers['content-security-policy']), what);
    const headers = Object.keys(r.headers).filter((k) => k === 'content-security-policy');
    assert.equal(headers.length, 1, `${what}: one CSP`);
    const p = csp(r.headers['content-security-policy']);
    assert.deepEqual(p['frame-ancestors'], site.origins, what);
    assert.deepEqual(p['script-src'], ["'self'"], what);
    assert.deepEqual(p['style-src'], ["'self'"], what);
    assert.deepEqual(p['connect-src'], ["'self'"], what);
    assert.deepEqual(p['default-src'], ["'none'"], what);
    assert.deepEqual(p['base-uri'], ["'none'"], what);
    assert.deepEqual(p['img-src'], site.gravatar ? ["'self'", 'data:', 'https://www.gravatar.com'] : ["'self'", 'data:'], what);
    assert.equal(p['frame-src'], undefined, `${what}: the thread frames nothing`);
    const html = text(r);
    const m = /<html\b[^>]*\sdata-origins="([^"]*)"/.exec(html);
    assert.ok(m, `${what}: <html data-origins>`);
    assert.equal(m[1], site.origins.join(' '), what);
    // Its script and style sheet are named by content hash, and both load.
    const refs = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((x) => x[1]);
    assert.ok(refs.length >= 2, `${what}: ${refs}`);
    for (const ref of refs) {
      assert.match(ref, /^\/assets\/[a-z]+\.[0-9a-f]{8}\.(js|css)$/, ref);
      const a = await raw('GET', ref);
      assert.equal(a.status, 200, ref);
      assert.equal(a.headers['cache-control'], 'public, max-age=31536000, immutable', ref);
    }
    // Revalidation: 304 without a body; another site is another ETag.
    const c = await raw('GET', `/embed/thread?site=${site.id}`, { 'if-none-match': plain.headers.etag });
    assert.equal(c.status, 304, what);
    assert.equal(c.body.length, 0, what);
  }
  const etags = new Set();
  for (const site of SITES) etags.add((await raw('GET', `/embed/thread?site=${site.id}`)).headers.etag);
  assert.equal(etags.size, SITES.length, 'one ETag per site');
});

test('/embed/thread?url= carries the first page of comments, as GET /comments answers it, inert in its script element', async () => {
  const c = client(parley);
  const url = 'https://blog.example/first-page';
  const block = (html) => {
    const m = /<script type="application\/json" id="first-page">([^]*?)<\/script>/.exec(html);
    assert.ok(m, 'the data block');
    return m[1];
  };
  const strip = ({ form_token: t, ...rest }) => { assert.match(t, /^[A-Za-z0-9_-]{20,}$/); return rest; };
  // No comments yet: the empty page, with a form token.
  let r = await raw('GET', `/embed/thread?site=blog&url=${encodeURIComponent(url)}`);
  let api = await raw('GET', `/api/v1/comments?site=blog&url=${encodeURIComponent(url)}`);
  assert.deepEqual(strip(JSON.parse(block(text(r)))), strip(JSON.parse(text(api))));
  // Bodies that try to end the script element or open a comment in it stay data.
  const bodies = ['</script><script>alert(1)</script>', '<!-- <script>', '</SCRIPT >x', 'plain & <b>bold</b>'];
  for (const body of bodies) await c.create({ site: 'blog', url, body });
  r = await raw('GET', `/embed/thread?site=blog&url=${encodeURIComponent(url)}`);
  api = await raw('GET', `/api/v1/comments?site=blog&url=${encodeURIComponent(url)}`);
  const html = text(r);
  const data = block(html);
  assert.ok(!data.includes('<'), 'no < in the data block');
  assert.equal(html.split(/<\/script/i).length - 1, (html.match(/<script\b/gi) || []).length, 'every script element ends where it should');
  const page = JSON.parse(data);
  assert.deepEqual(strip(page), strip(JSON.parse(text(api))));
  assert.equal(page.comments.length, bodies.length);
  assert.ok(!html.includes('@example'), 'no e-mail address in the page');
  // A foreign or malformed url: the page, without data (the widget then asks the API, which says what is wrong).
  for (const bad of ['https://evil.example/x', 'not a url', '']) {
    r = await raw('GET', `/embed/thread?site=blog&url=${encodeURIComponent(bad)}`);
    assert.equal(r.status, 200, bad);
    assert.equal(block(text(r)), '', bad);
  }
});

test('/embed/thread: a missing or unknown site is the JSON 404 unknown_site', async () => {
  for (const q of ['', '?site=', '?site=nope', '?site=BLOG', '?url=https%3A%2F%2Fblog.example%2F', '?site=blog%20',
    '?site=%2e%2e', '?site=blog/x']) {
    const r = await raw('GET', `/embed/thread${q}`);
    assertJsonError(r, 404, 'unknown_site', q);
    assert.equal(r.headers['content-security-policy'], undefined, q);
  }
  // A query the API layer cannot parse is refused before any site is looked up, as on every route.
  assertJsonError(await raw('GET', '/embed/thread?site=blog%00'), 400, 'bad_request', 'NUL in the query');
  for (const p of ['/embed/thread/x', '/embed/', '/embed', '/embed/thread.html', '/embed/nope']) {
    assertJsonError(await raw('GET', `${p}?site=blog`), 404, 'not_found', p);
  }
  const post = await h.h1(parley, 'POST', '/embed/thread?site=blog', { body: {} });
  assert.equal(post.status, 405);
});

test('/demo: an article page with a CSP that loads /embed.js and frames /embed/thread from this origin', async () => {
  const r = await raw('GET', '/demo');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-cache');
  const p = csp(r.headers['content-security-policy']);
  assert.deepEqual(p['frame-src'], ["'self'"]);
  assert.deepEqual(p['script-src'], ["'self'"]);
  assert.deepEqual(p['connect-src'], ["'self'"]);
  assert.deepEqual(p['style-src'], ["'self'"]);
  assert.deepEqual(p['frame-ancestors'], ["'none'"]);
  const html = text(r);
  assert.match(html, /<script src="\/embed\.js" data-site="demo" async><\/script>/);
  assert.match(html, /<h1>[^<]+<\/h1>/);
  assert.ok((html.match(/<p>/g) || []).length >= 4, 'a few paragraphs');
  assert.match(html, /<div[^>]*\sdata-parley-shares[\s>]/);
  assert.match(html, /<div[^>]*\sdata-parley-thread[\s>]/);
  assert.match(html, /<a href="#comments" data-parley-count[\s>]/);
  assert.match(html, /\sid="comments"/);
  // No inline script or style: the CSP would block it.
  for (const m of html.matchAll(/<script\b([^>]*)>/gi)) assert.match(m[1], /\ssrc="/, 'a <script> without src');
  assert.doesNotMatch(html, /<style\b|\sstyle\s*=|\son\w+\s*=|javascript:/i);
  // Every resource is first-party; the style sheet by its hashed name.
  const sheets = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(sheets.length, 1);
  assert.match(sheets[0], /^\/assets\/demo\.[0-9a-f]{8}\.css$/);
  assert.equal((await raw('GET', sheets[0])).status, 200);
  for (const m of html.matchAll(/\s(?:src|href)="([^"#][^"]*)"/g)) assert.ok(m[1].startsWith('/') && !m[1].startsWith('//'), m[1]);
  const c = await raw('GET', '/demo', { 'if-none-match': r.headers.etag });
  assert.equal(c.status, 304);
});

test('no {{placeholder}} ever reaches a client', async () => {
  const pages = ['/demo', '/embed/thread?site=blog', '/embed/thread?site=news', '/account/register', '/account/verify',
    '/account/lost-password', '/account/reset'];
  for (const p of pages) {
    for (const enc of [{}, { 'accept-encoding': 'gzip' }]) {
      const r = await raw('GET', p, enc);
      assert.equal(r.status, 200, p);
      const body = r.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(r.body) : r.body;
      assert.doesNotMatch(body.toString('utf8'), /\{\{|\}\}/, p);
    }
  }
  for (const file of TOP_LEVEL) {
    const r = await raw('GET', `/assets/${file}`);
    assert.doesNotMatch(text(r), /\{\{(asset:|site_origins)/, file);
  }
});
