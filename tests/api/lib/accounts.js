// Helpers shared by the accounts API tests (accounts.test.js, accounts_security.test.js): a mail stack set up for
// accounts (cheap argon2, the auth limit out of the way), a client for /api/v1/auth that checks Cache-Control:
// no-store on every answer, unique users with strong passwords, the mails of one address by kind, the token of a mail
// link, and the strict JSON error assertion of DESIGN.md.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./harness');
const { startMailStack } = require('./mailstack');

const AUTH = '/api/v1/auth';
// argon2id as cheap as the config allows to be useful, for every test that is not about the hashing cost.
const FAST_ARGON2 = { argon2_memory_kib: 1024, argon2_passes: 1 };
// The auth route class defaults to 30 requests / 60 s per client IP; every test client is 127.0.0.1.
const OPEN_LIMITS = { auth: [100000, 60] };
// A token: the account id (16 hex digits, not secret), a dot, and 43 base64url characters (256 random bits).
const TOKEN_RE = /^[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/;
const ISO_UTC_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
// Passed as FIELD to assertErr: the error may or may not name a field.
const ANY_FIELD = Symbol('any field');
// The default message of the INVALID row of core_errors.def: a password refusal must say more than this.
const GENERIC_INVALID = 'A field has an invalid value.';

// A Redis, an SMTP sink and a parleyd mailing through it, for accounts: registrations per IP unlimited (every client
// is 127.0.0.1), the auth limit out of the way and, unless FASTHASH is false, cheap argon2. ACCOUNTS and LIMITS
// override those; the rest (sites, admins, comments, env, threads) goes to startMailStack as it is.
async function startAccountStack({ fastHash = true, accounts = {}, limits = {}, ...rest } = {}) {
  return startMailStack({
    ...rest,
    accounts: { register_per_hour: 0, ...(fastHash ? FAST_ARGON2 : {}), ...accounts },
    limits: { ...OPEN_LIMITS, ...limits },
  });
}

let seq = 0;
// A user name nobody else uses: lower case letters and digits, at most 30 characters, starting with TAG.
function uniqName(tag = 'u') {
  const s = `${tag}${process.pid.toString(36)}${(++seq).toString(36)}${crypto.randomBytes(3).toString('hex')}`;
  return s.toLowerCase().slice(0, 30);
}

const PW_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*+-=?@^_~';
// N random characters: far beyond zxcvbn's 10^10 guesses for N >= 12.
function strongPassword(n = 20) {
  let s = '';
  while (s.length < n) {
    for (const b of crypto.randomBytes(n)) {
      if (b < 256 - (256 % PW_ALPHABET.length)) s += PW_ALPHABET[b % PW_ALPHABET.length];
      if (s.length === n) break;
    }
  }
  return s;
}

// A fresh user: unique lower-case name, e-mail <name>@example.com, a strong password.
function newUser(tag = 'u') {
  const username = uniqName(tag);
  return { username, email: `${username}@example.com`, password: strongPassword() };
}

// Asserts RES is the JSON error STATUS/CODE: {"error":{"code","message","field"?}} and nothing else, a non-empty
// message, and error.field === FIELD (undefined: no field at all; ANY_FIELD: not checked).
function assertErr(res, status, code, field, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, ctx);
  assert.ok(res.json && typeof res.json === 'object' && res.json.error, `JSON error body: ${ctx}`);
  assert.deepEqual(Object.keys(res.json), ['error'], ctx);
  const e = res.json.error;
  assert.equal(e.code, code, ctx);
  assert.equal(typeof e.message, 'string', ctx);
  assert.ok(e.message.length > 0, `a message: ${ctx}`);
  const extra = Object.keys(e).filter((k) => !['code', 'message', 'field'].includes(k));
  assert.deepEqual(extra, [], ctx);
  if (field === ANY_FIELD) return e;
  if (field === undefined) assert.equal('field' in e, false, `no field expected: ${ctx}`);
  else assert.equal(e.field, field, ctx);
  return e;
}

