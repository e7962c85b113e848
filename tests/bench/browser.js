// Browser benchmark (not a test): a host page on its own origin embeds Parley (share bar + thread of a 50-comment
// article) and Debian's Chromium loads it ROUNDS times, each in a fresh profile (nothing cached). Reports, median
// over the rounds:
//   - time from embed.js's request start (host page's resource timing) to the first comment painted in the
//     iframe (a MutationObserver installed in every frame before any script runs, then the next animation frame);
//   - bytes transferred from Parley (encoded bodies plus headers, as Chromium received them) for share bar + thread;
// and each asset's size as served (gzip as h2o sends it) and at gzip -9.
//   node tests/bench/browser.js PARLEY_BASE SITE ARTICLE_URL HOST_PORT [ROUNDS=5]
// HOST_PORT must be one of SITE's origins (http://127.0.0.1:HOST_PORT), as on a real site.
'use strict';
const http = require('node:http');
const zlib = require('node:zlib');
const { launch } = require('../browser/lib/browser');

const [base, site, articleUrl, hostPort, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg || 5);
const hostOrigin = `http://127.0.0.1:${hostPort}`;

const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench article</title>
<link rel="canonical" href="${articleUrl}"></head><body><main><h1>Bench article</h1><p>Text.</p>
<div data-parley-shares></div><div data-parley-thread></div></main>
<script src="${base}/embed.js" data-site="${site}" async></script></body></html>`;

// Runs in every frame before its scripts: remembers when the first comment element was painted.
function firstCommentProbe() {
  const seen = () => document.querySelector('li[id^="comment-"]');
  const mark = () => requestAnimationFrame(() => { window.__parleyFirstComment = performance.timeOrigin + performance.now(); });
  const start = () => {
    if (seen()) { mark(); return; }
    const mo = new MutationObserver(() => { if (seen()) { mo.disconnect(); mark(); } });
    mo.observe(document.documentElement, { childList: true, subtree: true });
  };
  if (document.documentElement) start(); else document.addEventListener('readystatechange', start, { once: true });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

async function oneRound() {
  const b = await launch();
  try {
    await b.context.addInitScript(firstCommentProbe);
    const p = b.context.pages()[0] || (await b.context.newPage());
    const requests = [];
    p.on('requestfinished', (req) => requests.push(req));
    await p.goto(`${hostOrigin}/`);
    const frame = await (async () => {
      for (let i = 0; i < 200; i++) {
        const f = p.frames().find((x) => x.url().startsWith(`${base}/embed/thread`));
        if (f) return f;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no thread iframe');
    })();
    await frame.waitForFunction(() => window.__parleyFirstComment !== undefined, null, { timeout: 15000 });
    const painted = await frame.evaluate(() => window.__parleyFirstComment);
    const start = await p.evaluate(() => {
      const e = performance.getEntriesByType('resource').find((x) => x.name.endsWith('/embed.js'));
      return e ? performance.timeOrigin + e.startTime : NaN;
    });
    // Where the time goes: each step's end, in ms after embed.js's request started.
    const host = await p.evaluate(() => {
      const e = performance.getEntriesByType('resource').find((x) => x.name.endsWith('/embed.js'));
      return e ? performance.timeOrigin + e.responseEnd : NaN;
    });
    const inner = await frame.evaluate(() => {
      const o = performance.timeOrigin;
      const n = performance.getEntriesByType('navigation')[0];
      const res = performance.getEntriesByType('resource');
      const end = (re) => { const e = res.find((x) => re.test(x.name)); return e ? o + e.responseEnd : NaN; };
      return { frameStart: o, html: o + n.responseEnd, js: end(/\/assets\/thread\.[^/]*js$/), css: end(/\/assets\/thread\.[^/]*css$/),
        api: end(/\/api\/v1\/comments\?/), interactive: o + n.domInteractive };
    });
    const steps = { 'embed.js': host, 'iframe created': inner.frameStart, 'thread HTML': inner.html, 'thread.css': inner.css,
      'thread.js': inner.js, 'iframe DOM interactive': inner.interactive, 'first page (API)': inner.api, painted };
    const timeline = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, Number.isFinite(v) ? v - start : NaN]));
    await p.waitForLoadState('networkidle');
    let bytes = 0;
    const parts = [];
    for (const req of requests) {
      if (!req.url().startsWith(base)) continue;
      const s = await req.sizes();
      const n = s.responseBodySize + s.responseHeadersSize;
      bytes += n;
      parts.push(`${new URL(req.url()).pathname} ${n}`);
    }
    return { ms: painted - start, bytes, parts, timeline };
  } finally {
    await b.close();
  }
}

async function main() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  await new Promise((r) => server.listen(Number(hostPort), '127.0.0.1', r));
  try {
    await oneRound(); // warm up parleyd's page cache and the OS, not the browser (each round has a fresh profile)
    const results = [];
    for (let i = 0; i < rounds; i++) results.push(await oneRound());
    const ms = median(results.map((r) => r.ms));
    const bytes = median(results.map((r) => r.bytes));
    console.log(`| embed.js start -> first comment painted (50-comment thread, cold profile, median of ${rounds}) | ${ms.toFixed(0)} ms | target <= 300 ms |`);
    console.log(`| bytes from Parley for share bar + thread (median) | ${(bytes / 1024).toFixed(1)} KB | target <= 40 KB |`);
    console.log('');
    console.log(`requests to Parley in the last round: ${results[results.length - 1].parts.join(', ')}`);
    console.log('');
    console.log('| step (median, ms after embed.js request start) | ms |');
    console.log('|---|---|');
    for (const k of Object.keys(results[0].timeline)) {
      const v = median(results.map((r) => r.timeline[k]).filter(Number.isFinite));
      console.log(`| ${k} | ${Number.isFinite(v) ? v.toFixed(0) : '(none)'} |`);
    }
    // Each asset: as served (h2o's gzip, as the browser got it) and at gzip -9.
    const assets = [['/embed.js', '/embed.js']];
    const thread = await (await fetch(`${base}/embed/thread?site=${encodeURIComponent(site)}&url=${encodeURIComponent(articleUrl)}`)).text();
    for (const m of thread.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) assets.push([m[1], m[1]]);
    assets.push(['/embed/thread (HTML)', `/embed/thread?site=${encodeURIComponent(site)}&url=${encodeURIComponent(articleUrl)}`]);
    console.log('');
    console.log('| asset | bytes | served gzip | gzip -9 |');
    console.log('|---|---|---|---|');
    for (const [name, path] of assets) {
      const raw = Buffer.from(await (await fetch(`${base}${path}`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
      const gz = await new Promise((resolve) => {
        http.get(`${base}${path}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          let n = 0;
          res.on('data', (c) => { n += c.length; });
          res.on('end', () => resolve(res.headers['content-encoding'] === 'gzip' ? n : `${n} (not gzipped)`));
        });
      });
      console.log(`| ${name} | ${raw.length} | ${gz} | ${zlib.gzipSync(raw, { level: 9 }).length} |`);
    }
  } finally {
    server.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
