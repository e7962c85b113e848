// SMTP round trip for src/mail: the C driver (tests/mail/test_mail_smtp.c, path in $PARLEY_MAIL_DRIVER) renders a
// message with mail_message_render and sends it with mail_smtp_send to a real SMTP sink (tests/mail/sink.js,
// npm smtp-server) on a free loopback port. Checks what arrives (decoded subject, UTF-8 text, a body line that
// is a lone "." and lines starting with ".", the List-Unsubscribe pair) and how failures are classified for the
// outbox: nothing listening → temporary, 451 → temporary, 550 → permanent, bad AUTH or missing STARTTLS →
// temporary. Every process started here is stopped by its PID.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const DRIVER = process.env.PARLEY_MAIL_DRIVER || path.resolve(__dirname, '../../build/asan/tests/test_mail_smtp');
const SINK = path.join(__dirname, 'sink.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SUBJECT = 'Neue Antwort auf „Grüße aus Zürich“ — ✓ 日本語の件名も大丈夫';
const TEXT = [
  'Hallo Zoë,',
  '',
  'Jürgen hat auf deinen Kommentar geantwortet: «très bien» 👍',
  '.',
  '.a line that starts with a dot',
  '..and one with two',
  'tabs\tand trailing spaces   ',
  `a long line ${'ä'.repeat(300)} end`,
  '=?UTF-8?B?bm90IGFuIGVuY29kZWQtd29yZA==?= and = signs',
  '',
].join('\n');
const HTML = '<p>Hallo Zoë,</p>\n.dot at the start of an html line\n<p>«très bien» 👍</p>\n';
const FROM_NAME = 'Parley – Kommentare';
const UNSUB = 'https://comments.example.test/api/v1/unsubscribe?t=abc.def-123';

const dirs = [];
const children = new Set();
let sink; // { port, dir, child }
let authSink;

function tmpdir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `parley-mail-${tag}-`));
  dirs.push(d);
  return d;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts tests/mail/sink.js as a child; resolves once it printed its port (it listens by then).
function startSink(tag, args = []) {
  const dir = tmpdir(tag);
  const child = spawn(process.execPath, [SINK, '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ port: Number(out.slice(0, nl)), dir, child });
    });
    child.on('exit', (code) => reject(new Error(`sink exited (${code}) before listening: ${err}`)));
  });
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', resolve);
    process.kill(child.pid, 'SIGTERM');
  });
}

// Runs the C driver; resolves to { status, result } where result is its one JSON line. Variables given as
// undefined in ENV are removed from the driver's environment.
function send(port, { rcpt, env = {} } = {}) {
  const args = [String(port)];
  if (rcpt) args.push(rcpt);
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  const child = spawn(DRIVER, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  return new Promise((resolve) => {
    child.on('exit', (status) => {
      children.delete(child);
      let result = null;
      try {
        result = JSON.parse(out);
      } catch {
        /* asserted by the caller */
      }
      resolve({ status, result, stderr: err });
    });
  });
}

const messageEnv = (extra = {}) => ({
  PARLEY_TEST_FROM: `${FROM_NAME} <noreply@parley.test>`,
  PARLEY_TEST_SUBJECT: SUBJECT,
  PARLEY_TEST_TEXT: TEXT,
  PARLEY_TEST_HTML: HTML,
  PARLEY_TEST_UNSUB: UNSUB,
  ...extra,
});

const mailFiles = (dir) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

async function waitMails(dir, n, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const files = mailFiles(dir);
    if (files.length >= n) return files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    if (Date.now() > end) throw new Error(`expected ${n} mails in ${dir}, found ${files.length}`);
    await sleep(20);
  }
}

before(async () => {
  assert.ok(fs.existsSync(DRIVER), `driver not built: ${DRIVER}`);
  [sink, authSink] = await Promise.all([
    startSink('sink', ['--reject', 'gone@example.test=550', '--reject', 'busy@example.test=451']),
    startSink('auth', ['--auth', 'parley:s3cret pass']),
  ]);
});

