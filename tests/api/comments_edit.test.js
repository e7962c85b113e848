// Author edits and deletes with the edit token (issue 3 "Writing"): PATCH and DELETE /api/v1/comments/{id} with
// X-Parley-Edit-Token within the site's edit window; edits re-run the sanitiser and the moderation rules; a deleted
// comment with replies becomes a placeholder, without replies it disappears. Sites: short (edit_window_s 2), long
// (600 s), links (moderation links), first (moderation first), all (moderation all).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, uniq, page, ua, urlHash, assertError, flatten, client, parseXml } = require('./lib/comments');

const AWAITING = 'Your comment is awaiting moderation.';
let redis;
let parley;
let c;

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({
    redisUrl: redis.url, comments: RELAXED, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN },
    sites: [
      { id: 'short', origins: ['https://short.example'], moderation: 'none', edit_window_s: 2 },
      { id: 'long', origins: ['https://long.example'], moderation: 'none', edit_window_s: 600 },
      { id: 'links', origins: ['https://links.example'], moderation: 'links', edit_window_s: 600 },
      { id: 'first', origins: ['https://first.example'], edit_window_s: 600 },
      { id: 'all', origins: ['https://all.example'], moderation: 'all', edit_window_s: 600 },
    ],
  });
  c = client(parley);
});

after(async () => {
  if (parley) await parley.stop();
  if (redis) await redis.stop();
  if (parley) assert.deepEqual(h.sanitizerReport(parley.log()), [], 'no sanitizer report in the parleyd log');
});

const EMAIL = `editor-${process.pid}@Edit-Mail.example`;
const noEmail = (r, what) => assert.ok(!r.text.toLowerCase().includes(EMAIL.toLowerCase()), `${what} leaks the e-mail`);

test('PATCH with the edit token: 200, the body re-sanitised, edited set, votes kept; GET shows the edit', async () => {
  const url = page('edit', 'long.example');
  const made = await c.create({ site: 'long', url, email: EMAIL, title: 'Edits', body: 'Original text' });
  const id = made.comment.id;
  assert.equal((await c.vote('long', url, id, 1, { ua: ua('fan') })).status, 200);
  await h.sleep(20);
  const body = 'Changed <script>alert(1)</script> <b>bold</b> see https://new.example/x\n\nsecond para';
  const r = await c.edit('long', url, id, body, made.edit_token);
  assert.equal(r.status, 200, r.text);
  noEmail(r, 'PATCH');
  assert.deepEqual(Object.keys(r.json), ['comment']);
  const e = r.json.comment;
  assert.equal(e.id, id);
  assert.equal(e.status, 'approved');
  assert.equal(e.created, made.comment.created, 'created is kept');
  assert.equal(e.author, made.comment.author);
  assert.equal(e.avatar, made.comment.avatar);
  assert.equal(e.likes, 1, 'votes survive an edit');
  assert.match(String(e.edited), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(e.edited) > Date.parse(e.created), `edited ${e.edited} after created ${e.created}`);
  assert.ok(e.html.includes('&lt;script&gt;alert(1)&lt;/script&gt;') && !/<script/i.test(e.html), e.html);
  assert.ok(e.html.includes('<b>bold</b>'), e.html);
  assert.ok(e.html.includes('<a href="https://new.example/x" rel="nofollow ugc noopener">https://new.example/x</a>'), e.html);
  assert.ok(e.html.includes('</p><p>second para</p>'), e.html);
  assert.deepEqual((await c.preview(body)).json, { html: e.html }, 'the same HTML the preview gives');

  const g = await c.thread('long', url, { ua: ua('reader') });
  assert.equal(g.json.thread.count, 1);
  assert.deepEqual(g.json.comments[0], e, 'GET shows the edited comment');
  // The token keeps working inside the window; a second edit moves edited forward.
  await h.sleep(20);
  const r2 = await c.edit('long', url, id, 'Third version', made.edit_token);
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.json.comment.html, '<p>Third version</p>');
  assert.ok(Date.parse(r2.json.comment.edited) > Date.parse(e.edited));
  // The feed carries the edit too.
  const f = await c.feed('long', url);
  parseXml(f.text);
  assert.ok(f.text.includes('&lt;p&gt;Third version&lt;/p&gt;'), 'the feed shows the edited text');
  assert.ok(!f.text.includes('Original text'));
});

