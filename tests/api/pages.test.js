// The embedded account pages and assets (src/widget, served by src/http/http_assets.c) over real HTTP: headers
// (CSP, Referrer-Policy, caching, ETag/304, HEAD, gzip), the HTML's accessibility and no-inline-code rules, 404s
// that never reach the disk, and account.js's token handling run against a tiny fake DOM.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const vm = require('node:vm');
const zlib = require('node:zlib');
const h = require('./lib/harness');

const PAGES = ['register', 'verify', 'lost-password', 'reset'];
const ASSETS = { '/assets/account.js': 'text/javascript; charset=utf-8', '/assets/parley.css': 'text/css; charset=utf-8' };

let redis;
let parley;

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({ redisUrl: redis.url });
});

after(async () => {
  if (parley) await h.stopClean(parley);
  if (redis) await redis.stop();
});

const raw = (method, path, headers = {}) => h.h1raw(parley, method, path, headers);

function assertNotFound(r, what) {
  assert.equal(r.status, 404, what);
  assert.match(String(r.headers['content-type']), /^application\/json\b/, what);
  const j = JSON.parse(r.body.toString('utf8'));
  assert.equal(j.error.code, 'not_found', what);
}

// Attributes of every <TAG ...> in HTML, as objects (names lower-cased; a bare attribute is '').
function tags(html, tag) {
  const out = [];
  for (const m of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))) {
    const attrs = {};
    for (const a of m[1].matchAll(/([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
      attrs[a[1].toLowerCase()] = a[2] ?? a[3] ?? a[4] ?? '';
    }
    out.push(attrs);
  }
  return out;
}

const transports = [
  ['HTTP/1.1', (m, p, o) => h.h1(parley, m, p, o)],
  ['h2c', (m, p, o) => h.h2(parley, m, p, o)],
];

for (const [name, send] of transports) {
  test(`${name}: the four account pages are text/html with CSP, no-referrer and no-store`, async () => {
    for (const page of PAGES) {
      const r = await send('GET', `/account/${page}`);
      const what = `${name} /account/${page}`;
      assert.equal(r.status, 200, what);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8', what);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /(^|;)\s*script-src 'self'\s*(;|$)/, `${what}: ${csp}`);
      assert.match(csp, /(^|;)\s*style-src 'self'\s*(;|$)/, `${what}: ${csp}`);
      assert.match(csp, /frame-ancestors 'none'/, `${what}: ${csp}`);
      assert.match(csp, /connect-src 'self'/, `${what}: ${csp}`);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', what);
      assert.equal(r.headers['cache-control'], 'no-store', what);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
      assert.equal(r.headers.etag, undefined, `${what}: no-store pages need no validator`);
      assert.ok(r.text.startsWith('<!doctype html>'), what);
    }
  });

  test(`${name}: assets have their type, a strong ETag, 5-minute caching and 304 on If-None-Match`, async () => {
    for (const [path, type] of Object.entries(ASSETS)) {
      const r = await send('GET', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-type'], type, path);
      assert.equal(r.headers['cache-control'], 'public, max-age=300', path);
      assert.match(String(r.headers.etag), /^"[0-9a-f]{16}"$/, path);
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.text), path);
      assert.equal(r.headers['content-security-policy'], undefined, `${path}: CSP is for HTML`);
      const etag = r.headers.etag;
      for (const inm of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const c = await send('GET', path, { headers: { 'if-none-match': inm } });
        assert.equal(c.status, 304, `${path} If-None-Match: ${inm}`);
        assert.equal(c.text, '', path);
        assert.equal(c.headers.etag, etag, path);
        assert.equal(c.headers['cache-control'], 'public, max-age=300', path);
      }
      const miss = await send('GET', path, { headers: { 'if-none-match': '"0000000000000000"' } });
      assert.equal(miss.status, 200, path);
      assert.equal(miss.text, r.text, path);
    }
  });

  test(`${name}: HEAD has the headers and no body`, async () => {
    for (const path of ['/account/register', '/assets/account.js', '/assets/parley.css']) {
      const g = await send('GET', path);
      const r = await send('HEAD', path);
      assert.equal(r.status, 200, path);
      assert.equal(r.text, '', path);
      assert.equal(r.headers['content-type'], g.headers['content-type'], path);
      assert.equal(Number(r.headers['content-length']), Buffer.byteLength(g.text), path);
      assert.equal(r.headers.etag, g.headers.etag, path);
    }
  });

  test(`${name}: unknown pages and assets are the JSON 404`, async () => {
    for (const p of ['/account/nope', '/assets/nope.js', '/account/register.html', '/account/account', '/assets/',
      '/account/', '/assets/register.html', '/assets/account/register.html', '/assets/assets.cmake',
      '/assets/account.js/x', '/assets/ACCOUNT.JS']) {
      const r = await send('GET', p);
      assert.equal(r.status, 404, p);
      assert.equal(r.json?.error?.code, 'not_found', p);
    }
  });
}

test('HTML pages are never served from /assets/, only with the page headers', async () => {
  for (const p of PAGES) assertNotFound(await raw('GET', `/assets/${p}.html`), p);
});

test('path tricks never reach a file on disk', async () => {
  const tricks = [
    '/assets/../CMakeLists.txt', '/assets/%2e%2e/CMakeLists.txt', '/assets/%2e%2e/x', '/assets/..%2fCMakeLists.txt',
    '/assets/%2e%2e%2f%2e%2e%2fCMakeLists.txt', '/assets/..%5cCMakeLists.txt', '/account/..%2f..%2fCMakeLists.txt',
    '/account/%2e%2e', '/assets/account%2fregister.html', '/assets/./account.js/..', '/assets//account.js',
    '/assets/account.js%00.html', '/account/register%00', '/assets/%2fetc%2fpasswd', '/assets/....//CMakeLists.txt',
  ];
  for (const p of tricks) {
    const r = await raw('GET', p);
    const text = r.body.toString('utf8');
    assert.ok(!/cmake_minimum_required|root:x:0:0/.test(text), `${p} leaked a file`);
    assert.ok(r.status === 404 || r.status === 400, `${p} -> ${r.status}`);
    if (r.status === 404) assertNotFound(r, p);
  }
});

test('a page is only GET or HEAD (405 with Allow)', async () => {
  const r = await h.h1(parley, 'POST', '/account/register', { body: {} });
  assert.equal(r.status, 405);
  assert.deepEqual(String(r.headers.allow).split(',').map((s) => s.trim()).sort(), ['GET', 'HEAD', 'OPTIONS']);
});

test('gzip: account.js is sent compressed to a client that asks, and still revalidates', async () => {
  const plain = await raw('GET', '/assets/account.js');
  assert.ok(plain.body.length >= 1024, 'account.js is at least 1 KiB, so it qualifies');
  assert.equal(plain.headers['content-encoding'], undefined);
  const gz = await raw('GET', '/assets/account.js', { 'accept-encoding': 'gzip' });
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.match(String(gz.headers.vary), /accept-encoding/i);
  assert.ok(gz.body.length < plain.body.length, 'smaller than the original');
  assert.deepEqual(zlib.gunzipSync(gz.body), plain.body);
  assert.ok(gz.headers.etag, 'a compressed answer keeps a validator');
  const again = await raw('GET', '/assets/account.js', { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
});

test('page HTML: no inline code, labelled inputs, one script, first-party resources only', async () => {
  for (const page of PAGES) {
    const html = (await raw('GET', `/account/${page}`)).body.toString('utf8');
    const what = `/account/${page}`;
    assert.match(html, /<html lang="en">/, what);
    assert.match(html, /<main>[\s\S]*<h1>[^<]+<\/h1>[\s\S]*<\/main>/, what);
    assert.match(html, new RegExp(`<body data-page="${page}">`), what);

    // No inline script or style of any kind: the CSP would block it, and it must not be needed.
    for (const s of tags(html, 'script')) assert.ok(s.src, `${what}: a <script> without src`);
    assert.doesNotMatch(html, /<style\b/i, `${what}: <style>`);
    assert.doesNotMatch(html, /\sstyle\s*=/i, `${what}: style=`);
    assert.doesNotMatch(html, /\son\w+\s*=/i, `${what}: on*= handler`);
    assert.doesNotMatch(html, /javascript:/i, `${what}: javascript: URL`);
    const scripts = tags(html, 'script');
    assert.equal(scripts.length, 1, what);
    assert.equal(scripts[0].src, '/assets/account.js', what);
    assert.ok('defer' in scripts[0], `${what}: the script is deferred`);

    // Every resource and link is first-party (or a data: icon).
    for (const t of [...tags(html, 'script'), ...tags(html, 'link'), ...tags(html, 'a'), ...tags(html, 'img')]) {
      const url = t.src ?? t.href;
      if (url === undefined) continue;
      assert.ok(url.startsWith('/') && !url.startsWith('//') || url.startsWith('data:'), `${what}: ${url}`);
      if (url.startsWith('/assets/') || url.startsWith('/account/')) {
        assert.equal((await raw('GET', url)).status, 200, `${what} refers to ${url}`);
      }
    }

    // Ids are unique; every visible input has a <label for> and its aria-describedby targets exist.
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, `${what}: duplicate id`);
    const labels = new Set(tags(html, 'label').map((l) => l.for));
    const inputs = tags(html, 'input').filter((i) => i.type !== 'hidden');
    assert.ok(inputs.length > 0, what);
    for (const i of inputs) {
      assert.ok(i.id && labels.has(i.id), `${what}: input ${i.name} has no <label for="${i.id}">`);
      assert.ok(i.autocomplete, `${what}: input ${i.id} has no autocomplete`);
      assert.ok('required' in i, `${what}: input ${i.id} is not required`);
      for (const ref of (i['aria-describedby'] || '').split(/\s+/).filter(Boolean)) {
        assert.ok(ids.includes(ref), `${what}: aria-describedby ${ref} of ${i.id} does not exist`);
      }
      assert.ok(ids.includes(`${i.id}-error`), `${what}: input ${i.id} has no error slot`);
      assert.ok((i['aria-describedby'] || '').split(/\s+/).includes(`${i.id}-error`), `${what}: ${i.id} error slot unlinked`);
      if (i.type === 'password') {
        assert.equal(i.minlength, '8', `${what}: ${i.id}`);
        assert.equal(i.maxlength, '128', `${what}: ${i.id}`);
        assert.equal(i.autocomplete, 'new-password', `${what}: ${i.id}`);
      }
      if (i.type === 'email') assert.equal(i.autocomplete, 'email', `${what}: ${i.id}`);
    }
    assert.match(html, /role="status" aria-live="polite"/, `${what}: status region`);
    assert.match(html, /role="alert"/, `${what}: alert region`);
    // The submit button stays disabled until the script runs, so no form is ever sent as a GET query.
    for (const b of tags(html, 'button')) assert.ok(b.type === 'submit' && 'disabled' in b, what);
    for (const f of tags(html, 'form')) assert.equal(f.method, 'post', what);
  }
  const reg = (await raw('GET', '/account/register')).body.toString('utf8');
  assert.match(reg, /autocomplete="username"/);
  assert.match(reg, /href="\/account\/lost-password"/, 'register links to lost-password');
  const lost = (await raw('GET', '/account/lost-password')).body.toString('utf8');
  assert.match(lost, /href="\/account\/register"/, 'lost-password links to register');
  for (const page of ['register', 'reset']) {
    const html = (await raw('GET', `/account/${page}`)).body.toString('utf8');
    assert.match(html, /At least 12 characters; a passphrase of a few unrelated words works well\./, page);
  }
});

test('parley.css has a dark scheme and a visible focus style', async () => {
  const css = (await raw('GET', '/assets/parley.css')).body.toString('utf8');
  assert.match(css, /@media \(prefers-color-scheme: dark\)/);
  assert.match(css, /:focus-visible\s*\{[^}]*outline:\s*3px solid/);
  assert.doesNotMatch(css, /@import|url\(\s*['"]?(https?:)?\/\//, 'no third-party resource');
});

// ---- account.js, run in a vm against just enough DOM for its pages ----

class FakeInput {
  constructor(id, attrs = {}) {
    Object.assign(this, { id, name: id, value: '', attrs: { ...attrs }, focused: false });
  }
  checkValidity() {
    if ('required' in this.attrs && this.value === '') {
      this.validationMessage = 'Please fill in this field.';
      return false;
    }
    this.validationMessage = '';
    return true;
  }
  setAttribute(k, v) { this.attrs[k] = v; }
  removeAttribute(k) { delete this.attrs[k]; }
  focus() { this.doc.focused = this; }
}

class FakeEl {
  constructor(id) { Object.assign(this, { id, text: '', links: [], hidden: false, disabled: false }); }
  replaceChildren() { this.text = ''; this.links = []; }
  append(...xs) { for (const x of xs) if (typeof x === 'string') this.text += x; else { this.text += x.textContent; this.links.push(x.href); } }
  set textContent(t) { this.text = t; }
  get textContent() { return this.text; }
  focus() { this.doc.focused = this; }
}

// Loads account.js for PAGE at URL (with INPUTS: id -> attrs) and FETCH (async (url, init) => {status, body, headers}).
async function runScript(page, url, inputs, fetchImpl) {
  const src = (await raw('GET', '/assets/account.js')).body.toString('utf8');
  const events = [];
  const doc = { focused: null, els: {} };
  const u = new URL(url, 'https://parley.example');
  const el = (id) => { const e = new FakeEl(id); e.doc = doc; doc.els[id] = e; return e; };
  for (const id of ['status', 'alert']) el(id);
  const fields = Object.entries(inputs).map(([id, attrs]) => { const i = new FakeInput(id, attrs); i.doc = doc; doc.els[id] = i; el(`${id}-error`); return i; });
  const button = el('submit');
  button.disabled = true;
  const form = el('form');
  form.hidden = page === 'verify' || page === 'reset';
  form.elements = { namedItem: (n) => fields.find((f) => f.name === n) || null };
  form.querySelector = () => button;
  form.querySelectorAll = () => fields;
  form.addEventListener = (type, fn) => { form.submit = () => fn({ preventDefault() {} }); };
  const location = { hash: u.hash, pathname: u.pathname, search: u.search, reload() { events.push('reload'); } };
  const ctx = {
    URL, URLSearchParams, Number, Date, Math, JSON, Promise,
    HTMLInputElement: FakeInput,
    location,
    history: {
      state: null,
      replaceState(_s, _t, to) { events.push(`replaceState ${to}`); location.hash = ''; },
    },
    addEventListener() {},
    document: {
      body: { dataset: { page } },
      getElementById: (id) => doc.els[id] || null,
      createElement: () => ({ href: '', textContent: '' }),
    },
    fetch: async (path, init) => {
      events.push(`fetch ${path} ${init.body} hash=${JSON.stringify(location.hash)}`);
      assert.equal(init.method, 'POST');
      assert.equal(init.headers['Content-Type'], 'application/json');
      const r = await fetchImpl(path, JSON.parse(init.body));
      return {
        ok: r.status >= 200 && r.status < 300,
        status: r.status,
        headers: { get: (k) => (r.headers || {})[k.toLowerCase()] ?? null },
        json: async () => r.body,
      };
    },
  };
  vm.runInNewContext(src, ctx, { filename: 'account.js' });
  const settle = () => new Promise((r) => setImmediate(r));
  await settle();
  return { events, doc, form, button, fields: Object.fromEntries(fields.map((f) => [f.id, f])), settle };
}

const TOKEN = 'A'.repeat(43);

test('account.js verify: the token leaves the address bar before the request, then success', async () => {
  const s = await runScript('verify', `/account/verify#token=${TOKEN}`, { email: { required: '' } },
    async () => ({ status: 200, body: { verified: true } }));
  assert.equal(s.events[0], 'replaceState /account/verify', s.events.join('\n'));
  assert.equal(s.events[1], `fetch /api/v1/auth/verify {"token":"${TOKEN}"} hash=""`);
  assert.equal(s.doc.els.status.text, 'Your e-mail address is verified. You can now log in.');
  assert.equal(s.form.hidden, true, 'no resend form after a success');
});

test('account.js verify: token_invalid explains and offers the resend form; resend shows the 202 message', async () => {
  const s = await runScript('verify', `/account/verify#token=${TOKEN}`, { email: { required: '' } }, async (path) =>
    (path === '/api/v1/auth/verify'
      ? { status: 400, body: { error: { code: 'token_invalid', message: 'x', field: 'token' } } }
      : { status: 202, body: { status: 'accepted', message: 'Check your mail.' } }));
  assert.match(s.doc.els.alert.text, /does not work/);
  assert.equal(s.form.hidden, false);
  assert.equal(s.button.disabled, false);
  s.fields.email.value = 'a@example.com';
  s.form.submit();
  await s.settle();
  assert.equal(s.events.at(-1), 'fetch /api/v1/auth/verify/resend {"email":"a@example.com"} hash=""');
  assert.equal(s.doc.els.status.text, 'Check your mail.');
  assert.equal(s.form.hidden, true);
  assert.equal(s.doc.focused, s.doc.els.status, 'focus moves to the message');
});

test('account.js verify without a token shows the resend form and sends nothing', async () => {
  const s = await runScript('verify', '/account/verify', { email: { required: '' } }, async () => assert.fail('no request'));
  assert.deepEqual(s.events, []);
  assert.equal(s.form.hidden, false);
});

test('account.js reset: mismatch, 429 with Retry-After, field error, then success', async () => {
  const answers = [
    { status: 429, headers: { 'retry-after': '7' }, body: { error: { code: 'rate_limited', message: 'x' } } },
    { status: 422, body: { error: { code: 'invalid', message: 'Too short.', field: 'password' } } },
    { status: 200, body: { ok: true } },
  ];
  const inputs = { password: { required: '' }, password2: { required: '' } };
  const s = await runScript('reset', `/account/reset#token=${TOKEN}`, inputs, async () => answers.shift());
  assert.deepEqual(s.events, ['replaceState /account/reset']);
  assert.equal(s.form.hidden, false);

  s.form.submit();
  await s.settle();
  assert.equal(s.doc.els['password-error'].text, 'Please fill in this field.');
  assert.equal(s.doc.focused, s.fields.password, 'focus on the first field in error');

  Object.assign(s.fields.password, { value: 'one two three four' });
  Object.assign(s.fields.password2, { value: 'one two three five' });
  s.form.submit();
  await s.settle();
  assert.equal(s.doc.els['password2-error'].text, 'The two passwords are not the same.');
  assert.equal(s.fields.password2.attrs['aria-invalid'], 'true');
  assert.equal(s.doc.focused, s.fields.password2);
  assert.equal(s.events.length, 1, 'no request for a mismatch');

  s.fields.password2.value = 'one two three four';
  s.form.submit();
  await s.settle();
  assert.equal(s.doc.els.alert.text, 'Too many attempts; try again in 7 seconds.');
  assert.equal(s.events.at(-1), `fetch /api/v1/auth/password/reset {"token":"${TOKEN}","password":"one two three four"} hash=""`);

  s.form.submit();
  await s.settle();
  assert.equal(s.doc.els['password-error'].text, 'Too short.');
  assert.equal(s.doc.focused, s.fields.password);

  s.form.submit();
  await s.settle();
  assert.match(s.doc.els.status.text, /password was changed and every session was logged out\. Log in with your new password/);
  assert.equal(s.form.hidden, true);
});

test('account.js reset: token_invalid links to lost-password; no token says where to get one', async () => {
  const inputs = { password: { required: '' }, password2: { required: '' } };
  const s = await runScript('reset', `/account/reset#token=${TOKEN}`, inputs,
    async () => ({ status: 400, body: { error: { code: 'token_invalid', message: 'x', field: 'token' } } }));
  s.fields.password.value = s.fields.password2.value = 'correct horse battery staple';
  s.form.submit();
  await s.settle();
  assert.match(s.doc.els.alert.text, /does not work/);
  assert.deepEqual(s.doc.els.alert.links, ['/account/lost-password']);
  assert.equal(s.form.hidden, true);

  const none = await runScript('reset', '/account/reset', inputs, async () => assert.fail('no request'));
  assert.deepEqual(none.doc.els.alert.links, ['/account/lost-password']);
  assert.equal(none.form.hidden, true, 'no form without a token');
});

test('account.js register and lost-password: 202 message, network failure', async () => {
  const inputs = { username: { required: '' }, email: { required: '' }, password: { required: '' } };
  const reg = await runScript('register', '/account/register', inputs,
    async () => ({ status: 202, body: { status: 'accepted', message: 'Check your mail to finish.' } }));
  Object.assign(reg.fields.username, { value: ' alice ' });
  Object.assign(reg.fields.email, { value: 'alice@example.com' });
  Object.assign(reg.fields.password, { value: 'pw pw pw pw pw' });
  reg.form.submit();
  await reg.settle();
  assert.equal(reg.events.at(-1),
    'fetch /api/v1/auth/register {"username":"alice","email":"alice@example.com","password":"pw pw pw pw pw"} hash=""');
  assert.equal(reg.doc.els.status.text, 'Check your mail to finish.');

  const lost = await runScript('lost-password', '/account/lost-password', { email: { required: '' } },
    async () => { throw new TypeError('Failed to fetch'); });
  lost.fields.email.value = 'alice@example.com';
  lost.form.submit();
  await lost.settle();
  assert.match(lost.doc.els.alert.text, /could not be reached/);
  assert.equal(lost.form.hidden, false, 'the form stays for another try');
  assert.equal(lost.button.disabled, false);
});
