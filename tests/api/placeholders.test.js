// A comment that leaves the thread while it has replies (issue 3: "A deleted comment with replies becomes a
// 'deleted' placeholder"), extended to moderation: marking such a comment spam keeps it as a placeholder too, so
// its replies stay visible and counted, and the thread count always equals the comments shown. A deleted comment
// cannot be brought back.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, page, urlHash, assertError, flatten, client } = require('./lib/comments');

let redis;
let parley;
let c;

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({
    redisUrl: redis.url, comments: RELAXED, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN },
    sites: [{ id: 'none', origins: ['https://blog.example'], moderation: 'none' }],
  });
  c = client(parley);
});

after(async () => {
  if (parley) await parley.stop();
  if (redis) await redis.stop();
  if (parley) assert.deepEqual(h.sanitizerReport(parley.log()), [], 'no sanitizer report in the parleyd log');
});

// The thread as shown: count, and the visible comments (placeholders included) by id.
async function shown(url) {
  const r = await c.thread('none', url);
  assert.equal(r.status, 200, r.text);
  const all = flatten(r.json.comments);
  return { count: r.json.thread.count, all, byId: new Map(all.map((x) => [x.id, x])) };
}

test('spam on a comment with replies: placeholder, replies kept and counted; approve restores it', async () => {
  const url = page('spam-parent');
  const root = (await c.create({ site: 'none', url, body: 'the root, soon marked spam' })).comment;
  const reply = (await c.create({ site: 'none', url, parent: root.id, email: 'b@example.com', body: 'a reply' })).comment;
  const ref = `${urlHash(url)}:${root.id}`;

  let s = await shown(url);
  assert.equal(s.count, 2);

  let r = await c.adminAct('none', ref, 'spam');
  assert.equal(r.status, 200, r.text);
  s = await shown(url);
  assert.equal(s.count, 1, 'the spam comment is no longer counted, its reply still is');
  const ph = s.byId.get(root.id);
  assert.ok(ph, 'the spam comment stays as a placeholder for its reply');
  assert.equal(ph.status, 'deleted');
  assert.equal(ph.author, null);
  assert.equal(ph.html, '');
  assert.ok(!JSON.stringify(s.all).includes('soon marked spam'), 'the spam text is not shown');
  assert.equal(ph.replies.map((x) => x.id).join(), String(reply.id), 'the reply is still under it');
  const counts = await c.counts('none', [url]);
  assert.equal(counts.json.items[0].comments, 1, '/counts agrees with the thread');
  // Moderators still find it in the spam queue.
  assert.ok(await c.adminFind('none', 'spam', url, root.id), 'listed as spam');

  r = await c.adminAct('none', ref, 'approve');
  assert.equal(r.status, 200, r.text);
  s = await shown(url);
  assert.equal(s.count, 2);
  assert.equal(s.byId.get(root.id).status, 'approved');
  assert.match(s.byId.get(root.id).html, /soon marked spam/, 'the text is back');
});

test('a spam placeholder leaves the thread once its last reply is deleted', async () => {
  const url = page('spam-leaves');
  const root = (await c.create({ site: 'none', url, body: 'root to be spam' })).comment;
  const reply = (await c.create({ site: 'none', url, parent: root.id, email: 'b@example.com', body: 'only reply' }));
  assert.equal((await c.adminAct('none', `${urlHash(url)}:${root.id}`, 'spam')).status, 200);
  let s = await shown(url);
  assert.ok(s.byId.has(root.id), 'placeholder while the reply exists');
  const del = await c.remove('none', url, reply.comment.id, reply.edit_token);
  assert.equal(del.status, 200, del.text);
  s = await shown(url);
  assert.equal(s.all.length, 0, 'placeholder and reply are both gone');
  assert.equal(s.count, 0);
  assert.ok(await c.adminFind('none', 'spam', url, root.id), 'still in the spam queue for moderators');
});

test('a deleted comment cannot be approved again (404), and counts never drift', async () => {
  const url = page('deleted-final');
  const root = (await c.create({ site: 'none', url, body: 'to be deleted' })).comment;
  await c.create({ site: 'none', url, parent: root.id, email: 'b@example.com', body: 'keeps the placeholder' });
  const ref = `${urlHash(url)}:${root.id}`;
  assert.equal((await c.adminAct('none', ref, 'delete')).status, 200);
  assertError(await c.adminAct('none', ref, 'approve'), 404, 'not_found', 'ref', 'approve a deleted comment');
  assertError(await c.adminAct('none', ref, 'spam'), 404, 'not_found', 'ref', 'spam a deleted comment');
  const s = await shown(url);
  assert.equal(s.byId.get(root.id).status, 'deleted');
  assert.equal(s.count, 1, 'only the reply counts');
  assert.equal(s.all.filter((x) => x.status === 'approved').length, s.count, 'count = approved comments shown');
});
