// The mail outbox, end to end through the real mailer thread: a real redis-server, the real parleyd and a real SMTP
// sink (tests/mail/sink.js). Mails are enqueued the way store_outbox_add does it -- XADD to the outbox stream with
// the fields from, rcpt, msg, attempts, first -- so these tests need no test-only endpoint and exercise exactly
// what the mailer reads. The message is a small fixed RFC 5322 text with a unique Message-ID per mail, which is
// how a delivered copy is matched to its entry.
//
// What is shown: a mail is delivered and then removed from the stream and the group's pending list; a relay that
// is down delays a mail (retry after smtp.retry_initial_s = 1 s) but does not lose it; a 550 sends it to the
// dead-letter stream at once, with the reason, without retries; parleyd SIGKILLed while the relay holds the mail
// delivers it after the restart (at-least-once: the copy the relay already had plus the resend -- SMTP cannot give
// exactly-once, since the relay's 250 and our acknowledgement are never one atomic step); /metrics counts it all;
// SIGTERM in the middle of a slow send stops promptly, leaves that mail queued and exits 0 without a sanitizer
// report.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const H = require('./lib/harness');

const SINK = path.join(__dirname, '../mail/sink.js');
const PREFIX = 't:';
const OUT = `${PREFIX}mail:{mail}:out`;
const DELAY = `${PREFIX}mail:{mail}:delay`;
const DEAD = `${PREFIX}mail:{mail}:dead`;

let redis;
let parley;
let sink; // { child, port, dir }
const sinkDir = H.tmpdir('outbox-sink');
let sinkPort;

// Starts the sink on sinkPort (the same port across restarts, so parleyd's smtp.url stays valid).
async function startSink(extraArgs = []) {
  const child = spawn(process.execPath, [SINK, '--dir', sinkDir, '--port', String(sinkPort),
    '--reject', 'dead@example.test=550', ...extraArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sink exited ${code}`)));
  });
  assert.equal(Number(line), sinkPort);
  sink = { child, exited: new Promise((r) => child.once('exit', r)) };
}

async function stopSink() {
  if (sink && sink.child.exitCode === null) {
    sink.child.kill('SIGTERM');
    await sink.exited;
  }
  sink = null;
}

function smtpExtra() {
  return `smtp:\n  url: "smtp://127.0.0.1:${sinkPort}"\n  retry_initial_s: 1\n  retry_max_age_s: 10\n`;
}

const ADMIN = `outbox-admin-token-${process.pid}-0123456789`;
const startParley = (opts = {}) => H.startParley({ redisUrl: redis.url, prefix: PREFIX, extra: smtpExtra(),
  env: { PARLEY_ADMIN_TOKEN: ADMIN }, ...opts });

let seq = 0;
// Enqueues one mail to RCPT exactly as store_outbox_add does; returns its tag (Subject and Message-ID local part).
async function enqueue(rcpt) {
  const tag = `m${process.pid}-${++seq}`;
  const msg = [
    'Date: Thu, 01 Jan 2026 00:00:00 +0000',
    'From: Parley <parley@example.test>',
    `To: <${rcpt}>`,
    `Subject: ${tag}`,
    `Message-ID: <${tag}@parley.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    `Hello from ${tag}.`,
    '',
  ].join('\r\n');
  await redis.cmd('XADD', OUT, 'MAXLEN', '~', '100000', '*', 'from', 'parley@example.test', 'rcpt', rcpt, 'msg', msg,
    'attempts', '0', 'first', String(Date.now()));
  return tag;
}

// Every mail the sink stored so far.
function delivered() {
  return fs.readdirSync(sinkDir).filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(fs.readFileSync(path.join(sinkDir, f), 'utf8')));
}
const copiesOf = (tag) => delivered().filter((m) => m.subject === tag);

async function waitFor(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await H.sleep(50);
  }
}

// XPENDING summary: number of entries read by a consumer and not yet acknowledged.
const pendingCount = async () => (await redis.cmd('XPENDING', OUT, 'mailer'))[0];
const xlen = (k) => redis.cmd('XLEN', k);

// Outbox fully settled: no entry left in the stream, none pending in the group.
async function settled() {
  return (await xlen(OUT)) === 0 && (await pendingCount()) === 0;
}

before(async () => {
  redis = await H.startRedis();
  sinkPort = await H.freePort();
  await startSink();
  parley = await startParley();
});

after(async () => {
  if (parley) await parley.stop('SIGKILL');
  await stopSink();
  if (redis) await redis.stop();
});

test('a mail is delivered once, then deleted and acknowledged', async () => {
  const tag = await enqueue('ok@example.test');
  const [m] = await waitFor('delivery', () => copiesOf(tag).length > 0 && copiesOf(tag));
  assert.deepEqual(m.rcpt_to, ['ok@example.test']);
  assert.equal(m.mail_from, 'parley@example.test');
  assert.match(m.text, new RegExp(`Hello from ${tag}`));
  await waitFor('stream and PEL empty', settled);
  await H.sleep(300);
  assert.equal(copiesOf(tag).length, 1);
});

