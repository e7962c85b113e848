// "Manage my comments" in the browser, end to end through the real SMTP sink: a guest's comments → the page asks
// for a link → the mail → /privacy#token=… (the token leaves the address bar at once) → the count, the JSON
// download, the delete with its confirmation → the comments are gone from the thread, and the used link no longer
// works. (tests/api/privacy.test.js covers the API; tests/browser/a11y.test.js runs axe on the page.)
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('../api/lib/harness');
const { client, ua } = require('../api/lib/comments');
const { setupFile } = require('./lib/env');

const env = setupFile({ file: 'privacy' });

async function waitLink(email, count = 1) {
  const base = `http://127.0.0.1:${env.stack.parley.port}`;
  for (let i = 0; i < 200; i++) {
    const mails = env.stack.mails().filter((m) => m.rcpt_to.map((x) => x.toLowerCase()).includes(email));
    if (mails.length >= count) {
      const m = new RegExp(`(${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/privacy#token=[A-Za-z0-9_-]+)`).exec(String(mails[count - 1].text));
      assert.ok(m, `a /privacy#token= link in the mail:\n${mails[count - 1].text}`);
      return m[1];
    }
    await h.sleep(50);
  }
  return assert.fail(`no mail to ${email}`);
}

env.test('a guest downloads and deletes their comments from the mailed link; the used link then fails', async () => {
  await env.requireEmbed();
  const api = client(env.stack.parley);
  const email = `guest-${process.pid}@example.com`;
  const url = env.host.article(env.parley).url;
  const mine = [];
  for (const body of ['my first comment', 'my second comment']) {
    mine.push((await api.create({ site: 'blog', url, author: 'Gus Guest', email, body }, { ua: ua('gus') })).comment.id);
  }
  const other = (await api.create({ site: 'blog', url, author: 'Olga Other', email: 'olga@example.com', body: 'not mine' },
    { ua: ua('olga') })).comment.id;

  // Without a token the page offers to mail a link; asking for one sends it.
  const page = await env.newPage();
  await page.goto(`${env.parley}/privacy`);
  await page.getByLabel(/e-?mail/i).fill(email);
  await page.getByRole('button', { name: /send|mail/i }).click();
  await page.getByRole('status').filter({ hasText: /on its way|check your mail/i }).waitFor();
  const link = await waitLink(email);

  // The link: the token is out of the address bar before anything else; the count and the download.
  await page.goto(link);
  await page.getByText(/2 comments were made with this address/).waitFor();
  assert.ok(!page.url().includes('token'), `the token left the address bar: ${page.url()}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /download/i }).click()]);
  const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
  assert.deepEqual(exported.comments.map((c) => c.id).sort(), [...mine].sort(), 'exactly my comments');
  assert.ok(exported.comments.every((c) => c.email === email));

  // Delete: refused without the confirmation, then done.
  const del = page.getByRole('button', { name: /delete/i });
  await del.click();
  await page.getByText(/tick this box to confirm/i).waitFor();
  await page.getByRole('checkbox').check();
  await del.click();
  await page.getByText(/Done: 2 comments were deleted/).waitFor();

  const left = (await api.thread('blog', url)).json.comments.map((c) => c.id);
  assert.deepEqual(left, [other], 'only the other reader\'s comment is left');

  // The used link no longer works; the page says so and offers a new one.
  await page.goto(link);
  await page.getByText(/does not work \(any more\)/).waitFor();
});

env.finalChecks();
