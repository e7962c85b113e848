// The moderation console (/admin) in a real Chromium against the real parleyd, redis-server and SMTP sink: an
// administrator (accounts.admin_emails) registers and verifies through the sink, logs in on /admin, approves by
// keyboard, marks spam, deletes two at once, edits a text (re-sanitised by the server), bans an e-mail (its next
// comment is refused), locks a thread (a post gets 403 thread_locked), searches by author and by text, retries a
// dead letter (mails to dead@example.test are refused with 550 by the sink); a user who is not an admin is refused;
// axe-core finds no WCAG 2.2 A/AA violation in the light or the dark theme; nothing is requested from another host.
'use strict';
const assert = require('node:assert/strict');
const h = require('../api/lib/harness');
const { client, ua, assertError } = require('../api/lib/comments');
const acc = require('../api/lib/accounts');
const { setupFile } = require('./lib/env');
const { until } = require('./lib/widget');

const ADMIN = acc.newUser('admin');
const DEAD = 'dead@example.test';
const env = setupFile({ file: 'admin', stack: {
  accounts: { admin_emails: `["${ADMIN.email}"]` },
  sink: { reject: { [DEAD]: 550 } },
} });

const show = (v) => v.map((x) => `${x.id} (${x.impact}): ${x.help}\n${x.nodes.map((n) => `   ${JSON.stringify(n.target)} ${n.summary || ''}\n   ${n.html}`).join('\n')}`).join('\n');
let seq = 0;
const story = () => `${env.host.origin}/admin-story-${process.pid}-${++seq}`;
const item = (page, text) => page.locator('.item', { hasText: text });
const statusText = (page) => page.locator('#status');

let adminReady;
function ensureAdmin() {
  adminReady ??= acc.registerVerified(env.stack, acc.authClient(env.stack.parley), ADMIN);
  return adminReady;
}

// A pending comment on the "modall" site (every comment waits); resolves to the 201's comment plus its url.
async function pending(body, { url = story(), author = 'Pat Poster', email = 'pat@example.com', title = 'A story' } = {}) {
  const r = await client(env.stack.parley).create({ site: 'modall', url, title, author, email, body }, { ua: ua('adm') });
  assert.equal(r.comment.status, 'pending');
  return { ...r.comment, url };
}

async function openConsole({ colorScheme } = {}) {
  await ensureAdmin();
  const page = await env.newPage({ colorScheme });
  await page.goto(`${env.parley}/admin`);
  await page.getByLabel('User name or e-mail address').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText(`Logged in as ${ADMIN.username}`).first().waitFor();
  await page.locator('#console').waitFor();
  return page;
}

// Moves the console's current comment to the one holding TEXT with j / k only.
async function goTo(page, text) {
  const texts = await page.locator('.item').allTextContents();
  const want = texts.findIndex((t) => t.includes(text));
  assert.ok(want >= 0, `"${text}" is listed`);
  for (let i = 0; i < texts.length + 1; i++) await page.keyboard.press('k');
  for (let i = 0; i < want; i++) await page.keyboard.press('j');
  const cur = await page.locator('.item.current').textContent();
  assert.ok(cur.includes(text), `the current comment is "${text}": ${cur}`);
  assert.ok(await page.locator('.item.current').evaluate((el) => el === document.activeElement), 'it has the focus');
}

const threadOf = (c) => client(env.stack.parley).thread('modall', c.url);
// The admin API as the admin account (a session of its own, not the page's).
let apiToken;
async function adminGet(path) {
  await ensureAdmin();
  apiToken ??= (await acc.authClient(env.stack.parley).loginOk(ADMIN)).token;
  return h.h1(env.stack.parley, 'GET', path, { headers: { authorization: `Bearer ${apiToken}` } });
}

