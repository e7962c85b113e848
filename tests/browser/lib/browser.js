// Debian's Chromium (/usr/bin/chromium) driven by playwright-core (npm; it downloads no browser), and a recorder of
// every request every page and frame makes.
//
// Launch flags (tests/../shared test-tools notes, verified with strace): besides Playwright's own switches,
// --host-resolver-rules maps every host name except 127.0.0.1 and localhost to NOTFOUND, so nothing — not the page,
// not Chromium's own background services — can resolve, let alone reach, anything off loopback. A request to a
// foreign host still shows up in the recorder (and fails with net::ERR_NAME_NOT_RESOLVED), which is how the tests
// prove the embed never tries.
//
// Third-party cookies and storage, measured on this Chromium (156.0.8078.108, Debian 12) with a localhost page
// framing a 127.0.0.1 iframe (tests/browser/infra.test.js keeps checking it):
// - Chromium blocks third-party cookies BY DEFAULT, in Playwright's off-the-record contexts (browser.newContext) and
//   in a fresh persistent profile alike: only partitioned (CHIPS, `Partitioned`) cookies get set in the iframe.
// - The switch --test-third-party-cookie-phaseout changes nothing measurable here (they are already blocked), and
//   CDP Network.setCookieControls({enableThirdPartyCookieRestriction: false}) does not unblock them.
// - What works is the profile preference `profile.cookie_controls_mode` written into <userDataDir>/Default/
//   Preferences before launchPersistentContext: 0 = allow third-party cookies (what most Chrome users still have),
//   1 = block them (Chrome's "Block third-party cookies"; also Chromium's default here). This module writes it.
// - Playwright disables the ThirdPartyStoragePartitioning feature (its --disable-features list), which real Chrome
//   has on since 115. With partitioning off and third-party cookies blocked, localStorage in the third-party iframe
//   THROWS SecurityError; with partitioning on it works and is partitioned by top-level site. So the launch passes
//   its own --disable-features (a later duplicate switch replaces Playwright's; --enable-features cannot override a
//   disable) with Playwright's list minus ThirdPartyStoragePartitioning: storagePartitioning: true (the default)
//   behaves like real Chrome; false reproduces a browser that denies the iframe its storage outright.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';

const LOOPBACK_ONLY = '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost';
const BASE_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', LOOPBACK_ONLY];
// playwright-core 1.65.1's disabled features (chromiumSwitches), without ThirdPartyStoragePartitioning.
const PLAYWRIGHT_DISABLED_FEATURES = ['AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable', 'LensOverlay', 'MediaRouter', 'PaintHolding', 'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin', 'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch'];

