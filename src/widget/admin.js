// The moderation console (/admin). Plain JavaScript, no framework, no build step. An administrator logs in through
// the accounts API (POST /api/v1/auth/login); the session token is kept in this origin's sessionStorage (it ends
// with the tab) and sent as a bearer token to the admin API (/api/v1/admin/*). Everything the server sends is put
// into the page as text, except a comment's html, which is the sanitiser's output (the same markup the public
// thread shows) -- and the page's CSP allows no inline script in any case.
'use strict';

const KEY = 'parley.admin';
const DURATIONS = [['3600', '1 hour'], ['86400', '1 day'], ['604800', '1 week'], ['2592000', '30 days'],
  ['31536000', '1 year']];
const $ = (id) => document.getElementById(id);
const statusEl = $('status');
const alertEl = $('alert');
const list = $('items');

let token = null;
try { token = sessionStorage.getItem(KEY); } catch { /* storage blocked: log in for this page only */ }

function say(text) { alertEl.textContent = ''; statusEl.textContent = text; }
function fail(text) { statusEl.textContent = ''; alertEl.textContent = text; }

function saveToken(t) {
  token = t;
  try { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); } catch { /* see above */ }
}

// One call to the API: resolves to { status, json } (json null when the body is not JSON); a network failure or a
// lost session becomes an error with a sentence for the alert region.
async function api(method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new Error('The server could not be reached. Check your connection and try again.');
  }
  const json = await res.json().catch(() => null);
  if (res.status === 401 && !path.startsWith('/api/v1/auth/login')) {
    saveToken(null);
    showLogin();
    throw new Error('Your session ended; log in again.');
  }
  return { status: res.status, json };
}

const errorText = (r) => (r.json && r.json.error && r.json.error.message) || `The server answered ${r.status}.`;

// --- logging in and out ---

function showLogin() {
  $('console').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-name').focus();
}

async function showConsole(user) {
  $('login').hidden = true;
  $('console').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = `Logged in as ${user.username}`;
  await loadQueue(false);
  $('list-title').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const login = $('login-name').value.trim();
  const password = $('login-password').value;
  if (!login || !password) { fail('Enter your user name (or e-mail address) and your password.'); return; }
  try {
    const r = await api('POST', '/api/v1/auth/login', { login, password });
    if (r.status === 429) { fail('Too many attempts; wait a little and try again.'); return; }
    if (r.status !== 200) { fail(errorText(r)); return; }
    if (r.json.user.role !== 'admin') {
      // Not ours to keep: end the session at once.
      token = r.json.token;
      await api('POST', '/api/v1/auth/logout').catch(() => {});
      token = null;
      fail(`${r.json.user.username} is not an administrator. Only accounts listed in accounts.admin_emails may moderate.`);
      return;
    }
    saveToken(r.json.token);
    $('login-password').value = '';
    say(`Logged in as ${r.json.user.username}.`);
    await showConsole(r.json.user);
  } catch (e) { fail(e.message); }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/v1/auth/logout').catch(() => {});
  saveToken(null);
  list.replaceChildren();
  say('You are logged out.');
  showLogin();
});

// --- the queue, and the search ---

const view = { next: null, search: false, sites: [] };

