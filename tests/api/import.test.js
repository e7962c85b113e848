// `parleyd import` and `parleyd export`: the real parleyd binary run as a child process against the test's own
// redis-server, then the real server reading the threads back through the public API.
// Files: tests/import/wordpress.xml (nesting, statuses, pingbacks, odd text, broken entries), latin1.xml
// (ISO-8859-1), xxe.xml (external entities that must never be read), laughs.xml (nested entities), disqus.xml;
// gen-wxr.js makes large files.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, flatten, client, parseXml, kids, textOf, decodeXml, urlHash } = require('./lib/comments');
const { generate } = require('../import/gen-wxr');

const FILES = path.resolve(__dirname, '../import');
const SITES = [{ id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'], moderation: 'none' },
  { id: 'other', origins: ['https://other.example'] }];
const HELLO = 'https://blog.example/2019/03/hello-world/';
const DISQUS = 'https://blog.example/disqus/first/';

// A config for REDIS_URL in a fresh directory (parleyd's port chosen now, so import, export and the server share
// one file).
async function setup(redisUrl, extra = {}) {
  const dir = h.tmpdir('import');
  const port = await h.freePort();
  const conf = path.join(dir, 'parley.yaml');
  const text = h.configYaml({ port, redisUrl, dataDir: path.join(dir, 'data'), sites: SITES, comments: RELAXED, ...extra });
  fs.writeFileSync(conf, text);
  return { dir, port, conf, text };
}

// Runs `parleyd ARGS...` to the end; returns { code, out, err }. A sanitizer report fails the test.
function tool(args, env = {}) {
  const r = spawnSync(h.PARLEYD, args, { env: { ...h.sanitizerEnv(), ...env }, encoding: 'utf8', timeout: 240000 });
  assert.deepEqual(h.sanitizerReport(r.stderr || ''), [], r.stderr);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// The summary's numbers: { imported, approved, pending, spam, skipped, reasons: { text: n }, orphans, created }.
function summary(out) {
  const m = /comments:\s+(\d+) in the file, (\d+) imported \((\d+) approved, (\d+) pending, (\d+) spam[^)]*\), (\d+) skipped/.exec(out);
  assert.ok(m, out);
  const reasons = {};
  for (const x of out.matchAll(/skipped:\s+(\d+) (.+)/g)) reasons[x[2]] = Number(x[1]);
  const orphans = /top level:\s+(\d+)/.exec(out);
  const created = /threads:\s+\d+ in the file with comments, (\d+) created/.exec(out);
  return {
    inFile: Number(m[1]), imported: Number(m[2]), approved: Number(m[3]), pending: Number(m[4]), spam: Number(m[5]),
    skipped: Number(m[6]), reasons, orphans: orphans ? Number(orphans[1]) : 0, created: Number(created[1]),
  };
}

// Everything in a Redis database as plain data, for "nothing changed" comparisons.
async function snapshot(redis) {
  const keys = (await redis.cmd('KEYS', '*')).sort();
  const out = {};
  for (const k of keys) {
    const type = await redis.cmd('TYPE', k);
    if (type === 'hash') out[k] = await redis.cmd('HGETALL', k);
    else if (type === 'zset') out[k] = await redis.cmd('ZRANGE', k, '0', '-1', 'WITHSCORES');
    else if (type === 'set') out[k] = (await redis.cmd('SMEMBERS', k)).sort();
    else if (type === 'string') out[k] = await redis.cmd('GET', k);
    else out[k] = type;
  }
  return out;
}

let redis;
let env;
let parley;
let api;
let first;

before(async () => {
  redis = await h.startRedis();
  env = await setup(redis.url);
  first = tool(['import', '-c', env.conf, '--site', 'blog', path.join(FILES, 'wordpress.xml')]);
  parley = await h.startParley({ dir: env.dir, port: env.port, configText: env.text, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN } });
  api = client(parley);
});

after(async () => {
  if (parley) await h.stopClean(parley);
  if (redis) await redis.stop();
});

