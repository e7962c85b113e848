// One test file's world: the servers (stack.js), one Chromium (browser.js) with a request recorder, and helpers.
//
//   const env = setupFile({ thirdPartyCookies: 'block' });   // registers before/after hooks with node:test
//   env.test('name', async () => { const page = await env.newPage(); ... });
//   env.finalChecks();                                        // last test: nothing foreign, no page errors
//
// Every page gets traps (context init script, in every frame): window.__pwned records assignments, and
// window.__parleyTest.opened collects window.open calls on pages opened with { stubOpen: true } (the top frame's
// window.open is replaced, so a share click opens nothing). Dialogs are recorded (confirm() is accepted, alert and
// prompt dismissed); console messages about Content-Security-Policy and uncaught exceptions of any frame are
// recorded too. A failing env.test saves a screenshot of the last page under the artefact directory.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test, before, after } = require('node:test');
const h = require('../../api/lib/harness');
const { startStack } = require('./stack');
const { launch, recorder } = require('./browser');

const ARTIFACTS = process.env.PARLEY_BROWSER_ARTIFACTS
  || path.resolve(__dirname, '../../../build/asan/tests/browser/artifacts');
const AXE_SOURCE_FILE = require.resolve('axe-core/axe.min.js');

const TRAPS = `(() => {
  if (window.__parleyTest) return;
  const T = { pwned: [], opened: [] };
  Object.defineProperty(window, '__parleyTest', { value: T });
  Object.defineProperty(window, '__pwned', { configurable: false,
    get() { return T.pwned.length ? T.pwned[T.pwned.length - 1] : undefined; },
    set(v) { T.pwned.push(String(v)); } });
})();`;
const STUB_OPEN = `(() => {
  if (window !== window.top || !window.__parleyTest) return;
  const T = window.__parleyTest;
  window.open = function (url, name, features) {
    T.opened.push({ url: String(url), name: String(name), features: String(features) });
    return null; // as window.open with noopener always does
  };
})();`;

const slug = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

