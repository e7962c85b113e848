// Finding the embed's parts the way a reader (or a screen reader) does: roles and accessible names from the
// contract's texts, not class names. Shared by the browser tests.
'use strict';
const assert = require('node:assert/strict');
const h = require('../../api/lib/harness');

// Accessible names of the share buttons by network id (the contract's labels; a count may follow the name).
const NETWORK_NAMES = {
  x: /^(share (on|to) )?X\b/, facebook: /facebook/i, linkedin: /linkedin/i, reddit: /reddit/i, whatsapp: /whatsapp/i,
  telegram: /telegram/i, pinterest: /pinterest/i, bluesky: /bluesky/i, mastodon: /mastodon/i, threads: /threads/i,
  hackernews: /hacker ?news/i, email: /e-?mail/i, copy: /copy/i,
};

const shareBar = (page) => page.locator('[data-parley-shares]').first();
// The share control of NETWORK (a button, or a link) in the (shadow DOM) share bar of PAGE.
function shareControl(page, network) {
  const bar = shareBar(page);
  const name = NETWORK_NAMES[network];
  return bar.getByRole('button', { name }).or(bar.getByRole('link', { name })).first();
}

// The number a control shows (its visible text, k-rounded: 999, 1.2K, 12K, 1.2M), or null when it shows none.
async function shownCount(locator) {
  const text = await locator.innerText();
  const m = /(\d+(?:[.,]\d+)?)\s*([KkMm])?/.exec(text);
  if (!m) return null;
  const n = Number(m[1].replace(',', '.'));
  return Math.round(m[2] ? n * (/k/i.test(m[2]) ? 1e3 : 1e6) : n);
}

// Polls FN until it returns a value for which OK is true; fails with WHAT and the last value after MS.
async function until(fn, ok, what, ms = 8000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = e; }
    if (!(last instanceof Error) && ok(last)) return last;
    if (Date.now() > end) assert.fail(`${what}: last ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await h.sleep(50);
  }
}

// --- the thread iframe (FRAME: a Playwright Frame) ---

// Waits until the thread has loaded: the "Leave a Reply" heading and the Post Comment button are there.
async function threadReady(frame) {
  await frame.getByRole('heading', { name: /leave a reply/i }).waitFor();
  await frame.getByRole('button', { name: /post comment/i }).waitFor();
}

const field = {
  comment: (f) => f.getByRole('textbox', { name: /^comment\b/i }).first(),
  name: (f) => f.getByRole('textbox', { name: /^name\b/i }).first(),
  email: (f) => f.getByRole('textbox', { name: /^e-?mail\b/i }).first(),
  website: (f) => f.getByRole('textbox', { name: /^website\b/i }).first(),
};

// Fills the "Leave a Reply" form and presses Post Comment. Guests give NAME and EMAIL; logged-in users only BODY.
async function postComment(frame, { body, name, email, website }) {
  await field.comment(frame).fill(body);
  if (name !== undefined) await field.name(frame).fill(name);
  if (email !== undefined) await field.email(frame).fill(email);
  if (website !== undefined) await field.website(frame).fill(website);
  await frame.getByRole('button', { name: /post comment/i }).click();
}

// The innermost comment element (id="comment-N", the deep-link target) whose text contains TEXT.
const COMMENT = ':is(li, article, div, section)[id^="comment-"]';
function commentItem(frame, text) {
  return frame.locator(COMMENT, { hasText: text, hasNot: frame.locator(COMMENT, { hasText: text }) }).first();
}
// The comment element for id ID (the #comment-ID deep-link target).
const commentById = (frame, id) => frame.locator(`[id="comment-${id}"]`);

// The first button of SCOPE (a comment) whose name matches RE (e.g. /^reply/i).
const buttonIn = (scope, re) => scope.getByRole('button', { name: re }).first();

// The vote buttons of a comment: the ones with aria-pressed, up first, then down.
function voteButtons(comment) {
  const b = comment.locator('button[aria-pressed]');
  return { up: b.first(), down: b.nth(1) };
}

// Opens an account dialog ("Log in", "Register", "Lost your password?") from the thread's form; returns the dialog.
async function openAccountDialog(frame, name) {
  const re = { login: /^log ?in$/i, register: /^register$/i, lost: /lost your password/i }[name];
  const opener = frame.getByRole('button', { name: re }).or(frame.getByRole('link', { name: re })).first();
  await opener.click();
  const dialog = frame.getByRole('dialog').filter({ has: frame.getByRole('heading', { name: re }) }).first();
  await dialog.waitFor();
  return dialog;
}

module.exports = { NETWORK_NAMES, shareBar, shareControl, shownCount, until, threadReady, field, postComment,
  commentItem, commentById, COMMENT, buttonIn, voteButtons, openAccountDialog };