test('WXR: the summary counts what was imported and why the rest was skipped', () => {
  assert.equal(first.code, 0, first.err);
  const s = summary(first.out);
  assert.deepEqual({ inFile: s.inFile, imported: s.imported, approved: s.approved, pending: s.pending, spam: s.spam },
    { inFile: 16, imported: 8, approved: 6, pending: 1, spam: 1 }, first.out);
  assert.deepEqual(s.reasons, {
    'bad or missing post URL': 1, "post URL not under the site's origins": 1, 'pingback or trackback': 2,
    'deleted or in the trash': 1, 'empty body': 1, 'missing or bad date': 1, 'unknown approval status': 1,
  }, first.out);
  assert.equal(s.orphans, 1, 'the reply to a comment not in the file became top level');
  assert.equal(s.created, 2);
  assert.match(first.out, /errors:\s+0/);
});

test('WXR: threads nest three levels deep in the public API, with sanitised HTML and no e-mail', async () => {
  const r = await api.thread('blog', HELLO);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.thread.title, 'Hello world!');
  assert.equal(r.json.thread.count, 5, 'approved comments are counted; pending and spam are not');
  const [alice, orphan, local] = r.json.comments;
  assert.equal(alice.author, 'Alice Top');
  assert.equal(alice.created, '2019-03-05T11:00:00.000Z', 'the GMT date, not the local one');
  assert.equal(alice.replies.length, 1);
  const bob = alice.replies[0];
  assert.equal(bob.author, 'Bob Reply');
  assert.equal(bob.website, 'https://bob.example/');
  assert.equal(bob.parent, alice.id);
  const carol = bob.replies[0];
  assert.equal(carol.author, 'Carol Deep');
  assert.equal(carol.parent, bob.id);
  assert.equal(carol.website, null, 'a javascript: website is dropped');
  assert.match(carol.html, /Level three 🎉 — emoji, and combining: Åström, ñ, é \(e \+ U\+0301\)\./);
  assert.equal(orphan.author, 'Orphan');
  assert.equal(orphan.parent, 0);
  assert.equal(local.author, 'Local Date Only');
  assert.equal(local.created, '2019-03-09T08:30:00.000Z', 'no GMT date: the local one, read as UTC');
  // Sanitised: markup the sanitiser refuses is text, links lose javascript:, XML entities and CDATA decoded once.
  assert.match(alice.html, /<b>bold<\/b> and &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(alice.html, /<script|javascript:/);
  assert.match(alice.html, /<a rel="nofollow ugc noopener">bad link<\/a>/);
  assert.match(alice.html, /<\/p><p>Second paragraph: café is not an XML entity, but this is: &amp; &lt;tag&gt; 😀<\/p>$/);
  assert.doesNotMatch(r.text, /@mail\.example|@spam\.example/, 'no e-mail address in public output');
  const all = flatten(r.json.comments).map((c) => c.author);
  assert.deepEqual(all.sort(), ['Alice Top', 'Bob Reply', 'Carol Deep', 'Local Date Only', 'Orphan']);
});

test('WXR: every imported comment with an address is in its address\'s index (manage-my-comments finds it)', async () => {
  const indexed = new Set();
  for (const k of await redis.cmd('KEYS', '*ec:{*}')) {
    const eh = /ec:\{([0-9a-f]+)\}$/.exec(k)[1];
    for (const ref of await redis.cmd('SMEMBERS', k)) indexed.add(`${eh} ${ref}`);
  }
  let expected = 0;
  for (const k of await redis.cmd('KEYS', '*cm:{blog:*')) {
    const urlHash = /\{blog:([0-9a-f]+)\}/.exec(k)[1];
    const all = await redis.cmd('HGETALL', k);
    for (let i = 0; i < all.length; i += 2) {
      const c = JSON.parse(all[i + 1]);
      if (!c.ehash) continue;
      expected++;
      assert.ok(indexed.has(`${c.ehash} blog:${urlHash}:${all[i]}`), `${c.author} (${c.status}) is indexed`);
    }
  }
  assert.ok(expected >= 5, `the file's comments with addresses (${expected})`);
  assert.equal(indexed.size, expected, 'and nothing else');
});

