// CORS (allowed and refused origins, the preflight) and rate limits (429 with Retry-After, one counter per route
// class, shared by every parleyd on the same Redis), with what /metrics says about them.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const h = require('./lib/harness');

const SITES = [
  { id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'] },
  { id: 'other', origins: ['https://other.example'] },
];
const GOOD = { site: 'blog', url: 'https://blog.example/post', network: 'x' };
const SHARES_GET = `/api/v1/shares?site=blog&url=${encodeURIComponent(GOOD.url)}`;
const COUNTS_GET = `/api/v1/counts?site=blog&url=${encodeURIComponent(GOOD.url)}`;

let redis;
let parley;
const started = [];

async function start(opts) {
  const p = await h.startParley({ redisUrl: redis.url, sites: SITES, ...opts });
  started.push(p);
  return p;
}

// SIGTERM, then the process must exit 0 with a clean log.
async function stopClean(p) {
  const { code, signal } = await p.stop('SIGTERM');
  const log = p.log();
  assert.deepEqual(h.sanitizerReport(log), [], log);
  assert.equal(signal, null);
  assert.equal(code, 0, log);
}

before(async () => {
  redis = await h.startRedis();
  parley = await start({});
});

after(async () => {
  for (const p of started) await p.stop();
  if (redis) await redis.stop();
});

const varyHas = (res, name) => String(res.headers.vary || '').split(',').map((s) => s.trim().toLowerCase()).includes(name.toLowerCase());
const listOf = (v) => String(v || '').split(',').map((s) => s.trim()).filter(Boolean);

function assertError(res, status, code, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text.slice(0, 200)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, ctx);
  assert.equal(res.json?.error?.code, code, ctx);
  assert.equal(typeof res.json.error.message, 'string', ctx);
}

async function metrics(p) {
  const r = await h.h1(p, 'GET', '/metrics');
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  return h.parseMetrics(r.text);
}
const metric = h.metricValue;

const transports = [
  ['HTTP/1.1', (p, m, path, o) => h.h1(p, m, path, o)],
  ['h2c', (p, m, path, o) => h.h2(p, m, path, o)],
];

