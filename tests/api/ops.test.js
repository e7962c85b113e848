// Operations (issue 2): the embedded Redis (AOF, fsync always; data survives a restart; the child stops with
// parleyd), the access log (Apache combined) on every path, static files under /static/ (ETag and 304, ranges,
// pre-compressed .gz, CSP on HTML), --check-config, SIGINT, HEAD.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const h = require('./lib/harness');

// Every process a test starts goes here, so a failing test cannot leave one running (node would wait for it).
const started = [];
after(async () => {
  for (const p of started) await p.stop();
});
async function redis() {
  const r = await h.startRedis();
  started.push(r);
  return r;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// The embedded redis-server child of a parleyd (its only redis-server child).
function redisChild(parentPid) {
  const out = spawnSync('pgrep', ['-P', String(parentPid), 'redis-server'], { encoding: 'utf8' }).stdout.trim();
  return out ? Number(out.split('\n')[0]) : null;
}

const share = (p, url) => h.h1(p, 'POST', '/api/v1/shares', { body: { site: 'blog', url, network: 'x' } });

test('embedded Redis: AOF with fsync always on a private socket; a count survives a restart; stops with parleyd', async () => {
  const sites = [{ id: 'blog', origins: ['https://blog.example'] }];
  const p1 = await h.startParley({ redisUrl: 'embedded', sites });
  started.push(p1);
  const child = redisChild(p1.proc.pid);
  assert.ok(child, 'parleyd started a redis-server child');
  const dataDir = path.join(p1.dir, 'data');
  const sock = path.join(dataDir, 'redis.sock');
  assert.ok(fs.existsSync(sock), 'the unix socket is in the data directory');
  assert.equal(fs.statSync(sock).mode & 0o077, 0, 'the socket is private (0700)');
  const cfg = execFileSync('redis-cli', ['-s', sock, 'CONFIG', 'GET', 'append*'], { encoding: 'utf8' });
  assert.match(cfg, /appendonly\nyes/);
  assert.match(cfg, /appendfsync\nalways/);
  assert.equal(execFileSync('redis-cli', ['-s', sock, 'CONFIG', 'GET', 'port'], { encoding: 'utf8' }).trim(), 'port\n0',
    'no TCP port');
  const r = await share(p1, 'https://blog.example/persist');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.total, 1);

  const { code } = await p1.stop('SIGTERM');
  assert.equal(code, 0, p1.log());
  assert.equal(alive(child), false, 'the embedded redis-server stopped with parleyd');

  const p2 = await h.startParley({ redisUrl: 'embedded', sites, dir: p1.dir, port: p1.port });
  started.push(p2);
  const g = await h.h1(p2, 'GET', `/api/v1/shares?site=blog&url=${encodeURIComponent('https://blog.example/persist')}`);
  assert.equal(g.status, 200, g.text);
  assert.equal(g.json.items[0].total, 1, 'the count survived the restart (AOF)');
  assert.equal((await share(p2, 'https://blog.example/persist')).json.counted, false, 'and so did the dedupe marker');
  const child2 = redisChild(p2.proc.pid);
  await p2.stop('SIGKILL');
  // PR_SET_PDEATHSIG: even a killed parleyd takes its Redis along.
  for (let i = 0; i < 100 && alive(child2); i++) await h.sleep(50);
  assert.equal(alive(child2), false, 'the embedded redis-server died with a SIGKILLed parleyd');
});

test('access log: one Apache combined line per request, API and static alike', async () => {
  const rd = await redis();
  const dir = h.tmpdir('static');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'hello static\n');
  const logFile = path.join(h.tmpdir('log'), 'access.log');
  const p = await h.startParley({ redisUrl: rd.url, accessLog: logFile, staticDir: dir });
  started.push(p);
  await h.h1(p, 'GET', '/api/v1/shares?site=blog&url=https%3A%2F%2Fblog.example%2Fx', { headers: { referer: 'https://ref.example/' } });
  await h.h1(p, 'GET', '/static/a.txt');
  await h.h1(p, 'GET', '/nope');
  let lines = [];
  for (let i = 0; i < 50 && lines.length < 3; i++) {
    await h.sleep(40);
    // the harness's start-up probes of /healthz are logged too; leave them out
    lines = fs.existsSync(logFile)
      ? fs.readFileSync(logFile, 'utf8').trim().split('\n').filter((l) => l && !l.includes('GET /healthz')) : [];
  }
  assert.equal(lines.length >= 3, true, `three lines logged: ${lines.join('\n')}`);
  const combined = /^127\.0\.0\.1 - - \[[^\]]+\] "GET (\S+) HTTP\/1\.1" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;
  const parsed = lines.map((l) => l.match(combined));
  assert.ok(parsed.every(Boolean), `combined format: ${lines.join('\n')}`);
  assert.deepEqual(parsed.map((m) => [m[1].split('?')[0], m[2]]),
    [['/api/v1/shares', '200'], ['/static/a.txt', '200'], ['/nope', '404']]);
  assert.equal(parsed[0][4], 'https://ref.example/');
  assert.equal(parsed[0][5], 'Mozilla/5.0 (parley-test)');
  // The log file handle is reference-counted by h2o: a clean stop releases every reference (no leak report).
  await h.stopClean(p);
});

