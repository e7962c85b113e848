// Accounts (issue 4), the security side: nothing tells whether a user name or e-mail has an account (answers byte for
// byte, mails only to the owner, login timing dominated by argon2 for unknown names too); every bad input of every
// endpoint; the password policy; malformed tokens; sessions of other users; login delays after failures (no hard
// lock-out); the reset-mail and registration limits; argon2 on helper threads (a loop stays responsive under a burst
// of logins); tokens kept in Redis only as hashes.
//
// Three parleyd stacks (each a Redis, an SMTP sink and a parleyd): "main" (cheap argon2, free_failures 3,
// max_delay_s 4, mails_per_hour 2, reserved_names [staff], sites blog and news), "cost" (the default argon2 cost, one
// hash thread, one loop) and "register limit" (register_per_hour 2).
'use strict';
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./lib/harness');
const {
  ANY_FIELD, GENERIC_INVALID, startAccountStack, uniqName, strongPassword, newUser, assertErr, assertErrOneOf,
  assertAccepted, authClient, mailsOf, waitMailOf, linkToken, registerVerified, flush, assertSameAnswer, median,
} = require('./lib/accounts');

const SITES = [
  { id: 'blog', origins: ['https://blog.example'], moderation: 'none' },
  { id: 'news', origins: ['https://news.example'], moderation: 'none' },
];
const TOKEN_ALTERNATIVES = [[400, 'token_invalid'], [422, 'invalid']];

// An e-mail address of exactly N characters: a 64-character local part starting with TAG, dotted labels of at most
// 63 characters, ".example".
function addrOfLength(n, tag) {
  const local = `${tag}${'a'.repeat(64)}`.slice(0, 64);
  const d = n - local.length - 1 - '.example'.length;
  const body = Array.from({ length: d }, (_, i) => ((i + 1) % 64 === 0 && i !== d - 1 ? '.' : 'd')).join('');
  const addr = `${local}@${body}.example`;
  assert.equal(addr.length, n);
  return addr;
}

// A random, well-formed token nobody issued: <account id>.<secret>.
const unknownToken = () => `${crypto.randomBytes(8).toString('hex')}.${crypto.randomBytes(32).toString('base64url')}`;

