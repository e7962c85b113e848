// The browser-test machinery itself, and the first-party account pages (which exist without the embed): Chromium
// launches with loopback-only resolution, the host page is served from another site than parleyd, the recorder
// sees every request (and flags a foreign one), third-party cookies behave as configured, axe-core runs under
// Parley's CSP.
'use strict';
const assert = require('node:assert/strict');
const { setupFile } = require('./lib/env');
const { thirdPartyProbe } = require('./lib/probe');
const { uniqPath } = require('./lib/hostpage');

const env = setupFile({ file: 'infra' });

env.test('Chromium runs, the host page is another site than parleyd, every request is recorded', async () => {
  const page = await env.newPage();
  const mark = env.rec.mark();
  const p = uniqPath('hello');
  const url = env.host.add(p, '<!doctype html><title>hello</title><p id="x">hello</p>');
  await page.goto(url);
  assert.equal(await page.textContent('#x'), 'hello');
  assert.match(url, /^http:\/\/localhost:\d+\//, 'host page on localhost');
  assert.match(env.parley, /^http:\/\/127\.0\.0\.1:\d+$/, 'parleyd on 127.0.0.1');
  assert.notEqual(new URL(url).port, new URL(env.parley).port);
  const seen = env.rec.matching((e) => e.url === url, mark);
  assert.equal(seen.length, 1, env.rec.report(env.rec.since(mark)));
  assert.equal(seen[0].violation, null);
});

env.test('a request to a foreign host is recorded as a violation and never resolves (loopback only)', async () => {
  const page = await env.newPage();
  const p = uniqPath('foreign');
  const mark = env.rec.mark();
  // The test page asks for an image on a foreign host: name resolution must fail inside Chromium.
  await page.goto(env.host.add(p, '<!doctype html><title>f</title><img alt="" src="http://example.com/pixel.gif">'));
  const failed = await page.evaluate(() => new Promise((r) => {
    const img = document.querySelector('img');
    if (img.complete) r(img.naturalWidth === 0); else { img.onerror = () => r(true); img.onload = () => r(false); }
  }));
  assert.equal(failed, true, 'the foreign image did not load');
  const bad = env.rec.violations(mark).filter((e) => e.url.startsWith('http://example.com/'));
  assert.equal(bad.length, 1, env.rec.report(env.rec.since(mark)));
  assert.match(bad[0].violation, /foreign origin http:\/\/example\.com/);
  // Forget it, so this file's final "nothing foreign" check is about the product only.
  env.rec.all.splice(env.rec.all.indexOf(bad[0]), 1);
});

env.test('the traps work in a cross-site frame: window.__pwned and alert() there are recorded', async () => {
  const page = await env.newPage();
  const inner = env.host.add(uniqPath('trap-frame'), `<!doctype html><title>t</title><script>window.__pwned = 'control'; alert('control');</script>`);
  const outer = env.host.add(uniqPath('trap-top'), `<!doctype html><title>t</title><iframe title="t" src="${inner.replace('localhost', '127.0.0.1')}"></iframe>`);
  const before = env.dialogs.length;
  await page.goto(outer);
  const frame = page.frames().find((f) => f.url().startsWith('http://127.0.0.1:'));
  await frame.waitForFunction(() => window.__parleyTest && window.__parleyTest.pwned.length > 0);
  assert.deepEqual(await frame.evaluate(() => window.__parleyTest.pwned), ['control']);
  for (let i = 0; i < 50 && env.dialogs.length === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(env.dialogs.slice(before).map((d) => [d.type, d.message]), [['alert', 'control']]);
  env.dialogs.splice(before);
});

env.test('third-party cookies allowed and storage partitioned in the default profile (as Chrome ships)', async () => {
  const r = await thirdPartyProbe(env);
  assert.deepEqual({ cookie: r.cookie, storage: r.storage, storagePartitioned: r.storagePartitioned },
    { cookie: true, storage: 'ok', storagePartitioned: true }, JSON.stringify(r));
});

env.test('/account/register is a labelled page from parleyd, with its assets and nothing else', async () => {
  const page = await env.newPage();
  const mark = env.rec.mark();
  const res = await page.goto(`${env.parley}/account/register`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'] || '', /frame-ancestors 'none'/);
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  for (const name of [/user name/i, /e-mail address/i, /password/i]) {
    assert.equal(await page.getByRole('textbox', { name }).or(page.getByLabel(name)).count() >= 1, true, String(name));
  }
  await page.getByRole('textbox', { name: /user name/i }).fill('someone');
  const urls = env.rec.since(mark).map((e) => new URL(e.url).pathname);
  assert.ok(urls.includes('/account/register'), urls.join(' '));
  assert.ok(urls.some((u) => /^\/assets\/account(\.[0-9a-f]{8})?\.js$/.test(u)), urls.join(' '));
});

env.test('axe-core runs under Parley\'s CSP (injected by evaluation) and finds no WCAG 2.2 AA violation on /account/register', async () => {
  const page = await env.newPage();
  await page.goto(`${env.parley}/account/register`);
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  const v = await env.axe(page);
  assert.deepEqual(v, [], JSON.stringify(v, null, 1));
  assert.deepEqual(env.cspReports, [], 'injecting axe caused no CSP report');
});

env.finalChecks();
