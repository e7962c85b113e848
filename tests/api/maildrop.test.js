// The development mail drop (smtp.url "file:DIR", used by the quick start): every mail the outbox would send over
// SMTP is written as one .eml file instead, through the same mailer thread and outbox, so registration and the
// other mail flows work without a relay. The test follows a registration's verification link out of the file.
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

test('file: smtp.url writes each mail as an .eml file (0600) that carries the working verification link', async () => {
  const redis = await h.startRedis();
  started.push(redis);
  const drop = path.join(h.tmpdir('maildrop'), 'mail');
  const p = await h.startParley({
    redisUrl: redis.url,
    extra: `smtp:\n  url: "file:${drop}"\naccounts:\n  argon2_memory_kib: 1024\n  argon2_passes: 1\n`,
  });
  started.push(p);
  const user = { username: `drop${process.pid}`, email: `drop${process.pid}@example.com`, password: 'plum orbit canyon lantern 42' };
  const r = await h.h1(p, 'POST', '/api/v1/auth/register', { body: user });
  assert.equal(r.status, 202, r.text);
  let files = [];
  for (let i = 0; i < 100 && files.length === 0; i++) {
    await h.sleep(50);
    files = fs.existsSync(drop) ? fs.readdirSync(drop).filter((f) => f.endsWith('.eml')) : [];
  }
  assert.equal(files.length, 1, `one mail in ${drop}: ${files}`);
  assert.match(files[0], /^\d{13}-[0-9a-f]{12}\.eml$/);
  const st = fs.statSync(path.join(drop, files[0]));
  assert.equal(st.mode & 0o777, 0o600, 'only the owner may read a mail (it holds a token)');
  const text = fs.readFileSync(path.join(drop, files[0]), 'utf8');
  assert.match(text, new RegExp(`^X-Envelope-To: <${user.email}>\\r\\n`));
  assert.match(text, /^Subject: Verify your e-mail address/m);
  // The body is quoted-printable: undo soft line breaks and =XX escapes, then find the token.
  const flat = text.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, x) => String.fromCharCode(parseInt(x, 16)));
  const m = /\/account\/verify#token=([0-9a-f]{16}\.[A-Za-z0-9_-]{43})/.exec(flat);
  assert.ok(m, 'the verification link');
  const v = await h.h1(p, 'POST', '/api/v1/auth/verify', { body: { token: m[1] } });
  assert.equal(v.status, 200, v.text);
  const login = await h.h1(p, 'POST', '/api/v1/auth/login', { body: { login: user.username, password: user.password } });
  assert.equal(login.status, 200, login.text);
  assert.deepEqual(fs.readdirSync(drop).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
  await h.stopClean(p);
});
