// The thread iframe on a host page of another site: posting, the pending flow, replies, edit and delete within the
// window, votes, sizing, deep links, the dark theme, and a comment corpus of XSS vectors that must render inert.
// Plus, here only: the site's depth limit and edit window as the widget shows them (a site "shallow" with
// max_depth 2 and an 8-second edit window), and the first page arriving inside the thread's HTML.
'use strict';
const assert = require('node:assert/strict');
const { setupFile, threadFrame } = require('./lib/env');
const { client, ua } = require('../api/lib/comments');
const { threadReady, postComment, commentItem, commentById, buttonIn } = require('./lib/widget');

const env = setupFile({ file: 'comments', stack: { sites: [{ id: 'shallow', moderation: 'none', max_depth: 2, edit_window_s: 8 }] } });
require('./lib/flows/comments')(env);

env.test('the site\'s depth limit: no Reply where a reply would not nest; Edit and Delete end with the site\'s window', async () => {
  await env.requireEmbed();
  const { url } = env.host.article(env.parley, { site: 'shallow' });
  const api = client(env.stack.parley);
  const { comment: top } = await api.create({ site: 'shallow', url, author: 'Top Level', body: 'top of the thread' }, { ua: ua('top') });
  const { comment: child } = await api.create({ site: 'shallow', url, author: 'Child', body: 'a reply at depth 1', parent: top.id }, { ua: ua('child') });
  const page = await env.newPage();
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  const { frame } = await threadFrame(page);
  await threadReady(frame);
  const topItem = commentById(frame, top.id);
  const childItem = commentById(frame, child.id);
  await childItem.waitFor();
  // The first page came with the thread's HTML: the widget asked the API for no page of comments.
  assert.equal(requests.filter((u) => /\/api\/v1\/comments\?/.test(u)).length, 0, `no page request: ${requests.join(' ')}`);
  assert.equal(await topItem.locator(':scope > article').getByRole('button', { name: /^reply\b/i }).count(), 1, 'Reply on the top-level comment');
  assert.equal(await childItem.getByRole('button', { name: /^reply\b/i }).count(), 0, 'no Reply at the depth limit');

  const body = `mine ${process.pid}: edit me while you can`;
  const t0 = Date.now();
  await postComment(frame, { body, name: 'Quick Editor', email: 'quick@example.com' });
  const item = commentItem(frame, body);
  await item.waitFor();
  await buttonIn(item, /^edit\b/i).waitFor();
  // Within the window a page opened again still offers them (the edit token is kept in the iframe's storage)...
  await page.reload();
  const within = await threadFrame(page);
  await threadReady(within.frame);
  await buttonIn(commentItem(within.frame, body), /^edit\b/i).waitFor({ timeout: 3000 });
  // ...and after the site's 8 s (not the default 15 minutes) it does not.
  await new Promise((r) => setTimeout(r, Math.max(0, t0 + 9000 - Date.now())));
  await page.reload();
  const again = await threadFrame(page);
  await threadReady(again.frame);
  const mine = commentItem(again.frame, body);
  await mine.waitFor();
  assert.equal(await mine.getByRole('button', { name: /^(edit|delete)\b/i }).count(), 0, 'no Edit/Delete after the window');
});

env.finalChecks();