// Asserts RES is one of the errors ALTERNATIVES ([[status, code], ...]) naming FIELD: for the cases where the
// contract leaves the status open (e.g. a missing token: 400 token_invalid or 422 invalid).
function assertErrOneOf(res, alternatives, field, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
  const hit = alternatives.find(([s, c]) => res.status === s && res.json && res.json.error && res.json.error.code === c);
  assert.ok(hit, `one of ${JSON.stringify(alternatives)} expected: ${ctx}`);
  return assertErr(res, hit[0], hit[1], field, what);
}

// The "accepted" answer of register, resend and forgot: 202 {"status":"accepted","message":"…"}.
function assertAccepted(res, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, 202, ctx);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, ctx);
  assert.deepEqual(Object.keys(res.json).sort(), ['message', 'status'], ctx);
  assert.equal(res.json.status, 'accepted', ctx);
  assert.ok(typeof res.json.message === 'string' && res.json.message.length > 0, ctx);
}

// The user object of /login and /me for U (as newUser made it).
function assertUser(user, u, role = 'user', what = '') {
  const ctx = `${what}: ${JSON.stringify(user)}`;
  assert.ok(user && typeof user === 'object', ctx);
  assert.deepEqual(Object.keys(user).sort(), ['created', 'email', 'id', 'role', 'username', 'verified'], ctx);
  assert.ok((typeof user.id === 'string' && user.id.length > 0) || (Number.isInteger(user.id) && user.id > 0), ctx);
  assert.equal(user.username, u.username, ctx);
  assert.equal(user.email, u.email, ctx);
  assert.equal(user.verified, true, ctx);
  assert.equal(user.role, role, ctx);
  assert.match(String(user.created), ISO_UTC_RE, ctx);
}

// A client for the accounts API of parleyd P. Every call answers like harness.h1 and asserts Cache-Control: no-store.
// opts: token (sent as Bearer), ua (User-Agent), headers.
function authClient(p) {
  const call = async (method, path, body, opts = {}) => {
    const headers = { ...(opts.headers || {}) };
    if (opts.ua) headers['user-agent'] = opts.ua;
    if (opts.token !== undefined && opts.token !== null) headers.authorization = `Bearer ${opts.token}`;
    const r = await h.h1(p, method, `${AUTH}${path}`, { body, headers });
    assert.match(String(r.headers['cache-control']), /\bno-store\b/,
      `Cache-Control: no-store on ${method} ${AUTH}${path} -> ${r.status} ${r.text.slice(0, 200)}`);
    return r;
  };
  const a = {
    p,
    call,
    register: (u, opts) => call('POST', '/register', { username: u.username, email: u.email, password: u.password }, opts),
    verify: (token, opts) => call('POST', '/verify', { token }, opts),
    resend: (email, opts) => call('POST', '/verify/resend', { email }, opts),
    login: (login, password, opts) => call('POST', '/login', { login, password }, opts),
    logout: (token, opts = {}) => call('POST', '/logout', undefined, { ...opts, token }),
    me: (token, opts = {}) => call('GET', '/me', undefined, { ...opts, token }),
    sessions: (token, opts = {}) => call('GET', '/sessions', undefined, { ...opts, token }),
    deleteSession: (token, id, opts = {}) => call('DELETE', `/sessions/${id}`, undefined, { ...opts, token }),
    change: (token, current, password, opts = {}) => call('POST', '/password/change', { current, password }, { ...opts, token }),
    forgot: (email, opts) => call('POST', '/password/forgot', { email }, opts),
    reset: (token, password, opts) => call('POST', '/password/reset', { token, password }, opts),
    // Logs U in (login defaults to the user name) and asserts 200; returns the JSON {token, expires, user}.
    async loginOk(u, opts = {}) {
      const r = await a.login(opts.login || u.username, opts.password || u.password, opts);
      assert.equal(r.status, 200, `login ${u.username}: ${r.text}`);
      assert.match(String(r.json.token), TOKEN_RE, r.text);
      return r.json;
    },
  };
  return a;
}

// --- mails ---

