// Every bad input gets the JSON error of DESIGN.md ({"error":{code,message,field?}}) with the right status, over
// HTTP/1.1 and h2c; and every response carries the security headers (issue 2 "The server").
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const SITES = [
  { id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'] },
  { id: 'other', origins: ['https://other.example'] },
];
const GOOD = { site: 'blog', url: 'https://blog.example/post', network: 'x' };

let redis;
let parley;
const parleyOrigin = () => parley.base; // public_url is http://127.0.0.1:<port>

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({ redisUrl: redis.url, tls: true, sites: SITES });
});

after(async () => {
  if (parley) await parley.stop();
  if (redis) await redis.stop();
});

const transports = [
  ['HTTP/1.1', (m, p, o) => h.h1(parley, m, p, o)],
  ['h2c', (m, p, o) => h.h2(parley, m, p, o)],
];
const qs = (params) => params.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');

// Asserts RES is the JSON error STATUS/CODE, with error.field === FIELD (undefined: no field at all).
function assertError(res, status, code, field, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, ctx);
  assert.ok(res.json && typeof res.json === 'object', `JSON body: ${ctx}`);
  assert.deepEqual(Object.keys(res.json), ['error'], ctx);
  const e = res.json.error;
  assert.equal(e.code, code, ctx);
  assert.equal(typeof e.message, 'string', ctx);
  assert.ok(e.message.length > 0, ctx);
  if (field === undefined) assert.equal('field' in e, false, `no field expected: ${ctx}`);
  else assert.equal(e.field, field, ctx);
  const extra = Object.keys(e).filter((k) => !['code', 'message', 'field'].includes(k));
  assert.deepEqual(extra, [], ctx);
}

const allowOf = (res) => String(res.headers.allow || '').split(',').map((s) => s.trim()).filter(Boolean).sort();

