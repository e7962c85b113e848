// Helpers shared by the comment API tests (comments, moderation, comments_edit): a small client over harness.h1,
// the JSON error assertion, tree walking, a minimal XML well-formedness checker for the Atom feed, and a form-token
// forger that signs with the server's own secret (read from the parleyd's temp data dir) for the token-age tests.
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');

const ADMIN_TOKEN = `admin-token-for-tests-${process.pid}-0123456789`;
// Relaxed anti-spam for tests that are not about it: no form-age floor, no interval, limits out of the way.
const RELAXED = { min_form_age_s: 0, min_interval_s: 0, per_minute: 100000, per_hour: 100000, per_thread_per_minute: 100000 };

let seq = 0;
const uniq = (tag) => `${tag}-${process.pid}-${++seq}`;
// A page path no other test uses, on the given host.
const page = (tag, host = 'blog.example') => `https://${host}/${uniq(tag)}`;
// A User-Agent no other test uses: a fresh visitor (the visitor hash is IP + User-Agent).
const ua = (tag) => `Mozilla/5.0 (X11; Linux x86_64) parley-test/${uniq(tag)}`;
const qs = (params) => Object.entries(params).filter(([, v]) => v !== undefined && v !== null)
  .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]))
  .map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
// Key hash of a canonical URL as the server builds it (first 16 bytes of SHA-256, hex): the admin ref's first half.
const urlHash = (canonical) => crypto.createHash('sha256').update(canonical).digest('hex').slice(0, 32);

// Asserts RES is the JSON error STATUS/CODE with error.field === FIELD (undefined: no field at all).
function assertError(res, status, code, field, what = '') {
  const ctx = `${what} -> ${res.status} ${res.text.slice(0, 300)}`;
  assert.equal(res.status, status, ctx);
  assert.match(String(res.headers['content-type']), /^application\/json\b/, ctx);
  assert.ok(res.json && typeof res.json === 'object' && res.json.error, `JSON error body: ${ctx}`);
  assert.equal(res.json.error.code, code, ctx);
  assert.equal(typeof res.json.error.message, 'string', ctx);
  if (field === undefined) assert.equal('field' in res.json.error, false, `no field expected: ${ctx}`);
  else assert.equal(res.json.error.field, field, ctx);
}

// Every comment of a page's tree, depth first (parents before their replies).
function flatten(comments, out = []) {
  for (const c of comments) {
    out.push(c);
    flatten(c.replies || [], out);
  }
  return out;
}

