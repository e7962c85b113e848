// The thread iframe on a host page of another site: posting, the pending flow, replies, edit and delete within the
// window, votes, sizing, deep links, the dark theme, languages, and a comment corpus of XSS vectors that must render inert.
// Registers its tests on ENV (lib/env.js setupFile); PICK (name => bool) chooses which, PREFIX goes before each name.
'use strict';
const assert = require('node:assert/strict');
const h = require('../../../api/lib/harness');
const { client, ua, flatten } = require('../../../api/lib/comments');
const { threadFrame } = require('../env');
const { luminance } = require('../browser');
const { threadReady, field, postComment, commentItem, commentById, buttonIn, voteButtons, shareBar, until, COMMENT } = require('../widget');
const { EVIL, BODIES, NAMES } = require('../xss');

module.exports = function define(env, { pick = () => true, prefix = '' } = {}) {
  const t = (name, fn) => { if (pick(name)) env.test(prefix + name, fn); };
  const api = () => client(env.stack.parley);
  let n = 0;
  const words = (tag) => `${tag} ${process.pid}-${++n}: a comment with a few plain words`;

  // Opens a host article (OPTS for hostpage.article) and waits for the thread; { page, url, el, frame }.
  async function openThread(opts = {}, pageOpts = {}) {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, opts);
    const page = await env.newPage(pageOpts);
    await page.goto(url + (opts.fragment || ''));
    const { el, frame } = await threadFrame(page);
    await threadReady(frame);
    return { page, url, el, frame };
  }
  // Like openThread, but waits only for the form (whose texts depend on the language).
  async function openThreadLoose(opts = {}) {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, opts);
    const page = await env.newPage();
    await page.goto(url);
    const { el, frame } = await threadFrame(page);
    await frame.locator('textarea').first().waitFor();
    return { page, url, el, frame };
  }
  async function apiThread(site, url, who = ua('reader')) {
    const r = await api().thread(site, url, { ua: who });
    assert.equal(r.status, 200, r.text);
    return flatten(r.json.comments);
  }

  t('post a comment: it appears at once, is announced, and Edit and Delete are offered to its author', async () => {
    const { frame, url } = await openThread();
    // The form as on WordPress (texts of the contract).
    await frame.getByText('Your email address will not be published. Required fields are marked *').waitFor();
    await frame.getByText(/You may use these HTML tags and attributes:/).waitFor();
    await frame.getByRole('checkbox', { name: /notify me of replies by e-mail/i }).waitFor();
    await frame.getByRole('button', { name: /^preview$/i }).waitFor();
    assert.equal(await field.website(frame).count(), 1, 'a Website field');
    const body = words('First');
    await postComment(frame, { body, name: 'Ann Author', email: 'ann@example.com' });
    const item = commentItem(frame, body);
    await item.waitFor();
    await item.getByText('Ann Author').waitFor();
    await frame.getByRole('status').filter({ hasText: /comment posted/i }).first().waitFor({ state: 'attached' });
    await buttonIn(item, /^edit\b/i).waitFor();
    await buttonIn(item, /^delete\b/i).waitFor();
    // A relative time, with the exact one on hover.
    const when = await item.locator('time').first().evaluate((e) => ({ dt: e.getAttribute('datetime'), title: e.title, text: e.textContent }));
    assert.ok(!Number.isNaN(Date.parse(when.dt)) && when.title.length > 0 && when.text.length > 0, JSON.stringify(when));
    assert.equal(await field.comment(frame).inputValue(), '', 'the form is emptied');
    const list = await apiThread('blog', url);
    assert.equal(list.length, 1);
    assert.match(list[0].html, new RegExp(body.slice(0, 20)));
    assert.equal(list[0].status, 'approved');
    // The honeypot is hidden from people and assistive technology alike.
    const hp = await frame.evaluate(() => {
      const i = document.querySelector('[name=hp]');
      if (!i) return null;
      const r = i.getBoundingClientRect();
      return { tab: i.tabIndex, hidden: Boolean(i.closest('[aria-hidden=true]')), visible: r.right > 0 && r.bottom > 0 && r.width > 1 && r.height > 1 && r.left < innerWidth };
    });
    assert.deepEqual(hp, { tab: -1, hidden: true, visible: false }, 'honeypot');
  });

  t('pending flow: on a site that moderates everything, the comment shows "Your comment is awaiting moderation."', async () => {
    const { frame, url } = await openThread({ site: 'modall' });
    const body = words('Pending');
    await postComment(frame, { body, name: 'Pat Pending', email: 'pat@example.com' });
    const item = commentItem(frame, body);
    await item.waitFor();
    await item.getByText('Your comment is awaiting moderation.').waitFor();
    assert.deepEqual(await apiThread('modall', url, ua('other')), [], 'nobody else sees it');
  });

  t('reply: "Reply" moves the form under the comment ("Leave a Reply to NAME"), the reply appears nested', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley);
    const parentBody = words('Parent');
    const { comment: parent } = await api().create({ site: 'blog', url, author: 'Parent Poster', body: parentBody }, { ua: ua('parent') });
    const page = await env.newPage();
    await page.goto(url);
    const { frame } = await threadFrame(page);
    await threadReady(frame);
    const pItem = commentById(frame, parent.id);
    await pItem.waitFor();
    await buttonIn(pItem, /^reply\b/i).click();
    await frame.getByRole('heading', { name: 'Leave a Reply to Parent Poster' }).waitFor();
    const cancel = frame.getByRole('button', { name: /cancel reply/i }).or(frame.getByRole('link', { name: /cancel reply/i })).first();
    await cancel.waitFor();
    const body = words('Reply');
    await postComment(frame, { body, name: 'Rita Replier', email: 'rita@example.com' });
    const reply = commentItem(frame, body);
    await reply.waitFor();
    assert.equal(await pItem.locator(COMMENT, { hasText: body }).count(), 1, 'the reply is inside its parent');
    await frame.getByRole('heading', { name: /^leave a reply$/i }).waitFor();
    const list = await apiThread('blog', url);
    const r = list.find((c) => c.id !== parent.id);
    assert.equal(r.parent, parent.id);
  });

  t('edit and delete within the window (the author\'s own comment only)', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley);
    const other = words('Someone else');
    await api().create({ site: 'blog', url, author: 'Other Person', body: other }, { ua: ua('other') });
    const page = await env.newPage();
    await page.goto(url);
    const { frame } = await threadFrame(page);
    await threadReady(frame);
    const otherItem = commentItem(frame, other);
    await otherItem.waitFor();
    assert.equal(await otherItem.getByRole('button', { name: /^(edit|delete)\b/i }).count(), 0, 'no Edit/Delete on another visitor\'s comment');

    const body = words('Editable');
    await postComment(frame, { body, name: 'Ed Itor', email: 'ed@example.com' });
    let item = commentItem(frame, body);
    await item.waitFor();
    const id = Number((await item.getAttribute('id')).replace('comment-', ''));
    await buttonIn(item, /^edit\b/i).click();
    item = commentById(frame, id);
    const box = item.getByRole('textbox').first();
    await box.waitFor();
    assert.match(await box.inputValue(), /Editable/);
    const edited = words('Edited');
    await box.fill(edited);
    await buttonIn(item, /^(save|update)\b/i).click();
    await item.getByText(edited.slice(0, 20)).waitFor();
    let list = await apiThread('blog', url);
    assert.match(list.find((c) => c.id === id).html, /Edited/);
    assert.ok(list.find((c) => c.id === id).edited, 'the API marks it edited');

    await buttonIn(item, /^delete\b/i).click();
    // A confirmation step, inline or with confirm() (accepted by the harness).
    const yes = item.getByRole('button', { name: /yes|confirm|delete it/i }).first();
    if (await yes.waitFor({ timeout: 1500 }).then(() => true, () => false)) await yes.click();
    await commentById(frame, id).waitFor({ state: 'detached' });
    list = await apiThread('blog', url);
    assert.equal(list.some((c) => c.id === id), false, 'gone from the API too');
  });

  t('vote: ▲ counts one and is pressed; ▼ moves the vote; the API agrees', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley);
    const body = words('Votable');
    const { comment } = await api().create({ site: 'blog', url, author: 'Val Votable', body }, { ua: ua('voted') });
    const page = await env.newPage();
    await page.goto(url);
    const { frame } = await threadFrame(page);
    await threadReady(frame);
    const item = commentById(frame, comment.id);
    const { up, down } = voteButtons(item);
    await up.waitFor();
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    assert.match(await up.evaluate((b) => b.textContent), /0/);
    await up.click();
    await until(() => up.getAttribute('aria-pressed'), (v) => v === 'true', 'up is pressed');
    await until(() => up.innerText(), (t) => /\b1\b/.test(t), 'up shows 1');
    let c = (await apiThread('blog', url)).find((x) => x.id === comment.id);
    assert.deepEqual([c.likes, c.dislikes], [1, 0]);
    await down.click();
    await until(() => down.getAttribute('aria-pressed'), (v) => v === 'true', 'down is pressed');
    assert.equal(await up.getAttribute('aria-pressed'), 'false');
    c = (await apiThread('blog', url)).find((x) => x.id === comment.id);
    assert.deepEqual([c.likes, c.dislikes], [0, 1]);
    // The accessible names say what the buttons do.
    assert.match(await up.evaluate((b) => b.textContent + (b.getAttribute('aria-label') || '')), /like|up/i);
  });

  t('the iframe sizes itself to its content (postMessage from Parley\'s origin only) and grows with a new comment', async () => {
    const { frame, el } = await openThread();
    const inner = () => frame.evaluate(() => Math.ceil(document.body.getBoundingClientRect().height));
    const outer = () => el.evaluate((f) => f.getBoundingClientRect().height);
    await until(async () => Math.abs((await outer()) - (await inner())), (d) => d <= 2, 'iframe height = content height');
    const before = await outer();
    await postComment(frame, { body: `${words('Tall')}\n\nwith\n\nseveral\n\nparagraphs`, name: 'Tom Tall', email: 'tom@example.com' });
    await until(outer, (hgt) => hgt > before + 20, 'the iframe grew');
    await until(async () => Math.abs((await outer()) - (await inner())), (d) => d <= 2, 'and still fits its content');
    // The host side listens to Parley's origin only: a message from anywhere else (here the host page itself, with
    // the protocol's exact shape) changes nothing.
    const now = await outer();
    await el.evaluate((f) => window.postMessage({ parley: 1, type: 'height', height: 17 }, '*'));
    await el.evaluate(() => new Promise((r) => setTimeout(r, 200)));
    assert.equal(await outer(), now, 'a forged height message is ignored');
  });

  t('a deep link #comment-N scrolls the host page to that comment', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, { paragraphs: 40 });
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await api().create({ site: 'blog', url, author: `Deep ${i}`, body: words(`Deep ${i}`) }, { ua: ua('deep') })).comment.id);
    const target = ids[4];
    const page = await env.newPage();
    await page.goto(`${url}#comment-${target}`);
    const { el, frame } = await threadFrame(page);
    assert.match(await el.getAttribute('src'), new RegExp(`#comment-${target}$`));
    await commentById(frame, target).waitFor();
    await until(async () => {
      const top = await el.evaluate((f) => f.getBoundingClientRect().top);
      const inside = await commentById(frame, target).evaluate((c) => c.getBoundingClientRect().top);
      const vh = await page.evaluate(() => innerHeight);
      return top + inside >= -5 && top + inside < vh;
    }, (ok) => ok === true, `comment ${target} is in the host viewport`);
  });

  async function colorsIn(frame, selector) {
    return frame.evaluate((sel) => {
      const e = document.querySelector(sel);
      const fg = getComputedStyle(e).color;
      let bg = null;
      for (let x = e; x; x = x.parentElement) {
        const c = getComputedStyle(x).backgroundColor;
        if (!/^rgba\(0, 0, 0, 0\)$|^transparent$/.test(c)) { bg = c; break; }
      }
      return { fg, bg };
    }, selector);
  }
  const contrast = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };

  t('dark theme: data-theme="dark" gives light text on dark in the thread and the share bar; "auto" follows the reader', async () => {
    const darkHost = '<style>html{background:#121212;color:#eee}</style>';
    // Explicit dark.
    let { page, frame, el } = await openThread({ script: { theme: 'dark' }, head: darkHost });
    assert.match(await el.getAttribute('src'), /[?&]theme=dark(&|$)/);
    let t = await colorsIn(frame, 'h2, h1');
    const hostBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    assert.ok(luminance(t.fg) > 0.4, `light text in the thread: ${JSON.stringify(t)}`);
    assert.ok(contrast(t.fg, t.bg || hostBg) >= 4.5, `contrast ${JSON.stringify(t)} on ${hostBg}`);
    const bar = await shareBar(page).evaluate((e) => { const b = e.shadowRoot.querySelector('button'); return getComputedStyle(b).color; });
    assert.ok(luminance(bar) > 0.4, `light share-bar text: ${bar}`);
    await env.screenshot('article-theme-dark', page);

    // auto + a reader who prefers dark.
    ({ page, frame, el } = await openThread({ head: darkHost }, { colorScheme: 'dark' }));
    t = await colorsIn(frame, 'h2, h1');
    assert.ok(luminance(t.fg) > 0.4, `auto follows prefers-color-scheme: dark: ${JSON.stringify(t)}`);
    // auto + light.
    ({ page, frame, el } = await openThread({}, { colorScheme: 'light' }));
    t = await colorsIn(frame, 'h2, h1');
    assert.ok(luminance(t.fg) < 0.2, `auto follows prefers-color-scheme: light: ${JSON.stringify(t)}`);
  });

  t('languages: data-lang (de, fr, es, pt) or else the page\'s lang picks the thread\'s and the share bar\'s strings', async () => {
    await env.requireEmbed();
    const english = { heading: 'Leave a Reply', bar: 'Share this post' };
    for (const [lang, how] of [['de', 'data-lang'], ['fr', 'data-lang'], ['es', 'html lang'], ['pt-BR', 'html lang']]) {
      const opts = how === 'data-lang' ? { script: { lang } } : { lang };
      const { page, frame } = await openThreadLoose(opts);
      const base = lang.split('-')[0];
      assert.equal(await frame.evaluate(() => document.documentElement.lang), base, `${lang} via ${how}`);
      const heading = await frame.locator('#reply-title, h2, h3').filter({ hasNotText: /^\s*$/ }).first().innerText().catch(() => '');
      const form = await frame.locator('form').first().innerText();
      assert.ok(!form.includes('Post Comment') && !form.includes('Your email address will not be published'), `${lang}: the form is translated:\n${form.slice(0, 300)}`);
      // The share bar's words (text and accessible names), once it has its buttons.
      await until(() => shareBar(page).getByRole('button').count(), (k) => k >= 3, 'share buttons');
      const bar = await shareBar(page).evaluate((e) => [e.shadowRoot.textContent,
        ...[...e.shadowRoot.querySelectorAll('[aria-label]')].map((x) => x.getAttribute('aria-label'))].join(' | '));
      assert.ok(!bar.includes(english.bar) && !bar.includes('Copy link'), `${lang}: the share bar is translated: ${bar}`);
      assert.notEqual(heading.trim(), english.heading, `${lang}: ${heading}`);
    }
  });

  t('a thread full of XSS vectors renders inert: no script runs, no dialog, no request anywhere else', async () => {
    await env.requireEmbed();
    const { url } = env.host.article(env.parley, {
      path: `/xss/${process.pid}-${Date.now()}`,
      title: `"><img src=x onerror="window.__pwned='title'">`,
      script: { title: `</title><script>window.__pwned='data-title'</script>` },
    });
    const seeded = [];
    for (const [i, body] of BODIES.entries()) {
      const r = await api().post({ site: 'blog', url, author: NAMES[i % NAMES.length], body, website: i % 3 ? undefined : 'https://ok.example/' }, { ua: ua('xss') });
      assert.equal(r.status, 201, `${body}: ${r.text}`);
      seeded.push(r.json.comment.id);
    }
    const mark = env.rec.mark();
    const dialogsBefore = env.dialogs.length;
    const page = await env.newPage();
    await page.goto(url);
    const { frame } = await threadFrame(page);
    await threadReady(frame);
    for (const id of seeded) await commentById(frame, id).waitFor({ state: 'attached' });
    // Also type one into the form, preview it and post it.
    const typed = `${BODIES[1]} ${BODIES[4]} typed ${Date.now()}`;
    await field.comment(frame).fill(typed);
    await frame.getByRole('button', { name: /^preview$/i }).click();
    await h.sleep(300);
    await postComment(frame, { body: `${typed}!`, name: NAMES[0], email: 'x@example.com' });
    await commentItem(frame, `typed`).waitFor();
    // Interact: hover and focus what is there.
    for (const b of await frame.locator(`${COMMENT} b`).all()) await b.hover().catch(() => {});
    await page.keyboard.press('Tab');
    await h.sleep(500);

    assert.equal(env.dialogs.length, dialogsBefore, `dialogs: ${JSON.stringify(env.dialogs.slice(dialogsBefore))}`);
    for (const f of [page.mainFrame(), frame]) {
      const pwned = await f.evaluate(() => window.__parleyTest && window.__parleyTest.pwned);
      assert.deepEqual(pwned, [], `window.__pwned assignments in ${f.url()}`);
    }
    const bad = env.rec.violations(mark);
    assert.deepEqual(bad.map((e) => e.url), [], env.rec.report(bad));
    assert.equal(env.rec.matching((e) => e.url.startsWith(EVIL), mark).length, 0);
    const dom = await frame.evaluate((sel) => {
      const out = { tags: [], on: [], js: [], styles: [] };
      const bodies = document.querySelectorAll(sel);
      out.bodies = bodies.length;
      for (const c of bodies) {
        for (const e of c.querySelectorAll('*')) {
          const tag = e.localName;
          if (['script', 'iframe', 'object', 'embed', 'form', 'input', 'style', 'link', 'base', 'meta', 'svg', 'math', 'img', 'video', 'audio', 'source', 'template', 'details', 'table'].includes(tag)
            && !e.closest('.avatar, header') && !(tag === 'img' && e.getAttribute('src') && e.getAttribute('src').startsWith('/avatar/'))) out.tags.push(tag);
          for (const a of e.attributes) {
            if (/^on/i.test(a.name)) out.on.push(`${tag}[${a.name}]`);
            if (a.name === 'style') out.styles.push(tag);
            if (/^\s*(javascript|data|vbscript):/i.test(a.value) && ['href', 'src', 'xlink:href', 'action', 'formaction', 'cite'].includes(a.name)) out.js.push(`${tag}[${a.name}=${a.value}]`);
          }
        }
      }
      return out;
    }, `${COMMENT}`);
    assert.ok(dom.bodies >= seeded.length, `the check saw the ${seeded.length} comments: ${dom.bodies}`);
    delete dom.bodies;
    assert.deepEqual(dom, { tags: [], on: [], js: [], styles: [] }, 'nothing active in the rendered comments');
    // What the vectors became is visible text (or nothing), and the harmless parts survive.
    await commentItem(frame, 'a plain link to another site').getByRole('link').first().waitFor();
  });
};