for (const [name, send] of transports) {
  test(`${name}: a GET from an allowed Origin gets it echoed, Vary: Origin, no credentials`, async () => {
    for (const origin of ['https://blog.example', 'http://127.0.0.1:9']) {
      for (const path of [SHARES_GET, COUNTS_GET]) {
        const r = await send(parley, 'GET', path, { headers: { origin } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.headers['access-control-allow-origin'], origin, `${origin} ${path}`);
        assert.ok(varyHas(r, 'Origin'), `Vary: ${r.headers.vary}`);
        assert.equal(r.headers['access-control-allow-credentials'], undefined);
        assert.ok(listOf(r.headers['access-control-expose-headers']).map((s) => s.toLowerCase()).includes('etag'),
          'the widget may read the ETag');
      }
    }
    // The other site's origin, for the other site.
    const r = await send(parley, 'GET', `/api/v1/shares?site=other&url=${encodeURIComponent('https://other.example/a')}`,
      { headers: { origin: 'https://other.example' } });
    assert.equal(r.headers['access-control-allow-origin'], 'https://other.example');
  });

  test(`${name}: a refused Origin gets the answer but no Access-Control-Allow-Origin`, async () => {
    for (const origin of ['https://evil.example', 'https://other.example', 'https://blog.example.evil.com',
      'https://blog.exampl', 'http://blog.example', 'null']) {
      const r = await send(parley, 'GET', SHARES_GET, { headers: { origin } });
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined, `no ACAO for ${origin}`);
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      assert.ok(varyHas(r, 'Origin'), 'Vary: Origin even when nothing is echoed');
    }
    const plain = await send(parley, 'GET', SHARES_GET);
    assert.equal(plain.headers['access-control-allow-origin'], undefined, 'no ACAO without Origin');
    assert.notEqual(plain.headers['access-control-allow-origin'], '*');
  });

  test(`${name}: preflight from an allowed origin is 204 with the methods and headers`, async () => {
    for (const [path, method] of [['/api/v1/shares', 'POST'], ['/api/v1/shares', 'GET'], ['/api/v1/counts', 'GET']]) {
      const r = await send(parley, 'OPTIONS', path, {
        headers: {
          origin: 'https://blog.example', 'access-control-request-method': method,
          'access-control-request-headers': 'content-type',
        },
      });
      assert.equal(r.status, 204, `${method} ${path}: ${r.text}`);
      assert.equal(r.text, '');
      assert.equal(r.headers['access-control-allow-origin'], 'https://blog.example');
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      const methods = listOf(r.headers['access-control-allow-methods']);
      assert.ok(methods.includes(method), `allow-methods ${methods} has ${method}`);
      assert.equal(methods.includes('DELETE'), false);
      const headers = listOf(r.headers['access-control-allow-headers']).map((s) => s.toLowerCase());
      assert.ok(headers.includes('content-type'), `allow-headers: ${headers}`);
      assert.ok(varyHas(r, 'Origin'));
    }
  });

  test(`${name}: preflight from an unknown origin is 403, asking for DELETE is 405`, async () => {
    for (const origin of ['https://evil.example', 'null', undefined]) {
      const r = await send(parley, 'OPTIONS', '/api/v1/shares', {
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      assertError(r, 403, 'origin_not_allowed', `preflight from ${origin}`);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      assert.equal(r.headers['access-control-allow-methods'], undefined);
    }
    for (const method of ['DELETE', 'PUT', '']) {
      const r = await send(parley, 'OPTIONS', '/api/v1/shares', {
        headers: { origin: 'https://blog.example', 'access-control-request-method': method },
      });
      assertError(r, 405, 'method_not_allowed', `preflight for ${method || 'no method'}`);
      assert.ok(listOf(r.headers.allow).includes('POST'), `Allow: ${r.headers.allow}`);
      assert.equal(r.headers['access-control-allow-methods'], undefined);
    }
    const r = await send(parley, 'OPTIONS', '/api/v1/nothing', {
      headers: { origin: 'https://blog.example', 'access-control-request-method': 'GET' },
    });
    assertError(r, 404, 'not_found', 'preflight of an unknown path');
  });
}

test('share limit: the 4th POST in the window is 429 rate_limited with Retry-After; reads are not blocked', async () => {
  const p = await start({ prefix: 'lim1:', limits: { share: [3, 60] } });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await h.h1(p, 'POST', '/api/v1/shares', { body: GOOD });
      assert.equal(r.status, 200, `POST ${i + 1}: ${r.text}`);
    }
    for (const [name, send] of transports) {
      const r = await send(p, 'POST', '/api/v1/shares', { body: GOOD, headers: { origin: 'https://blog.example' } });
      assertError(r, 429, 'rate_limited', `${name} POST over the limit`);
      const retry = r.headers['retry-after'];
      assert.match(String(retry), /^\d+$/, `Retry-After is whole seconds: ${retry}`);
      assert.ok(Number(retry) >= 1 && Number(retry) <= 60, `Retry-After ${retry} within the 60 s window`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['access-control-allow-origin'], 'https://blog.example', 'the widget can read the 429');
      assert.ok(listOf(r.headers['access-control-expose-headers']).map((s) => s.toLowerCase()).includes('retry-after'));
    }
    // Even a request the handler would refuse is refused by the limit first: the limit counts requests, not clicks.
    const refused = await h.h1(p, 'POST', '/api/v1/shares', { body: { ...GOOD, network: 'myspace' } });
    assertError(refused, 429, 'rate_limited', 'invalid body over the limit');

    // The read class has its own counter; unlimited routes stay open.
    for (const path of [SHARES_GET, COUNTS_GET, '/healthz', '/readyz']) {
      const r = await h.h2(p, 'GET', path);
      assert.equal(r.status, 200, `${path} while share is limited: ${r.text}`);
    }
    const keys = await redis.cmd('KEYS', 'lim1:rl:share:*');
    assert.equal(keys.length, 1, `one share counter: ${keys}`);
    const ttl = await redis.cmd('TTL', keys[0]);
    assert.ok(ttl >= 1 && ttl <= 60, `counter TTL ${ttl} s within the window`);

    const m = await metrics(p);
    assert.ok(metric(m, 'parley_rate_limited_total') >= 3, `parley_rate_limited_total ${metric(m, 'parley_rate_limited_total')}`);
    assert.equal(metric(m, 'parley_http_requests_total', { route: 'shares_post', status: '200' }), 3);
    assert.equal(metric(m, 'parley_http_requests_total', { route: 'shares_post', status: '429' }), 3);
    assert.ok(metric(m, 'parley_http_requests_total', { route: 'shares_get', status: '200' }) >= 1);
    assert.ok(metric(m, 'parley_http_requests_total', { route: 'counts_get', status: '200' }) >= 1);
    assert.ok(metric(m, 'parley_http_requests_total', { route: 'healthz', status: '200' }) >= 2);
  } finally {
    await stopClean(p);
  }
});

test('read limit: GETs (the thread page too) share one counter, POSTs and health checks are not affected', async () => {
  const p = await start({ prefix: 'lim2:', limits: { read: [2, 60] } });
  try {
    assert.equal((await h.h1(p, 'GET', SHARES_GET)).status, 200);
    assert.equal((await h.h2(p, 'GET', COUNTS_GET)).status, 200);
    assertError(await h.h1(p, 'GET', SHARES_GET), 429, 'rate_limited', '3rd read');
    assertError(await h.h2(p, 'GET', COUNTS_GET), 429, 'rate_limited', '4th read');
    // The thread's page carries a page of comments: a read like the API call it replaces.
    assertError(await h.h1(p, 'GET', `/embed/thread?site=blog&url=${encodeURIComponent('https://blog.example/a')}`), 429, 'rate_limited', 'thread page');
    const post = await h.h1(p, 'POST', '/api/v1/shares', { body: GOOD });
    assert.equal(post.status, 200, `POST is in the share class: ${post.text}`);
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await h.h1(p, 'GET', path)).status, 200, path);
  } finally {
    await stopClean(p);
  }
});