test('PATCH/DELETE refusals: no token 401, wrong token 403, bad input 422/404; nothing changes', async () => {
  const url = page('refuse', 'long.example');
  const mine = await c.create({ site: 'long', url, email: EMAIL, body: 'mine' });
  const theirs = await c.create({ site: 'long', url, body: 'theirs' });
  const id = mine.comment.id;
  assertError(await c.edit('long', url, id, 'no token', null), 401, 'unauthorized', undefined, 'PATCH without a token');
  assertError(await c.edit('long', url, id, 'empty token', ''), 401, 'unauthorized', undefined, 'PATCH with an empty token');
  assertError(await c.edit('long', url, id, 'huge token', 'x'.repeat(5000)), 401, 'unauthorized', undefined, 'oversized token');
  for (const [what, tok] of [
    ['wrong token', 'A'.repeat(43)],
    ['another comment\'s token', theirs.edit_token],
    ['token with a changed character', mine.edit_token.slice(0, -1) + (mine.edit_token.endsWith('A') ? 'B' : 'A')],
    ['token in lower case', mine.edit_token.toLowerCase() === mine.edit_token ? `${mine.edit_token}x` : mine.edit_token.toLowerCase()],
  ]) {
    const r = await c.edit('long', url, id, `edit with ${what}`, tok);
    assertError(r, 403, 'forbidden', undefined, `PATCH ${what}`);
    noEmail(r, `PATCH ${what}`);
    assertError(await c.remove('long', url, id, tok), 403, 'forbidden', undefined, `DELETE ${what}`);
  }
  assertError(await c.remove('long', url, id, null), 401, 'unauthorized', undefined, 'DELETE without a token');
  // The token is bound to its comment's thread.
  const elsewhere = page('refuse', 'long.example');
  const other = await c.create({ site: 'long', url: elsewhere, body: 'same id, other thread' });
  assert.equal(other.comment.id, id, 'ids are per thread');
  assertError(await c.edit('long', elsewhere, id, 'cross-thread', mine.edit_token), 403, 'forbidden', undefined, 'other thread');

  const tok = mine.edit_token;
  assertError(await c.edit('long', url, id, '', tok), 422, 'invalid', 'body', 'empty body');
  assertError(await c.edit('long', url, id, ' \n\t ', tok), 422, 'invalid', 'body', 'blank body');
  assertError(await c.edit('long', url, id, 'x'.repeat(10001), tok), 422, 'invalid', 'body', 'body 10001');
  assertError(await h.h1(parley, 'PATCH', `/api/v1/comments/${id}`, { body: { site: 'long', url, body: 'x', author: 'New name' },
    headers: { 'x-parley-edit-token': tok } }), 422, 'invalid', 'author', 'the name cannot be edited');
  assertError(await h.h1(parley, 'PATCH', `/api/v1/comments/${id}`, { body: 'not json', headers: { 'x-parley-edit-token': tok } }),
    400, 'bad_json');
  assertError(await c.edit('long', url, 4242, 'unknown', tok), 404, 'not_found', 'id', 'unknown id');
  assertError(await c.remove('long', url, 4242, tok), 404, 'not_found', 'id', 'DELETE unknown id');
  assertError(await c.edit('nope', url, id, 'x', tok), 404, 'unknown_site', 'site');
  assertError(await c.edit('long', 'https://evil.example/p', id, 'x', tok), 403, 'foreign_url', 'url');
  assertError(await h.h1(parley, 'DELETE', `/api/v1/comments/${id}?site=long`, { headers: { 'x-parley-edit-token': tok } }), 422,
    'invalid', 'url', 'DELETE without url');

  const g = await c.thread('long', url);
  assert.deepEqual(g.json.comments.map((x) => [x.id, x.html, x.edited]), [[id, '<p>mine</p>', null], [theirs.comment.id, '<p>theirs</p>', null]]);
  assert.equal(g.json.thread.count, 2);
});

