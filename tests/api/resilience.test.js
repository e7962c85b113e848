// Redis trouble and shutdown (issue 2 "Redis" and the API tests): Redis killed and restarted under a running
// parleyd, Redis hung (CLIENT PAUSE) against the command timeout, SIGTERM with requests in flight, and the cancel
// guard (many HTTP/2 requests reset while their Redis calls are pending) under the sanitizers.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http2 = require('node:http2');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const h = require('./lib/harness');

const TIMEOUT_MS = 500; // the harness default redis.timeout_ms
const SLACK_MS = 1000; // generous: a shared 2-core machine running an Asan build

let redis;
let parley;
const started = [];
let seq = 0;
const page = (tag) => `https://blog.example/${tag}-${process.pid}-${++seq}`;
const ua = (tag) => `Mozilla/5.0 parley-test/${tag}-${process.pid}-${++seq}`;
const sharesGet = (urls) => `/api/v1/shares?site=blog${urls.map((u) => `&url=${encodeURIComponent(u)}`).join('')}`;

async function start(opts = {}) {
  const p = await h.startParley({ redisUrl: redis.url, ...opts });
  started.push(p);
  return p;
}

before(async () => {
  redis = await h.startRedis();
  parley = await start({ timeoutMs: TIMEOUT_MS });
});

after(async () => {
  if (redis) await redis.cmd('CLIENT', 'UNPAUSE').catch(() => {});
  for (const p of started) await p.stop();
  if (redis) await redis.stop();
});

async function timed(promise) {
  const t0 = Date.now();
  const res = await promise;
  return { res, ms: Date.now() - t0 };
}

function assertUnavailable({ res, ms }, what) {
  const ctx = `${what} -> ${res.status} in ${ms} ms: ${res.text.slice(0, 200)}`;
  assert.equal(res.status, 503, ctx);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, ctx);
  assert.equal(res.json?.error?.code, 'unavailable', ctx);
  assert.ok(ms <= TIMEOUT_MS + SLACK_MS, `answered within the command timeout: ${ctx}`);
}

// Polls FN until it returns true; fails with WHAT after MS. An error marked `fatal` ends the wait at once.
async function until(what, ms, fn, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      if (e.fatal) throw e;
      last = e;
    }
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms${last ? ` (last error: ${last.message})` : ''}`);
    await h.sleep(every);
  }
}

// Throws (fatal for until()) if parleyd has died, with its sanitizer report.
function assertAlive(p) {
  if (p.proc.exitCode === null && p.proc.signalCode === null) return;
  const e = new Error(`parleyd died (exit ${p.proc.exitCode}, signal ${p.proc.signalCode}):\n` +
    `${h.sanitizerReport(p.log()).join('\n') || p.log().slice(-3000)}`);
  e.fatal = true;
  throw e;
}

const commandsSent = async (p) => h.metricValue(await h.metrics(p), 'parley_redis_commands_total');

const stopClean = h.stopClean;

test('Redis killed: /readyz and the API answer 503 at once; Redis back: same parleyd serves again', async () => {
  const pid = parley.proc.pid;
  const url = page('kill');
  let r = await h.h1(parley, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await h.h1(parley, 'GET', '/readyz')).status, 200);
  const before = await h.metrics(parley);

  await redis.stop();
  // Several rounds, new connections each time, so both worker threads are asked.
  for (let round = 0; round < 3; round++) {
    assertUnavailable(await timed(h.h1(parley, 'GET', '/readyz')), `readyz #${round}`);
    assertUnavailable(await timed(h.h1(parley, 'GET', sharesGet([url]))), `GET shares h1 #${round}`);
    assertUnavailable(await timed(h.h2(parley, 'GET', sharesGet([url]))), `GET shares h2c #${round}`);
    assertUnavailable(await timed(h.h1(parley, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } })),
      `POST shares h1 #${round}`);
    assertUnavailable(await timed(h.h2(parley, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } })),
      `POST shares h2c #${round}`);
    assertUnavailable(await timed(h.h2(parley, 'GET', `/api/v1/counts?site=blog&url=${encodeURIComponent(url)}`)),
      `GET counts #${round}`);
  }
  r = await h.h1(parley, 'GET', '/healthz');
  assert.equal(r.status, 200, '/healthz does not depend on Redis');
  // Bad input is still judged without Redis where it can be.
  assert.equal((await h.h1(parley, 'GET', '/nope')).status, 404);

  await redis.restart();
  const t0 = Date.now();
  // Both workers reconnect (each has its own connection), then every new connection is served.
  await until('both workers reconnected', 7000, async () =>
    h.metricValue(await h.metrics(parley), 'parley_redis_reconnects_total') >= 2);
  await until('/readyz 200 five times in a row', 7000 - (Date.now() - t0), async () => {
    for (let i = 0; i < 5; i++) if ((await h.h1(parley, 'GET', '/readyz')).status !== 200) return false;
    return true;
  });
  const back = Date.now() - t0;
  assert.ok(back <= 7000, `back ${back} ms after the restart`);

  // The restarted Redis is empty (no persistence in the test), so this is a first click again.
  const url2 = page('kill-after');
  for (const send of [(m, p, o) => h.h1(parley, m, p, o), (m, p, o) => h.h2(parley, m, p, o)]) {
    r = await send('POST', '/api/v1/shares', { body: { site: 'blog', url: url2, network: 'x' }, headers: { 'user-agent': ua('back') } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.counted, true);
    r = await send('GET', sharesGet([url2]));
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.items[0].total >= 1);
  }
  assert.equal(parley.proc.pid, pid);
  assert.equal(parley.proc.exitCode, null, 'parleyd was not restarted');
  const now = await h.metrics(parley);
  assert.ok(h.metricValue(now, 'parley_redis_errors_total') > h.metricValue(before, 'parley_redis_errors_total'),
    'lost connections are counted as Redis errors');
  assert.ok(h.metricValue(now, 'parley_http_requests_total', { route: 'readyz', status: '503' }) >= 3);
  assert.ok(h.metricValue(now, 'parley_http_requests_total', { route: 'shares_post', status: '503' }) >= 6);
});