function ageText(created) {
  const s = Math.max(0, Math.round((Date.now() - created) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

function render(c) {
  const li = $('item-tpl').content.firstElementChild.cloneNode(true);
  li.dataset.ref = c.ref;
  li.dataset.site = c.site;
  li.item = c;
  const who = `${c.author} (${c.site})`;
  li.setAttribute('aria-label', `Comment by ${who}`);
  li.querySelector('.pick').setAttribute('aria-label', `Select the comment by ${who}`);
  li.querySelector('.author').textContent = c.author;
  li.querySelector('.email').textContent = c.email ? `<${c.email}>` : '';
  const web = li.querySelector('.website');
  // Links only to http(s) addresses (the server only stores such; this page does not rely on it).
  const safe = (u) => (/^https?:\/\//i.test(u || '') ? u : null);
  if (safe(c.website)) { web.href = c.website; web.textContent = c.website; } else if (c.website) web.replaceWith(c.website); else web.remove();
  const thread = li.querySelector('.thread');
  if (safe(c.thread)) thread.href = c.thread;
  thread.textContent = c.title || c.thread;
  li.querySelector('.site').textContent = `(site ${c.site})`;
  const when = new Date(c.created);
  const age = li.querySelector('.age');
  age.textContent = ageText(c.created);
  age.title = when.toISOString();
  li.querySelector('.links').textContent = `${c.links} link${c.links === 1 ? '' : 's'}`;
  li.querySelector('.body').innerHTML = c.html; // the sanitiser's output (core_html), as the public thread shows it
  paint(li);
  return li;
}

// The parts of LI that follow its comment's state.
function paint(li) {
  const c = li.item;
  li.querySelector('.state').textContent = c.edited ? `${c.status}, edited` : c.status;
  li.querySelector('.locked').hidden = !c.locked;
  li.querySelector('[data-act="lock"]').textContent = c.locked ? 'Unlock thread' : 'Lock thread';
  li.querySelector('[data-act="approve"]').disabled = c.status === 'approved';
  li.querySelector('[data-act="spam"]').disabled = c.status === 'spam';
}

const items = () => [...list.querySelectorAll('.item')];
const current = () => list.querySelector('.item.current');

function setCurrent(li, focus = true) {
  for (const x of list.querySelectorAll('.item.current')) { x.classList.remove('current'); x.tabIndex = -1; }
  if (!li) return;
  li.classList.add('current');
  li.tabIndex = 0;
  if (focus) li.focus();
}

function updateSelection() {
  const picked = list.querySelectorAll('.pick:checked').length;
  const all = list.querySelectorAll('.pick').length;
  $('selected-count').textContent = `${picked} selected`;
  $('select-all').checked = all > 0 && picked === all;
  $('select-all').indeterminate = picked > 0 && picked < all;
  for (const b of document.querySelectorAll('[data-bulk]')) b.disabled = picked === 0;
}

function listTitle() {
  const st = $('f-status').value;
  const site = $('f-site').value;
  const where = site ? ` on ${site}` : '';
  if (view.search) return `Search results${where}`;
  return `${st[0].toUpperCase()}${st.slice(1)} comments${where}`;
}

async function loadQueue(more) {
  const q = $('f-q').value.trim();
  const p = new URLSearchParams();
  if ($('f-site').value) p.set('site', $('f-site').value);
  if (more && view.next) p.set('cursor', view.next);
  let path;
  if (view.search) {
    p.set('q', q);
    p.set('in', $('f-in').value);
    path = `/api/v1/admin/search?${p}`;
  } else {
    p.set('status', $('f-status').value);
    path = `/api/v1/admin/comments?${p}`;
  }
  try {
    const r = await api('GET', path);
    if (r.status !== 200) { fail(errorText(r)); return; }
    if (!more) list.replaceChildren();
    for (const c of r.json.items) list.append(render(c));
    if (r.json.sites) fillSites(r.json.sites);
    view.next = r.json.next;
    $('more').hidden = !view.next;
    $('more').textContent = view.search ? 'Search older comments' : 'Load more';
    $('empty').hidden = items().length > 0;
    $('list-title').textContent = listTitle();
    if (!current() && items().length) setCurrent(items()[0], false);
    updateSelection();
    const n = r.json.items.length;
    if (view.search) say(`${n} comment${n === 1 ? '' : 's'} found among ${r.json.scanned} searched.`);
    else say(`${items().length} comment${items().length === 1 ? '' : 's'} shown.`);
  } catch (e) { fail(e.message); }
}

function fillSites(sites) {
  if (sites.join() === view.sites.join()) return;
  view.sites = sites;
  const sel = $('f-site');
  const keep = sel.value;
  sel.replaceChildren(new Option('All sites', ''), ...sites.map((s) => new Option(s, s)));
  sel.value = keep;
}

$('filters').addEventListener('submit', (ev) => {
  ev.preventDefault();
  view.search = $('f-q').value.trim() !== '';
  loadQueue(false);
});
$('f-clear').addEventListener('click', () => { $('f-q').value = ''; view.search = false; loadQueue(false); });
for (const id of ['f-site', 'f-status']) $(id).addEventListener('change', () => loadQueue(false));
$('more').addEventListener('click', () => loadQueue(true));
$('select-all').addEventListener('change', () => {
  for (const b of list.querySelectorAll('.pick')) b.checked = $('select-all').checked;
  updateSelection();
});
list.addEventListener('change', (ev) => { if (ev.target.classList.contains('pick')) updateSelection(); });
list.addEventListener('focusin', (ev) => {
  const li = ev.target.closest('.item');
  if (li && !li.classList.contains('current')) setCurrent(li, false);
});

// --- acting on comments ---

const DONE = { approve: 'approved', spam: 'marked as spam', delete: 'deleted' };

// Removes LI from the list (it left this view) and moves the current mark to its neighbour.
function drop(li) {
  const next = li.nextElementSibling || li.previousElementSibling;
  const wasCurrent = li.classList.contains('current');
  const hadFocus = li.contains(document.activeElement);
  li.remove();
  if (wasCurrent) setCurrent(next, hadFocus || wasCurrent);
  if (!next && hadFocus) $('list-title').focus();
  $('empty').hidden = items().length > 0;
  updateSelection();
}

// After an act: the comment leaves the queue view unless it still has the status shown (a search shows every one).
function settle(li, comment) {
  li.item = { ...li.item, ...comment };
  if (!view.search && comment.status !== $('f-status').value) drop(li);
  else if (comment.status === 'deleted') drop(li);
  else paint(li);
}

async function act(li, action) {
  const c = li.item;
  if (action === 'delete' && !window.confirm(`Delete the comment by ${c.author}? This cannot be undone.`)) return;
  try {
    const r = await api('POST', `/api/v1/admin/comments/${encodeURIComponent(c.ref)}/${action}`, { site: c.site });
    if (r.status !== 200) { fail(errorText(r)); return; }
    settle(li, r.json.comment);
    say(`The comment by ${c.author} was ${DONE[action]}.`);
  } catch (e) { fail(e.message); }
}

async function bulk(action) {
  const picked = [...list.querySelectorAll('.pick:checked')].map((b) => b.closest('.item'));
  if (!picked.length) return;
  if (action === 'delete' && !window.confirm(`Delete ${picked.length} comments? This cannot be undone.`)) return;
  const bySite = new Map();
  for (const li of picked) {
    if (!bySite.has(li.item.site)) bySite.set(li.item.site, []);
    bySite.get(li.item.site).push(li);
  }
  let ok = 0;
  let failed = 0;
  try {
    for (const [site, lis] of bySite) {
      for (let i = 0; i < lis.length; i += 100) {
        const part = lis.slice(i, i + 100);
        const r = await api('POST', '/api/v1/admin/comments/bulk', { site, action, refs: part.map((li) => li.item.ref) });
        if (r.status !== 200) { fail(errorText(r)); return; }
        r.json.results.forEach((res, k) => {
          if (res.ok) { ok += 1; settle(part[k], { status: res.status }); } else failed += 1;
        });
      }
    }
    const msg = `${ok} comment${ok === 1 ? ' was' : 's were'} ${DONE[action]}.`;
    if (failed) fail(`${msg} ${failed} could not be changed (gone meanwhile?).`); else say(msg);
  } catch (e) { fail(e.message); }
  for (const b of list.querySelectorAll('.pick')) b.checked = false;
  updateSelection();
}
for (const b of document.querySelectorAll('[data-bulk]')) b.addEventListener('click', () => bulk(b.dataset.bulk));

function closePanel(li) {
  const p = li.querySelector('.panel');
  if (p) p.remove();
  li.querySelector('.actions').hidden = false;
}

// A small form under the comment, replacing its buttons until it is saved or cancelled.
function openPanel(li, build) {
  closePanel(li);
  const panel = document.createElement('form');
  panel.className = 'panel';
  panel.noValidate = true;
  build(panel);
  const buttons = panel.querySelector('.buttons');
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'secondary';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => { closePanel(li); li.focus(); });
  buttons.append(cancel);
  panel.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); closePanel(li); li.focus(); } });
  li.querySelector('.actions').hidden = true;
  li.append(panel);
  panel.querySelector('textarea, input, select').focus();
}

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...kids);
  return e;
}