describe('accounts security: main stack', () => {
  let stack;
  let p;
  let a;

  before(async () => {
    stack = await startAccountStack({
      sites: SITES,
      accounts: { free_failures: 3, max_delay_s: 4, mails_per_hour: 2, reserved_names: ['staff'] },
    });
    p = stack.parley;
    a = authClient(p);
  });

  after(async () => {
    if (stack) await stack.stop();
  });

  // --- enumeration ---

  it('register: a taken e-mail or a taken user name answers byte for byte like a fresh registration; only mails tell the owner', async () => {
    const taken = newUser('enum');
    const first = await a.register(taken);
    assertAccepted(first, 'first registration');
    await waitMailOf(stack, taken.email, 'verify');

    // Taken e-mail (new name) vs everything fresh.
    const dupMail = { ...newUser('enum'), email: taken.email };
    const fresh1 = newUser('enum');
    const rDupMail = await a.register(dupMail);
    const rFresh1 = await a.register(fresh1);
    assertAccepted(rFresh1, 'fresh registration');
    assertSameAnswer(rDupMail, rFresh1, 'taken e-mail vs fresh');
    assert.equal(rDupMail.text, first.text);

    // Taken user name (free e-mail), also in another case, vs everything fresh.
    const dupName = { ...newUser('enum'), username: taken.username };
    const dupNameCase = { ...newUser('enum'), username: taken.username.toUpperCase() };
    const fresh2 = newUser('enum');
    const rDupName = await a.register(dupName);
    const rDupNameCase = await a.register(dupNameCase);
    const rFresh2 = await a.register(fresh2);
    assertSameAnswer(rDupName, rFresh2, 'taken user name vs fresh');
    assertSameAnswer(rDupNameCase, rFresh2, 'taken user name in another case vs fresh');

    // The owner of the e-mail is told, with the lost-password page (and, still unverified, a fresh verify link).
    const exists = await waitMailOf(stack, taken.email, 'exists');
    assert.match(String(exists.subject), /already have an account/i);
    assert.ok(String(exists.text).includes(`${p.base}/account/lost-password`), `lost-password link:\n${exists.text}`);
    linkToken(exists, p, 'verify');
    // The one who picked a taken name is told so, at the address they gave.
    const nameMail = await waitMailOf(stack, dupName.email, 'nameTaken');
    assert.match(String(nameMail.subject), /user name/i);
    await waitMailOf(stack, dupNameCase.email, 'nameTaken');
    // The fresh ones get their verify mails.
    await waitMailOf(stack, fresh1.email, 'verify');
    await waitMailOf(stack, fresh2.email, 'verify');

    // No account was made or changed by the refused ones.
    assertErr(await a.login(dupMail.username, dupMail.password), 401, 'invalid_credentials', undefined, 'dupMail has no account');
    assertErr(await a.login(dupName.email, dupName.password), 401, 'invalid_credentials', undefined, 'dupName has no account');
    assertErr(await a.login(taken.username, dupName.password), 401, 'invalid_credentials', undefined, 'taken kept its password');
    assertErr(await a.login(taken.username, taken.password), 403, 'email_unverified', undefined, 'taken, right password');
    assert.equal(mailsOf(stack, taken.email, 'verify').length, 1, 'the taken address got no second plain verify mail');
  });

  it('forgot: a known and an unknown e-mail get the same bytes; only the known one gets a mail', async () => {
    const known = await registerVerified(stack, a, newUser('fgt'));
    const unknown = `${uniqName('nobody')}@example.com`;
    const rk = await a.forgot(known.email);
    const ru = await a.forgot(unknown);
    assertAccepted(rk, 'forgot known');
    assertSameAnswer(rk, ru, 'forgot known vs unknown');
    await waitMailOf(stack, known.email, 'reset');
    await flush(stack, a);
    assert.equal(mailsOf(stack, unknown).length, 0, 'no mail to an unknown address');
  });

  it('login: an unknown user and a wrong password (also of an unverified account) get identical 401 answers', async () => {
    const v = await registerVerified(stack, a, newUser('lgn'));
    const unverified = newUser('lgnu');
    assertAccepted(await a.register(unverified));
    const wrong = strongPassword();
    const rUnknown = await a.login(uniqName('ghost'), wrong);
    const rWrong = await a.login(v.username, wrong);
    const rUnverified = await a.login(unverified.username, wrong);
    const rUnknownMail = await a.login(`${uniqName('ghost')}@example.com`, wrong);
    const rWrongMail = await a.login(v.email, wrong);
    assertErr(rUnknown, 401, 'invalid_credentials', undefined, 'unknown user');
    assertSameAnswer(rUnknown, rWrong, 'unknown user vs wrong password');
    assertSameAnswer(rUnknown, rUnverified, 'unknown user vs wrong password of an unverified account');
    assertSameAnswer(rUnknown, rUnknownMail, 'unknown user vs unknown e-mail');
    assertSameAnswer(rUnknown, rWrongMail, 'unknown user vs wrong password by e-mail');
  });

  // --- bad input ---

  it('every endpoint with a body: non-JSON is 400 bad_json, another Content-Type is 415', async () => {
    const u = await registerVerified(stack, a, newUser('json'));
    const s = await a.loginOk(u);
    const routes = [
      ['/register', newUser('json')],
      ['/verify', { token: unknownToken() }],
      ['/verify/resend', { email: u.email }],
      ['/login', { login: uniqName('ghost'), password: strongPassword() }],
      ['/password/forgot', { email: u.email }],
      ['/password/reset', { token: unknownToken(), password: strongPassword() }],
      ['/password/change', { current: u.password, password: strongPassword() }, s.token],
    ];
    for (const [path, good, token] of routes) {
      for (const body of ['{"login":', 'login=x&password=y', '[]', '"text"', 'null', '']) {
        assertErr(await a.call('POST', path, body, { token }), 400, 'bad_json', undefined, `${path} body ${JSON.stringify(body)}`);
      }
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', null]) {
        const r = await a.call('POST', path, JSON.stringify(good), { token, headers: { 'content-type': ct } });
        assertErr(r, 415, 'unsupported_media_type', undefined, `${path} Content-Type ${ct}`);
      }
    }
    // Nothing above changed the password or ended the session.
    assert.equal((await a.me(s.token)).status, 200);
    await a.loginOk(u);
  });

  it('missing fields and wrong types (a number for a string) are 422 naming the field; for a token 400 token_invalid or 422', async () => {
    const u = await registerVerified(stack, a, newUser('types'));
    const s = await a.loginOk(u);
    const f = newUser('types');
    const pw = strongPassword();
    const cases = [
      ['/register', { email: f.email, password: f.password }, 'username'],
      ['/register', { username: f.username, password: f.password }, 'email'],
      ['/register', { username: f.username, email: f.email }, 'password'],
      ['/register', { username: 42, email: f.email, password: f.password }, 'username'],
      ['/register', { username: [f.username], email: f.email, password: f.password }, 'username'],
      ['/register', { username: f.username, email: 42, password: f.password }, 'email'],
      ['/register', { username: f.username, email: f.email, password: 123456789012345 }, 'password'],
      ['/register', { username: null, email: f.email, password: f.password }, 'username'],
      ['/login', { password: pw }, 'login'],
      ['/login', { login: u.username }, 'password'],
      ['/login', { login: 42, password: pw }, 'login'],
      ['/login', { login: u.username, password: 42 }, 'password'],
      ['/verify/resend', {}, 'email'],
      ['/verify/resend', { email: 42 }, 'email'],
      ['/password/forgot', {}, 'email'],
      ['/password/forgot', { email: true }, 'email'],
      ['/password/change', { password: pw }, 'current', s.token],
      ['/password/change', { current: u.password }, 'password', s.token],
      ['/password/change', { current: 42, password: pw }, 'current', s.token],
      ['/password/change', { current: u.password, password: 42 }, 'password', s.token],
    ];
    for (const [path, body, field, token] of cases) {
      const r = await a.call('POST', path, body, { token });
      assertErr(r, 422, 'invalid', field, `${path} ${JSON.stringify(body)}`);
    }
    for (const [path, body] of [
      ['/verify', {}], ['/verify', { token: 42 }], ['/verify', { token: null }], ['/verify', { token: [unknownToken()] }],
      ['/password/reset', { password: pw }], ['/password/reset', { token: 42, password: pw }],
    ]) {
      assertErrOneOf(await a.call('POST', path, body), TOKEN_ALTERNATIVES, 'token', `${path} ${JSON.stringify(body)}`);
    }
    // None of it registered f, changed u's password or ended u's session.
    assertErr(await a.login(f.username, f.password), 401, 'invalid_credentials', undefined, 'f was not registered');
    assert.equal((await a.me(s.token)).status, 200);
    await a.loginOk(u);
  });

  it('user names: 3 to 30 of [A-Za-z0-9_.-], not reserved (built-in names, site ids, reserved_names, any case): else 422 username', async () => {
    const bad = ['', 'ab', 'x'.repeat(31), 'bad name', 'bäd', 'semi;colon', 'a/b', 'at@sign', 'tab\tname', 'emoji😀x',
      'admin', 'Admin', 'ADMINISTRATOR', 'moderator', 'root', 'parley', 'support', 'System', 'blog', 'NEWS', 'staff',
      'Staff'];
    for (const name of bad) {
      const f = newUser('name');
      const r = await a.register({ ...f, username: name });
      assertErr(r, 422, 'invalid', 'username', `user name ${JSON.stringify(name)}`);
    }
    // The edges are fine: 3 characters, and 30 with every allowed kind of character.
    const three = `q${crypto.randomBytes(1).toString('hex')}`;
    const thirty = `A_b.c-${uniqName('n')}${'z'.repeat(30)}`.slice(0, 30);
    for (const name of [three, thirty]) {
      assert.equal(name.length === 3 || name.length === 30, true);
      assertAccepted(await a.register({ ...newUser('name'), username: name }), `user name ${name}`);
    }
  });

  it('e-mail addresses: not an address, or longer than 254 characters, is 422 email (register, resend, forgot)', async () => {
    const bad = ['plainaddress', '@example.com', 'user@', 'a b@example.com', 'user@@example.com', 'user@exa mple.com',
      '', addrOfLength(255, uniqName('long'))];
    for (const email of bad) {
      const f = newUser('mail');
      assertErr(await a.register({ ...f, email }), 422, 'invalid', 'email', `register ${JSON.stringify(email.slice(0, 40))}`);
      assertErr(await a.resend(email), 422, 'invalid', 'email', `resend ${JSON.stringify(email.slice(0, 40))}`);
      assertErr(await a.forgot(email), 422, 'invalid', 'email', `forgot ${JSON.stringify(email.slice(0, 40))}`);
    }
    const longest = addrOfLength(254, uniqName('long'));
    assertAccepted(await a.register({ ...newUser('mail'), email: longest }), '254-character address');
  });

  it('weak passwords are 422 password with a reason that does not quote them (register, change, reset); 128 strong characters round-trip', async () => {
    const local = `kestrel${crypto.randomBytes(2).toString('hex')}`;
    const cases = [
      ['common word and digits', () => ({ password: 'password123456' })],
      ['one repeated character', () => ({ password: 'aaaaaaaaaaaa' })],
      ['too short', () => ({ password: 'Xk9#' })],
      ['11 characters (min 12)', () => ({ password: strongPassword(11) })],
      ['129 characters', () => ({ password: strongPassword(129) })],
      ['contains the user name', (u) => ({ password: `Zq8!${u.username}vR2#` })],
      ['contains the e-mail local part', () => ({ email: `${local}@example.com`, password: `Zq8!${local}vR2#x` })],
    ];
    for (const [what, make] of cases) {
      const u = newUser('pw');
      const over = make(u);
      const e = assertErr(await a.register({ ...u, ...over }), 422, 'invalid', 'password', `register: ${what}`);
      assert.notEqual(e.message, GENERIC_INVALID, `${what}: the message says why`);
      assert.ok(!e.message.includes(over.password), `${what}: the message does not quote the password`);
    }
    // 12 (the minimum) and 128 (the maximum) strong characters are fine; 128 round-trips.
    assertAccepted(await a.register({ ...newUser('pw'), password: strongPassword(12) }), '12 characters');
    const long = await registerVerified(stack, a, { ...newUser('pw'), password: strongPassword(128) });
    assert.equal(long.password.length, 128);
    const s = await a.loginOk(long);

    // The same policy on a change...
    for (const weak of ['password123456', strongPassword(129), `Zq8!${long.username}vR2#`]) {
      const e = assertErr(await a.change(s.token, long.password, weak), 422, 'invalid', 'password', `change to ${weak.slice(0, 20)}`);
      assert.notEqual(e.message, GENERIC_INVALID);
    }
    // ...and on a reset, where a refused password does not use up the token.
    assertAccepted(await a.forgot(long.email));
    const token = linkToken(await waitMailOf(stack, long.email, 'reset'), p, 'reset');
    assertErr(await a.reset(token, 'aaaaaaaaaaaa'), 422, 'invalid', 'password', 'reset to a weak password');
    assertErr(await a.call('POST', '/password/reset', { token }), 422, 'invalid', 'password', 'reset without a password');
    assertErr(await a.login(long.username, 'aaaaaaaaaaaa'), 401, 'invalid_credentials', undefined, 'not set');
    const good = strongPassword(128);
    const r = await a.reset(token, good);
    assert.equal(r.status, 200, `the token still works after refused passwords: ${r.text}`);
    await a.loginOk(long, { password: good });
  });

  it('malformed, unknown and wrong-purpose tokens are 400 token_invalid (verify, reset); a verify token is no session', async () => {
    const base = 'A'.repeat(42);
    const malformed = ['', 'abc', 'A'.repeat(44), base, `${base}+`, `${base}/`, `${base}=`, `${'A'.repeat(41)}==`,
      `${base}!`, ` ${base}`, `${base}\u00e9`, 'A'.repeat(4000), unknownToken(),
      // the <account id>.<secret> shape, broken in each part
      `${'g'.repeat(16)}.${'A'.repeat(43)}`, `0123456789ABCDEF.${'A'.repeat(43)}`, `0123456789abcdef.${'A'.repeat(42)}`,
      `0123456789abcdef.${'A'.repeat(44)}`, `0123456789abcdef-${'A'.repeat(43)}`, `0123456789abcde.${'A'.repeat(44)}`];
    for (const t of malformed) {
      const what = `${JSON.stringify(t.slice(0, 50))} (${t.length})`;
      assertErr(await a.verify(t), 400, 'token_invalid', 'token', `verify ${what}`);
      assertErr(await a.reset(t, strongPassword()), 400, 'token_invalid', 'token', `reset ${what}`);
    }
    // Another account's id in front of a live secret: the secret belongs to its own account only.
    {
      const o1 = newUser('own1');
      const o2 = newUser('own2');
      assertAccepted(await a.register(o1));
      assertAccepted(await a.register(o2));
      const t1 = linkToken(await waitMailOf(stack, o1.email, 'verify'), p, 'verify');
      const t2 = linkToken(await waitMailOf(stack, o2.email, 'verify'), p, 'verify');
      const swapped = `${t2.slice(0, 16)}.${t1.slice(17)}`;
      assertErr(await a.verify(swapped), 400, 'token_invalid', 'token', "o1's secret under o2's id");
      assert.equal((await a.verify(t1)).status, 200, "o1's own token still verifies o1");
      assert.equal((await a.verify(t2)).status, 200, "o2's own token still verifies o2");
      const s1 = await a.loginOk(o1);
      const s2 = await a.loginOk(o2);
      assertErr(await a.me(`${s2.token.slice(0, 16)}.${s1.token.slice(17)}`), 401, 'unauthorized', undefined,
        "o1's session secret under o2's id");
    }
    // A live verify token is not a reset token nor a session, and trying it so does not use it up.
    const u = newUser('purpose');
    assertAccepted(await a.register(u));
    const vt = linkToken(await waitMailOf(stack, u.email, 'verify'), p, 'verify');
    assertErr(await a.reset(vt, strongPassword()), 400, 'token_invalid', 'token', 'a verify token on /password/reset');
    assertErr(await a.me(vt), 401, 'unauthorized', undefined, 'a verify token as a session');
    assert.equal((await a.verify(vt)).status, 200, 'the verify token still verifies');
    // A reset token does not verify.
    assertAccepted(await a.forgot(u.email));
    const rt = linkToken(await waitMailOf(stack, u.email, 'reset'), p, 'reset');
    assertErr(await a.verify(rt), 400, 'token_invalid', 'token', 'a reset token on /verify');
    assertErr(await a.me(rt), 401, 'unauthorized', undefined, 'a reset token as a session');
    // A session token is neither.
    const s = await a.loginOk(u);
    assertErr(await a.verify(s.token), 400, 'token_invalid', 'token', 'a session token on /verify');
    assertErr(await a.reset(s.token, strongPassword()), 400, 'token_invalid', 'token', 'a session token on /password/reset');
    assert.equal((await a.me(s.token)).status, 200);
  });

  it('calls that need a session are 401 unauthorized without a valid Bearer token', async () => {
    const calls = [
      ['GET', '/me'], ['GET', '/sessions'], ['DELETE', '/sessions/0123456789abcdef'], ['POST', '/logout'],
      ['POST', '/password/change', { current: strongPassword(), password: strongPassword() }],
    ];
    const auths = [null, 'Bearer', 'Bearer ', `Bearer ${unknownToken()}`, 'Bearer abc', `Bearer ${'A'.repeat(5000)}`,
      'Basic dXNlcjpwYXNzd29yZA=='];
    for (const [method, path, body] of calls) {
      for (const auth of auths) {
        const r = await a.call(method, path, body, { headers: { authorization: auth } });
        assertErr(r, 401, 'unauthorized', undefined, `${method} ${path} with ${JSON.stringify(String(auth).slice(0, 30))}`);
      }
    }
  });

  it('DELETE /sessions/{id} of another user\'s session is 404 and leaves it alive; ids that are no session are 404', async () => {
    const u1 = await registerVerified(stack, a, newUser('own'));
    const u2 = await registerVerified(stack, a, newUser('own'));
    const s1 = await a.loginOk(u1);
    const s2 = await a.loginOk(u2);
    const l2 = await a.sessions(s2.token);
    assert.equal(l2.status, 200, l2.text);
    const id2 = l2.json.sessions.find((x) => x.current).id;
    assertErr(await a.deleteSession(s1.token, id2), 404, 'not_found', ANY_FIELD, 'another user\'s session');
    assert.equal((await a.me(s2.token)).status, 200, 'the other user\'s session lives on');
    const l1 = await a.sessions(s1.token);
    assert.ok(!l1.json.sessions.some((x) => x.id === id2), 'nobody sees another user\'s sessions');
    for (const id of ['xyz', '0123456789ABCDEF', '0123456789abcdef0', s2.token]) {
      assertErr(await a.deleteSession(s1.token, id), 404, 'not_found', ANY_FIELD, `session id ${id}`);
    }
    assert.equal((await a.me(s2.token)).status, 200, 'not even its token as an id ends it');
  });

  // --- login delays, mail and registration limits ---

  it('after free_failures (3) failed logins the next one waits (429 + Retry-After), even with the right password; unknown names alike; after the wait the right password works', async () => {
    const v = await registerVerified(stack, a, newUser('slow'));
    const ghost = uniqName('ghost');
    const wrong = strongPassword();
    for (let i = 1; i <= 3; i++) {
      assertErr(await a.login(v.username, wrong), 401, 'invalid_credentials', undefined, `account failure ${i}`);
      assertErr(await a.login(ghost, wrong), 401, 'invalid_credentials', undefined, `unknown name failure ${i}`);
    }
    const rv = await a.login(v.username, v.password);
    const rg = await a.login(ghost, v.password);
    const retries = [];
    for (const [what, r] of [['account, right password', rv], ['unknown name', rg]]) {
      assertErr(r, 429, 'rate_limited', undefined, what);
      const retry = r.headers['retry-after'];
      assert.match(String(retry), /^\d+$/, `${what}: Retry-After in whole seconds: ${retry}`);
      assert.ok(Number(retry) >= 1 && Number(retry) <= 4, `${what}: 1 <= Retry-After ${retry} <= max_delay_s 4`);
      retries.push(Number(retry));
    }
    assertSameAnswer(rv, rg, 'the delay of an account vs an unknown name');
    // The delay is the account's: by e-mail too.
    const byMail = await a.login(v.email, v.password);
    assertErr(byMail, 429, 'rate_limited', undefined, 'the same account by e-mail');
    retries.push(Number(byMail.headers['retry-after']));

    await h.sleep(Math.max(...retries) * 1000 + 300);
    const ok = await a.login(v.username, v.password);
    assert.equal(ok.status, 200, `the right password after Retry-After: ${ok.text}`);
    assertErr(await a.login(ghost, wrong), 401, 'invalid_credentials', undefined, 'the unknown name after its wait');
  });

  it('forgot: at most mails_per_hour (2) reset mails per account; every request still answers 202', async () => {
    const v = await registerVerified(stack, a, newUser('lim'));
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const r = await a.forgot(v.email);
      assertAccepted(r, `forgot ${i + 1}`);
      answers.push(r.text);
    }
    assert.equal(new Set(answers).size, 1, 'the same bytes every time');
    await waitMailOf(stack, v.email, 'reset', { count: 2 });
    await flush(stack, a);
    assert.equal(mailsOf(stack, v.email, 'reset').length, 2, 'exactly 2 reset mails');
  });

  it('tokens are stored hashed: no session, reset or verify token appears in any Redis key or value', async () => {
    const v = await registerVerified(stack, a, newUser('store'));
    const s = await a.loginOk(v);
    assertAccepted(await a.forgot(v.email));
    const resetToken = linkToken(await waitMailOf(stack, v.email, 'reset'), p, 'reset');
    const pending = newUser('store');
    assertAccepted(await a.register(pending));
    const verifyToken = linkToken(await waitMailOf(stack, pending.email, 'verify'), p, 'verify');
    const cmd = (...args) => stack.redis.cmd(...args);

    // Mails in flight carry their links: let the outbox drain first (a sent mail leaves the stream).
    const end = Date.now() + 10000;
    for (;;) {
      const outs = (await cmd('KEYS', '*mail*')).filter((k) => /:out$/.test(k));
      let left = 0;
      for (const k of outs) if ((await cmd('TYPE', k)) === 'stream') left += await cmd('XLEN', k);
      if (left === 0) break;
      assert.ok(Date.now() < end, `the outbox drained: ${left} entries left`);
      await h.sleep(100);
    }

    const needles = [];
    for (const [what, t] of [['session token', s.token], ['reset token', resetToken], ['verify token', verifyToken]]) {
      // The account id in front of the dot is not secret (it is the account's key); the part after it is.
      const secret = t.slice(t.indexOf('.') + 1);
      assert.equal(secret.length, 43, `${what} has a 43-character secret part`);
      const raw = Buffer.from(secret, 'base64url');
      needles.push([what, secret], [`${what} (hex)`, raw.toString('hex')], [`${what} (base64)`, raw.toString('base64').replace(/=+$/, '')]);
    }
    const keys = await cmd('KEYS', '*');
    assert.ok(keys.length > 0, 'Redis holds keys');
    const hits = [];
    const look = (key, where, value) => {
      for (const [what, n] of needles) if (String(value).includes(n)) hits.push(`${what} in ${where} of ${key}`);
    };
    for (const key of keys) {
      look(key, 'the name', key);
      const type = await cmd('TYPE', key);
      let values = [];
      if (type === 'string') values = [await cmd('GET', key)];
      else if (type === 'hash') values = await cmd('HGETALL', key);
      else if (type === 'list') values = await cmd('LRANGE', key, '0', '-1');
      else if (type === 'set') values = await cmd('SMEMBERS', key);
      else if (type === 'zset') values = await cmd('ZRANGE', key, '0', '-1');
      else if (type === 'stream') values = (await cmd('XRANGE', key, '-', '+')).flatMap(([id, f]) => [id, ...f]);
      for (const val of values) look(key, `a ${type} value`, val);
    }
    assert.deepEqual(hits, [], `tokens stored in the clear among ${keys.length} keys`);
    // Control: the tokens are live (so they are stored, just not in the clear).
    assert.equal((await a.me(s.token)).status, 200);
    assert.equal((await a.verify(verifyToken)).status, 200);
  });
});

