// GET /demo: the article page that shows the whole product at once (headline, paragraphs, share bar, comment count
// link, thread), all from the one server. Saves full-page screenshots in both themes as test artefacts:
// <build>/tests/browser/artifacts/demo-light.png and demo-dark.png.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { client, ua } = require('../api/lib/comments');
const { setupFile, threadFrame } = require('./lib/env');
const { luminance } = require('./lib/browser');
const { shareBar, shownCount, until, threadReady, commentItem } = require('./lib/widget');

const env = setupFile({ file: 'demo' });

async function seed() {
  const url = `${env.parley}/demo`;
  const c = client(env.stack.parley);
  const a = await c.create({ site: 'demo', url, author: 'Grace Hopper', body: 'A reading room open all night is the best news this year. Will the <em>tool shelf</em> have a soldering iron?' }, { ua: ua('demo1') });
  await c.create({ site: 'demo', url, parent: a.comment.id, author: 'Tomasz Berg', body: 'It will: two of them, with the safety kit.' }, { ua: ua('demo2') });
  await c.create({ site: 'demo', url, author: 'Ada L.', body: 'Thirty-eight million is a lot, but the old warehouse was no place for books.' }, { ua: ua('demo3') });
  for (const n of ['x', 'facebook', 'x', 'reddit']) {
    await require('../api/lib/harness').h1(env.stack.parley, 'POST', '/api/v1/shares', { body: { site: 'demo', url, network: n }, headers: { 'user-agent': ua('demoshare') } });
  }
}

async function openDemo(colorScheme) {
  const page = await env.newPage({ colorScheme, stubOpen: true });
  const res = await page.goto(`${env.parley}/demo`);
  assert.equal(res.status(), 200);
  const { frame } = await threadFrame(page);
  await threadReady(frame);
  await commentItem(frame, 'tool shelf').waitFor();
  await until(() => shownCount(shareBar(page).getByRole('button', { name: /^X\b/ }).first()), (n) => n === 2, 'X shows 2 shares');
  await until(() => page.locator('[data-parley-count]').first().innerText(), (t) => /\b3 comments\b/.test(t), 'the count link says 3 comments');
  return { page, frame };
}

env.test('/demo is an article: headline, paragraphs, share bar, comment count link and the thread', async () => {
  await env.requireEmbed();
  await seed();
  const { page } = await openDemo('light');
  await page.getByRole('heading', { level: 1 }).waitFor();
  assert.ok(await page.locator('main p, article p').count() >= 3, 'a few paragraphs');
  assert.ok(await shareBar(page).getByRole('button').count() >= 3, 'share buttons');
  const count = page.locator('[data-parley-count]').first();
  assert.equal(await count.evaluate((e) => e.closest('a') !== null), true, 'the count is a link');
  const iframe = page.locator('[data-parley-thread] iframe');
  assert.equal(await iframe.getAttribute('title'), 'Comments');
});

env.test('screenshots of /demo in the light and the dark theme (test artefacts)', async () => {
  await env.requireEmbed();
  const shots = {};
  const backgrounds = {};
  for (const scheme of ['light', 'dark']) {
    const { page, frame } = await openDemo(scheme);
    await page.evaluate(() => document.fonts && document.fonts.ready);
    await frame.evaluate(() => document.fonts && document.fonts.ready);
    backgrounds[scheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    shots[scheme] = await env.screenshot(`demo-${scheme}`, page);
  }
  for (const [scheme, f] of Object.entries(shots)) {
    assert.ok(f && fs.statSync(f).size > 20000, `${f} written`);
    assert.equal(path.dirname(f), env.artifacts);
  }
  assert.ok(luminance(backgrounds.light) > 0.5, `light page background ${backgrounds.light}`);
  assert.ok(luminance(backgrounds.dark) < 0.2, `dark page background ${backgrounds.dark}`);
  assert.notDeepEqual(fs.readFileSync(shots.light), fs.readFileSync(shots.dark));
});

env.finalChecks();