after(async () => {
  await Promise.all([...children].map(stopChild));
  // A failed run keeps the sink's JSON files for a look.
  if (!process.exitCode) for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('a multipart message arrives intact: decoded subject, UTF-8 text, dot lines, List-Unsubscribe', async () => {
  const before_ = mailFiles(sink.dir).length;
  const { status, result, stderr } = await send(sink.port, { env: messageEnv() });
  assert.equal(status, 0, stderr);
  assert.deepEqual(result, { rc: 0, code: '', permanent: false, smtp_code: 250, curl_code: 0, error: '' });
  const [mail] = (await waitMails(sink.dir, before_ + 1)).slice(before_);

  assert.equal(mail.mail_from, 'noreply@parley.test');
  assert.deepEqual(mail.rcpt_to, ['alice@example.test']);
  assert.equal(mail.subject, SUBJECT);
  assert.deepEqual(mail.from, [{ name: FROM_NAME, address: 'noreply@parley.test' }]);
  assert.deepEqual(mail.to, [{ name: 'Alice', address: 'alice@example.test' }]);
  // The part ends at the CRLF that belongs to the boundary, so the text's final newline is not part of it.
  assert.equal(mail.text, TEXT.replace(/\n$/, ''));
  assert.equal(mail.html, HTML.replace(/\n$/, ''));

  // Wire form: the subject went as encoded-words, the From name too (non-ASCII), and the one-click pair is there.
  assert.match(mail.headers.subject[0], /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=( =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=)*$/);
  assert.match(mail.headers.from[0], /^=\?UTF-8\?B\?.+\?= <noreply@parley\.test>$/);
  assert.deepEqual(mail.headers['list-unsubscribe'], [`<${UNSUB}>`]);
  assert.deepEqual(mail.headers['list-unsubscribe-post'], ['List-Unsubscribe=One-Click']);
  assert.match(mail.headers['message-id'][0], /^<[0-9a-f]{32}@parley\.test>$/);
  assert.match(mail.headers.date[0], /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000$/);
  assert.match(mail.headers['content-type'][0], /^multipart\/alternative; boundary="=_parley_[0-9a-f]{24}"$/);
  assert.equal(mail.headers.bcc, undefined);

  // libcurl dot-stuffed these lines on the way and the server removed the extra dots: they arrive as rendered.
  // A lone "." line would have ended DATA early without the stuffing, and the rest of the mail would be missing.
  assert.ok(mail.raw.includes('\r\n.\r\n.a line that starts with a dot\r\n..and one with two\r\n'), mail.raw);
  assert.ok(mail.raw.includes('\r\n.dot at the start of an html line\r\n'), mail.raw);
  assert.ok(mail.raw.endsWith('--\r\n'), 'the closing boundary arrived');
  // RFC 5322's hard limit everywhere, quoted-printable's 76 in the bodies.
  const [head, ...body] = mail.raw.split('\r\n\r\n');
  for (const line of head.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 998, `long line: ${line}`);
  for (const line of body.join('\r\n\r\n').split('\r\n')) assert.ok(line.length <= 76, `long line: ${line}`);
  assert.ok(!/[^\r]\n/.test(mail.raw), 'bare LF in the raw message');
});

test('a text-only message is one quoted-printable text/plain part', async () => {
  const before_ = mailFiles(sink.dir).length;
  const env = messageEnv({ PARLEY_TEST_HTML: undefined, PARLEY_TEST_UNSUB: undefined });
  const { status, stderr } = await send(sink.port, { rcpt: 'carol@example.test', env });
  assert.equal(status, 0, stderr);
  const [mail] = (await waitMails(sink.dir, before_ + 1)).slice(before_);
  assert.deepEqual(mail.rcpt_to, ['carol@example.test']);
  assert.deepEqual(mail.headers['content-type'], ['text/plain; charset=utf-8']);
  assert.deepEqual(mail.headers['content-transfer-encoding'], ['quoted-printable']);
  assert.equal(mail.headers['list-unsubscribe'], undefined);
  assert.equal(mail.headers['list-unsubscribe-post'], undefined);
  assert.equal(mail.html, null);
  assert.equal(mail.subject, SUBJECT);
  // The body ends with the text's final line break, so here the text arrives exactly as given.
  assert.equal(mail.text, TEXT);
  assert.ok(mail.raw.includes('\r\n\r\nHallo Zo=C3=AB,\r\n'), mail.raw);
  assert.ok(mail.raw.includes('\r\n.\r\n.a line that starts with a dot\r\n'), mail.raw);
});

test('nothing listening on the port is a temporary failure', async () => {
  const port = await freePort();
  const { status, result } = await send(port, { env: messageEnv() });
  assert.equal(status, 2);
  assert.equal(result.code, 'unavailable');
  assert.equal(result.permanent, false);
  assert.equal(result.curl_code, 7 /* CURLE_COULDNT_CONNECT */);
  assert.match(result.error, /connect/i);
});

test('a recipient refused with 550 is a permanent failure and nothing is delivered', async () => {
  const before_ = mailFiles(sink.dir).length;
  const { status, result } = await send(sink.port, { rcpt: 'gone@example.test', env: messageEnv() });
  assert.equal(status, 3);
  assert.equal(result.permanent, true);
  assert.equal(result.smtp_code, 550);
  assert.match(result.error, /RCPT failed: 550/);
  await sleep(100);
  assert.equal(mailFiles(sink.dir).length, before_);
});

test('a recipient refused with 451 is a temporary failure', async () => {
  const { status, result } = await send(sink.port, { rcpt: 'busy@example.test', env: messageEnv() });
  assert.equal(status, 2);
  assert.equal(result.permanent, false);
  assert.equal(result.smtp_code, 451);
});

test('AUTH with the configured credentials; wrong ones are a temporary failure', async () => {
  const good = await send(authSink.port, {
    env: messageEnv({ PARLEY_TEST_SMTP_USER: 'parley', PARLEY_TEST_SMTP_PASS: 's3cret pass' }),
  });
  assert.equal(good.status, 0, good.stderr);
  const [mail] = await waitMails(authSink.dir, 1);
  assert.equal(mail.user, 'parley');
  assert.equal(mail.subject, SUBJECT);

  const bad = await send(authSink.port, {
    env: messageEnv({ PARLEY_TEST_SMTP_USER: 'parley', PARLEY_TEST_SMTP_PASS: 'wrong' }),
  });
  assert.equal(bad.status, 2);
  assert.equal(bad.result.permanent, false, 'a credentials mistake must not dead-letter the mail');
  assert.equal(bad.result.smtp_code, 535);
  assert.ok(!bad.result.error.includes('wrong'), 'the password never appears in the error');

  const none = await send(authSink.port, { env: messageEnv() });
  assert.equal(none.status, 2, 'a relay that requires AUTH refuses MAIL with 530, which is not about the message');
  assert.equal(none.result.smtp_code, 530);
  assert.equal(mailFiles(authSink.dir).length, 1);
});

test('require_tls against a relay without STARTTLS fails temporarily and sends nothing', async () => {
  const before_ = mailFiles(sink.dir).length;
  const { status, result } = await send(sink.port, { env: messageEnv({ PARLEY_TEST_REQUIRE_TLS: '1' }) });
  assert.equal(status, 2);
  assert.equal(result.permanent, false);
  assert.equal(result.curl_code, 64 /* CURLE_USE_SSL_FAILED */);
  await sleep(100);
  assert.equal(mailFiles(sink.dir).length, before_);
});