test('WXR: pending and spam comments wait in the moderation queue, closed posts are locked', async () => {
  const pending = await api.adminList('blog', 'pending');
  assert.equal(pending.status, 200, pending.text);
  assert.deepEqual(pending.json.items.map((i) => i.author), ['Dave Waiting']);
  assert.equal(pending.json.items[0].email, 'dave@mail.example');
  const spam = await api.adminList('blog', 'spam');
  assert.deepEqual(spam.json.items.map((i) => i.author), ['Cheap Pills']);
  // Approving the pending comment through the API works on an imported comment.
  const act = await api.adminAct('blog', pending.json.items[0].ref, 'approve');
  assert.equal(act.status, 200, act.text);
  const r = await api.thread('blog', HELLO);
  assert.ok(r.json.comments.some((c) => c.author === 'Dave Waiting'));
  assert.equal(r.json.thread.count, 6);
  const closed = await api.thread('blog', 'https://blog.example/2018/old-post/');
  assert.equal(closed.json.thread.locked, true);
  assert.equal(closed.json.thread.title, 'Closed & Old');
  assert.equal(closed.json.comments[0].author, 'Erin');
  const post = await api.post({ site: 'blog', url: 'https://blog.example/2018/old-post/', body: 'late' });
  assert.equal(post.status, 403, post.text);
  assert.equal(post.json.error.code, 'thread_locked');
});

test('WXR: importing the same file again changes nothing and says so', async () => {
  const beforeState = await snapshot(redis);
  const again = tool(['import', '-c', env.conf, '--site', 'blog', path.join(FILES, 'wordpress.xml')]);
  assert.equal(again.code, 0, again.err);
  const s = summary(again.out);
  assert.equal(s.imported, 0, again.out);
  assert.equal(s.reasons['duplicate: imported before (same source id)'], 8, again.out);
  assert.equal(s.created, 0);
  assert.deepEqual(await snapshot(redis), beforeState);
});

