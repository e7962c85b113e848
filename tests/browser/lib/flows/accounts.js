// Accounts inside the thread iframe, end to end through the real SMTP sink: register → verification mail → the
// /account/verify page → log in from the iframe's dialog → comment as the user (verified) → log out; and lost
// password → reset mail → /account/reset → the new password works, the old one and the old session do not.
// Registers its tests on ENV (lib/env.js setupFile); PICK (name => bool) chooses which, PREFIX goes before each name.
'use strict';
const assert = require('node:assert/strict');
const { client, ua } = require('../../../api/lib/comments');
const acc = require('../../../api/lib/accounts');
const { threadFrame } = require('../env');
const { threadReady, field, postComment, commentItem, openAccountDialog, until } = require('../widget');

// STORAGE false: the iframe has no localStorage (nostorage.test.js); the token is then taken from the login answer.
module.exports = function define(env, { pick = () => true, prefix = '', storage = true } = {}) {
  const t = (name, fn) => { if (pick(name)) env.test(prefix + name, fn); };

  const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // The full ${public_url}/account/<kind>#token=… link of MAIL.
  function mailLink(mail, kind) {
    const m = new RegExp(`${reEscape(env.stack.parley.base)}/account/${kind}#token=[A-Za-z0-9._-]+`).exec(String(mail.text));
    assert.ok(m, `a /account/${kind} link in "${mail.subject}":\n${mail.text}`);
    return m[0];
  }
  // The session token in the iframe's own localStorage (the contract's key); undefined when there is no storage.
  const session = (frame) => frame.evaluate(() => { try { return localStorage.getItem('parley.session'); } catch { return undefined; } });
  const me = (token) => acc.authClient(env.stack.parley).me(token);

  async function openThread(url, pageOpts = {}) {
    const page = await env.newPage(pageOpts);
    await page.goto(url);
    const { frame } = await threadFrame(page);
    await threadReady(frame);
    return { page, frame };
  }

  // Logs in through the iframe's dialog; resolves to { d: the dialog, token: the token of the login answer (null
  // when the login failed) }.
  async function logIn(frame, login, password) {
    const d = await openAccountDialog(frame, 'login');
    await d.getByRole('textbox', { name: /user ?name|e-?mail|log ?in/i }).first().fill(login);
    await d.getByLabel(/password/i).first().fill(password);
    const answer = frame.page().waitForResponse((r) => r.url() === `${env.parley}/api/v1/auth/login`);
    await d.getByRole('button', { name: /^log ?in$/i }).click();
    const res = await answer;
    const token = res.ok() ? (await res.json()).token : null;
    return { d, token };
  }
  // Closes an account dialog the way a reader does: its Close button, else Escape.
  async function closeDialog(d, frame) {
    const close = d.getByRole('button', { name: /^close$/i }).first();
    if (await close.isVisible()) await close.click(); else await frame.locator('body').press('Escape');
    await d.waitFor({ state: 'hidden' });
  }
  const loggedInAs = (frame, name) => frame.getByText(new RegExp(`Logged in as\\s+${reEscape(name)}`)).first();
  const logInButton = (frame) => frame.getByRole('button', { name: /^log ?in$/i }).or(frame.getByRole('link', { name: /^log ?in$/i })).first();

  t('register in the iframe → verification mail → /account/verify → log in → comment as the user → log out', async () => {
    await env.requireEmbed();
    const u = acc.newUser('br');
    const { url } = env.host.article(env.parley);
    const { frame } = await openThread(url);

    const reg = await openAccountDialog(frame, 'register');
    await reg.getByRole('textbox', { name: /user ?name/i }).fill(u.username);
    await reg.getByRole('textbox', { name: /e-?mail/i }).fill(u.email);
    await reg.getByLabel(/^password/i).fill(u.password);
    await reg.getByRole('button', { name: /^(register|create)/i }).click();
    await reg.getByText(/check your mail/i).waitFor();
    await closeDialog(reg, frame);

    const mail = await acc.waitMailOf(env.stack, u.email, 'verify');
    const link = mailLink(mail, 'verify');
    const vp = await env.newPage({ keepOthers: true });
    await vp.goto(link);
    await vp.getByText(/your e-mail address is verified/i).waitFor();
    assert.equal(vp.url().includes('token='), false, 'the token left the address bar');
    await vp.close();

    const { token } = await logIn(frame, u.username, u.password);
    await loggedInAs(frame, u.username).waitFor();
    await frame.getByRole('button', { name: /log ?out/i }).or(frame.getByRole('link', { name: /log ?out/i })).first().waitFor();
    assert.equal(await field.name(frame).isVisible(), false, 'no Name field when logged in');
    assert.equal(await field.email(frame).isVisible(), false, 'no Email field when logged in');
    assert.match(String(token), acc.TOKEN_RE);
    if (storage) assert.equal(await session(frame), token, 'the session token is in the iframe\'s own localStorage');
    assert.equal((await me(token)).status, 200);

    const body = `Comment from ${u.username} ${Date.now()}`;
    await postComment(frame, { body });
    const item = commentItem(frame, body);
    await item.waitFor();
    await item.getByText(u.username, { exact: true }).first().waitFor();
    await item.getByText(/verified/i).first().waitFor();
    const r = await client(env.stack.parley).thread('blog', url, { ua: ua('reader') });
    const c = r.json.comments.find((x) => x.author === u.username);
    assert.ok(c, r.text);
    assert.equal(c.verified, true);

    await frame.getByRole('button', { name: /log ?out/i }).or(frame.getByRole('link', { name: /log ?out/i })).first().click();
    await logInButton(frame).waitFor();
    await field.name(frame).waitFor();
    if (storage) assert.equal(await session(frame), null, 'the token is gone from storage');
    assert.equal((await me(token)).status, 401, 'the session ended on the server');
  });

  t('lost password in the iframe → reset mail → /account/reset → the new password works, the old session is gone', async () => {
    await env.requireEmbed();
    const a = acc.authClient(env.stack.parley);
    const u = await acc.registerVerified(env.stack, a, acc.newUser('lp'));
    const { url, path } = env.host.article(env.parley);

    // Logged in on the article (the host page's site: localhost).
    const { page, frame } = await openThread(url);
    const { token: oldToken } = await logIn(frame, u.email, u.password);
    await loggedInAs(frame, u.username).waitFor();
    if (storage) assert.equal(await session(frame), oldToken);
    assert.equal((await me(oldToken)).status, 200);

    // Elsewhere (the same article under the host's other name, 127.0.0.1: another top-level site, so another storage
    // partition and no session there) the user asks for a reset.
    const other = await openThread(`http://127.0.0.1:${env.host.port}${path}`, { keepOthers: true });
    await logInButton(other.frame).waitFor();
    const lost = await openAccountDialog(other.frame, 'lost');
    await lost.getByRole('textbox', { name: /e-?mail/i }).fill(u.email);
    await lost.getByRole('button', { name: /send/i }).click();
    await lost.getByText(/check your mail/i).waitFor();
    await closeDialog(lost, other.frame);
    await other.page.close();

    const mail = await acc.waitMailOf(env.stack, u.email, 'reset');
    const rp = await env.newPage({ keepOthers: true });
    await rp.goto(mailLink(mail, 'reset'));
    const newPassword = acc.strongPassword();
    await rp.getByLabel(/^new password/i).fill(newPassword);
    await rp.getByLabel(/repeat/i).fill(newPassword);
    await rp.getByRole('button', { name: /change the password/i }).click();
    await rp.getByText(/your password was changed/i).waitFor();
    await rp.close();

    assert.equal((await me(oldToken)).status, 401, 'the old session is gone');
    // Back to the first tab (a background tab gets no animation frames, and Playwright's clicks wait for them).
    await page.bringToFront();
    await page.reload();
    const { frame: f2 } = await threadFrame(page);
    await threadReady(f2);
    await logInButton(f2).waitFor();
    if (storage) await until(() => session(f2), (x) => x === null, 'the dead token was dropped from storage');

    const { d, token: none } = await logIn(f2, u.username, u.password);
    assert.equal(none, null, 'the old password is refused');
    await d.getByRole('alert').filter({ hasText: /wrong|invalid|incorrect/i }).first().waitFor();
    await closeDialog(d, f2);
    const { token: fresh } = await logIn(f2, u.username, newPassword);
    await loggedInAs(f2, u.username).waitFor();
    assert.equal((await me(fresh)).status, 200);
  });
};
