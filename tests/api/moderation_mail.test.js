// Moderators are mailed for each pending comment, with signed one-click approve and spam links (issue 4 "Notifications",
// issue 3 moderation): the mail goes through the outbox to a real SMTP sink; the link shows a confirmation page (a
// GET changes nothing: mail scanners fetch links), its button approves; forged, altered or expired links do nothing;
// nothing is mailed for spam; the e-mail of the commenter is not in the page's public parts.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');
const { ADMIN_TOKEN, RELAXED, page, client } = require('./lib/comments');
const { startMailStack } = require('./lib/mailstack');

let stack;
let parley;
let c;
const MOD = 'moderator@example.com';

before(async () => {
  stack = await startMailStack({
    admins: [MOD], comments: RELAXED, env: { PARLEY_ADMIN_TOKEN: ADMIN_TOKEN },
    sites: [{ id: 'all', origins: ['https://blog.example'], moderation: 'all' }],
  });
  parley = stack.parley;
  c = client(parley);
});

after(async () => {
  if (stack) await stack.stop();
});

const mails = () => stack.mails();
const waitMail = (pred, ms) => stack.waitMail(pred, ms);

const get = (p, target) => h.h1(p, 'GET', target.replace(p.base, ''));
const post = (p, target) => h.h1(p, 'POST', target.replace(p.base, ''), { headers: { 'content-type': null } });

test('a pending comment mails the moderator; the approve link confirms, then publishes', async () => {
  const url = page('mod-mail');
  const made = await c.create({ site: 'all', url, author: 'Mallory Writer', email: 'writer@example.com',
    body: 'Please publish me <b>soon</b>.' });
  assert.equal(made.comment.status, 'pending');
  const mail = await waitMail((m) => m.text && m.text.includes(url));
  assert.ok(mail, 'the moderator got a mail');
  assert.deepEqual(mail.rcpt_to, [MOD]);
  assert.equal(mail.mail_from, 'parley@example.com');
  assert.match(mail.subject, /\[all\] A comment waits for moderation/);
  assert.match(mail.text, /Mallory Writer/);
  assert.match(mail.text, /Please publish me <b>soon<\/b>\./, 'the comment as written');
  const approve = mail.text.match(/Approve it:\s*(\S+)/)[1];
  const spam = mail.text.match(/Mark it as spam:\s*(\S+)/)[1];
  assert.ok(approve.startsWith(`${parley.base}/moderate?t=`), approve);
  assert.notEqual(approve, spam);

  // Following the link only shows the comment and a button.
  const show = await get(parley, approve);
  assert.equal(show.status, 200, show.text);
  assert.match(String(show.headers['content-type']), /^text\/html/);
  assert.equal(show.headers['referrer-policy'], 'no-referrer');
  assert.match(String(show.headers['content-security-policy']), /default-src 'none'/);
  assert.match(show.text, /Approve this comment\?/);
  assert.match(show.text, /Please publish me &lt;b&gt;soon&lt;\/b&gt;\./, 'the text is escaped in the page');
  assert.match(show.text, /<form method="post" action="\/moderate\?t=/);
  let g = await c.thread('all', url, { ua: 'someone else' });
  assert.equal(g.json.thread.count, 0, 'a GET changed nothing');

  // The page's own button posts with Parley's origin (not a site's): the signed token is what counts.
  const act = await h.h1(parley, 'POST', approve.replace(parley.base, ''),
    { headers: { 'content-type': null, origin: parley.base } });
  assert.equal(act.status, 200, act.text);
  assert.match(act.text, /Approved/);
  g = await c.thread('all', url, { ua: 'someone else' });
  assert.equal(g.json.thread.count, 1);
  assert.equal(g.json.comments[0].status, 'approved');
  // Once done, the same link is harmless.
  assert.equal((await post(parley, approve)).status, 200);
  // The spam link of the same mail still works on that comment, and only on it.
  const s = await post(parley, spam);
  assert.equal(s.status, 200, s.text);
  g = await c.thread('all', url, { ua: 'someone else' });
  assert.equal(g.json.thread.count, 0);
});

test('forged, altered and foreign links are refused with 403; nothing is mailed for spam', async () => {
  const url = page('mod-forged');
  await c.create({ site: 'all', url, body: 'another waiting comment' });
  const mail = await waitMail((m) => m.text && m.text.includes(url));
  assert.ok(mail);
  const approve = mail.text.match(/Approve it:\s*(\S+)/)[1];
  const token = approve.split('t=')[1];
  const [body, mac] = token.split('.');
  const altered = `${body.slice(0, -2)}${body.slice(-2) === 'AA' ? 'AB' : 'AA'}.${mac}`;
  for (const t of [altered, `${body}.${mac.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'))}`, 'nonsense', '']) {
    const r = await post(parley, `/moderate?t=${t}`);
    assert.equal(r.status, 403, `token ${t}`);
    assert.match(r.text, /This link does not work/);
  }
  assert.equal((await get(parley, '/moderate')).status, 403, 'no token');
  // A spam comment (honeypot filled) is stored as spam and mails nobody.
  const before_ = mails().length;
  const spamUrl = page('mod-spam');
  const r = await c.post({ site: 'all', url: spamUrl, body: 'buy now', hp: 'i am a bot' });
  assert.equal(r.status, 201);
  await h.sleep(800);
  assert.equal(mails().filter((m) => m.text && m.text.includes(spamUrl)).length, 0, 'no mail for spam');
  assert.ok(mails().length >= before_);
});