function setupFile({ thirdPartyCookies = 'allow', storagePartitioning = true, contextOptions = {}, stack: stackOpts = {},
  file = 'browser' } = {}) {
  const env = {
    stack: null, browser: null, context: null, rec: null, page: null,
    dialogs: [], pageErrors: [], cspReports: [], consoleErrors: [],
    artifacts: ARTIFACTS,
    get parley() { return env.stack.origin; },
    get host() { return env.stack.host; },
  };

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    env.stack = await startStack(stackOpts);
    env.browser = await launch({ thirdPartyCookies, storagePartitioning, contextOptions });
    env.context = env.browser.context;
    env.context.setDefaultTimeout(Number(process.env.PARLEY_BROWSER_TIMEOUT_MS || 8000));
    env.context.setDefaultNavigationTimeout(15000);
    await env.context.addInitScript(TRAPS);
    env.rec = recorder(env.context, [...env.stack.host.origins, ...new Set([env.stack.origin,
      `http://127.0.0.1:${env.stack.parley.port}`])]);
    const watch = (p) => {
      p.on('dialog', (d) => {
        env.dialogs.push({ type: d.type(), message: d.message(), page: p.url(), t: Date.now() });
        (d.type() === 'confirm' ? d.accept() : d.dismiss()).catch(() => {});
      });
      p.on('pageerror', (e) => env.pageErrors.push({ page: p.url(), message: String(e && e.stack || e) }));
      p.on('console', (m) => {
        if (m.type() !== 'error') return;
        const text = m.text();
        const where = `${m.location().url}:${m.location().lineNumber}`;
        if (/Content[- ]Security[- ]Policy/i.test(text)) env.cspReports.push({ page: p.url(), text, where });
        else env.consoleErrors.push({ page: p.url(), text, where });
      });
    };
    env.context.pages().forEach(watch);
    env.context.on('page', watch);
  });

  after(async () => {
    if (env.browser) await env.browser.close();
    if (env.stack) await env.stack.stop();
  });

  // A new page (tab) opened by the test. stubOpen: replace the top frame's window.open (see above).
  // colorScheme: 'light' | 'dark' (prefers-color-scheme of every frame of the page). The pages opened before are
  // closed unless keepOthers is true: a tab that is not the newest gets no animation frames in headless Chromium,
  // and every Playwright click on it then waits about 2 s for them.
  env.newPage = async ({ stubOpen = false, colorScheme, keepOthers = false } = {}) => {
    if (!keepOthers) {
      for (const old of env.context.pages()) await old.close().catch(() => {});
    }
    const p = await env.context.newPage();
    env.rec.ownPage(p);
    if (stubOpen) await p.addInitScript(STUB_OPEN);
    if (colorScheme) await p.emulateMedia({ colorScheme });
    env.page = p;
    return p;
  };

  // Fails at once, with a clear message, when parleyd does not serve the embed yet (instead of timing out on every
  // selector).
  let embedOk;
  env.requireEmbed = async () => {
    if (embedOk === undefined) {
      const r = await h.h1(env.stack.parley, 'GET', '/embed.js');
      embedOk = r.status === 200 ? true : `GET /embed.js answered ${r.status}`;
    }
    if (embedOk !== true) assert.fail(`parleyd does not serve the embed: ${embedOk}`);
  };

  env.screenshot = async (name, p = env.page, opts = {}) => {
    if (!p || p.isClosed()) return null;
    const file = path.join(ARTIFACTS, `${name}.png`);
    await p.screenshot({ path: file, fullPage: true, ...opts });
    return file;
  };

  // node:test's test, plus a screenshot of the last page when it fails.
  env.test = (name, fn, opts = {}) => test(name, opts, async (t) => {
    try {
      await fn(t);
    } catch (e) {
      const f = await env.screenshot(`FAIL-${file}-${slug(name)}`).catch(() => null);
      if (f) e.message += `\n(screenshot: ${f})`;
      throw e;
    }
  });

  // Runs axe-core (WCAG 2.0/2.1/2.2 A and AA rules) in FRAME (a Page or a Frame), injected by evaluating its source
  // (CDP evaluation is not subject to the page's CSP, so Parley's strict script-src does not stop it). INCLUDE: CSS
  // selectors to limit the run (default: the whole document). Resolves to the violations (axe's objects).
  env.axe = async (frame, { include, exclude, tags } = {}) => {
    const src = fs.readFileSync(AXE_SOURCE_FILE, 'utf8');
    await frame.evaluate((s) => { if (!window.axe) (0, eval)(s); }, src).catch(async () => {
      // pages whose CSP forbids eval: fall back to a script tag (needs bypassCSP)
      await frame.addScriptTag({ content: src });
    });
    return frame.evaluate(async ({ include, exclude, tags }) => {
      const context = include ? { include: include.map((s) => [s]), exclude: (exclude || []).map((s) => [s]) } : document;
      const r = await window.axe.run(context, {
        runOnly: { type: 'tag', values: tags },
        iframes: false,
        resultTypes: ['violations'],
      });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary, html: n.html.slice(0, 200) })) }));
    }, { include, exclude, tags: tags || ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] });
  };

  env.finalChecks = () => {
    test('no request left for any host other than the host page\'s and Parley\'s (every request of this file)', () => {
      assert.ok(env.rec && env.rec.all.length > 0, 'the recorder saw requests');
      const bad = env.rec.violations();
      assert.deepEqual(bad.map((e) => e.url), [], `foreign requests:\n${env.rec.report(bad)}`);
    });
    test('no uncaught script error and no Content-Security-Policy report in any page or frame', () => {
      assert.deepEqual(env.pageErrors, [], 'uncaught errors');
      assert.deepEqual(env.cspReports, [], 'CSP reports');
    });
  };

  return env;
}

// The thread iframe of PAGE (the first one, or the one inside CONTAINER), once its document has loaded: { el, frame }
// (el: the <iframe> Locator in the host page; frame: the Playwright Frame inside).
async function threadFrame(page, { container = '[data-parley-thread]', timeout } = {}) {
  const el = page.locator(`${container} iframe`).first();
  await el.waitFor({ state: 'attached', timeout });
  const handle = await el.elementHandle({ timeout });
  let frame = await handle.contentFrame();
  for (let i = 0; i < 100 && (!frame || !/\/embed\/thread/.test(frame.url())); i++) {
    await h.sleep(50);
    frame = await handle.contentFrame();
  }
  assert.ok(frame, 'the thread iframe has a document');
  await frame.waitForLoadState('load', { timeout });
  return { el, frame };
}

module.exports = { setupFile, threadFrame, ARTIFACTS, slug };