test('edit window (short: 2 s): inside it edits work; after 2.5 s PATCH and DELETE are 403', async () => {
  const url = page('window', 'short.example');
  const made = await c.create({ site: 'short', url, body: 'written in a hurry' });
  const r = await c.edit('short', url, made.comment.id, 'fixed a typo', made.edit_token);
  assert.equal(r.status, 200, r.text);
  await h.sleep(2500);
  assertError(await c.edit('short', url, made.comment.id, 'too late', made.edit_token), 403, 'forbidden', undefined, 'PATCH late');
  assertError(await c.remove('short', url, made.comment.id, made.edit_token), 403, 'forbidden', undefined, 'DELETE late');
  const g = await c.thread('short', url);
  assert.equal(g.json.comments[0].html, '<p>fixed a typo</p>');
  assert.equal(g.json.thread.count, 1);
  // The window is per comment: a new one has a fresh window.
  const again = await c.create({ site: 'short', url, body: 'new comment' });
  assert.equal((await c.edit('short', url, again.comment.id, 'new comment, edited', again.edit_token)).status, 200);
});

test('edits re-run moderation: on "links" a second link sends an approved comment back to the queue', async () => {
  const url = page('relink', 'links.example');
  const author = ua('relink-author');
  const made = await c.create({ site: 'links', url, body: 'one link https://one.example/' }, { ua: author });
  assert.equal(made.comment.status, 'approved');
  await c.create({ site: 'links', url, body: 'a bystander' }, { ua: ua('bystander') });
  assert.equal((await c.thread('links', url)).json.thread.count, 2);

  const r = await c.edit('links', url, made.comment.id, 'now two: https://one.example/ <a href="https://two.example/">two</a>',
    made.edit_token, { ua: author });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.comment.status, 'pending');
  assert.equal(r.json.comment.message, AWAITING);
  let g = await c.thread('links', url, { ua: ua('reader') });
  assert.deepEqual(g.json.comments.map((x) => x.id), [made.comment.id + 1], 'hidden from others');
  assert.equal(g.json.thread.count, 1, 'no longer counted');
  assert.equal((await c.counts('links', [url])).json.items[0].comments, 1);
  g = await c.thread('links', url, { ua: author });
  const mine = g.json.comments.find((x) => x.id === made.comment.id);
  assert.ok(mine, 'the author still sees it');
  assert.equal(mine.status, 'pending');
  assert.ok(await c.adminFind('links', 'pending', url, made.comment.id), 'in the pending queue');
  assert.equal(await c.adminFind('links', 'approved', url, made.comment.id), undefined, 'not in the approved queue');

  // A comment a moderator has not seen keeps waiting, even if the edit takes the links out again.
  const back = await c.edit('links', url, made.comment.id, 'no links any more', made.edit_token, { ua: author });
  assert.equal(back.status, 200, back.text);
  assert.equal(back.json.comment.status, 'pending', 'an edit does not release a pending comment');
  assert.equal((await c.thread('links', url)).json.thread.count, 1);
  // Approved by the moderator, it is public with the edited text.
  assert.equal((await c.adminAct('links', `${urlHash(url)}:${made.comment.id}`, 'approve')).status, 200);
  g = await c.thread('links', url, { ua: ua('reader') });
  assert.deepEqual(g.json.comments.map((x) => [x.id, x.status, x.html]),
    [[made.comment.id, 'approved', '<p>no links any more</p>'], [made.comment.id + 1, 'approved', '<p>a bystander</p>']]);
  assert.equal(g.json.thread.count, 2);

  // A comment with replies sent back to the queue stays as a placeholder (no author, no text, "awaiting
  // moderation"), so the replies below it keep their place, their count and their deep links.
  const root2 = await c.create({ site: 'links', url, body: 'second root' }, { ua: author });
  const under = await c.create({ site: 'links', url, parent: root2.comment.id, body: 'reply under it' }, { ua: ua('replier') });
  assert.equal((await c.one('links', url, under.comment.id)).status, 200);
  const held = await c.edit('links', url, root2.comment.id, 'https://a.example/ https://b.example/', root2.edit_token, { ua: author });
  assert.equal(held.json.comment.status, 'pending');
  assert.equal(held.json.comment.html, '', 'held for moderation: its new text is not shown yet');
  g = await c.thread('links', url, { ua: ua('reader') });
  const ph = flatten(g.json.comments).find((x) => x.id === root2.comment.id);
  assert.ok(ph, 'the held comment stays as a placeholder for its reply');
  assert.deepEqual([ph.status, ph.author, ph.html], ['pending', null, '']);
  assert.ok(!JSON.stringify(g.json).includes('https://a.example/'), 'the held text is not public');
  assert.deepEqual(ph.replies.map((x) => x.id), [under.comment.id], 'the reply is still shown under it');
  assert.equal(g.json.thread.count, flatten(g.json.comments).filter((x) => x.status === 'approved').length,
    'the count is what is shown');
  assert.equal((await c.one('links', url, under.comment.id)).status, 200, 'the reply can still be deep-linked');
});