test('throughput: 100 queued mails reach the sink', async (t) => {
  const t0 = Date.now();
  const tags = [];
  for (let i = 0; i < 100; i++) tags.push(await enqueue(`bulk${i}@example.test`));
  await waitFor('100 deliveries', () => {
    const got = new Set(delivered().map((m) => m.subject));
    return tags.every((x) => got.has(x));
  }, 30000);
  const s = (Date.now() - t0) / 1000;
  t.diagnostic(`100 mails in ${s.toFixed(2)} s = ${(100 / s).toFixed(1)} mails/s (one SMTP connection per mail)`);
  await waitFor('stream and PEL empty', settled);
});

test('a 550 goes to the dead letters at once, with the reason, and is not retried', async () => {
  const tag = await enqueue('dead@example.test');
  await waitFor('a dead letter', async () => (await xlen(DEAD)) === 1);
  const [[, fields]] = await redis.cmd('XRANGE', DEAD, '-', '+');
  const f = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  assert.equal(f.rcpt, 'dead@example.test');
  assert.match(f.reason, /550/);
  assert.match(f.msg, new RegExp(`Subject: ${tag}`));
  assert.equal(f.attempts, '1');
  assert.ok(Number(f.failed) > 0 && f.id);
  assert.ok(await settled());
  assert.equal(await redis.cmd('ZCARD', DELAY), 0);
  assert.equal(copiesOf(tag).length, 0);
});

test('the admin API lists dead letters (never their message) and puts one back into the outbox', async () => {
  const auth = { authorization: `Bearer ${ADMIN}` };
  const list = await H.h1(parley, 'GET', '/api/v1/admin/mail/dead', { headers: auth });
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.items.length, 1);
  const [d] = list.json.items;
  assert.equal(d.rcpt, 'dead@example.test');
  assert.match(d.reason, /550/);
  assert.match(d.subject, /^m\d+-\d+$/);
  assert.equal(d.attempts, '1');
  assert.equal(d.msg, undefined, 'the message (which may hold a reset link) is not shown');
  assert.ok(!list.text.includes('Hello from'), 'no message text in the answer');
  assert.equal(list.json.next, d.id);
  const after = await H.h1(parley, 'GET', `/api/v1/admin/mail/dead?cursor=${encodeURIComponent(d.id)}`, { headers: auth });
  assert.deepEqual(after.json, { items: [], next: null }, 'the page after the last entry is empty');

  // Bad input, and no admin.
  assert.equal((await H.h1(parley, 'GET', '/api/v1/admin/mail/dead')).status, 401);
  assert.equal((await H.h1(parley, 'GET', '/api/v1/admin/mail/dead', { headers: { authorization: 'Bearer nope' } })).status, 401);
  for (const q of ['cursor=abc', 'cursor=1-2-3', 'limit=0', 'limit=201', 'limit=x']) {
    const r = await H.h1(parley, 'GET', `/api/v1/admin/mail/dead?${q}`, { headers: auth });
    assert.equal(r.status, 422, `${q}: ${r.text}`);
    assert.equal(r.json.error.code, 'invalid');
  }
  for (const id of ['1-0', 'nope', '12345678901234567890123-0']) {
    const r = await H.h1(parley, 'POST', `/api/v1/admin/mail/dead/${id}/retry`, { headers: auth });
    assert.equal(r.status, 404, `${id}: ${r.text}`);
  }
  assert.equal((await H.h1(parley, 'POST', `/api/v1/admin/mail/dead/${d.id}/retry`)).status, 401);

  // Retry: out of the dead letters, through the mailer again (the sink still refuses it, so it dies again, anew).
  const r = await H.h1(parley, 'POST', `/api/v1/admin/mail/dead/${d.id}/retry`, { headers: auth });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true);
  await waitFor('dead again under a new id', async () => {
    const all = await redis.cmd('XRANGE', DEAD, '-', '+');
    return all.length === 1 && all[0][0] !== d.id;
  });
  assert.equal((await H.h1(parley, 'POST', `/api/v1/admin/mail/dead/${d.id}/retry`, { headers: auth })).status, 404,
    'the old entry is gone');
  assert.ok(await settled());
});

test('relay down for a while, then up: the mail arrives after a retry', async () => {
  await stopSink();
  const tag = await enqueue('later@example.test');
  // The first attempt fails (connection refused) and parks the mail in the delay set, out of the stream.
  await waitFor('a scheduled retry', async () => (await redis.cmd('ZCARD', DELAY)) === 1);
  assert.ok(await settled());
  const [member] = await redis.cmd('ZRANGE', DELAY, '0', '-1');
  assert.equal(JSON.parse(member).rcpt, 'later@example.test');
  await H.sleep(1500); // at least one more failed attempt (retry after 1 s, then 2 s)
  await startSink();
  const [m] = await waitFor('delivery after the retry', () => copiesOf(tag).length > 0 && copiesOf(tag), 15000);
  assert.deepEqual(m.rcpt_to, ['later@example.test']);
  await waitFor('outbox settled', async () => (await settled()) && (await redis.cmd('ZCARD', DELAY)) === 0);
  assert.equal(copiesOf(tag).length, 1);
});

