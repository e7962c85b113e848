// The "manage my comments" page (src/widget/account/privacy.html, served at /privacy): the link mailed by
// POST /api/v1/privacy/request carries a token in the fragment (#token=...), which browsers never send to a server.
// The script takes it out of the address bar before anything else, then reads the comments with it
// (GET /api/v1/privacy/comments, Authorization: Bearer), offers them as a JSON download, and deletes them all
// (DELETE, the same token) once the visitor ticked the confirmation. Without a token, or with one that no longer
// works, it offers to mail a new link. Messages from the server are shown as text, never as HTML.
'use strict';

const S = {
  loading: 'Looking up your comments…',
  summary: (n) => (n === 0 ? 'No comments were made with this address (or they were already deleted).'
    : `${n} comment${n === 1 ? ' was' : 's were'} made with this address.`),
  badLink: 'This link does not work (any more): it may have expired or been used to delete. Ask for a new one below.',
  noToken: 'To download or delete your comments, open the link from the mail we sent you, or ask for one below.',
  deleted: (n) => `Done: ${n} comment${n === 1 ? ' was' : 's were'} deleted. Replies to them keep their place.`,
  mustConfirm: 'Tick this box to confirm.',
  sent: 'Check your mail: if comments were made with this address, we sent it a link.',
  tooMany: 'Too many attempts; try again later.',
  network: 'The server could not be reached. Check your connection and try again.',
  server: 'Something went wrong on our side. Please try again in a moment.',
};

// First thing: the token, out of the address bar (replaceState fires no hashchange).
const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
if (location.hash) history.replaceState(history.state, '', location.pathname + location.search);
addEventListener('hashchange', () => location.reload());

const $ = (id) => document.getElementById(id);
const statusEl = $('status');
const alertEl = $('alert');
const manage = $('manage');
const delForm = $('delete-form');
const reqForm = $('request-form');

function say(el, text) {
  el.textContent = text || '';
}
function showStatus(text) {
  say(alertEl, '');
  say(statusEl, text);
}
function showError(text) {
  say(statusEl, '');
  say(alertEl, text);
}

// One API call; resolves to {status, data} or {error: {code?, message, field?}}, never rejects.
async function call(method, path, { body, bearer } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer',
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
  if (res.ok) return { status: res.status, data: data || {} };
  if (res.status === 429) return { error: { code: 'rate_limited', message: S.tooMany } };
  if (data?.error && typeof data.error.message === 'string') return { error: { ...data.error, status: res.status } };
  return { error: { message: S.server } };
}

function fieldError(input, message) {
  say($(`${input.id}-error`), message);
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

// Wires FORM to SEND once the browser's own checks pass; its button stays disabled in the HTML until then.
function onSubmit(form, send) {
  const button = form.querySelector('button[type="submit"]');
  button.disabled = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (button.disabled) return;
    say(alertEl, '');
    for (const el of form.querySelectorAll('input')) {
      const ok = el.checkValidity();
      fieldError(el, ok ? '' : (el.type === 'checkbox' ? S.mustConfirm : el.validationMessage));
      if (!ok) {
        el.focus();
        return;
      }
    }
    button.disabled = true;
    try {
      await send();
    } finally {
      button.disabled = false;
    }
  });
}

function askForLink() {
  manage.hidden = true;
  reqForm.hidden = false;
}

onSubmit(reqForm, async () => {
  const r = await call('POST', '/api/v1/privacy/request', { body: { email: $('email').value.trim() } });
  if (r.error) {
    if (r.error.field === 'email') fieldError($('email'), r.error.message);
    else showError(r.error.message);
    return;
  }
  reqForm.hidden = true;
  showStatus(typeof r.data.message === 'string' && r.data.message ? r.data.message : S.sent);
  statusEl.focus();
});

onSubmit(delForm, async () => {
  const r = await call('DELETE', '/api/v1/privacy/comments', { bearer: token });
  if (r.error) {
    if (r.error.status === 401) {
      showError(S.badLink);
      askForLink();
    } else {
      showError(r.error.message);
    }
    return;
  }
  manage.hidden = true;
  showStatus(S.deleted(Number(r.data.deleted) || 0));
  statusEl.focus();
});

async function start() {
  if (!token) {
    showStatus(S.noToken);
    askForLink();
    return;
  }
  showStatus(S.loading);
  const r = await call('GET', '/api/v1/privacy/comments', { bearer: token });
  if (r.error) {
    showError(r.error.status === 401 ? S.badLink : r.error.message);
    if (r.error.status === 401) askForLink();
    return;
  }
  const n = Array.isArray(r.data.comments) ? r.data.comments.length : 0;
  showStatus('');
  say($('summary'), S.summary(n));
  const blob = new Blob([`${JSON.stringify(r.data, null, 2)}\n`], { type: 'application/json' });
  $('download').href = URL.createObjectURL(blob);
  delForm.hidden = n === 0;
  manage.hidden = false;
}

start();