test('static files: ETag and 304, byte ranges, pre-compressed .gz, CSP on HTML, security headers', async () => {
  const rd = await redis();
  const dir = h.tmpdir('static');
  const text = 'x'.repeat(3000);
  fs.writeFileSync(path.join(dir, 'big.txt'), text);
  fs.writeFileSync(path.join(dir, 'big.txt.gz'), zlib.gzipSync(Buffer.from(text)));
  fs.writeFileSync(path.join(dir, 'page.html'), '<!doctype html><title>t</title><p>hi</p>');
  const p = await h.startParley({ redisUrl: rd.url, staticDir: dir });
  started.push(p);

  const a = await h.h1(p, 'GET', '/static/big.txt');
  assert.equal(a.status, 200);
  assert.equal(a.text, text);
  assert.ok(a.headers.etag, 'an ETag');
  assert.equal(a.headers['x-content-type-options'], 'nosniff');
  assert.equal(a.headers.server, undefined, 'no server banner');
  const b = await h.h1(p, 'GET', '/static/big.txt', { headers: { 'if-none-match': a.headers.etag } });
  assert.equal(b.status, 304);
  const c = await h.h1(p, 'GET', '/static/big.txt', { headers: { range: 'bytes=10-19' } });
  assert.equal(c.status, 206);
  assert.equal(c.text, 'x'.repeat(10));
  assert.equal(c.headers['content-range'], 'bytes 10-19/3000');
  const d = await h.h2(p, 'GET', '/static/big.txt', { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(d.status, 200);
  assert.equal(d.headers['content-encoding'], 'gzip', 'the pre-compressed file is sent');
  const e = await h.h1(p, 'GET', '/static/page.html');
  assert.equal(e.status, 200);
  assert.match(String(e.headers['content-type']), /^text\/html/);
  assert.match(String(e.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/);
  const f = await h.h1(p, 'GET', '/static/../conf/parley.yaml');
  assert.notEqual(f.status, 200, 'no escape from static_dir');
  const g = await h.h1(p, 'GET', '/static/missing.txt');
  assert.equal(g.status, 404);
});

test('HEAD is GET without a body; SIGINT stops parleyd cleanly', async () => {
  const rd = await redis();
  const p = await h.startParley({ redisUrl: rd.url });
  started.push(p);
  const r = await h.h1(p, 'HEAD', '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.text, '');
  const t0 = Date.now();
  const { code } = await p.stop('SIGINT');
  assert.equal(code, 0, p.log());
  assert.ok(Date.now() - t0 < 5000, 'stopped within 5 s');
  assert.deepEqual(h.sanitizerReport(p.log()), []);
});

test('--check-config: 0 and a confirmation for a valid file; 1 and file:line: key for a bad one', () => {
  const dir = h.tmpdir('conf');
  const good = path.join(dir, 'good.yaml');
  fs.writeFileSync(good, 'listen:\n  - port: 8080\n');
  const ok = spawnSync(h.PARLEYD, ['--check-config', '-c', good], { encoding: 'utf8', env: h.sanitizerEnv() });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /configuration is valid/);
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'listen:\n  - port: 8080\nredis:\n  timeout_ms: 5\n');
  const no = spawnSync(h.PARLEYD, ['--check-config', '-c', bad], { encoding: 'utf8', env: h.sanitizerEnv() });
  assert.equal(no.status, 1);
  assert.match(no.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: redis\\.timeout_ms: `));
  const version = spawnSync(h.PARLEYD, ['--version'], { encoding: 'utf8', env: h.sanitizerEnv() });
  assert.match(version.stdout, /^parleyd \d+\.\d+\.\d+/);
  const usage = spawnSync(h.PARLEYD, ['--bogus'], { encoding: 'utf8', env: h.sanitizerEnv() });
  assert.equal(usage.status, 2);
});
