// Accessibility: axe-core (npm, injected into each page and frame) finds no WCAG 2.2 A/AA violation (tags wcag2a,
// wcag2aa, wcag21a, wcag21aa, wcag22aa) on the share bar, the thread (with comments, and with each account dialog
// open), the account pages (with the manage-my-comments page) and /demo, in the light and the dark theme; and a comment can be posted by keyboard
// alone, with a visible focus indicator on every control on the way.
'use strict';
const assert = require('node:assert/strict');
const { client, ua } = require('../api/lib/comments');
const { setupFile, threadFrame } = require('./lib/env');
const { threadReady, commentItem, openAccountDialog, until, shareBar } = require('./lib/widget');

const env = setupFile({ file: 'a11y' });
const SCHEMES = ['light', 'dark'];
const DARK_HOST = '<style>html{background:#121212;color:#eee}</style>';

const show = (v) => v.map((x) => `${x.id} (${x.impact}): ${x.help}\n${x.nodes.map((n) => `   ${JSON.stringify(n.target)} ${n.summary || ''}\n   ${n.html}`).join('\n')}`).join('\n');
const noViolations = (v, what) => assert.deepEqual(v.map((x) => x.id), [], `${what}:\n${show(v)}`);

async function threadWithComments(scheme) {
  const { url } = env.host.article(env.parley, { head: scheme === 'dark' ? DARK_HOST : '' });
  const c = client(env.stack.parley);
  const a = await c.create({ site: 'blog', url, author: 'Ann Author', website: 'https://ann.example/', body: 'A comment with a <a href="https://example.com/">link</a>, <em>emphasis</em> and <code>code</code>.\n\n<blockquote>A quote.</blockquote>' }, { ua: ua('a11y1') });
  await c.create({ site: 'blog', url, parent: a.comment.id, author: 'Rita Replier', body: 'A reply.' }, { ua: ua('a11y2') });
  assert.equal((await c.vote('blog', url, a.comment.id, 1, { ua: ua('a11y3') })).status, 200);
  const page = await env.newPage({ colorScheme: scheme });
  await page.goto(url);
  const { frame } = await threadFrame(page);
  await threadReady(frame);
  await commentItem(frame, 'A reply.').waitFor();
  return { page, frame, url };
}

for (const scheme of SCHEMES) {
  env.test(`axe: the share bar (${scheme})`, async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { head: scheme === 'dark' ? DARK_HOST : '', script: { networks: 'x,facebook,linkedin,reddit,whatsapp,telegram,pinterest,bluesky,mastodon,threads,hackernews,email,copy' } });
    const page = await env.newPage({ colorScheme: scheme, stubOpen: true });
    await page.goto(url);
    await until(() => shareBar(page).getByRole('button').count(), (n) => n >= 13, '13 share buttons');
    await page.waitForLoadState('networkidle');
    noViolations(await env.axe(page, { include: ['[data-parley-shares]'] }), `share bar, ${scheme}`);
    // The Mastodon instance form too.
    await shareBar(page).getByRole('button', { name: /mastodon/i }).click();
    await shareBar(page).getByRole('textbox').first().waitFor();
    noViolations(await env.axe(page, { include: ['[data-parley-shares]'] }), `share bar with the Mastodon form, ${scheme}`);
  });

  env.test(`axe: the thread with comments, and with each account dialog open (${scheme})`, async () => {
    await env.requireEmbed();
    const { frame } = await threadWithComments(scheme);
    noViolations(await env.axe(frame), `thread, ${scheme}`);
    // A posted comment with Edit/Delete, pending note and status message.
    for (const name of ['login', 'register', 'lost']) {
      const d = await openAccountDialog(frame, name);
      noViolations(await env.axe(frame), `thread with the ${name} dialog open, ${scheme}`);
      await frame.locator('body').press('Escape');
      await d.waitFor({ state: 'hidden' });
    }
  });

  env.test(`axe: the account pages (${scheme})`, async () => {
    const page = await env.newPage({ colorScheme: scheme });
    for (const p of ['register', 'verify', 'lost-password', 'reset', 'privacy']) {
      await page.goto(`${env.parley}/account/${p}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      noViolations(await env.axe(page), `/account/${p}, ${scheme}`);
    }
  });

  env.test(`axe: /demo (${scheme})`, async () => {
    await env.requireEmbed();
    const page = await env.newPage({ colorScheme: scheme, stubOpen: true });
    await page.goto(`${env.parley}/demo`);
    const { frame } = await threadFrame(page);
    await threadReady(frame);
    await page.waitForLoadState('networkidle');
    noViolations(await env.axe(page), `/demo, ${scheme}`);
    noViolations(await env.axe(frame), `/demo's thread, ${scheme}`);
  });
}

// The focused element of the thread frame, with how its focus shows: { id, tag, name, outline, shadow }.
const focused = (frame) => frame.evaluate(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const cs = getComputedStyle(e);
  return { id: e.id, tag: e.localName, type: e.type || '', name: e.getAttribute('aria-label') || e.labels?.[0]?.textContent || e.textContent.trim().slice(0, 40),
    outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 1, shadow: cs.boxShadow !== 'none' };
});

env.test('keyboard only: from the host page into the thread, fill the form and post, with visible focus all the way', async () => {
  await env.requireEmbed();
  const { url } = env.host.article(env.parley, { shares: false, paragraphs: 1 });
  const page = await env.newPage();
  await page.goto(url);
  const { frame } = await threadFrame(page);
  await threadReady(frame);
  await page.locator('h1').click(); // start from the article
  const seen = [];
  // Tab until the comment box has focus (through the sort control and the account buttons).
  let f = null;
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    f = await focused(frame);
    if (f) seen.push(f);
    if (f && f.tag === 'textarea') break;
  }
  assert.ok(f && f.tag === 'textarea', `Tab reaches the comment box: ${JSON.stringify(seen)}`);
  const body = `Typed with the keyboard only ${Date.now()}`;
  await page.keyboard.type(body);
  // Name, Email, (Website): the next text fields in tab order.
  const values = { author: 'Kay Board', email: 'kay@example.com' };
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    f = await focused(frame);
    seen.push(f);
    if (!f) continue;
    if (/name/i.test(f.name) && f.tag === 'input' && f.type === 'text') await page.keyboard.type(values.author);
    if (f.type === 'email') { await page.keyboard.type(values.email); break; }
  }
  // On to the Post Comment button, and press Enter.
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    f = await focused(frame);
    seen.push(f);
    if (f && f.tag === 'button' && /post comment/i.test(f.name)) break;
  }
  assert.ok(f && /post comment/i.test(f.name), `Tab reaches Post Comment: ${JSON.stringify(seen.map((x) => x && x.name))}`);
  await page.keyboard.press('Enter');
  await commentItem(frame, body).waitFor();
  const invisible = seen.filter((x) => x && !x.outline && !x.shadow);
  assert.deepEqual(invisible, [], 'every focused control shows a focus indicator (outline or box-shadow)');
});

env.finalChecks();
