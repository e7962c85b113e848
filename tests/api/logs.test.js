// Logs (issue 6): the error log in a file (error_log) as JSON lines (log_format: json) or text, and SIGHUP reopening
// both the error log and the access log by name, as logrotate needs: rename the files, send SIGHUP, and the new
// lines go to new files while the renamed ones stop growing.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');

const started = [];
after(async () => {
  for (const p of started.reverse()) await p.stop();
});

// A parleyd logging to files in a temp dir: LOG_FORMAT, log_level info (the harness's default is warn).
async function start(logFormat) {
  const redis = await h.startRedis();
  started.push(redis);
  const dir = h.tmpdir('logs');
  const logs = h.tmpdir('logfiles');
  const port = await h.freePort();
  const files = { access: path.join(logs, 'access.log'), error: path.join(logs, 'error.log') };
  const configText = h.configYaml({ port, redisUrl: redis.url, dataDir: path.join(dir, 'data'), accessLog: files.access })
    .replace('log_level: warn\n', 'log_level: info\n')
    + `error_log: "${files.error}"\nlog_format: ${logFormat}\n`;
  const p = await h.startParley({ dir, port, configText });
  started.push(p);
  return { p, files };
}

const lines = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);
async function waitFor(what, fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await h.sleep(30);
  }
}

test('error_log with log_format json: every line is a JSON object with time, level, pid and msg', async () => {
  const { p, files } = await start('json');
  const got = await waitFor('the start-up lines', () => {
    const l = lines(files.error);
    return l.some((x) => x.includes('listening on')) ? l : null;
  });
  for (const line of got) {
    const o = JSON.parse(line);
    assert.deepEqual(Object.keys(o), ['time', 'level', 'pid', 'msg'], line);
    assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), line);
    assert.equal(o.pid, p.proc.pid);
    assert.equal(typeof o.msg, 'string');
  }
  assert.ok(got.map((l) => JSON.parse(l)).some((o) => o.level === 'info' && /^parleyd .* listening on http:\/\/127\.0\.0\.1:/.test(o.msg)));
  // Nothing of the error log reaches stderr any more (only what is not ours, e.g. sanitizer reports, would).
  assert.ok(!p.log().includes('listening on'), 'stderr stays quiet');
  await h.stopClean(p);
  const last = lines(files.error).map((l) => JSON.parse(l));
  assert.equal(last[last.length - 1].msg, 'stopped');
});

test('log_format text: "<time> parleyd[pid] LEVEL message" lines in error_log', async () => {
  const { p, files } = await start('text');
  const got = await waitFor('the start-up lines', () => {
    const l = lines(files.error);
    return l.some((x) => x.includes('listening on')) ? l : null;
  });
  for (const line of got) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ parleyd\[\d+\] (DEBUG|INFO|WARN|ERROR) /);
  await h.stopClean(p);
});

test('SIGHUP reopens the access log and the error log: after a rename, new lines go to new files', async () => {
  const { p, files } = await start('json');
  await waitFor('the start-up lines', () => lines(files.error).some((x) => x.includes('listening on')));
  for (let i = 0; i < 3; i++) assert.equal((await h.h1(p, 'GET', `/healthz?before=${i}`)).status, 200);
  await waitFor('three access lines', () => lines(files.access).filter((l) => l.includes('before=')).length === 3);

  // What logrotate does: rename, then signal.
  const rotated = { access: `${files.access}.1`, error: `${files.error}.1` };
  fs.renameSync(files.access, rotated.access);
  fs.renameSync(files.error, rotated.error);
  // Until the signal, lines still go to the renamed files (the descriptors follow the inode).
  assert.equal((await h.h1(p, 'GET', '/healthz?between=1')).status, 200);
  await waitFor('the line between rename and SIGHUP', () => lines(rotated.access).some((l) => l.includes('between=1')));

  process.kill(p.proc.pid, 'SIGHUP');
  const reopened = await waitFor('the reopen line in the new error log', () => lines(files.error)
    .map((l) => JSON.parse(l)).find((o) => o.msg.startsWith('SIGHUP: reopened')));
  assert.equal(reopened.msg, 'SIGHUP: reopened 2 log file(s)');
  assert.equal(reopened.level, 'info');

  const oldAccess = lines(rotated.access).length;
  const oldError = lines(rotated.error).length;
  for (let i = 0; i < 5; i++) {
    const r = i % 2 ? await h.h2(p, 'GET', `/healthz?after=${i}`) : await h.h1(p, 'GET', `/healthz?after=${i}`);
    assert.equal(r.status, 200);
  }
  assert.equal((await h.h1(p, 'GET', '/nope?after=404')).status, 404);
  const fresh = await waitFor('six access lines in the new file',
    () => (lines(files.access).filter((l) => l.includes('after=')).length === 6 ? lines(files.access) : null));
  for (const l of fresh) assert.match(l, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/\S+ HTTP\/(1\.1|2)" \d{3} /, l);
  assert.ok(fresh.some((l) => / 404 /.test(l) && l.includes('/nope?after=404')));
  assert.equal(fs.statSync(files.access).mode & 0o777, 0o644, 'the new access log is created 0644');
  assert.equal(fs.statSync(files.error).mode & 0o777, 0o640, 'the new error log is created 0640');
  await h.sleep(200);
  assert.equal(lines(rotated.access).length, oldAccess, 'the renamed access log stopped growing');
  assert.ok(!lines(rotated.access).some((l) => l.includes('after=')));

  // A second rotation works the same way, and a clean stop writes its last line to the newest error log.
  fs.renameSync(files.access, `${files.access}.2`);
  fs.renameSync(files.error, `${files.error}.2`);
  process.kill(p.proc.pid, 'SIGHUP');
  await waitFor('the second reopen', () => lines(files.error).some((l) => l.includes('SIGHUP: reopened 2')));
  assert.equal((await h.h1(p, 'GET', '/healthz?third=1')).status, 200);
  await waitFor('the third access file', () => lines(files.access).some((l) => l.includes('third=1')));
  await h.stopClean(p);
  assert.equal(lines(rotated.error).length, oldError, 'the first renamed error log stopped growing');
  assert.ok(lines(files.error).map((l) => JSON.parse(l)).some((o) => o.msg === 'stopped'));
});

test('SIGHUP with the logs on stdout and stderr reopens nothing and changes nothing', async () => {
  const redis = await h.startRedis();
  started.push(redis);
  const p = await h.startParley({ redisUrl: redis.url });
  started.push(p);
  process.kill(p.proc.pid, 'SIGHUP');
  assert.equal((await h.h1(p, 'GET', '/healthz')).status, 200);
  await h.stopClean(p);
});
