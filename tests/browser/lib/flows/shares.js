// The share bar and listing counts on a host page of another site: buttons for the chosen networks, a click counts
// once per visitor and day and opens the network's intent, copy and Mastodon, the site's minimum, and the listing
// page's counts in one request.
// Registers its tests on ENV (lib/env.js setupFile); PICK (name => bool) chooses which, PREFIX goes before each name.
'use strict';
const assert = require('node:assert/strict');
const h = require('../../../api/lib/harness');
const { ua, client } = require('../../../api/lib/comments');
const { shareBar, shareControl, shownCount, until, NETWORK_NAMES } = require('../widget');

module.exports = function define(env, { pick = () => true, prefix = '' } = {}) {
  const t = (name, fn) => { if (pick(name)) env.test(prefix + name, fn); };

  // N share clicks on URL for NETWORK, each from another visitor (User-Agent), through the API.
  async function seedShares(site, url, network, n) {
    for (let i = 0; i < n; i++) {
      const r = await h.h1(env.stack.parley, 'POST', '/api/v1/shares', { body: { site, url, network }, headers: { 'user-agent': ua('seed') } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.counted, true, r.text);
    }
  }
  async function apiShares(site, url) {
    const r = await h.h1(env.stack.parley, 'GET', `/api/v1/shares?site=${site}&url=${encodeURIComponent(url)}`);
    assert.equal(r.status, 200, r.text);
    return r.json.items[0];
  }
  const sharePost = (page) => page.waitForResponse((r) => r.url() === `${env.parley}/api/v1/shares` && r.request().method() === 'POST');

  t('the share bar shows the data-networks buttons, in order, each named', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { script: { networks: 'reddit,x,email,copy,hackernews' } });
    const page = await env.newPage({ stubOpen: true });
    await page.goto(url);
    const buttons = shareBar(page).getByRole('button');
    await until(() => buttons.count(), (n) => n >= 5, 'five share buttons');
    const names = [];
    for (let i = 0; i < 5; i++) names.push(await buttons.nth(i).evaluate((b) => b.getAttribute('aria-label') || b.textContent));
    const order = ['reddit', 'x', 'email', 'copy', 'hackernews'];
    order.forEach((n, i) => assert.match(names[i], NETWORK_NAMES[n], `button ${i + 1} is ${n}: ${JSON.stringify(names)}`));
    // The bar lives in a shadow root, so the host page's styles and scripts do not reach into it.
    assert.equal(await shareBar(page).evaluate((e) => Boolean(e.shadowRoot)), true, 'the share bar is in an (open) shadow root');
    // Icons are inline SVG: no image, font or script from any network (the file's final check covers every request).
    assert.equal(await shareBar(page).evaluate((e) => e.shadowRoot.querySelectorAll('img, script, link, iframe').length), 0);
  });

  t('a share click counts one (the count rises by one); a second click the same day does not', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { title: 'Share me' });
    await seedShares('blog', url, 'x', 4);
    const page = await env.newPage({ stubOpen: true });
    await page.goto(url);
    const x = shareControl(page, 'x');
    await until(() => shownCount(x), (n) => n === 4, 'X shows the 4 earlier shares');

    const first = sharePost(page);
    await x.click();
    const r1 = await (await first).json();
    assert.equal(r1.counted, true, JSON.stringify(r1));
    assert.equal(r1.networks.x, 5, JSON.stringify(r1));
    await until(() => shownCount(x), (n) => n === 5, 'X shows 5 after the click');
    const opened = await page.evaluate(() => window.__parleyTest.opened);
    assert.equal(opened.length, 1, JSON.stringify(opened));
    assert.equal(opened[0].url, `https://x.com/intent/post?url=${encodeURIComponent(url)}&text=${encodeURIComponent('Share me')}`);
    assert.match(opened[0].features, /noopener/);
    assert.match(opened[0].features, /noreferrer/);

    const second = sharePost(page);
    await x.click();
    const r2 = await (await second).json();
    assert.equal(r2.counted, false, JSON.stringify(r2));
    assert.equal(r2.networks.x, 5, JSON.stringify(r2));
    await h.sleep(200);
    assert.equal(await shownCount(x), 5, 'still 5 after the second click');
    assert.equal((await apiShares('blog', url)).total, 5);

    await page.reload();
    await until(() => shownCount(shareControl(page, 'x')), (n) => n === 5, 'a fresh load shows 5');
  });

  t('the click opens the intent in a real popup; only that top-level navigation goes to the network', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { script: { networks: 'facebook' } });
    const page = await env.newPage();
    await page.goto(url);
    const fb = shareControl(page, 'facebook');
    await fb.waitFor();
    const mark = env.rec.mark();
    const popupP = env.context.waitForEvent('page');
    const posted = sharePost(page);
    await fb.click();
    const popup = await popupP;
    await posted;
    const intent = `https://www.facebook.com/sharer/sharer.php?u=${encodeURIComponent(url)}`;
    await until(() => env.rec.matching((e) => e.url === intent, mark).length, (n) => n >= 1, 'the popup asked for the intent');
    const hit = env.rec.matching((e) => e.url === intent, mark)[0];
    assert.equal(hit.nav && hit.popup, true, `a top-level navigation of the popup: ${JSON.stringify(hit)}`);
    assert.equal(hit.violation, null);
    assert.equal(page.url(), url, 'the article stays where it was');
    await popup.close();
  });

  t('copy puts the link on the clipboard and says "Link copied"; e-mail opens a mailto: address', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { script: { networks: 'copy,email' } });
    await env.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.host.origin });
    const page = await env.newPage({ stubOpen: true });
    await page.goto(url);
    const posted = sharePost(page);
    await shareControl(page, 'copy').click();
    const r = await (await posted).json();
    assert.equal(r.networks.copy, 1, JSON.stringify(r));
    await shareBar(page).getByRole('status').filter({ hasText: /link copied/i }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);

    // mailto: is not a network request; the page stays (Chromium has no mail handler here) and the share counts.
    const mailto = [];
    page.on('framenavigated', (f) => { if (f.url().startsWith('mailto:')) mailto.push(f.url()); });
    const posted2 = sharePost(page);
    const nav = page.waitForRequest((q) => q.url().startsWith('mailto:'), { timeout: 3000 }).then((q) => q.url(), () => null);
    await shareControl(page, 'email').click();
    const r2 = await (await posted2).json();
    assert.equal(r2.networks.email, 1, JSON.stringify(r2));
    const m = (await nav) || mailto[0] || null;
    if (m) assert.match(m, /^mailto:\?subject=/);
  });

  t('Mastodon asks for the instance, then opens its share page', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { title: 'Toot this', script: { networks: 'mastodon' } });
    const page = await env.newPage({ stubOpen: true });
    await page.goto(url);
    await shareControl(page, 'mastodon').click();
    const instance = shareBar(page).getByRole('textbox').first();
    await instance.waitFor();
    assert.equal(await instance.evaluate((e) => e.ownerDocument !== document || e.getRootNode() !== document), true);
    const posted = sharePost(page);
    await instance.fill('mastodon.example');
    await instance.press('Enter');
    await posted;
    const opened = await page.evaluate(() => window.__parleyTest.opened);
    assert.equal(opened.length, 1, JSON.stringify(opened));
    assert.equal(opened[0].url, `https://mastodon.example/share?text=${encodeURIComponent(`Toot this ${url}`)}`);
  });

  t('counts below the site\'s minimum (min_shares 5) are not shown', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { site: 'minfive', script: { networks: 'x,reddit' } });
    await seedShares('minfive', url, 'x', 4);
    await seedShares('minfive', url, 'reddit', 5);
    const page = await env.newPage({ stubOpen: true });
    await page.goto(url);
    await until(() => shownCount(shareControl(page, 'reddit')), (n) => n === 5, 'reddit shows 5');
    assert.equal(await shownCount(shareControl(page, 'x')), null, 'X (4 < 5) shows no number');
  });

  t('a listing page with 20 count links is filled by exactly one GET /api/v1/counts', async () => {
    await env.requireEmbed();
    const c = client(env.stack.parley);
    const stories = Array.from({ length: 20 }, (_, i) => `${env.host.origin}/story/${process.pid}-${Date.now()}-${i}`);
    for (const [i, n] of [[0, 2], [1, 1], [7, 12]]) {
      for (let k = 0; k < n; k++) await c.create({ site: 'blog', url: stories[i], body: `Comment ${k} on story ${i}` }, { ua: ua('lister') });
    }
    const { url } = env.host.article(env.parley, { title: 'Latest stories', shares: false, thread: false, counts: stories, paragraphs: 0 });
    const page = await env.newPage();
    const mark = env.rec.mark();
    await page.goto(url);
    const spans = page.locator('[data-parley-count]');
    assert.equal(await spans.count(), 20);
    await until(() => spans.evaluateAll((els) => els.filter((e) => e.textContent.trim() !== '').length), (n) => n === 20, 'all 20 counts filled');
    const texts = await spans.allInnerTexts();
    assert.equal(texts[0], '2 comments');
    assert.equal(texts[1], '1 comment');
    assert.equal(texts[7], '12 comments');
    for (const i of [2, 3, 19]) assert.equal(texts[i], 'No comments', `story ${i}: ${texts[i]}`);
    await h.sleep(300);
    const api = env.rec.matching((e) => e.url.startsWith(`${env.parley}/api/`), mark);
    const counts = api.filter((e) => e.url.startsWith(`${env.parley}/api/v1/counts?`) && e.method === 'GET');
    assert.equal(counts.length, 1, env.rec.report(api));
    assert.equal(new URL(counts[0].url).searchParams.getAll('url').length, 20);
    assert.deepEqual(api.filter((e) => !counts.includes(e)).map((e) => e.url), [], 'no other API request');
  });
};