test('/metrics shows sent, failures, dead and the queue', async () => {
  const s = await H.metrics(parley);
  assert.ok(H.metricValue(s, 'parley_mail_sent_total') >= 102, 'sent');
  assert.ok(H.metricValue(s, 'parley_mail_failures_total') >= 2, 'failures');
  assert.equal(H.metricValue(s, 'parley_mail_dead_total'), 2, 'the 550 twice: first sent, then retried by the admin');
  // The gauges are refreshed when the mailer goes idle after work, so they are exact shortly after the queue drains.
  await waitFor('gauges', async () => {
    const g = await H.metrics(parley);
    return H.metricValue(g, 'parley_mail_queue', { state: 'dead' }) === 1 &&
      H.metricValue(g, 'parley_mail_queue', { state: 'pending' }) === 0 &&
      H.metricValue(g, 'parley_mail_queue', { state: 'delayed' }) === 0;
  }, 12000);
});

test('parleyd SIGKILLed while the relay holds the mail: delivered after the restart (at-least-once)', async (t) => {
  await stopSink();
  await startSink(['--delay-ms', '2000']);
  const tag = await enqueue('slow@example.test');
  // Read by the mailer (pending in the group), then give it time to reach the relay's DATA.
  await waitFor('the mailer read it', async () => (await pendingCount()) === 1);
  await H.sleep(500);
  assert.equal(copiesOf(tag).length, 0);
  const { signal } = await parley.stop('SIGKILL');
  assert.equal(signal, 'SIGKILL');
  // Not lost: still in the stream and pending for the dead consumer.
  assert.equal(await xlen(OUT), 1);
  assert.equal(await pendingCount(), 1);
  parley = await startParley({ dir: parley.dir, port: parley.port });
  // The new process has the same consumer name, so it resends its own pending entry at once.
  await waitFor('the outbox settled after the restart', settled, 20000);
  await H.sleep(2500); // a copy the relay was still holding when parleyd died lands by now
  const n = copiesOf(tag).length;
  t.diagnostic(`copies delivered: ${n} (the relay kept the first one although its client died: a duplicate, not a loss)`);
  assert.ok(n >= 1 && n <= 2, `copies: ${n}`);
});

test('SIGTERM during a slow send stops promptly, keeps the mail queued, exits 0 without sanitizer report', async () => {
  const tag = await enqueue('slow2@example.test');
  await waitFor('the mailer read it', async () => (await pendingCount()) === 1);
  await H.sleep(300);
  const t0 = Date.now();
  const { code } = await parley.stop('SIGTERM');
  const ms = Date.now() - t0;
  assert.equal(code, 0, parley.log());
  assert.ok(ms < 5000, `stop took ${ms} ms`);
  assert.deepEqual(H.sanitizerReport(parley.log()), []);
  assert.equal(await xlen(OUT), 1, 'the interrupted mail stays in the outbox');
  parley = null;
  // (The relay may still store the interrupted copy; the entry is sent again by the next start.)
  void tag;
});

test('a mail handed out more than 10 times without an outcome goes to the dead letters, unsent', async () => {
  // Nobody reads the stream while the entry is prepared.
  if (parley) await parley.stop('SIGTERM');
  parley = null;
  const tag = await enqueue('crashloop@example.test');
  const entries = await redis.cmd('XRANGE', OUT, '-', '+');
  const entry = entries.find(([, fields]) => fields.some((v) => String(v).includes(`Subject: ${tag}`)));
  assert.ok(entry, 'the entry is in the stream');
  // As if parleyd had died 20 times while sending it: this consumer holds it, with a delivery count of 20.
  const consumer = `parleyd@${require('node:os').hostname()}`;
  await redis.cmd('XGROUP', 'CREATECONSUMER', OUT, 'mailer', consumer);
  await redis.cmd('XCLAIM', OUT, 'mailer', consumer, '0', entry[0], 'RETRYCOUNT', '20', 'FORCE');
  const deadBefore = await xlen(DEAD);
  parley = await startParley();
  await waitFor('the dead letter', async () => (await xlen(DEAD)) > deadBefore);
  const [[, fields]] = await redis.cmd('XREVRANGE', DEAD, '+', '-', 'COUNT', '1');
  const reason = fields[fields.indexOf('reason') + 1];
  assert.match(String(reason), /handed out 21 times without an outcome/);
  await waitFor('stream and PEL settled', async () => (await pendingCount()) === 0);
  assert.equal(copiesOf(tag).length, 0, 'not sent');
});