function edit(li) {
  const c = li.item;
  const id = `edit-${c.ref.replace(/\W/g, '-')}`;
  openPanel(li, (panel) => {
    panel.append(
      el('div', { className: 'field' }, el('label', { htmlFor: id, textContent: 'Comment text' }),
        el('textarea', { id, value: c.body || '' })),
      el('div', { className: 'buttons' }, el('button', { type: 'submit', textContent: 'Save' })));
    panel.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await api('PATCH', `/api/v1/admin/comments/${encodeURIComponent(c.ref)}`,
          { site: c.site, body: $(id).value });
        if (r.status !== 200) { fail(errorText(r)); return; }
        li.item = { ...c, ...r.json.comment };
        li.querySelector('.body').innerHTML = r.json.comment.html;
        li.querySelector('.links').textContent = `${r.json.comment.links} link${r.json.comment.links === 1 ? '' : 's'}`;
        paint(li);
        closePanel(li);
        li.focus();
        say(`The comment by ${c.author} was edited.`);
      } catch (e) { fail(e.message); }
    });
  });
}

function ban(li) {
  const c = li.item;
  const base = `ban-${c.ref.replace(/\W/g, '-')}`;
  openPanel(li, (panel) => {
    const who = el('fieldset', {}, el('legend', { textContent: 'Ban' }));
    const choices = [];
    if (c.email) choices.push(['email', `The e-mail address ${c.email}`]);
    if (c.visitor) choices.push(['visitor', 'This visitor (browser and network of the comment\'s day)']);
    choices.forEach(([v, label], i) => {
      const r = el('input', { type: 'radio', name: `${base}-who`, id: `${base}-${v}`, value: v, checked: i === 0 });
      who.append(el('div', {}, r, el('label', { htmlFor: r.id, textContent: ` ${label}` })));
    });
    const dur = el('select', { id: `${base}-dur` }, ...DURATIONS.map(([v, t]) => new Option(t, v)));
    dur.value = '86400';
    const lift = el('button', { type: 'button', className: 'secondary', textContent: 'Lift the ban' });
    panel.append(who, el('div', { className: 'field' }, el('label', { htmlFor: dur.id, textContent: 'For' }), dur),
      el('div', { className: 'buttons' }, el('button', { type: 'submit', textContent: 'Ban' }), lift));
    const target = () => {
      const v = panel.querySelector(`input[name="${base}-who"]:checked`);
      return v && v.value === 'visitor' ? { visitor: c.visitor } : { email: c.email };
    };
    panel.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const r = await api('POST', '/api/v1/admin/bans', { site: c.site, ...target(), duration_s: Number(dur.value) });
        if (r.status !== 201) { fail(errorText(r)); return; }
        closePanel(li);
        li.focus();
        say(`Banned on ${c.site} for ${dur.selectedOptions[0].text}.`);
      } catch (e) { fail(e.message); }
    });
    lift.addEventListener('click', async () => {
      try {
        const r = await api('POST', '/api/v1/admin/bans/lift', { site: c.site, ...target() });
        if (r.status !== 200) { fail(errorText(r)); return; }
        closePanel(li);
        li.focus();
        say(r.json.was_banned ? 'The ban was lifted.' : 'There was no ban to lift.');
      } catch (e) { fail(e.message); }
    });
  });
}