env.test('log in on /admin, approve by keyboard, spam, bulk-delete two, edit (re-sanitised), with a screenshot', async () => {
  const tag = Date.now().toString(36);
  const [keep, junk, del1, del2, edit] = [
    await pending(`Approve me ${tag}`),
    await pending(`Buy pills ${tag}`),
    await pending(`Delete me one ${tag}`),
    await pending(`Delete me two ${tag}`),
    await pending(`Edit me ${tag}`),
  ];
  const page = await openConsole();
  await item(page, `Approve me ${tag}`).waitFor();
  const first = item(page, `Approve me ${tag}`);
  assert.match(await first.textContent(), /pat@example\.com/, 'the e-mail is shown to the admin');
  assert.match(await first.textContent(), /A story/, 'the thread title');
  assert.match(await first.textContent(), /0 links/);
  await env.screenshot('admin-console', page);

  // Approve by keyboard.
  await page.locator('#list-title').focus();
  await goTo(page, `Approve me ${tag}`);
  await page.keyboard.press('a');
  await first.waitFor({ state: 'detached' });
  await until(() => threadOf(keep), (r) => r.json.thread.count === 1, 'approved: visible in its thread');
  assert.match(await statusText(page).textContent(), /approved/);
  assert.ok(await page.locator('.item.current').evaluate((el) => el === document.activeElement), 'focus moved on to the next comment');

  // Spam by keyboard.
  await goTo(page, `Buy pills ${tag}`);
  await page.keyboard.press('s');
  await item(page, `Buy pills ${tag}`).waitFor({ state: 'detached' });
  const spamQ = await adminGet('/api/v1/admin/comments?site=modall&status=spam&limit=200');
  assert.ok(spamQ.json.items.some((it) => it.id === junk.id && it.html.includes(`Buy pills ${tag}`)), 'in the spam queue');

  // Bulk delete two (the confirmation is accepted by the harness).
  await item(page, `Delete me one ${tag}`).getByRole('checkbox').check();
  await item(page, `Delete me two ${tag}`).getByRole('checkbox').check();
  assert.equal(await page.locator('#selected-count').textContent(), '2 selected');
  await page.getByRole('button', { name: 'Delete selected' }).click();
  await item(page, `Delete me one ${tag}`).waitFor({ state: 'detached' });
  await item(page, `Delete me two ${tag}`).waitFor({ state: 'detached' });
  assert.ok(env.dialogs.some((d) => d.type === 'confirm' && /Delete 2 comments/.test(d.message)), 'asked first');
  for (const c of [del1, del2]) {
    const t = await threadOf(c);
    assert.equal(t.json.thread.count, 0, 'not shown');
  }
  const pend = await adminGet('/api/v1/admin/comments?site=modall&limit=200');
  assert.ok(!pend.json.items.some((it) => /Delete me (one|two)/.test(it.html) && it.html.includes(tag)), 'both left the queue');
  const found = await adminGet(`/api/v1/admin/search?site=modall&q=${encodeURIComponent(`Delete me one ${tag}`)}`);
  assert.deepEqual(found.json.items, [], 'deleted: not even found by a search');

  // Edit by keyboard: the server sanitises the new text.
  await goTo(page, `Edit me ${tag}`);
  await page.keyboard.press('e');
  const box = page.getByLabel('Comment text');
  await box.waitFor();
  assert.equal(await box.inputValue(), `Edit me ${tag}`);
  await box.fill(`Edited ${tag} <script>window.__pwned=1</script><b>bold</b> <img src=x onerror="window.__pwned=2">`);
  await page.getByRole('button', { name: 'Save' }).click();
  const edited = item(page, `Edited ${tag}`);
  await edited.locator('.body b', { hasText: 'bold' }).waitFor();
  assert.equal(await edited.locator('.body script, .body img').count(), 0, 'no script or img element');
  assert.match(await edited.locator('.body').textContent(), /<script>window\.__pwned=1<\/script>/, 'shown as text');
  assert.match(await edited.textContent(), /edited/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'nothing ran');
  const listed = (await adminGet('/api/v1/admin/comments?site=modall&limit=200')).json.items
    .find((it) => it.id === edit.id && it.body.startsWith(`Edited ${tag}`));
  assert.match(listed.html, /&lt;script&gt;/, 'stored sanitised');
  await env.screenshot('admin-console-after', page);
});

env.test('ban an e-mail (its next comment is refused) and lock a thread (a post gets 403 thread_locked)', async () => {
  const tag = Date.now().toString(36);
  const email = `troll-${tag}@example.com`;
  const c = await pending(`Troll text ${tag}`, { email, author: 'Troll' });
  const page = await openConsole();
  const it = item(page, `Troll text ${tag}`);
  await it.getByRole('button', { name: 'Ban…' }).click();
  await it.getByLabel(`The e-mail address ${email}`).check();
  await it.getByLabel('For').selectOption({ label: '1 week' });
  await it.getByRole('button', { name: 'Ban', exact: true }).click();
  await statusText(page).getByText(/Banned on modall for 1 week/).waitFor();
  const k = client(env.stack.parley);
  assertError(await k.post({ site: 'modall', url: story(), author: 'Troll', email, body: 'again' }, { ua: ua('troll') }), 403, 'forbidden');
  assert.equal((await k.post({ site: 'modall', url: story(), email: `ok-${tag}@example.com`, body: 'fine' }, { ua: ua('ok') })).status, 201);

  await it.getByRole('button', { name: 'Lock thread' }).click();
  await it.getByText('Thread locked').waitFor();
  await it.getByRole('button', { name: 'Unlock thread' }).waitFor();
  assertError(await k.post({ site: 'modall', url: c.url, email: `other-${tag}@example.com`, body: 'late' }, { ua: ua('late') }), 403, 'thread_locked');
  assert.equal((await k.thread('modall', c.url)).json.thread.locked, true);
  await it.getByRole('button', { name: 'Unlock thread' }).click();
  await it.getByRole('button', { name: 'Lock thread' }).waitFor();
  assert.equal((await k.post({ site: 'modall', url: c.url, email: `other-${tag}@example.com`, body: 'open again' }, { ua: ua('late') })).status, 201);
});