for (const [name, send] of transports) {
  test(`${name}: unknown paths are 404 not_found`, async () => {
    for (const p of ['/nope', '/', '/api/v1/nothing', '/api/v1/shares/extra', '/api/v2/shares', '/healthz/x', '/static/x.js']) {
      assertError(await send('GET', p), 404, 'not_found', undefined, p);
    }
    assertError(await send('POST', '/api/v1/nothing', { body: GOOD }), 404, 'not_found', undefined, 'POST unknown');
  });

  test(`${name}: a known path with another method is 405 with Allow`, async () => {
    const cases = [
      ['DELETE', '/api/v1/shares', ['GET', 'HEAD', 'OPTIONS', 'POST']],
      ['PUT', '/api/v1/shares', ['GET', 'HEAD', 'OPTIONS', 'POST']],
      ['PUT', '/healthz', ['GET', 'HEAD', 'OPTIONS']],
      ['POST', '/readyz', ['GET', 'HEAD', 'OPTIONS']],
      ['POST', '/api/v1/counts', ['GET', 'HEAD', 'OPTIONS']],
      ['PATCH', '/metrics', ['GET', 'HEAD', 'OPTIONS']],
    ];
    for (const [method, p, allow] of cases) {
      const r = await send(method, p, method === 'GET' ? {} : { body: GOOD });
      assertError(r, 405, 'method_not_allowed', undefined, `${method} ${p}`);
      assert.deepEqual(allowOf(r), allow, `Allow of ${method} ${p}`);
    }
  });

  test(`${name}: POST bodies must be application/json (415)`, async () => {
    const body = JSON.stringify(GOOD);
    for (const ct of [null, 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'text/json', '']) {
      assertError(await send('POST', '/api/v1/shares', { body, headers: { 'content-type': ct } }), 415,
        'unsupported_media_type', undefined, `content-type ${ct}`);
    }
    // Parameters and case do not matter.
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON']) {
      const r = await send('POST', '/api/v1/shares', { body, headers: { 'content-type': ct } });
      assert.equal(r.status, 200, `${ct}: ${r.text}`);
    }
  });

  test(`${name}: bodies over 64 KiB are 413 too_large; exactly 64 KiB is read`, async () => {
    const big = JSON.stringify({ ...GOOD, pad: 'a'.repeat(70 * 1024) });
    assertError(await send('POST', '/api/v1/shares', { body: big }), 413, 'too_large', undefined, '70 KiB');
    // Exactly 65536 bytes passes the size check and reaches the handler (which refuses the unknown key).
    const skeleton = JSON.stringify({ ...GOOD, pad: '' });
    const exact = JSON.stringify({ ...GOOD, pad: 'a'.repeat(65536 - skeleton.length) });
    assert.equal(Buffer.byteLength(exact), 65536);
    assertError(await send('POST', '/api/v1/shares', { body: exact }), 422, 'invalid', 'pad', '64 KiB');
    const over = JSON.stringify({ ...GOOD, pad: 'a'.repeat(65537 - skeleton.length) });
    assertError(await send('POST', '/api/v1/shares', { body: over }), 413, 'too_large', undefined, '64 KiB + 1');
  });

  test(`${name}: malformed JSON bodies are 400 bad_json`, async () => {
    const deep = `{"a":${'['.repeat(40)}${']'.repeat(40)}}`;
    const bodies = ['{"site":', '', ' ', '[]', '[{"site":"blog"}]', '"blog"', 'null', '42', 'site=blog',
      '{"site":"blog","site":"blog","url":"https://blog.example/","network":"x"}', '{"site":"blog"} {}',
      '{"site":"blog\u0000"', deep, '\xff\xfe{}'];
    for (const b of bodies) {
      assertError(await send('POST', '/api/v1/shares', { body: b }), 400, 'bad_json', undefined, JSON.stringify(b).slice(0, 60));
    }
  });

  test(`${name}: invalid fields are 422 with the field named`, async () => {
    const cases = [
      [{ url: GOOD.url, network: 'x' }, 'site'],
      [{ site: 'blog', network: 'x' }, 'url'],
      [{ site: 'blog', url: GOOD.url }, 'network'],
      [{ ...GOOD, site: null }, 'site'],
      [{ ...GOOD, url: null }, 'url'],
      [{}, 'site'],
      [{ ...GOOD, extra: 1 }, 'extra'],
      [{ ...GOOD, Site: 'blog' }, 'Site'],
      [{ ...GOOD, site: 1 }, 'site'],
      [{ ...GOOD, site: {} }, 'site'],
      [{ ...GOOD, url: ['https://blog.example/post'] }, 'url'],
      [{ ...GOOD, url: 42 }, 'url'],
      [{ ...GOOD, network: true }, 'network'],
      [{ ...GOOD, network: 'myspace' }, 'network'],
      [{ ...GOOD, network: '' }, 'network'],
      [{ ...GOOD, site: '' }, 'site'],
      [{ ...GOOD, url: 'ftp://x' }, 'url'],
      [{ ...GOOD, url: 'ftp://blog.example/post' }, 'url'],
      [{ ...GOOD, url: 'javascript:alert(1)' }, 'url'],
      [{ ...GOOD, url: 'not a url' }, 'url'],
      [{ ...GOOD, url: '' }, 'url'],
      [{ ...GOOD, url: '//blog.example/post' }, 'url'],
      [{ ...GOOD, url: '/post' }, 'url'],
      [{ ...GOOD, url: 'https://blog.example:99999/post' }, 'url'],
      [{ ...GOOD, url: 'https://user@blog.example/post' }, 'url'],
      [{ ...GOOD, url: `https://blog.example/${'a'.repeat(3000)}` }, 'url'],
    ];
    for (const [body, field] of cases) {
      assertError(await send('POST', '/api/v1/shares', { body }), 422, 'invalid', field, JSON.stringify(body).slice(0, 80));
    }
  });

  test(`${name}: unknown site is 404 unknown_site; a URL of another host is 403 foreign_url`, async () => {
    assertError(await send('POST', '/api/v1/shares', { body: { ...GOOD, site: 'nope' } }), 404, 'unknown_site', 'site');
    assertError(await send('GET', `/api/v1/shares?${qs([['site', 'nope'], ['url', GOOD.url]])}`), 404, 'unknown_site', 'site');
    for (const url of ['https://evil.example/post', 'https://other.example/post', 'https://blog.example.evil.com/',
      'https://evilblog.example/', 'http://127.0.0.1:10/post']) {
      assertError(await send('POST', '/api/v1/shares', { body: { ...GOOD, url } }), 403, 'foreign_url', 'url', url);
      assertError(await send('GET', `/api/v1/shares?${qs([['site', 'blog'], ['url', url]])}`), 403, 'foreign_url', 'url', url);
      assertError(await send('GET', `/api/v1/counts?${qs([['site', 'blog'], ['url', url]])}`), 403, 'foreign_url', 'url', url);
    }
    // The same URLs are fine for their own site.
    const r = await send('POST', '/api/v1/shares', { body: { ...GOOD, site: 'other', url: 'https://other.example/post' } });
    assert.equal(r.status, 200, r.text);
  });

  test(`${name}: GET query errors: url count, site once, malformed escapes`, async () => {
    for (const route of ['/api/v1/shares', '/api/v1/counts']) {
      assertError(await send('GET', `${route}?site=blog`), 422, 'invalid', 'url', `${route} no url`);
      assertError(await send('GET', `${route}?site=blog&url=`), 422, 'invalid', 'url', `${route} empty url`);
      const many = Array.from({ length: 101 }, (_, i) => ['url', `https://blog.example/p${i}`]);
      assertError(await send('GET', `${route}?${qs([['site', 'blog'], ...many])}`), 422, 'invalid', 'url', `${route} 101 urls`);
      assertError(await send('GET', `${route}?${qs([['site', 'blog'], ['site', 'blog'], ['url', GOOD.url]])}`), 422,
        'invalid', 'site', `${route} site twice`);
      assertError(await send('GET', `${route}?${qs([['url', GOOD.url]])}`), 422, 'invalid', 'site', `${route} no site`);
      assertError(await send('GET', route), 422, 'invalid', 'site', `${route} no query`);
      for (const bad of ['site=blog&url=%zz', 'site=blog&url=https%3A%2F%2Fblog.example%2F%2', 'site=%zzblog&url=x',
        'site=blog&url=https://blog.example/%00']) {
        assertError(await send('GET', `${route}?${bad}`), 400, 'bad_request', undefined, bad);
      }
    }
  });

  test(`${name}: a POST from an Origin not listed for the site is 403 origin_not_allowed`, async () => {
    for (const origin of ['https://evil.example', 'https://other.example', 'null', 'https://blog.example:8443',
      'http://blog.example']) {
      const r = await send('POST', '/api/v1/shares', { body: GOOD, headers: { origin } });
      assertError(r, 403, 'origin_not_allowed', undefined, origin);
      assert.equal(r.headers['access-control-allow-origin'], undefined, `no ACAO for ${origin}`);
    }
    for (const origin of ['https://blog.example', 'http://127.0.0.1:9']) {
      const r = await send('POST', '/api/v1/shares', { body: GOOD, headers: { origin } });
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
      assert.equal(r.headers['access-control-allow-origin'], origin);
    }
    // Another site's own origin is fine for that site.
    const r = await send('POST', '/api/v1/shares', {
      body: { site: 'other', url: 'https://other.example/a', network: 'x' }, headers: { origin: 'https://other.example' },
    });
    assert.equal(r.status, 200, r.text);
    // Parley's own origin (public_url's) writes for every site: its comment iframe and account pages live there.
    const own = await send('POST', '/api/v1/shares', { body: { ...GOOD, network: 'reddit' }, headers: { origin: parleyOrigin() } });
    assert.equal(own.status, 200, `from ${parleyOrigin()}: ${own.text}`);
    // So does any origin the browser itself marks same-origin (a second name of this server).
    const same = await send('POST', '/api/v1/shares', {
      body: { ...GOOD, network: 'telegram' }, headers: { origin: 'http://parley.internal:8080', 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(same.status, 200, same.text);
    for (const fetchSite of ['cross-site', 'same-site', 'none']) {
      const x = await send('POST', '/api/v1/shares', {
        body: GOOD, headers: { origin: 'https://evil.example', 'sec-fetch-site': fetchSite },
      });
      assertError(x, 403, 'origin_not_allowed', undefined, `evil with Sec-Fetch-Site: ${fetchSite}`);
    }
  });
}

// A spread of answers (2xx, 3xx, 4xx, the preflight) for the header checks.
async function sampleResponses(send) {
  const out = [];
  const add = async (what, p) => out.push([what, await p]);
  await add('healthz 200', send('GET', '/healthz'));
  await add('metrics 200', send('GET', '/metrics'));
  await add('shares GET 200', send('GET', `/api/v1/shares?${qs([['site', 'blog'], ['url', GOOD.url]])}`));
  await add('shares POST 200', send('POST', '/api/v1/shares', { body: GOOD }));
  const counts = await send('GET', `/api/v1/counts?${qs([['site', 'blog'], ['url', GOOD.url]])}`);
  out.push(['counts 200', counts]);
  await add('counts 304', send('GET', `/api/v1/counts?${qs([['site', 'blog'], ['url', GOOD.url]])}`, {
    headers: { 'if-none-match': counts.headers.etag },
  }));
  await add('preflight', send('OPTIONS', '/api/v1/shares', {
    headers: { origin: 'https://blog.example', 'access-control-request-method': 'POST' },
  }));
  await add('400', send('POST', '/api/v1/shares', { body: '{' }));
  await add('403', send('POST', '/api/v1/shares', { body: { ...GOOD, url: 'https://evil.example/' } }));
  await add('404', send('GET', '/nope'));
  await add('405', send('DELETE', '/api/v1/shares'));
  await add('413', send('POST', '/api/v1/shares', { body: 'a'.repeat(70 * 1024) }));
  await add('415', send('POST', '/api/v1/shares', { body: '{}', headers: { 'content-type': 'text/plain' } }));
  await add('422', send('POST', '/api/v1/shares', { body: {} }));
  return out;
}

for (const [name, send, tls] of [
  ['HTTP/1.1', (m, p, o) => h.h1(parley, m, p, o), false],
  ['h2c', (m, p, o) => h.h2(parley, m, p, o), false],
  ['TLS h2', (m, p, o) => h.h2(parley, m, p, { ...o, tls: true }), true],
]) {
  test(`${name}: every response has nosniff and Referrer-Policy, no Server header, HSTS ${tls ? 'present' : 'absent'}`, async () => {
    const responses = await sampleResponses(send);
    // Whatever the 304 and preflight samples answer (their own tests check that), the rest must cover these.
    const statuses = new Set(responses.map(([, r]) => r.status));
    for (const s of [200, 400, 403, 404, 405, 413, 415, 422]) assert.ok(statuses.has(s), `the sample has a ${s}`);
    for (const [what, r] of responses) {
      assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
      assert.match(String(r.headers['referrer-policy']), /^(no-referrer|strict-origin|strict-origin-when-cross-origin|same-origin)$/, what);
      assert.equal(r.headers.server, undefined, `${what}: no Server header`);
      if (tls) assert.match(String(r.headers['strict-transport-security']), /^max-age=\d{7,}/, `${what}: HSTS over TLS`);
      else assert.equal(r.headers['strict-transport-security'], undefined, `${what}: no HSTS over cleartext`);
      assert.equal(r.headers['content-security-policy'], undefined, `${what}: CSP only on HTML`);
    }
  });
}

test('parleyd stops on SIGTERM after all the bad input: exit 0, no sanitizer report', async () => {
  await h.stopClean(parley);
});