// A client for one parleyd: every call takes an optional `ua` (the visitor) and answers like harness.h1.
function client(p) {
  const hdr = (opts) => ({ 'user-agent': opts.ua || 'Mozilla/5.0 (parley-test)', ...(opts.headers || {}) });
  const c = {
    p,
    thread(site, url, opts = {}) {
      const q = qs({ site, url, sort: opts.sort, limit: opts.limit, cursor: opts.cursor });
      return h.h1(p, 'GET', `/api/v1/comments?${q}`, { headers: hdr(opts) });
    },
    async formToken(site, url, opts = {}) {
      const r = await c.thread(site, url, opts);
      assert.equal(r.status, 200, `GET thread for a form token: ${r.text}`);
      return r.json.form_token;
    },
    // POST /api/v1/comments. Unless FIELDS has form_token (null = send none), a fresh token is fetched first.
    // author and email default to Ann's unless opts.bare (then FIELDS is sent as given, plus the token).
    async post(fields, opts = {}) {
      const body = opts.bare ? { ...fields } : { author: 'Ann Author', email: 'ann@example.com', ...fields };
      if (!('form_token' in body)) body.form_token = await c.formToken(body.site, body.url, opts);
      if (body.form_token === null) delete body.form_token;
      return h.h1(p, 'POST', '/api/v1/comments', { body, headers: hdr(opts) });
    },
    // Like post, asserting 201; returns the JSON ({comment, edit_token}).
    async create(fields, opts = {}) {
      const r = await c.post(fields, opts);
      assert.equal(r.status, 201, `create: ${r.text}`);
      return r.json;
    },
    preview(body, opts = {}) {
      return h.h1(p, 'POST', '/api/v1/comments/preview', { body: { body }, headers: hdr(opts) });
    },
    one(site, url, id, opts = {}) {
      return h.h1(p, 'GET', `/api/v1/comments/${id}?${qs({ site, url, limit: opts.limit })}`, { headers: hdr(opts) });
    },
    vote(site, url, id, value, opts = {}) {
      return h.h1(p, 'POST', `/api/v1/comments/${id}/vote`, { body: { site, url, value }, headers: hdr(opts) });
    },
    edit(site, url, id, body, token, opts = {}) {
      const headers = { ...hdr(opts) };
      if (token !== undefined && token !== null) headers['x-parley-edit-token'] = token;
      return h.h1(p, 'PATCH', `/api/v1/comments/${id}`, { body: { site, url, body }, headers });
    },
    remove(site, url, id, token, opts = {}) {
      const headers = { ...hdr(opts) };
      if (token !== undefined && token !== null) headers['x-parley-edit-token'] = token;
      return h.h1(p, 'DELETE', `/api/v1/comments/${id}?${qs({ site, url })}`, { headers });
    },
    feed(site, url, opts = {}) {
      return h.h1(p, 'GET', `/api/v1/feed?${qs({ site, url })}`, { headers: hdr(opts) });
    },
    counts(site, urls, opts = {}) {
      return h.h1(p, 'GET', `/api/v1/counts?${qs({ site, url: urls })}`, { headers: hdr(opts) });
    },
    admin(method, pathname, body, token = ADMIN_TOKEN) {
      const headers = token === null ? {} : { authorization: `Bearer ${token}` };
      return h.h1(p, method, pathname, { body, headers });
    },
    adminList(site, status, token = ADMIN_TOKEN) {
      return c.admin('GET', `/api/v1/admin/comments?${qs({ site, status, limit: 200 })}`, undefined, token);
    },
    // The admin queue entry of comment ID in the thread at canonical URL (undefined when not listed).
    async adminFind(site, status, canonical, id) {
      const r = await c.adminList(site, status);
      assert.equal(r.status, 200, r.text);
      return r.json.items.find((it) => it.ref === `${urlHash(canonical)}:${id}`);
    },
    adminAct(site, ref, action, token = ADMIN_TOKEN) {
      return c.admin('POST', `/api/v1/admin/comments/${ref}/${action}`, { site }, token);
    },
  };
  return c;
}

// --- a minimal XML well-formedness checker (enough for the Atom feed; no DTDs) ---

// XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
function badXmlChar(s) {
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
      cp >= 0x10000;
    if (!ok) return cp;
  }
  return null;
}

function checkText(t, where) {
  if (t.includes('<')) throw new Error(`raw '<' in ${where}: ${t.slice(0, 80)}`);
  if (t.includes(']]>')) throw new Error(`']]>' in ${where}`);
  // Every & starts an entity: one of the five predefined, or a character reference.
  for (const m of t.matchAll(/&([^;]{0,12});?/g)) {
    if (!m[0].endsWith(';') || !/^(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+)$/.test(m[1])) {
      throw new Error(`bad entity ${JSON.stringify(m[0])} in ${where}`);
    }
  }
}