test('Redis hung (CLIENT PAUSE): 503 unavailable after the command timeout, then service resumes', async () => {
  const url = page('hung');
  let r = await h.h1(parley, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } });
  assert.equal(r.status, 200, r.text);
  const timeoutsBefore = h.metricValue(await h.metrics(parley), 'parley_redis_timeouts_total');

  assert.equal(await redis.cmd('CLIENT', 'PAUSE', '3000', 'ALL'), 'OK');
  const pausedAt = Date.now();
  const results = await Promise.all([
    timed(h.h1(parley, 'GET', sharesGet([url]))),
    timed(h.h2(parley, 'GET', sharesGet([url]))),
    timed(h.h1(parley, 'GET', '/readyz')),
    timed(h.h2(parley, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } })),
  ]);
  ['GET shares h1', 'GET shares h2c', 'readyz', 'POST shares h2c'].forEach((w, i) => assertUnavailable(results[i], w));
  assert.ok(Date.now() - pausedAt < 3000, 'the 503s came while Redis was still paused');
  assert.equal((await h.h1(parley, 'GET', '/healthz')).status, 200);
  const timeouts = h.metricValue(await h.metrics(parley), 'parley_redis_timeouts_total');
  assert.ok(timeouts >= timeoutsBefore + 4, `parley_redis_timeouts_total ${timeoutsBefore} -> ${timeouts}`);
  await until('GET shares 200 once the pause ends', 3000 + 3000 - (Date.now() - pausedAt), async () => {
    assertAlive(parley);
    return (await h.h1(parley, 'GET', sharesGet([url]))).status === 200;
  });
  r = await h.h2(parley, 'GET', sharesGet([url]));
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.items[0].networks, { x: 1 }, 'the POST refused during the pause left the counts alone');
  r = await h.h1(parley, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'email' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.counted, true);
  assert.equal((await h.h1(parley, 'GET', '/readyz')).status, 200);
});

test('Redis lost its script cache (SCRIPT FLUSH): NOSCRIPT falls back to EVAL, requests still succeed', async () => {
  const lua = path.resolve(__dirname, '../../src/store/lua');
  const shas = ['share_hit.lua', 'limit_hit.lua'].map((f) =>
    crypto.createHash('sha1').update(fs.readFileSync(path.join(lua, f))).digest('hex'));
  assert.deepEqual(await redis.cmd('SCRIPT', 'EXISTS', ...shas), [1, 1], 'scripts were loaded at connect');
  assert.equal(await redis.cmd('SCRIPT', 'FLUSH'), 'OK');
  assert.deepEqual(await redis.cmd('SCRIPT', 'EXISTS', ...shas), [0, 0]);
  const url = page('noscript');
  const visitor = ua('noscript');
  for (const [send, counted] of [[(m, p, o) => h.h1(parley, m, p, o), true], [(m, p, o) => h.h2(parley, m, p, o), false]]) {
    const r = await send('POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' }, headers: { 'user-agent': visitor } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.counted, counted, r.text);
    assert.equal(r.json.total, 1);
  }
  // Both workers, on new connections, keep working.
  for (let i = 0; i < 4; i++) assert.equal((await h.h1(parley, 'GET', sharesGet([url]))).status, 200);
  assert.deepEqual(await redis.cmd('SCRIPT', 'EXISTS', ...shas), [1, 1], 'EVAL put the scripts back');
});

