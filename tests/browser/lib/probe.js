// What the browser lets a third-party frame do: the host page (http://localhost:H) frames a page of the host
// server's other spelling (http://127.0.0.1:H, a different site), which tries a SameSite=None cookie, a Partitioned
// (CHIPS) cookie and localStorage. Before that, a first-party visit to http://127.0.0.1:H stores a localStorage
// value, so the frame can tell whether its storage is partitioned (it must not see that value).
//   { cookie: bool (unpartitioned third-party cookie set), partitionedCookie: bool, storage: 'ok' | 'denied',
//     storagePartitioned: bool }
'use strict';
const { uniqPath } = require('./hostpage');

async function thirdPartyProbe(env) {
  const host = env.stack.host;
  const frameOrigin = `http://127.0.0.1:${host.port}`;
  const first = uniqPath('probe-first');
  const framed = uniqPath('probe-frame');
  const top = uniqPath('probe-top');
  const key = `probe-${Date.now()}`;
  host.add(first, `<!doctype html><title>first</title><script>localStorage.setItem(${JSON.stringify(key)}, 'first-party')</script>`);
  host.add(framed, `<!doctype html><title>frame</title><script>
    const out = {};
    try { document.cookie = 'tp=1; SameSite=None; Secure; Path=/'; document.cookie = 'tpp=1; SameSite=None; Secure; Path=/; Partitioned'; } catch (e) {}
    out.cookie = /(^|; )tp=1/.test(document.cookie); out.partitionedCookie = /(^|; )tpp=1/.test(document.cookie);
    try { out.before = localStorage.getItem(${JSON.stringify(key)}); localStorage.setItem('x', '1'); out.storage = 'ok'; }
    catch (e) { out.storage = 'denied'; out.error = e.name; }
    window.__probe = out;
  </script>`);
  host.add(top, `<!doctype html><title>top</title><iframe title="probe" src="${frameOrigin}${framed}"></iframe>`);
  const page = await env.newPage();
  try {
    await page.goto(`${frameOrigin}${first}`);
    await page.goto(`${host.origin}${top}`);
    const frame = page.frames().find((f) => f.url().startsWith(frameOrigin));
    await frame.waitForFunction(() => window.__probe);
    const out = await frame.evaluate(() => window.__probe);
    await env.context.clearCookies();
    return { cookie: out.cookie, partitionedCookie: out.partitionedCookie, storage: out.storage,
      storagePartitioned: out.storage === 'ok' && out.before === null, error: out.error };
  } finally {
    await page.close();
  }
}

module.exports = { thirdPartyProbe };