// Parses XML into a tree { name, attrs, children: [node | string] } and throws on anything not well-formed:
// unbalanced or misnested tags, duplicate or unquoted attributes, raw '<' or bare '&' in text or attribute values,
// characters outside XML's Char production, content after the root element.
function parseXml(xml) {
  const bad = badXmlChar(xml);
  if (bad !== null) throw new Error(`character U+${bad.toString(16).toUpperCase()} is not allowed in XML`);
  let i = 0;
  const decl = /^<\?xml\s[^?]*\?>/.exec(xml);
  if (!decl) throw new Error('no XML declaration at the start');
  i = decl[0].length;
  const root = { name: '#document', attrs: {}, children: [] };
  const stack = [root];
  const nameRe = /[A-Za-z_][A-Za-z0-9_.:-]*/y;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (text.length) {
      checkText(text, `text of <${stack[stack.length - 1].name}>`);
      if (stack.length === 1) {
        if (text.trim() !== '') throw new Error(`text outside the root element: ${text.slice(0, 40)}`);
      } else {
        stack[stack.length - 1].children.push(text);
      }
    }
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) throw new Error('unterminated comment');
      i = end + 3;
      continue;
    }
    if (xml.startsWith('</', i)) {
      nameRe.lastIndex = i + 2;
      const m = nameRe.exec(xml);
      if (!m) throw new Error(`bad end tag at ${i}`);
      const close = /^\s*>/.exec(xml.slice(nameRe.lastIndex));
      if (!close) throw new Error(`bad end tag </${m[0]} at ${i}`);
      const top = stack.pop();
      if (!top || top.name !== m[0] || stack.length === 0) throw new Error(`</${m[0]}> closes <${top && top.name}>`);
      i = nameRe.lastIndex + close[0].length;
      continue;
    }
    nameRe.lastIndex = i + 1;
    const m = nameRe.exec(xml);
    if (!m) throw new Error(`raw '<' at ${i}: ${xml.slice(i, i + 20)}`);
    if (stack.length === 1 && root.children.length > 0) throw new Error('a second root element');
    const el = { name: m[0], attrs: {}, children: [] };
    let j = nameRe.lastIndex;
    for (;;) {
      const ws = /^\s*/.exec(xml.slice(j))[0];
      j += ws.length;
      if (xml.startsWith('/>', j)) { j += 2; stack[stack.length - 1].children.push(el); break; }
      if (xml[j] === '>') { j += 1; stack[stack.length - 1].children.push(el); stack.push(el); break; }
      if (!ws.length) throw new Error(`bad start tag <${el.name} at ${j}`);
      const am = /^([A-Za-z_][A-Za-z0-9_.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(xml.slice(j));
      if (!am) throw new Error(`bad attribute in <${el.name}> at ${j}: ${xml.slice(j, j + 30)}`);
      if (am[1] in el.attrs) throw new Error(`duplicate attribute ${am[1]} in <${el.name}>`);
      const val = am[3] !== undefined ? am[3] : am[4];
      checkText(val, `attribute ${am[1]} of <${el.name}>`);
      el.attrs[am[1]] = val;
      j += am[0].length;
    }
    i = j;
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1) throw new Error('no root element');
  return root.children[0];
}

const decodeXml = (s) => s.replace(/&(lt|gt|quot|apos|amp|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e) => {
  if (e === 'lt') return '<';
  if (e === 'gt') return '>';
  if (e === 'quot') return '"';
  if (e === 'apos') return "'";
  if (e === 'amp') return '&';
  return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
});
const kids = (el, name) => el.children.filter((c) => typeof c === 'object' && c.name === name);
const textOf = (el) => (el ? el.children.filter((c) => typeof c === 'string').join('') : undefined);

// --- form tokens signed with the server's own secret (the parleyd's temp data dir holds it, hex) ---

function serverSecret(p) {
  return Buffer.from(fs.readFileSync(path.join(p.dir, 'data', 'secret'), 'utf8').trim(), 'hex');
}

// base64url(issued seconds, 8 bytes big endian || HMAC-SHA256(secret, "form\n<site>\n<issued>\n<canonical>")[0..16)).
function forgeFormToken(p, site, canonical, issuedS) {
  const mac = crypto.createHmac('sha256', serverSecret(p)).update(`form\n${site}\n${issuedS}\n${canonical}`).digest();
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(issuedS));
  return Buffer.concat([head, mac.subarray(0, 16)]).toString('base64url');
}

module.exports = {
  ADMIN_TOKEN, RELAXED, uniq, page, ua, qs, urlHash, assertError, flatten, client, parseXml, decodeXml, kids, textOf,
  badXmlChar, forgeFormToken,
};