test('SCRIPT FLUSH under a burst of comments: the grouped create falls back to EVAL, every comment is stored', async () => {
  // A group of creates (store_call_script_grouped) keeps its arguments for the retry; the retry is formatted apart
  // from the group's in-place send, so it gets its own test.
  const p = await start({ comments: { min_form_age_s: 0, min_interval_s: 0, per_minute: 100000, per_hour: 100000,
    per_thread_per_minute: 100000 } });
  const url = page('noscript-burst');
  const q = `site=blog&url=${encodeURIComponent(url)}`;
  const token = (await h.h1(p, 'GET', `/api/v1/comments?${q}`)).json.form_token;
  const stats = async () => {
    const t = (await h.h1(p, 'GET', '/metrics')).text;
    const n = (name) => Number(t.match(new RegExp(`^${name} (\\d+)$`, 'm'))[1]);
    return n('parley_redis_grouped_calls_total') - n('parley_redis_group_commits_total');
  };
  let grouped = false;
  let stored = 0;
  for (let attempt = 0; attempt < 6 && !grouped; attempt++) {
    assert.equal(await redis.cmd('SCRIPT', 'FLUSH'), 'OK');
    const before = await stats();
    const res = await Promise.all(Array.from({ length: 24 }, (_, i) => h.h1(p, 'POST', '/api/v1/comments', {
      body: { site: 'blog', url, author: `N${i}`, email: `n${i}.${attempt}.${process.pid}@example.com`,
        body: `after the flush ${attempt}/${i}`, form_token: token } })));
    for (const r of res) assert.equal(r.status, 201, r.text);
    stored += res.length;
    grouped = (await stats()) > before;
  }
  assert.ok(grouped, 'no burst was grouped: the test did not exercise the grouped retry');
  // The site moderates first comments: each waits, shown to its author (this client) only.
  const g = await h.h1(p, 'GET', `/api/v1/comments?${q}&limit=200`);
  assert.equal(g.json.comments.length, stored, 'every acknowledged comment is stored');
  assert.ok(g.json.comments.every((c) => c.status === 'pending' && c.html.startsWith('<p>after the flush')));
});

test('SIGTERM with requests in flight: all finish with 200, exit 0 within 5 s, no sanitizer report', async () => {
  // The command timeout must outlast the pause so the in-flight requests are answered by Redis, not by the timer.
  const p = await start({ timeoutMs: 5000 });
  const url = page('drain');
  let r = await h.h1(p, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } });
  assert.equal(r.status, 200, r.text);
  const sent0 = await commandsSent(p);

  const session = h.h2session(p);
  let goaway = false;
  session.client.on('goaway', () => { goaway = true; });
  await new Promise((res) => session.client.once('connect', res));

  assert.equal(await redis.cmd('CLIENT', 'PAUSE', '1500', 'ALL'), 'OK');
  const gets = Array.from({ length: 20 }, () => session.request('GET', sharesGet([url])));
  const posts = Array.from({ length: 3 }, (_, i) => h.h1(p, 'POST', '/api/v1/shares', {
    body: { site: 'blog', url, network: 'facebook' }, headers: { 'user-agent': ua(`drain${i}`) },
  }));
  // Every request has reached Redis (one rate-limit call each) before the signal.
  await until('23 requests waiting on Redis', 1200, async () => (await commandsSent(p)) >= sent0 + 23, 25);
  const killedAt = Date.now();
  const exited = p.stop('SIGTERM');

  // New connections are refused while the old ones drain.
  await until('listeners closed after SIGTERM', 1000, () => new Promise((resolve) => {
    const s = net.connect(p.port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', (e) => resolve(e.code === 'ECONNREFUSED'));
  }), 50);

  const answered = await Promise.allSettled([...gets, ...posts]);
  const summary = answered.map((a) => (a.status === 'fulfilled' ? a.value.status : a.reason.message));
  assert.deepEqual(summary, Array(23).fill(200), 'every in-flight request finished');
  for (const a of answered.slice(0, 20)) {
    // The GETs and the POSTs meet in Redis in any order, so a GET may already see some of the new clicks.
    const { x, facebook = 0 } = a.value.json.items[0].networks;
    assert.equal(x, 1, a.value.text);
    assert.ok(facebook >= 0 && facebook <= 3, a.value.text);
  }
  const counted = answered.slice(20).map((a) => a.value.json.counted);
  assert.deepEqual(counted, [true, true, true]);
  assert.ok(goaway, 'the HTTP/2 client got GOAWAY');

  const { code, signal } = await exited;
  const took = Date.now() - killedAt;
  session.close();
  const log = p.log();
  assert.deepEqual(h.sanitizerReport(log), [], log);
  assert.equal(signal, null, log);
  assert.equal(code, 0, log);
  assert.ok(took <= 5000, `exited ${took} ms after SIGTERM`);
  // The clicks made during the drain were stored.
  const hash = crypto.createHash('sha256').update(url).digest('hex').slice(0, 32);
  assert.equal(await redis.cmd('HGET', `t:sh:{blog:${hash}}`, 'facebook'), '3');
});