describe('accounts security: default argon2 cost, one hash thread, one loop', () => {
  let stack;
  let p;
  let a;

  before(async () => {
    // No argon2 override: the default cost. free_failures high so that repeated failures are never delayed here.
    stack = await startAccountStack({ fastHash: false, threads: 1, sites: SITES, accounts: { hash_threads: 1, free_failures: 100 } });
    p = stack.parley;
    a = authClient(p);
  });

  after(async () => {
    if (stack) await stack.stop();
  });

  it('timing: login for an unknown user takes about as long as a wrong password (medians within 50%)', async (t) => {
    const v = await registerVerified(stack, a, newUser('time'));
    const ghost = uniqName('ghost');
    const wrong = strongPassword();
    const timed = async (login) => {
      const t0 = process.hrtime.bigint();
      const r = await a.login(login, wrong);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assertErr(r, 401, 'invalid_credentials', undefined, `login ${login}`);
      return ms;
    };
    await timed(ghost); // warm-up: connections, caches, the first argon2 allocation
    await timed(v.username);
    const unknown = [];
    const known = [];
    for (let i = 0; i < 10; i++) {
      unknown.push(await timed(ghost));
      known.push(await timed(v.username));
    }
    const mu = median(unknown);
    const mk = median(known);
    const diff = Math.abs(mu - mk) / Math.max(mu, mk);
    t.diagnostic(`median login: unknown user ${mu.toFixed(1)} ms, wrong password ${mk.toFixed(1)} ms (${(diff * 100).toFixed(0)}% apart)`);
    assert.ok(diff < 0.5, `medians differ by ${(diff * 100).toFixed(0)}%: unknown ${mu.toFixed(1)} ms, wrong password ${mk.toFixed(1)} ms`);
  });

  it('argon2 never blocks the loop: /healthz answers within 1 s while 50 logins queue for the hash thread', async (t) => {
    let done = 0;
    const tag = uniqName('burst');
    const logins = Array.from({ length: 50 }, (_, i) => a.login(`${tag}n${i}`, 'Some-Wrong-Password-1').then((r) => {
      done += 1;
      return r;
    }));
    await h.sleep(50);
    const times = [];
    for (let i = 0; i < 20; i++) {
      const t0 = Date.now();
      const r = await h.h1(p, 'GET', '/healthz');
      const ms = Date.now() - t0;
      assert.equal(r.status, 200, `healthz ${i}: ${r.status} ${r.text}`);
      assert.ok(ms < 1000, `healthz ${i} took ${ms} ms while logins were hashing`);
      times.push(ms);
    }
    const pendingAtEnd = 50 - done;
    const t0 = Date.now();
    const results = await Promise.all(logins);
    t.diagnostic(`healthz max ${Math.max(...times)} ms; logins still running when the healthz loop ended: ${pendingAtEnd}; ` +
      `the rest took ${Date.now() - t0} ms more`);
    assert.ok(pendingAtEnd > 0, 'the health checks ran while logins were still hashing (else this shows nothing)');
    const byStatus = {};
    for (const r of results) {
      byStatus[r.status] = (byStatus[r.status] || 0) + 1;
      if (r.status === 503) assertErr(r, 503, 'unavailable', undefined, 'login with a full hash queue');
      else assertErr(r, 401, 'invalid_credentials', undefined, 'login of an unknown user');
    }
    t.diagnostic(`login answers: ${JSON.stringify(byStatus)}`);
  });

  it('more logins than the hash thread can take within 5 s: the excess gets a prompt 503 with Retry-After, none hangs', async (t) => {
    // About 50 ms per hash on one thread: 400 at once need ~20 s. A job that waited 5 s for the helper is answered
    // 503 instead of hashed, so every answer comes within about 6 s and nothing is left for a client timeout.
    const tag = uniqName('flood');
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => {
      const s0 = Date.now();
      return a.login(`${tag}n${i}`, 'Some-Wrong-Password-1').then((r) => ({ r, ms: Date.now() - s0 }));
    }));
    const byStatus = {};
    for (const { r } of results) {
      byStatus[r.status] = (byStatus[r.status] || 0) + 1;
      if (r.status === 503) {
        assertErr(r, 503, 'unavailable', undefined, 'a login that waited too long');
        assert.match(String(r.headers['retry-after']), /^\d+$/, 'Retry-After on the 503');
      } else {
        assertErr(r, 401, 'invalid_credentials', undefined, 'a login that was hashed');
      }
    }
    const slowest = Math.max(...results.map((x) => x.ms));
    t.diagnostic(`400 logins in ${Date.now() - t0} ms: ${JSON.stringify(byStatus)}; slowest answer ${slowest} ms`);
    assert.ok(byStatus[503] > 0, 'some logins were turned away (else the flood was too small to show anything)');
    assert.ok(byStatus[401] > 0, 'some logins were hashed');
    assert.ok(slowest < 15000, `every login answered within 15 s (slowest ${slowest} ms)`);
  });
});

describe('accounts security: registrations per IP (register_per_hour 2)', () => {
  let stack;
  let a;

  before(async () => {
    stack = await startAccountStack({ sites: SITES, accounts: { register_per_hour: 2 } });
    a = authClient(stack.parley);
  });

  after(async () => {
    if (stack) await stack.stop();
  });

  it('the third registration from one IP within the hour is 429; other auth calls are not limited by it', async () => {
    const u1 = newUser('ip');
    assertAccepted(await a.register(u1), 'registration 1');
    assertAccepted(await a.register(newUser('ip')), 'registration 2');
    const r = await a.register(newUser('ip'));
    assertErr(r, 429, 'rate_limited', undefined, 'registration 3');
    if (r.headers['retry-after'] !== undefined) {
      assert.match(String(r.headers['retry-after']), /^\d+$/);
      assert.ok(Number(r.headers['retry-after']) >= 1);
    }
    // Verifying and logging in still work.
    const v = await a.verify(linkToken(await waitMailOf(stack, u1.email, 'verify'), stack.parley, 'verify'));
    assert.equal(v.status, 200, v.text);
    await a.loginOk(u1);
  });
});