test('an edit does not release a comment held by "first" or "all" moderation', async () => {
  for (const site of ['first', 'all']) {
    const url = page(`hold-${site}`, `${site}.example`);
    const made = await c.create({ site, url, email: `new-${uniq('e')}@example.com`, body: 'my very first comment' });
    assert.equal(made.comment.status, 'pending', site);
    const r = await c.edit(site, url, made.comment.id, 'edited while waiting', made.edit_token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.comment.status, 'pending', `${site}: still pending after the edit`);
    const g = await c.thread(site, url, { ua: ua('reader') });
    assert.deepEqual(g.json.comments, [], `${site}: nobody else sees it`);
    assert.equal(g.json.thread.count, 0);
    assert.ok(await c.adminFind(site, 'pending', url, made.comment.id), `${site}: still in the pending queue`);
  }
});

test('DELETE by the author: without replies it disappears; with replies it leaves a placeholder', async () => {
  const url = page('del', 'long.example');
  const lone = await c.create({ site: 'long', url, email: EMAIL, title: 'Deletes', body: 'lonely comment' });
  const parent = await c.create({ site: 'long', url, email: EMAIL, body: 'parent comment' });
  const reply = await c.create({ site: 'long', url, parent: parent.comment.id, body: 'a reply to keep' });
  assert.equal((await c.thread('long', url)).json.thread.count, 3);

  let r = await c.remove('long', url, lone.comment.id, lone.edit_token);
  assert.equal(r.status, 200, r.text);
  noEmail(r, 'DELETE');
  assert.equal(r.json.comment.status, 'deleted');
  let g = await c.thread('long', url);
  assert.deepEqual(g.json.comments.map((x) => x.id), [parent.comment.id], 'gone from the thread');
  assert.equal(g.json.thread.count, 2, 'and from the count');
  assert.equal((await c.counts('long', [url])).json.items[0].comments, 2);
  assertError(await c.one('long', url, lone.comment.id), 404, 'not_found', 'id', 'deep link to a deleted comment');
  assert.ok(!(await c.feed('long', url)).text.includes('lonely comment'));

  r = await c.remove('long', url, parent.comment.id, parent.edit_token);
  assert.equal(r.status, 200, r.text);
  noEmail(r, 'DELETE with replies');
  g = await c.thread('long', url);
  assert.equal(g.json.comments.length, 1);
  const ph = g.json.comments[0];
  assert.equal(ph.id, parent.comment.id);
  assert.equal(ph.status, 'deleted');
  assert.equal(ph.html, '');
  assert.equal(ph.author, null);
  assert.equal(ph.website, null);
  assert.equal(ph.avatar, null);
  assert.ok(!g.text.includes('parent comment'), 'the text is gone');
  assert.deepEqual(ph.replies.map((x) => [x.id, x.html]), [[reply.comment.id, '<p>a reply to keep</p>']], 'the replies stay');
  assert.equal(g.json.thread.count, 1, 'the placeholder is not counted');
  // The reply is still reachable by deep link; the feed has the reply only.
  r = await c.one('long', url, reply.comment.id);
  assert.equal(r.status, 200, r.text);
  const feed = await c.feed('long', url);
  parseXml(feed.text);
  assert.equal((feed.text.match(/<entry>/g) || []).length, 1);
  assert.ok(!feed.text.includes('parent comment'));
  // A deleted comment cannot be edited, deleted again, voted on or replied to.
  assertError(await c.edit('long', url, parent.comment.id, 'resurrect', parent.edit_token), 403, 'forbidden', undefined, 'edit deleted');
  assertError(await c.remove('long', url, parent.comment.id, parent.edit_token), 403, 'forbidden', undefined, 'delete twice');
  assertError(await c.vote('long', url, parent.comment.id, 1), 404, 'not_found', 'id', 'vote on a placeholder');
  assertError(await c.post({ site: 'long', url, parent: parent.comment.id, body: 'reply to a placeholder' }), 422, 'invalid',
    'parent');
  g = await c.thread('long', url);
  assert.equal(g.json.thread.count, 1);
  assert.equal(flatten(g.json.comments).length, 2);

  // When the last reply goes, the placeholder has nothing left to hold and goes too; neither can be deep-linked.
  r = await c.remove('long', url, reply.comment.id, reply.edit_token);
  assert.equal(r.status, 200, r.text);
  g = await c.thread('long', url);
  assert.deepEqual(g.json.comments, [], `an empty placeholder is not kept: ${g.text}`);
  assert.equal(g.json.thread.count, 0);
  assertError(await c.one('long', url, reply.comment.id), 404, 'not_found', 'id', 'deep link to a deleted reply');
  assertError(await c.one('long', url, parent.comment.id), 404, 'not_found', 'id', 'deep link to a pruned placeholder');
  // A deleted reply without replies under a live comment: gone, and not deep-linkable either.
  const live = await c.create({ site: 'long', url, body: 'live root' });
  const gone = await c.create({ site: 'long', url, parent: live.comment.id, body: 'short-lived reply' });
  assert.equal((await c.remove('long', url, gone.comment.id, gone.edit_token)).status, 200);
  g = await c.thread('long', url);
  assert.deepEqual(g.json.comments.map((x) => [x.id, x.replies.length]), [[live.comment.id, 0]]);
  assertError(await c.one('long', url, gone.comment.id), 404, 'not_found', 'id', 'deep link to a deleted reply');

  // An author may withdraw a comment that is still waiting.
  const lurl = page('del', 'links.example');
  const author = ua('withdraw');
  const pend = await c.create({ site: 'links', url: lurl, body: 'https://a.example/ https://b.example/' }, { ua: author });
  assert.equal(pend.comment.status, 'pending');
  r = await c.remove('links', lurl, pend.comment.id, pend.edit_token, { ua: author });
  assert.equal(r.status, 200, r.text);
  g = await c.thread('links', lurl, { ua: author });
  assert.deepEqual(g.json.comments, [], 'gone for its author too');
  assert.equal(await c.adminFind('links', 'pending', lurl, pend.comment.id), undefined, 'out of the queue');
});