// Sends N GET (and a few POST) requests on SESSIONS h2c sessions while Redis is paused, waits until the server has
// passed them all to Redis, then cancels them: RST_STREAM on half the sessions, a dropped TCP connection on the rest.
async function cancelStorm(p, { sessions = 6, perSession = 50, pauseMs = 2000, url }) {
  const sent0 = await commandsSent(p);
  const clients = [];
  for (let i = 0; i < sessions; i++) {
    const c = http2.connect(p.base);
    c.on('error', () => {});
    await new Promise((res, rej) => { c.once('connect', res); c.once('error', rej); });
    clients.push(c);
  }
  assert.equal(await redis.cmd('CLIENT', 'PAUSE', String(pauseMs), 'ALL'), 'OK');
  const pausedAt = Date.now();
  const streams = [];
  let early = 0;
  clients.forEach((c, i) => {
    for (let k = 0; k < perSession; k++) {
      const post = k % 10 === 0;
      const req = c.request(post
        ? { ':method': 'POST', ':path': '/api/v1/shares', 'content-type': 'application/json', 'user-agent': ua(`storm${i}-${k}`) }
        : { ':method': 'GET', ':path': sharesGet([url]), 'user-agent': 'Mozilla/5.0 parley-test' }, { endStream: !post });
      if (post) req.end(JSON.stringify({ site: 'blog', url, network: 'whatsapp' }));
      req.on('response', () => { early++; });
      req.on('error', () => {});
      req.resume();
      streams.push([i, req]);
    }
  });
  const total = sessions * perSession;
  await until(`${total} requests waiting on Redis`, pauseMs - 500, async () => (await commandsSent(p)) >= sent0 + total, 25);
  assert.equal(early, 0, 'nothing was answered before the cancel (Redis is paused)');
  for (const [i, req] of streams) if (i % 2 === 0) req.close(http2.constants.NGHTTP2_CANCEL);
  clients.forEach((c, i) => { if (i % 2 === 1) c.destroy(); });
  await h.sleep(50);
  clients.forEach((c) => c.destroy());
  assert.ok(Date.now() - pausedAt < pauseMs, 'all requests were cancelled while Redis was still paused');
  return { pausedAt, total };
}

for (const timeoutMs of [5000, 800]) {
  const when = timeoutMs > 2000 ? 'replies arrive for dead requests' : 'timeouts fire, then replies arrive, for dead requests';
  test(`cancel guard (${when}): 300 h2 requests reset while Redis is paused; server keeps serving, exits clean`, async () => {
    const p = await start({ timeoutMs });
    const url = page(`cancel${timeoutMs}`);
    let r = await h.h1(p, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } });
    assert.equal(r.status, 200, r.text);

    for (let round = 0; round < 2; round++) {
      const { pausedAt } = await cancelStorm(p, { url, pauseMs: 2000 });
      // /healthz needs no Redis: the process is alive and serving during the pause.
      assertAlive(p);
      assert.equal((await h.h2(p, 'GET', '/healthz')).status, 200);
      await until('shares GET answers 200 after the pause', 2000 + 4000 - (Date.now() - pausedAt), async () => {
        assertAlive(p);
        return (await h.h1(p, 'GET', sharesGet([url]))).status === 200;
      });
      r = await h.h2(p, 'GET', sharesGet([url]));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.items[0].networks.x, 1, 'the counts are intact');
      assert.equal(p.proc.exitCode, null, 'parleyd is still running');
      assert.deepEqual(h.sanitizerReport(p.log()), []);
    }
    // A fresh click still works end to end on both transports.
    r = await h.h2(p, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'copy' }, headers: { 'user-agent': ua('after') } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.counted, true);
    r = await h.h1(p, 'GET', '/healthz');
    assert.equal(r.status, 200);
    await stopClean(p);
  });
}

test('the first parleyd (Redis killed, restarted, paused) still stops clean', async () => {
  await stopClean(parley);
});
