// Retention (privacy.retention_s): a background sweep removes the e-mail address, its keyed hash and the visitor
// hash of guest comments older than the limit, in every thread, while accounts' comments and everything public stay.
// The limit is 2 s and the sweep runs every second here, so the test reads Redis before and after.
'use strict';
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { client, RELAXED } = require('./lib/comments');

const started = [];
after(async () => {
  for (const p of started.reverse()) await p.stop();
});

test('guest comments past privacy.retention_s lose e-mail, e-mail hash and visitor hash; new ones keep them; the thread reads the same', async () => {
  const redis = await h.startRedis();
  started.push(redis);
  const p = await h.startParley({
    redisUrl: redis.url, comments: RELAXED,
    sites: [{ id: 'blog', origins: ['https://blog.example'], moderation: 'none' }],
    extra: 'privacy:\n  retention_s: 2\n  sweep_interval_s: 1\n',
  });
  started.push(p);
  const c = client(p);
  const url = 'https://blog.example/retention';
  const first = await c.post({ site: 'blog', url, author: 'Old Guest', email: 'old.guest@example.com', body: 'An old comment.' });
  assert.equal(first.status, 201, first.text);
  const stored = async (id) => {
    const keys = await h.redisCmd(redis.port, ['KEYS', 't:cm:{blog:*']);
    assert.equal(keys.length, 1, `one thread: ${keys}`);
    return JSON.parse(await h.redisCmd(redis.port, ['HGET', keys[0], String(id)]));
  };
  const before = await stored(first.json.comment.id);
  assert.equal(before.email, 'old.guest@example.com');
  assert.ok(before.visitor && before.ehash, 'visitor and e-mail hash stored at first');
  const pageBefore = await c.thread('blog', url);

  let after1;
  for (let i = 0; i < 100; i++) {
    await h.sleep(100);
    after1 = await stored(first.json.comment.id);
    if (after1.email === '') break;
  }
  assert.equal(after1.email, '', 'the e-mail is gone');
  assert.equal(after1.ehash, '', 'and its keyed hash');
  assert.equal(after1.visitor, '', 'and the visitor hash');
  assert.equal(after1.author, 'Old Guest', 'the name stays');
  assert.equal(after1.body, 'An old comment.', 'the text stays');
  const pageAfter = await c.thread('blog', url);
  assert.deepEqual(pageAfter.json.comments, pageBefore.json.comments, 'what readers see does not change');

  // A fresh comment is within the limit: untouched by the next sweeps.
  const fresh = await c.post({ site: 'blog', url, author: 'New Guest', email: 'new.guest@example.com', body: 'A new comment.' });
  assert.equal(fresh.status, 201, fresh.text);
  await h.sleep(1200);
  const kept = await stored(fresh.json.comment.id);
  assert.equal(kept.email, 'new.guest@example.com', 'younger than the limit: kept');
  await h.stopClean(p);
});