test('ISO-8859-1 files are read in their declared encoding', async () => {
  const r = tool(['import', '-c', env.conf, '--site', 'blog', path.join(FILES, 'latin1.xml')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(summary(r.out).imported, 1);
  const t = await api.thread('blog', 'https://blog.example/latin1/');
  assert.equal(t.json.thread.title, 'Café über Straße');
  assert.equal(t.json.comments[0].author, 'Renée Müller');
  assert.equal(t.json.comments[0].html, '<p>Grüße aus Köln, ça va? © 2020</p>');
});

test('XXE: external entities are never read, the comment imports without them', async () => {
  const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n')[0];
  assert.ok(passwd.length > 5);
  const r = tool(['import', '-c', env.conf, '--site', 'blog', path.join(FILES, 'xxe.xml')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(summary(r.out).imported, 1);
  const t = await api.thread('blog', 'https://blog.example/xxe/');
  assert.equal(t.json.comments[0].html, '<p>before [] [] after</p>');
  assert.equal(t.json.comments[0].author, 'Mallory');
  const everything = JSON.stringify(await snapshot(redis));
  assert.ok(!everything.includes(passwd), 'no byte of /etc/passwd reached Redis');
  // A canary file named by an entity, with its path made at run time.
  const dir = h.tmpdir('xxe');
  const canary = path.join(dir, 'canary.txt');
  fs.writeFileSync(canary, 'CANARY-SECRET-42');
  const doc = fs.readFileSync(path.join(FILES, 'xxe.xml'), 'utf8').replaceAll('file:///etc/passwd', `file://${canary}`)
    .replace('https://blog.example/xxe/', 'https://blog.example/xxe-canary/');
  fs.writeFileSync(path.join(dir, 'x.xml'), doc);
  const r2 = tool(['import', '-c', env.conf, '--site', 'blog', path.join(dir, 'x.xml')]);
  assert.equal(r2.code, 0, r2.err);
  assert.ok(!JSON.stringify(await snapshot(redis)).includes('CANARY'), 'the canary was not read');
});

test('Disqus: threads by link, three levels, spam held, deleted posts skipped, replies to them top level', async () => {
  const r = tool(['import', '-c', env.conf, '--site', 'blog', '--format', 'disqus', path.join(FILES, 'disqus.xml')]);
  assert.equal(r.code, 0, r.err);
  const s = summary(r.out);
  assert.deepEqual({ inFile: s.inFile, imported: s.imported, approved: s.approved, spam: s.spam, orphans: s.orphans },
    { inFile: 11, imported: 6, approved: 5, spam: 1, orphans: 1 }, r.out);
  assert.deepEqual(s.reasons, {
    'bad or missing post URL': 1, "post URL not under the site's origins": 1, 'deleted or in the trash': 1,
    'empty body': 1, 'missing or bad date': 1,
  }, r.out);
  const t = await api.thread('blog', DISQUS);
  assert.equal(t.json.thread.title, 'First & Disqus');
  const [anna, guest] = t.json.comments;
  assert.equal(anna.author, 'Anna');
  assert.equal(anna.html, '<p>Level one from Disqus, with <a href="https://example.org/a" rel="nofollow ugc noopener">a link</a> ' +
    'and &lt;img src="x" onerror="alert(1)"&gt;.</p><p>Second paragraph.</p>');
  assert.equal(anna.replies[0].author, 'Ben');
  assert.equal(anna.replies[0].replies[0].author, 'Carla');
  assert.match(anna.replies[0].replies[0].html, /🚀/);
  assert.equal(guest.author, 'Guest Without Mail');
  assert.equal(t.json.comments.length, 2, 'spam is not shown');
  assert.doesNotMatch(t.text, /@mail\.example/);
  const closed = await api.thread('blog', 'https://blog.example/disqus/closed');
  assert.equal(closed.json.thread.locked, true);
  const again = tool(['import', '-c', env.conf, '--site', 'blog', path.join(FILES, 'disqus.xml')]);
  assert.equal(summary(again.out).reasons['duplicate: imported before (same source id)'], 6, again.out);
});

test('unreadable and invalid files: a clear message, exit 1, and Redis untouched', async () => {
  const dir = h.tmpdir('bad');
  const truncated = path.join(dir, 'truncated.xml');
  fs.writeFileSync(truncated, fs.readFileSync(path.join(FILES, 'wordpress.xml'), 'utf8').slice(0, 3000));
  const notParley = path.join(dir, 'x.json');
  fs.writeFileSync(notParley, '{"hello": 1}');
  const badJson = path.join(dir, 'bad.json');
  fs.writeFileSync(badJson, '{"parley_export": 1, "threads": [');
  const html = path.join(dir, 'page.xml');
  fs.writeFileSync(html, '<?xml version="1.0"?><html><body/></html>');
  const empty = path.join(dir, 'empty.xml');
  fs.writeFileSync(empty, '');
  const beforeState = await snapshot(redis);
  const cases = [
    [[path.join(dir, 'missing.xml')], /cannot open: No such file/],
    [[truncated], /truncated\.xml: line \d+: /],
    [[notParley], /not a Parley export/],
    [[badJson], /bad\.json: line 1: /],
    [[html], /root element <html> is neither WordPress WXR/],
    [[empty], /empty\.xml: the file is empty/],
    [['--format', 'disqus', path.join(FILES, 'wordpress.xml')], /the file is WXR, not the format asked for/],
    // "Billion laughs": libxml2's amplification check refuses it at once; nothing is ever expanded.
    [[path.join(FILES, 'laughs.xml')], /laughs\.xml: line \d+: Detected an entity reference loop/],
  ];
  for (const [args, re] of cases) {
    const r = tool(['import', '-c', env.conf, '--site', 'blog', ...args]);
    assert.equal(r.code, 1, `${args}: ${r.out}${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  // Bad arguments and configuration.
  assert.equal(tool(['import', '-c', env.conf]).code, 2);
  assert.equal(tool(['import', '-c', env.conf, '--format', 'csv', 'x']).code, 2);
  const noSite = tool(['import', '-c', env.conf, '--site', 'nope', path.join(FILES, 'latin1.xml')]);
  assert.equal(noSite.code, 1);
  assert.match(noSite.err, /no site "nope"/);
  const twoSites = tool(['import', '-c', env.conf, path.join(FILES, 'latin1.xml')]);
  assert.equal(twoSites.code, 1);
  assert.match(twoSites.err, /has 2 sites: choose one with --site ID/);
  const other = tool(['import', '-c', env.conf, '--site', 'other', path.join(FILES, 'latin1.xml')]);
  assert.equal(other.code, 0);
  assert.equal(summary(other.out).reasons["post URL not under the site's origins"], 1);
  assert.deepEqual(await snapshot(redis), beforeState);
});

test('importing while parleyd serves the thread: the new comments show at once (the page cache notices)', async () => {
  const dir = h.tmpdir('live');
  const url = 'https://blog.example/generated/1/';
  assert.equal((await api.thread('blog', url)).json.comments.length, 0);
  generate(path.join(dir, 'live.xml'), 2, 30);
  const r = tool(['import', '-c', env.conf, '--site', 'blog', path.join(dir, 'live.xml')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(summary(r.out).imported, 60);
  const t = await api.thread('blog', url, { limit: 200 });
  assert.equal(t.json.thread.count, 27, '3 of 30 are pending');
  // One pending comment has an approved reply: it is shown as a placeholder (no author, no text) holding it.
  const shown = flatten(t.json.comments);
  assert.equal(shown.length, 28);
  const holder = shown.filter((c) => c.status === 'pending');
  assert.equal(holder.length, 1);
  assert.equal(holder[0].author, null);
  assert.equal(holder[0].html, '');
  assert.equal(holder[0].replies.length, 1);
  assert.equal(holder[0].replies[0].status, 'approved');
});

test('export to Parley JSON, import into a fresh Redis, export again: the same data', async () => {
  // Some state only the server makes: a vote, an account and its comment list.
  const t = await api.thread('blog', HELLO);
  const vote = await api.vote('blog', HELLO, t.json.comments[0].id, 1);
  assert.equal(vote.status, 200, vote.text);
  const uid = '0123456789abcdef';
  await redis.cmd('HSET', `t:u:{acct}:${uid}`, 'name', 'Zoe', 'name_lc', 'zoe', 'email', 'Zoe@Mail.Example',
    'email_lc', 'zoe@mail.example', 'phc', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', 'verified', '1',
    'created', '1700000000000', 'exp', '0', 'pwchanged', '1700000000000');
  await redis.cmd('HSET', 't:un:{acct}', 'zoe', `${uid}|0`);
  await redis.cmd('HSET', 't:ue:{acct}', 'zoe@mail.example', `${uid}|0`);

  const dir = h.tmpdir('roundtrip');
  const out1 = path.join(dir, 'one.json');
  const e1 = tool(['export', '-c', env.conf, '--site', 'blog', '-o', out1]);
  assert.equal(e1.code, 0, e1.err);
  const one = JSON.parse(fs.readFileSync(out1, 'utf8'));
  assert.equal(one.parley_export, 1);
  assert.equal(one.users.length, 1);
  assert.equal(one.users[0].phc, undefined, 'no password hash without --with-secrets');
  const hello = one.threads.find((x) => x.url === 'https://blog.example/2019/03/hello-world');
  assert.ok(hello.comments.every((c) => typeof c.email === 'string' && 'ehash' in c && 'body' in c), 'all stored fields');
  assert.equal(Object.keys(hello.votes).length, 1);
  const secret = tool(['export', '-c', env.conf, '--site', 'blog', '--with-secrets']);
  assert.equal(JSON.parse(secret.out).users[0].phc.startsWith('$argon2id$'), true);

  const redis2 = await h.startRedis();
  try {
    const env2 = await setup(redis2.url);
    const imp = tool(['import', '-c', env2.conf, '--site', 'blog', '--format', 'parley', out1]);
    assert.equal(imp.code, 0, imp.err);
    assert.match(imp.out, /accounts:\s+1 in the file, 1 restored/);
    const again = tool(['import', '-c', env2.conf, '--site', 'blog', out1]);
    assert.equal(summary(again.out).imported, 0);
    assert.match(again.out, /accounts:\s+1 in the file, 0 restored, 1 already there/);
    const out2 = path.join(dir, 'two.json');
    assert.equal(tool(['export', '-c', env2.conf, '--site', 'blog', '-o', out2]).code, 0);
    const two = JSON.parse(fs.readFileSync(out2, 'utf8'));
    delete one.exported;
    delete two.exported;
    assert.deepEqual(two, one);
    // The restored data serves the same public thread (ids kept, so #comment-N links still work).
    const p2 = await h.startParley({ redisUrl: redis2.url, sites: SITES, comments: RELAXED });
    try {
      const a = await api.thread('blog', HELLO);
      const b = await h.h1(p2, 'GET', `/api/v1/comments?site=blog&url=${encodeURIComponent(HELLO)}`);
      assert.deepEqual(b.json.comments, a.json.comments);
      assert.deepEqual(b.json.thread, a.json.thread);
    } finally {
      await h.stopClean(p2);
    }
  } finally {
    await redis2.stop();
  }
});

test('export to WXR: well-formed XML with every comment, which imports again', async () => {
  const dir = h.tmpdir('wxr');
  const out = path.join(dir, 'site.wxr');
  const r = tool(['export', '-c', env.conf, '--site', 'blog', '--format', 'wxr', '-o', out]);
  assert.equal(r.code, 0, r.err);
  const xml = fs.readFileSync(out, 'utf8');
  const rss = parseXml(xml); // the tests' own XML parser, independent of libxml2
  assert.equal(rss.name, 'rss');
  const items = kids(kids(rss, 'channel')[0], 'item');
  const hello = items.find((i) => textOf(kids(i, 'link')[0]) === 'https://blog.example/2019/03/hello-world');
  const comments = kids(hello, 'wp:comment');
  const authors = comments.map((c) => decodeXml(textOf(kids(c, 'wp:comment_author')[0])));
  assert.deepEqual(authors.sort(), ['Alice Top', 'Bob Reply', 'Carol Deep', 'Cheap Pills', 'Dave Waiting',
    'Local Date Only', 'Orphan']);
  const byAuthor = Object.fromEntries(comments.map((c) => [decodeXml(textOf(kids(c, 'wp:comment_author')[0])), c]));
  const idOf = (name) => textOf(kids(byAuthor[name], 'wp:comment_id')[0]);
  assert.equal(textOf(kids(byAuthor['Carol Deep'], 'wp:comment_parent')[0]), idOf('Bob Reply'));
  assert.equal(textOf(kids(byAuthor['Cheap Pills'], 'wp:comment_approved')[0]), 'spam');
  const total = items.reduce((n, i) => n + kids(i, 'wp:comment').length, 0);
  // Into a fresh Redis: every comment comes back.
  const redis3 = await h.startRedis();
  try {
    const env3 = await setup(redis3.url);
    const imp = tool(['import', '-c', env3.conf, '--site', 'blog', out]);
    assert.equal(imp.code, 0, imp.err);
    assert.equal(summary(imp.out).imported, total, imp.out);
  } finally {
    await redis3.stop();
  }
});

test('a large WXR file is imported in pipelined batches, and again as duplicates', async () => {
  const redis4 = await h.startRedis();
  try {
    const env4 = await setup(redis4.url);
    const dir = h.tmpdir('large');
    const file = path.join(dir, 'large.xml');
    const n = generate(file, 10, 300);
    const t0 = Date.now();
    const r = tool(['import', '-c', env4.conf, '--site', 'blog', file]);
    const took = Date.now() - t0;
    assert.equal(r.code, 0, r.err);
    assert.equal(summary(r.out).imported, n);
    assert.ok(took < 120000, `took ${took} ms`);
    assert.equal(await redis4.cmd('HGET', `t:th:{blog:${urlHash('https://blog.example/generated/1')}}`, 'count'), '270');
    const again = tool(['import', '-c', env4.conf, '--site', 'blog', file]);
    assert.equal(summary(again.out).reasons['duplicate: imported before (same source id)'], n);
  } finally {
    await redis4.stop();
  }
});

test('embedded Redis: import starts it when parleyd is stopped, and uses parleyd\'s while it runs', async () => {
  const dir = h.tmpdir('emb');
  const port = await h.freePort();
  const text = h.configYaml({ port, redisUrl: 'embedded', dataDir: path.join(dir, 'data'), sites: SITES, comments: RELAXED });
  const conf = path.join(dir, 'parley.yaml');
  fs.writeFileSync(conf, text);
  const r = tool(['import', '-c', conf, '--site', 'blog', path.join(FILES, 'wordpress.xml')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(summary(r.out).imported, 8);
  // The tool's redis-server is gone: parleyd starts its own on the same data and sees the comments.
  const p = await h.startParley({ dir, port, configText: text });
  try {
    const t = await h.h1(p, 'GET', `/api/v1/comments?site=blog&url=${encodeURIComponent(HELLO)}`);
    assert.equal(t.json.thread.count, 5);
    const live = tool(['import', '-c', conf, '--site', 'blog', path.join(FILES, 'latin1.xml')]);
    assert.equal(live.code, 0, live.err);
    assert.equal(summary(live.out).imported, 1);
    const l = await h.h1(p, 'GET', `/api/v1/comments?site=blog&url=${encodeURIComponent('https://blog.example/latin1/')}`);
    assert.equal(l.json.comments[0].author, 'Renée Müller');
    const exp = tool(['export', '-c', conf, '--site', 'blog']);
    assert.equal(exp.code, 0, exp.err);
    assert.equal(JSON.parse(exp.out).threads.length, 3);
  } finally {
    await h.stopClean(p);
  }
  // parleyd and its Redis are gone again: the tool starts its own once more, on the same data.
  const exp = tool(['export', '-c', conf, '--site', 'blog']);
  assert.equal(exp.code, 0, exp.err);
  assert.equal(JSON.parse(exp.out).threads.length, 3);
});
