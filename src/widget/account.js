// The account pages (src/widget/account/*.html): register, verify, lost-password and reset. No framework and no
// build step; the page says which one it is in <body data-page>. Forms are sent as JSON to /api/v1/auth/* on this
// origin and the answer is shown in the page: field errors next to their field (the "field" of the JSON error),
// anything else in the alert region. Tokens from mail links arrive in the fragment (#token=...), which browsers
// never send to a server; the script takes them out of the address bar before anything else happens, so they do
// not stay in the history or end up in a bookmark or a shared screenshot.
'use strict';

const S = {
  registered: 'Check your mail: we sent you a message to finish creating the account.',
  verifying: 'Verifying your e-mail address…',
  verified: 'Your e-mail address is verified. You can now log in.',
  verifyInvalid: 'This verification link does not work: it may have been used already, have expired, or be ' +
    'incomplete. Enter your e-mail address below to get a new one.',
  resent: 'Check your mail: if this address belongs to an account that still needs verifying, we sent a new link.',
  forgot: 'Check your mail: if this address belongs to an account, we sent a link to choose a new password.',
  noResetToken: 'To choose a new password, open the link from the password reset mail.',
  resetInvalid: 'This password reset link does not work: it may have been used already, have expired, or be ' +
    'incomplete.',
  askNewLink: 'Ask for a new link',
  resetDone: 'Your password was changed and every session was logged out. Log in with your new password.',
  mismatch: 'The two passwords are not the same.',
  tooMany: (s) => `Too many attempts; try again in ${s} second${s === 1 ? '' : 's'}.`,
  tooManyLater: 'Too many attempts; try again later.',
  network: 'The server could not be reached. Check your connection and try again.',
  server: 'Something went wrong on our side. Please try again in a moment.',
};

const LOST_PASSWORD = '/account/lost-password';

// First thing: the token, out of the address bar (replaceState fires no hashchange).
const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
// A second mail link opened in this tab only changes the fragment, which loads nothing: start over with it.
addEventListener('hashchange', () => location.reload());

const form = document.getElementById('form');
const statusEl = document.getElementById('status');
const alertEl = document.getElementById('alert');

// Puts TEXT (and an optional link {href, text}) into EL, as text: messages from the server are never HTML.
function say(el, text, link) {
  el.replaceChildren();
  if (text) el.append(text);
  if (link) {
    const a = document.createElement('a');
    a.href = link.href;
    a.textContent = link.text;
    el.append(' ', a);
  }
}

function showStatus(text) {
  say(alertEl, '');
  say(statusEl, text);
}

function showError(text, link) {
  say(statusEl, '');
  say(alertEl, text, link);
}

// The error text of INPUT lives in #<id>-error, which the input names in aria-describedby.
function setFieldError(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  if (slot) slot.textContent = message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function fieldError(input, message) {
  setFieldError(input, message);
  input.focus();
}

// The form is done: it goes away and the message takes the focus, so keyboard and screen reader users are not
// left on a button that no longer exists.
function done(text) {
  form.hidden = true;
  showStatus(text);
  statusEl.focus();
}

const input = (name) => form.elements.namedItem(name);
const value = (name) => input(name).value;

function retryAfter(header) {
  let s = Number(header); // delta-seconds, or else an HTTP date
  if (header && !Number.isFinite(s)) s = (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(s) && s > 0 ? S.tooMany(Math.ceil(s)) : S.tooManyLater;
}

// POSTs BODY as JSON; resolves to {data} on success or {error: {code?, message, field?}}, never rejects.
async function post(path, body) {
  let res;
  try {
    res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    return { error: { message: S.network } };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    // not JSON: a proxy's error page, say
  }
  if (res.ok) return { data: data || {} };
  if (res.status === 429) return { error: { code: 'rate_limited', message: retryAfter(res.headers.get('Retry-After')) } };
  if (data?.error && typeof data.error.message === 'string') return { error: data.error };
  return { error: { message: S.server } };
}

// A failed call: next to its field when the form has one by that name, else in the alert region.
function showFailure(error) {
  const el = error.field && !form.hidden ? input(error.field) : null;
  if (el instanceof HTMLInputElement) fieldError(el, error.message);
  else showError(error.message);
}

// Wires the form to SEND (an async function), once the browser's own checks pass. The submit button stays disabled
// in the HTML until this runs, so a form without its script can never be sent (and put a password in a URL).
function onSubmit(send) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (button.disabled) return;
    say(alertEl, '');
    let first = null;
    for (const el of form.querySelectorAll('input')) {
      const ok = el.checkValidity();
      setFieldError(el, ok ? '' : el.validationMessage);
      if (!ok && !first) first = el;
    }
    if (first) {
      first.focus();
      return;
    }
    button.disabled = true;
    try {
      await send();
    } finally {
      button.disabled = false;
    }
  });
}

// Resolves the 202 of register, resend and forgot: the server's message, or ours.
const accepted = (r, fallback) => (typeof r.data.message === 'string' && r.data.message ? r.data.message : fallback);

const pages = {
  register() {
    onSubmit(async () => {
      const r = await post('/api/v1/auth/register', {
        username: value('username').trim(),
        email: value('email').trim(),
        password: value('password'),
      });
      if (r.error) showFailure(r.error);
      else done(accepted(r, S.registered));
    });
  },

  'lost-password'() {
    onSubmit(async () => {
      const r = await post('/api/v1/auth/password/forgot', { email: value('email').trim() });
      if (r.error) showFailure(r.error);
      else done(accepted(r, S.forgot));
    });
  },

  // With a token: verify it at once. Without one, or when it fails, offer to send a new link.
  async verify() {
    onSubmit(async () => {
      const r = await post('/api/v1/auth/verify/resend', { email: value('email').trim() });
      if (r.error) showFailure(r.error);
      else done(accepted(r, S.resent));
    });
    if (!token) {
      form.hidden = false;
      return;
    }
    showStatus(S.verifying);
    const r = await post('/api/v1/auth/verify', { token });
    if (!r.error) {
      showStatus(S.verified);
      return;
    }
    showError(r.error.code === 'token_invalid' ? S.verifyInvalid : r.error.message);
    form.hidden = false;
  },

  reset() {
    const newLink = { href: LOST_PASSWORD, text: S.askNewLink };
    if (!token) {
      showError(S.noResetToken, newLink);
      return;
    }
    form.hidden = false;
    onSubmit(async () => {
      if (value('password') !== value('password2')) {
        fieldError(input('password2'), S.mismatch);
        return;
      }
      const r = await post('/api/v1/auth/password/reset', { token, password: value('password') });
      if (!r.error) {
        done(S.resetDone);
      } else if (r.error.code === 'token_invalid') {
        form.hidden = true;
        showError(S.resetInvalid, newLink);
        alertEl.focus();
      } else {
        showFailure(r.error);
      }
    });
  },
};

pages[document.body.dataset.page]?.();