env.test('the search finds by author and by text', async () => {
  const tag = Date.now().toString(36);
  await pending(`Nothing to see ${tag}`, { author: `Zelda ${tag}` });
  await pending(`The word quixotic${tag} is here`, { author: 'Other Author' });
  const page = await openConsole();
  await page.locator('#list-title').focus();
  await page.keyboard.press('/');
  assert.ok(await page.locator('#f-q').evaluate((el) => el === document.activeElement), '/ focuses the search box');
  await page.keyboard.type(`zelda ${tag}`);
  await page.getByLabel('Search in').selectOption('author');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Search results' }).waitFor();
  await until(() => page.locator('.item').allTextContents(), (t) => t.length === 1 && t[0].includes(`Nothing to see ${tag}`), 'found by author');
  await statusText(page).getByText(/1 comment found among \d+ searched/).waitFor();

  await page.locator('#f-q').fill(`QUIXOTIC${tag}`);
  await page.getByLabel('Search in').selectOption('text');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await until(() => page.locator('.item').allTextContents(), (t) => t.length === 1 && t[0].includes(`quixotic${tag}`), 'found by text');
  await page.getByLabel('Search in').selectOption('author');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.locator('#empty').waitFor();
});

env.test('a dead letter is retried from the console', async () => {
  await ensureAdmin();
  // A registration for the address the sink refuses: its verification mail dies at once (550).
  acc.assertAccepted(await acc.authClient(env.stack.parley).register({ username: acc.uniqName('dead'), email: DEAD,
    password: acc.strongPassword() }));
  const first = await until(() => adminGet('/api/v1/admin/mail/dead'), (r) => r.status === 200 && r.json.items.some((d) => d.rcpt === DEAD), 'a dead letter');
  const deadId = first.json.items.find((d) => d.rcpt === DEAD).id;

  const page = await openConsole();
  await page.getByRole('button', { name: 'Dead letters' }).click();
  const row = page.locator('#dead-rows tr', { hasText: DEAD });
  await row.waitFor();
  assert.match(await row.textContent(), /550/);
  await row.getByRole('button', { name: /^Retry the mail to dead@example\.test/ }).click();
  await statusText(page).getByText(`The mail to ${DEAD} is back in the outbox.`).waitFor();
  await row.waitFor({ state: 'detached' });
  // Through the mailer again: refused again, so a new dead letter with a new id.
  await until(() => adminGet('/api/v1/admin/mail/dead'), (r) => r.json.items.some((d) => d.rcpt === DEAD && d.id !== deadId)
    && !r.json.items.some((d) => d.id === deadId), 'dead again under a new id');
});

env.test('a user who is not an administrator is refused, and the session is not kept', async () => {
  const user = await acc.registerVerified(env.stack, acc.authClient(env.stack.parley), acc.newUser('plain'));
  const page = await env.newPage();
  await page.goto(`${env.parley}/admin`);
  await page.getByLabel('User name or e-mail address').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').getByText(/is not an administrator/).waitFor();
  assert.equal(await page.locator('#console').isVisible(), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('parley.admin')), null);
  // A wrong password is the API's message.
  await page.getByLabel('Password').fill('wrong password here');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').getByText(/login or the password is wrong/i).waitFor();
  // The admin's token lives in sessionStorage and survives a reload.
  await ensureAdmin();
  await page.getByLabel('User name or e-mail address').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#console').waitFor();
  assert.match(String(await page.evaluate(() => sessionStorage.getItem('parley.admin'))), acc.TOKEN_RE);
  await page.reload();
  await page.locator('#console').waitFor();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.locator('#login').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('parley.admin')), null);
});

for (const scheme of ['light', 'dark']) {
  env.test(`axe: the login form, the queue with comments, an open edit and ban form, the help, dead letters (${scheme})`, async () => {
    await pending('A comment with a <a href="https://example.com/">link</a> and <em>emphasis</em>.');
    const loginPage = await env.newPage({ colorScheme: scheme });
    await loginPage.goto(`${env.parley}/admin`);
    await loginPage.locator('#login').waitFor();
    const check = async (p, what) => {
      const v = await env.axe(p);
      assert.deepEqual(v.map((x) => x.id), [], `${what}, ${scheme}:\n${show(v)}`);
    };
    await check(loginPage, 'login');
    const page = await openConsole({ colorScheme: scheme });
    await page.locator('.item').first().waitFor();
    await check(page, 'queue');
    const first = page.locator('.item').first();
    await first.getByRole('button', { name: 'Edit' }).click();
    await check(page, 'edit form');
    await first.getByRole('button', { name: 'Cancel' }).click();
    await first.getByRole('button', { name: 'Ban…' }).click();
    await check(page, 'ban form');
    await first.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
    await page.locator('#help').waitFor();
    await check(page, 'help dialog');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Dead letters' }).click();
    await page.locator('#dead-title').waitFor();
    await check(page, 'dead letters');
    await env.screenshot(`admin-console-${scheme}`, page);
  });
}

env.finalChecks();