async function lock(li) {
  const c = li.item;
  const locking = !c.locked;
  try {
    const r = await api('POST', `/api/v1/admin/threads/${locking ? 'lock' : 'unlock'}`, { site: c.site, url: c.thread });
    if (r.status !== 200) { fail(errorText(r)); return; }
    for (const x of items()) {
      if (x.item.site === c.site && x.item.thread === c.thread) { x.item.locked = locking; paint(x); }
    }
    say(`The thread "${c.title || c.thread}" is ${locking ? 'locked: no new comments' : 'open again'}.`);
  } catch (e) { fail(e.message); }
}

const ACTS = { approve: (li) => act(li, 'approve'), spam: (li) => act(li, 'spam'), delete: (li) => act(li, 'delete'),
  edit, ban, lock };
list.addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-act]');
  if (b) ACTS[b.dataset.act](b.closest('.item'));
});

// --- dead letters ---

let deadNext = null;
async function loadDead(more) {
  const p = new URLSearchParams();
  if (more && deadNext) p.set('cursor', deadNext);
  try {
    const r = await api('GET', `/api/v1/admin/mail/dead?${p}`);
    if (r.status !== 200) { fail(errorText(r)); return; }
    const rows = $('dead-rows');
    if (!more) rows.replaceChildren();
    for (const d of r.json.items) {
      const when = d.failed ? new Date(Number(d.failed)).toISOString().replace('T', ' ').slice(0, 19) : '';
      const retry = el('button', { type: 'button', textContent: 'Retry' });
      retry.setAttribute('aria-label', `Retry the mail to ${d.rcpt}: ${d.subject}`);
      const tr = el('tr', {}, el('td', { textContent: d.rcpt || '' }), el('td', { textContent: d.subject || '' }),
        el('td', { textContent: d.reason || '' }), el('td', { textContent: when }),
        el('td', { textContent: d.attempts || '' }), el('td', {}, retry));
      retry.addEventListener('click', async () => {
        try {
          const x = await api('POST', `/api/v1/admin/mail/dead/${encodeURIComponent(d.id)}/retry`);
          if (x.status !== 200) { fail(errorText(x)); return; }
          tr.remove();
          $('dead-empty').hidden = rows.children.length > 0;
          $('dead-title').focus();
          say(`The mail to ${d.rcpt} is back in the outbox.`);
        } catch (e) { fail(e.message); }
      });
      rows.append(tr);
    }
    deadNext = r.json.next;
    $('dead-more').hidden = !deadNext || r.json.items.length < 50; // a short page was the last one
    $('dead-empty').hidden = rows.children.length > 0;
    say(`${rows.children.length} dead letter${rows.children.length === 1 ? '' : 's'}.`);
  } catch (e) { fail(e.message); }
}
$('dead-more').addEventListener('click', () => loadDead(true));