// Launches Chromium with a fresh persistent profile in a temp dir; resolves to { context, dir, close() }.
//   thirdPartyCookies: 'allow' (default) | 'block'
//   storagePartitioning: true (default, as real Chrome) | false (third-party storage denied when cookies are blocked)
//   contextOptions: more launchPersistentContext options (viewport, colorScheme, bypassCSP, permissions …)
async function launch({ thirdPartyCookies = 'allow', storagePartitioning = true, contextOptions = {} } = {}) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (deps/packages.txt)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-chromium-'));
  fs.mkdirSync(path.join(dir, 'Default'));
  const block = thirdPartyCookies === 'block';
  fs.writeFileSync(path.join(dir, 'Default', 'Preferences'), JSON.stringify({
    profile: { cookie_controls_mode: block ? 1 : 0, block_third_party_cookies: block },
  }));
  const disabled = storagePartitioning ? PLAYWRIGHT_DISABLED_FEATURES : [...PLAYWRIGHT_DISABLED_FEATURES, 'ThirdPartyStoragePartitioning'];
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...BASE_ARGS, `--disable-features=${disabled.join(',')}`],
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
    ...contextOptions,
  });
  return {
    context, dir,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Share intents of the contract (the only foreign addresses anything may ever open, and only as the top-level
// navigation of a popup the reader asked for by clicking a share button).
const SHARE_INTENTS = [
  /^https:\/\/x\.com\/intent\/post\?/, /^https:\/\/www\.facebook\.com\/sharer\/sharer\.php\?/,
  /^https:\/\/www\.linkedin\.com\/sharing\/share-offsite\/\?/, /^https:\/\/www\.reddit\.com\/submit\?/,
  /^https:\/\/wa\.me\/\?/, /^https:\/\/t\.me\/share\/url\?/, /^https:\/\/pinterest\.com\/pin\/create\/button\/\?/,
  /^https:\/\/bsky\.app\/intent\/compose\?/, /^https:\/\/www\.threads\.net\/intent\/post\?/,
  /^https:\/\/news\.ycombinator\.com\/submitlink\?/, /^https:\/\/[^/]+\/share\?text=/,
];

// Records every request of every page, popup and frame (out-of-process iframes included) of CONTEXT, and every
// WebSocket. ALLOWED: the origins anything may talk to (the host page's and Parley's). data:, blob: and about:
// URLs are local. A request elsewhere is a violation, except a share intent opened as the top-level navigation of a
// popup (a page the test did not open itself; see ownPage).
function recorder(context, allowed) {
  const allowedSet = new Set(allowed);
  const own = new WeakSet();
  const all = [];
  const sockets = [];
  const classify = (url, { nav, popup }) => {
    let u;
    try { u = new URL(url); } catch { return 'unparsable URL'; }
    if (['data:', 'blob:', 'about:'].includes(u.protocol)) return null;
    if (u.protocol === 'mailto:' && nav) return null; // the e-mail share: handed to the mail program, no request
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return `scheme ${u.protocol}`;
    const origin = `${u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol}//${u.host}`;
    if (allowedSet.has(origin)) return null;
    if (nav && popup && SHARE_INTENTS.some((re) => re.test(url))) return null;
    return `foreign origin ${origin}`;
  };
  const onRequest = (req) => {
    let frameUrl = '';
    let page = null;
    let mainFrame = false;
    try {
      const f = req.frame();
      frameUrl = f.url();
      page = f.page();
      mainFrame = f === page.mainFrame();
    } catch { /* no frame yet: the first navigation of a new window; or a worker */ }
    const nav = req.isNavigationRequest();
    // A popup: a window the test did not open. Its first navigation may come before Playwright knows its frame.
    const popup = nav && (page ? !own.has(page) && mainFrame : req.resourceType() === 'document');
    const entry = { url: req.url(), method: req.method(), type: req.resourceType(), frameUrl, nav, popup, t: Date.now() };
    entry.violation = classify(entry.url, entry);
    all.push(entry);
  };
  context.on('request', onRequest);
  const watchPage = (p) => p.on('websocket', (ws) => {
    const entry = { url: ws.url(), method: 'WEBSOCKET', type: 'websocket', frameUrl: '', nav: false, popup: false, t: Date.now() };
    entry.violation = classify(entry.url, entry);
    sockets.push(entry);
    all.push(entry);
  });
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  const rec = {
    all,
    // Marks PAGE as opened by the test (its navigations are never "popups").
    ownPage(p) { own.add(p); },
    mark: () => all.length,
    since: (mark) => all.slice(mark),
    violations: (mark = 0) => all.slice(mark).filter((e) => e.violation),
    // Requests since MARK whose URL matches RE (a RegExp or a predicate on the entry).
    matching(re, mark = 0) {
      return all.slice(mark).filter((e) => (typeof re === 'function' ? re(e) : re.test(e.url)));
    },
    report: (list) => list.map((e) => `${e.method} ${e.url} (${e.type}${e.nav ? ', navigation' : ''} from ${e.frameUrl || '?'}): ${e.violation || 'ok'}`).join('\n'),
  };
  return rec;
}

// Relative luminance (WCAG) of a CSS rgb()/rgba() colour string; NaN when unparsable.
function luminance(css) {
  const m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/.exec(String(css));
  if (!m) return NaN;
  const lin = (c) => { const v = Number(c) / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(m[1]) + 0.7152 * lin(m[2]) + 0.0722 * lin(m[3]);
}

module.exports = { CHROMIUM, BASE_ARGS, LOOPBACK_ONLY, SHARE_INTENTS, launch, recorder, luminance };