test('two parleyd processes on one Redis share the limit', async () => {
  // Processes serving one site share the secret (visitor hashes must agree too), so the test gives them one.
  const secret = path.join(h.tmpdir('secret'), 'secret');
  const a = await start({ prefix: 'lim3:', limits: { share: [4, 60] }, extra: `secret_file: ${secret}\n` });
  const b = await start({ prefix: 'lim3:', limits: { share: [4, 60] }, extra: `secret_file: ${secret}\n` });
  try {
    assert.notEqual(a.port, b.port);
    const order = [a, b, a, b];
    for (let i = 0; i < order.length; i++) {
      const r = await h.h1(order[i], 'POST', '/api/v1/shares', { body: GOOD });
      assert.equal(r.status, 200, `POST ${i + 1}: ${r.text}`);
    }
    // Each process has seen only 2 of its own, yet the 5th and 6th are refused by whichever answers.
    assertError(await h.h1(a, 'POST', '/api/v1/shares', { body: GOOD }), 429, 'rate_limited', '5th on a');
    assertError(await h.h2(b, 'POST', '/api/v1/shares', { body: GOOD }), 429, 'rate_limited', '6th on b');
    for (const p of [a, b]) {
      const m = await metrics(p);
      assert.equal(metric(m, 'parley_http_requests_total', { route: 'shares_post', status: '200' }), 2);
      assert.equal(metric(m, 'parley_http_requests_total', { route: 'shares_post', status: '429' }), 1);
      assert.equal(metric(m, 'parley_rate_limited_total'), 1);
    }
  } finally {
    await stopClean(a);
    await stopClean(b);
  }
});

test('the window ends: after Retry-After the client may post again', async () => {
  const p = await start({ prefix: 'lim4:', limits: { share: [2, 2] } });
  try {
    assert.equal((await h.h1(p, 'POST', '/api/v1/shares', { body: GOOD })).status, 200);
    assert.equal((await h.h1(p, 'POST', '/api/v1/shares', { body: GOOD })).status, 200);
    const limited = await h.h1(p, 'POST', '/api/v1/shares', { body: GOOD });
    assertError(limited, 429, 'rate_limited');
    const retry = Number(limited.headers['retry-after']);
    assert.ok(retry >= 1 && retry <= 2, `Retry-After ${retry} within the 2 s window`);
    const deadline = Date.now() + retry * 1000 + 3000;
    let status;
    while (Date.now() < deadline) {
      await h.sleep(200);
      status = (await h.h1(p, 'POST', '/api/v1/shares', { body: GOOD })).status;
      if (status === 200) break;
    }
    assert.equal(status, 200, 'allowed again once the window has passed');
  } finally {
    await stopClean(p);
  }
});

test('/metrics: requests by route and status, a latency histogram per route, Redis counters', async () => {
  await h.h1(parley, 'GET', SHARES_GET);
  await h.h1(parley, 'GET', '/nope');
  const m = await metrics(parley);
  assert.ok(metric(m, 'parley_http_requests_total', { route: 'shares_get', status: '200' }) >= 1);
  assert.ok(metric(m, 'parley_http_requests_total', { route: 'other', status: '404' }) >= 1);
  for (const route of ['shares_get', 'shares_post', 'healthz']) {
    const buckets = m.filter((s) => s.name === 'parley_http_request_duration_seconds_bucket' && s.labels.route === route);
    assert.ok(buckets.length >= 5, `${route}: histogram buckets`);
    assert.equal(buckets[buckets.length - 1].labels.le, '+Inf');
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(Number(buckets[i].labels.le) > Number(buckets[i - 1].labels.le) || buckets[i].labels.le === '+Inf');
      assert.ok(buckets[i].value >= buckets[i - 1].value, `${route}: buckets are cumulative`);
    }
    const count = metric(m, 'parley_http_request_duration_seconds_count', { route });
    assert.equal(count, buckets[buckets.length - 1].value, `${route}: _count equals the +Inf bucket`);
    assert.ok(metric(m, 'parley_http_request_duration_seconds_sum', { route }) >= 0);
  }
  const total = m.filter((s) => s.name === 'parley_http_requests_total' && s.labels.route === 'shares_get')
    .reduce((n, s) => n + s.value, 0);
  assert.equal(metric(m, 'parley_http_request_duration_seconds_count', { route: 'shares_get' }), total,
    'every counted request is in the histogram');
  assert.ok(metric(m, 'parley_redis_commands_total') > 0);
  for (const name of ['parley_redis_errors_total', 'parley_redis_timeouts_total', 'parley_redis_reconnects_total',
    'parley_rate_limited_total']) assert.equal(typeof metric(m, name), 'number', name);
});

test('the main parleyd stops on SIGTERM: exit 0, no sanitizer report', async () => {
  await stopClean(parley);
});