function showTab(dead) {
  $('tab-queue').setAttribute('aria-pressed', String(!dead));
  $('tab-dead').setAttribute('aria-pressed', String(dead));
  $('queue-view').hidden = dead;
  $('dead-view').hidden = !dead;
  if (dead) loadDead(false).then(() => $('dead-title').focus());
  else loadQueue(false).then(() => $('list-title').focus());
}
$('tab-queue').addEventListener('click', () => showTab(false));
$('tab-dead').addEventListener('click', () => showTab(true));

// --- keyboard ---

const help = $('help');
$('help-open').addEventListener('click', () => help.showModal());

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || $('console').hidden || help.open) return;
  const t = ev.target;
  const typing = t.tagName === 'INPUT' && t.type !== 'checkbox' && t.type !== 'radio';
  if (typing || (t.closest && t.closest('textarea, select, [contenteditable], .panel'))) return;
  const key = ev.key;
  if (key === '?') { ev.preventDefault(); help.showModal(); return; }
  if (key === '/') { ev.preventDefault(); $('f-q').focus(); return; }
  if ($('queue-view').hidden) return;
  const all = items();
  const cur = current();
  const i = cur ? all.indexOf(cur) : -1;
  if (key === 'j' || key === 'ArrowDown') { ev.preventDefault(); setCurrent(all[Math.min(i + 1, all.length - 1)]); return; }
  if (key === 'k' || key === 'ArrowUp') { ev.preventDefault(); setCurrent(all[Math.max(i - 1, 0)]); return; }
  if (!cur) return;
  const acts = { a: 'approve', s: 'spam', d: 'delete', e: 'edit' };
  if (acts[key]) {
    ev.preventDefault();
    const b = cur.querySelector(`[data-act="${acts[key]}"]`);
    if (!b.disabled) ACTS[acts[key]](cur);
  } else if (key === 'x') {
    ev.preventDefault();
    const box = cur.querySelector('.pick');
    box.checked = !box.checked;
    updateSelection();
  }
});

// --- start ---

(async () => {
  if (!token) { showLogin(); return; }
  try {
    const r = await api('GET', '/api/v1/auth/me');
    if (r.status === 200 && r.json.user.role === 'admin') await showConsole(r.json.user);
    else { saveToken(null); showLogin(); }
  } catch (e) { fail(e.message); }
})();
