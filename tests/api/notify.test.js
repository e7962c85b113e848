// Reply notifications (issue 4 "Notifications"): `notify: true` only asks; the commenter confirms by a signed link
// (GET shows a button, POST subscribes), then every visible reply by someone else is mailed to them with a link to it
// and a one-click unsubscribe (List-Unsubscribe + List-Unsubscribe-Post, RFC 8058). Replies that wait for moderation
// are mailed when a moderator approves them (admin API or /moderate link). Forged, altered, expired and
// wrong-purpose tokens do nothing; nothing is mailed for spam; no API answer shows an e-mail address.
//
// Negative checks ("no mail for X") use a sentinel: a later mail that must arrive. One mailer thread reads the outbox
// stream in order, so once the sentinel is in the sink, everything queued before it has been sent too.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, page, client, urlHash } = require('./lib/comments');
const { startMailStack } = require('./lib/mailstack');

let stack;
let parley;
let c;
const MOD = 'moderator@example.com';
const PAT = 'pat@example.com';
const RITA = 'rita@example.com';

before(async () => {
  stack = await startMailStack({
    admins: [MOD], comments: RELAXED, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN },
    sites: [
      { id: 'open', origins: ['https://blog.example'], moderation: 'none' },
      { id: 'all', origins: ['https://blog.example'], moderation: 'all' },
    ],
  });
  parley = stack.parley;
  c = client(parley);
});

after(async () => {
  if (stack) await stack.stop();
});

const mails = () => stack.mails();
const waitMail = (pred, ms) => stack.waitMail(pred, ms);

// Queues a mail after everything queued so far and waits for it (see the top of this file).
async function flush() {
  const url = page('sentinel');
  const email = `sentinel-${crypto.randomUUID()}@example.com`;
  await c.create({ site: 'open', url, author: 'Sentinel', email, body: 'sentinel', notify: true });
  assert.ok(await waitMail((m) => m.rcpt_to.includes(email)), 'the sentinel mail arrived');
}

const get = (target) => h.h1(parley, 'GET', target.replace(parley.base, ''));
const post = (target, opts = {}) => h.h1(parley, 'POST', target.replace(parley.base, ''),
  { headers: { 'content-type': null }, ...opts });
const isConfirm = (to, url) => (m) => m.rcpt_to.includes(to) && m.subject === `Confirm that you want replies to your comment on ${url}`;
const isReply = (to, url) => (m) => m.rcpt_to.includes(to) && m.subject === `New reply to your comment on ${url}`;
const confirmLink = (m) => m.text.match(/confirm here:\s*(\S+)/)[1];

// A properly signed token for PURPOSE over PAYLOAD that expired EXPIRES (seconds since the epoch), as
// core_signed_make makes it: base64url(expires BE64 || payload) "." base64url(HMAC(secret, purpose "\n" body)[0..16)).
function signToken(purpose, payload, expires) {
  const secret = Buffer.from(fs.readFileSync(path.join(parley.dir, 'data', 'secret'), 'utf8').trim(), 'hex');
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(expires));
  const body = Buffer.concat([head, Buffer.from(payload)]);
  const mac = crypto.createHmac('sha256', secret).update(Buffer.concat([Buffer.from(`${purpose}\n`), body])).digest();
  return `${body.toString('base64url')}.${mac.subarray(0, 16).toString('base64url')}`;
}