const lc = (s) => String(s).toLowerCase();
// Subjects by kind (case-insensitive, as the contract words them). A "verify" mail is the registration/resend mail,
// not the "already have an account" one (which may carry a verify link too).
const KINDS = {
  // Subjects name the user (e.g. "… for reset1a2b"), so each kind matches its own wording, not a bare word.
  verify: (s) => /^verify your e-mail/i.test(s),
  exists: (s) => /already have an account/i.test(s),
  nameTaken: (s) => /user name is taken/i.test(s),
  reset: (s) => /^reset your password/i.test(s),
  changed: (s) => /password was changed/i.test(s),
  any: () => true,
};

// The sink's mails to ADDR (case-insensitive) of KIND, oldest first.
function mailsOf(stack, addr, kind = 'any') {
  const k = KINDS[kind];
  assert.ok(k, `mail kind ${kind}`);
  return stack.mails().filter((m) => m.rcpt_to.map(lc).includes(lc(addr)) && k(String(m.subject || '')));
}

// Waits until ADDR has at least COUNT mails of KIND and returns the COUNT-th one; fails after MS.
async function waitMailOf(stack, addr, kind, { count = 1, ms = 10000 } = {}) {
  const end = Date.now() + ms;
  for (;;) {
    const got = mailsOf(stack, addr, kind);
    if (got.length >= count) return got[count - 1];
    if (Date.now() > end) {
      const all = mailsOf(stack, addr).map((m) => m.subject);
      assert.fail(`no ${kind} mail #${count} to ${addr} within ${ms} ms (its mails: ${JSON.stringify(all)})`);
    }
    await h.sleep(50);
  }
}

const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The token of the ${public_url}/account/<KIND>#token=<token> link in MAIL's text (public_url is the harness's
// http://127.0.0.1:<port>), asserted to have the token shape (TOKEN_RE).
function linkToken(mail, p, kind) {
  const re = new RegExp(`${reEscape(p.base)}/account/${kind}#token=([^\\s<>"')\\]]*)`);
  const m = re.exec(String(mail.text));
  assert.ok(m, `a ${p.base}/account/${kind}#token=… link in the mail "${mail.subject}":\n${mail.text}`);
  assert.match(m[1], TOKEN_RE, `the ${kind} token is <id>.<43 base64url characters>: ${m[0]}`);
  return m[1];
}

// Registers U, follows the link of its verify mail; returns U.
async function registerVerified(stack, a, u) {
  assertAccepted(await a.register(u), `register ${u.username}`);
  const mail = await waitMailOf(stack, u.email, 'verify');
  const v = await a.verify(linkToken(mail, stack.parley, 'verify'));
  assert.equal(v.status, 200, `verify ${u.username}: ${v.text}`);
  return u;
}

// Negative mail checks ("no mail for X") use a sentinel: a registration whose verify mail must arrive. One mailer
// thread reads the outbox in order, so once it is in the sink, what was queued before has been sent too; the short
// grace afterwards covers a mail queued just after the answer that asked for it.
async function flush(stack, a) {
  const s = newUser('sentinel');
  assertAccepted(await a.register(s), 'sentinel registration');
  await waitMailOf(stack, s.email, 'verify');
  await h.sleep(300);
}

// Every header but Date (and the connection bookkeeping), for comparing two answers byte for byte.
function headersForCompare(res) {
  const out = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (!['date', 'connection', 'keep-alive'].includes(k)) out[k] = v;
  }
  return out;
}

// Asserts two answers are indistinguishable: status, body bytes, and headers other than Date.
function assertSameAnswer(x, y, what) {
  assert.equal(x.status, y.status, `${what}: status ${x.status} vs ${y.status}`);
  assert.equal(x.text, y.text, `${what}: bodies differ:\n${x.text}\n${y.text}`);
  assert.deepEqual(headersForCompare(x), headersForCompare(y), `${what}: headers differ`);
}

const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

module.exports = {
  AUTH, FAST_ARGON2, OPEN_LIMITS, TOKEN_RE, ISO_UTC_RE, ANY_FIELD, GENERIC_INVALID,
  startAccountStack, uniqName, strongPassword, newUser, assertErr, assertErrOneOf, assertAccepted, assertUser,
  authClient, mailsOf, waitMailOf, linkToken, registerVerified, flush, assertSameAnswer, median,
};