test('notify: confirm by link, a reply mail with one-click unsubscribe, and nothing after unsubscribing', async () => {
  const url = page('notify');
  // Without notify nobody is asked anything.
  const plain = await c.create({ site: 'open', url, author: 'Quiet Quinn', email: 'quinn@example.com', body: 'no mails' });
  const made = await c.create({ site: 'open', url, author: 'Pat Parent', email: PAT, body: 'An opinion.', notify: true });
  const canonical = (await c.thread('open', url)).json.thread.url;
  const conf = await waitMail(isConfirm(PAT, canonical));
  assert.ok(conf, 'the confirmation mail arrived');
  assert.deepEqual(conf.rcpt_to, [PAT]);
  assert.equal(conf.mail_from, 'parley@example.com');
  const link = confirmLink(conf);
  assert.ok(link.startsWith(`${parley.base}/subscribe?t=`), link);
  assert.equal(mails().filter((m) => m.rcpt_to.includes('quinn@example.com')).length, 0, 'no mail without notify');

  // GET only shows a button.
  const show = await get(link);
  assert.equal(show.status, 200, show.text);
  assert.match(String(show.headers['content-type']), /^text\/html/);
  assert.equal(show.headers['referrer-policy'], 'no-referrer');
  assert.match(show.text, /Get replies by mail\?/);
  assert.match(show.text, /<form method="post" action="\/subscribe\?t=/);
  assert.ok(!show.text.includes(PAT), 'the page shows no e-mail');
  // Not confirmed yet (the GET changed nothing): a reply mails nobody.
  const replyA = await c.create({ site: 'open', url, parent: made.comment.id, author: 'Rita Replier', email: RITA,
    body: 'Reply before the confirmation.' });

  const sub = await post(link);
  assert.equal(sub.status, 200, sub.text);
  assert.match(sub.text, /Subscribed/);
  // A reply from the same address (any case) is not mailed back to its author.
  await c.create({ site: 'open', url, parent: made.comment.id, author: 'Pat Again', email: 'PAT@Example.com',
    body: 'Answering myself.' });
  const replyC = await c.create({ site: 'open', url, parent: made.comment.id, author: 'Rita Replier', email: RITA,
    body: 'A real reply with <b>markup</b> & an ampersand.' });
  for (const r of [made, replyA, replyC, plain]) assert.ok(!JSON.stringify(r).includes('@example.com'), 'no e-mail in a 201');

  const mail = await waitMail(isReply(PAT, canonical));
  assert.ok(mail, 'the reply mail arrived');
  assert.deepEqual(mail.rcpt_to, [PAT]);
  assert.match(mail.text, /Rita Replier replied to your comment/);
  assert.ok(mail.text.includes('A real reply with <b>markup</b> & an ampersand.'), 'the reply as written, plain text');
  assert.ok(mail.text.includes(`${canonical}#comment-${replyC.comment.id}`), 'a link to the reply');
  assert.ok(!mail.text.includes(RITA), 'the replier\'s address is not shown');
  const unsub = mail.text.match(/To stop these mails:\s*(\S+)/)[1];
  assert.ok(unsub.startsWith(`${parley.base}/unsubscribe?t=`), unsub);
  assert.deepEqual(mail.headers['list-unsubscribe'], [`<${unsub}>`]);
  assert.deepEqual(mail.headers['list-unsubscribe-post'], ['List-Unsubscribe=One-Click']);
  const replyMails = mails().filter(isReply(PAT, canonical));
  assert.equal(replyMails.length, 1, 'only reply C was mailed (not A before the confirmation, not Pat\'s own)');

  // The unsubscribe page only shows a button: a further reply is still mailed.
  const ushow = await get(unsub);
  assert.equal(ushow.status, 200, ushow.text);
  assert.match(ushow.text, /Stop reply mails\?/);
  assert.match(ushow.text, /<form method="post" action="\/unsubscribe\?t=/);
  const replyD = await c.create({ site: 'open', url, parent: made.comment.id, author: 'Rita Replier', email: RITA,
    body: 'Reply D.' });
  assert.ok(await waitMail((m) => isReply(PAT, canonical)(m) && m.text.includes(`#comment-${replyD.comment.id}`)));

  // One-click, as a mail client sends it (RFC 8058): form-encoded, no Origin, no cookies.
  const one = await post(unsub, { body: 'List-Unsubscribe=One-Click',
    headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(one.status, 200, one.text);
  assert.match(one.text, /Unsubscribed/);
  assert.equal((await post(unsub)).status, 200, 'again, without a body: still fine');
  await c.create({ site: 'open', url, parent: made.comment.id, author: 'Rita Replier', email: RITA, body: 'Reply E.' });
  await flush();
  assert.equal(mails().filter(isReply(PAT, canonical)).length, 2, 'nothing after unsubscribing');

  // No public answer shows the addresses.
  const g = await c.thread('open', url);
  assert.ok(!g.text.includes('@example.com'));
});

test('moderation "all": the reply is mailed only when a moderator approves it (admin API and /moderate link)', async () => {
  const url = page('notify-mod');
  const made = await c.create({ site: 'all', url, author: 'Pat Parent', email: PAT, body: 'Waiting opinion.', notify: true });
  assert.equal(made.comment.status, 'pending');
  const canonical = (await c.thread('all', url)).json.thread.url;
  const conf = await waitMail(isConfirm(PAT, canonical));
  assert.ok(conf, 'a pending comment gets the confirmation mail too');
  assert.equal((await post(confirmLink(conf))).status, 200);
  const ref = (id) => `${urlHash(canonical)}:${id}`;
  assert.equal((await c.adminAct('all', ref(made.comment.id), 'approve')).status, 200);

  const r1 = await c.create({ site: 'all', url, parent: made.comment.id, author: 'Rita Replier', email: RITA,
    body: 'First waiting reply.' });
  assert.equal(r1.comment.status, 'pending');
  await flush();
  assert.equal(mails().filter(isReply(PAT, canonical)).length, 0, 'nothing while the reply waits');
  const act = await c.adminAct('all', ref(r1.comment.id), 'approve');
  assert.equal(act.status, 200, act.text);
  assert.ok(!act.text.includes(PAT), 'the admin answer holds the reply, not the parent\'s address');
  // The admin answer waits for the queue: the mail is in the outbox now.
  const m1 = await waitMail((m) => isReply(PAT, canonical)(m) && m.text.includes('First waiting reply.'));
  assert.ok(m1, 'mailed on approval through the admin API');
  // Approving again changes nothing and mails nothing more.
  assert.equal((await c.adminAct('all', ref(r1.comment.id), 'approve')).status, 200);

  // The moderator's one-click link does the same.
  const r2 = await c.create({ site: 'all', url, parent: made.comment.id, author: 'Rita Replier', email: RITA,
    body: 'Second waiting reply.' });
  const modMail = await waitMail((m) => m.rcpt_to.includes(MOD) && m.text.includes('Second waiting reply.'));
  assert.ok(modMail, 'the moderator was asked');
  const approve = modMail.text.match(/Approve it:\s*(\S+)/)[1];
  const done = await post(approve);
  assert.equal(done.status, 200, done.text);
  assert.ok(await waitMail((m) => isReply(PAT, canonical)(m) && m.text.includes(`#comment-${r2.comment.id}`)),
    'mailed on approval through /moderate');
  await flush();
  assert.equal(mails().filter(isReply(PAT, canonical)).length, 2, 'one mail per approved reply');
});

test('forged, altered, expired and wrong-purpose tokens are refused; spam is never mailed', async () => {
  const url = page('notify-tokens');
  const made = await c.create({ site: 'open', url, author: 'Pat Parent', email: PAT, body: 'Token test.', notify: true });
  const canonical = (await c.thread('open', url)).json.thread.url;
  const conf = await waitMail(isConfirm(PAT, canonical));
  const token = confirmLink(conf).split('t=')[1];
  const [body, mac] = token.split('.');
  const altered = `${body.slice(0, -2)}${body.slice(-2) === 'AA' ? 'AB' : 'AA'}.${mac}`;
  const badMac = `${body}.${mac.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'))}`;
  const payload = `open\n${urlHash(canonical)}:${made.comment.id}`;
  const expired = signToken('subscribe', payload, Math.floor(Date.now() / 1000) - 60);
  const expiredUnsub = signToken('unsubscribe', payload, Math.floor(Date.now() / 1000) - 60);
  const otherPurpose = signToken('moderate', payload, Math.floor(Date.now() / 1000) + 3600);
  for (const [where, t] of [['subscribe', altered], ['subscribe', badMac], ['subscribe', expired],
    ['subscribe', otherPurpose], ['subscribe', 'nonsense'], ['subscribe', ''], ['unsubscribe', token],
    ['unsubscribe', expiredUnsub], ['unsubscribe', otherPurpose]]) {
    for (const method of ['GET', 'POST']) {
      const r = method === 'GET' ? await get(`/${where}?t=${t}`) : await post(`/${where}?t=${t}`);
      assert.equal(r.status, 403, `${method} /${where} with ${t}`);
      assert.match(r.text, /This link does not work/);
    }
  }
  assert.equal((await get('/subscribe')).status, 403, 'no token');
  assert.equal((await post('/unsubscribe')).status, 403, 'no token');
  // A valid token still works after all that, and nothing above subscribed anyone.
  assert.equal((await post(confirmLink(conf))).status, 200);

  // Spam (honeypot filled) with notify: stored, answered like pending, never mailed.
  const spamUrl = page('notify-spam');
  const spamAddr = 'spammer@example.com';
  const r = await c.post({ site: 'open', url: spamUrl, author: 'Bot', email: spamAddr, body: 'buy now',
    hp: 'i am a bot', notify: true });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.comment.status, 'pending');
  await flush();
  assert.equal(mails().filter((m) => m.rcpt_to.includes(spamAddr)).length, 0, 'no mail for spam');
});
