// The "customer's site" of the browser tests: a small static node:http server on a free loopback port, serving
// test pages that embed Parley with the one script tag, as on a real site.
//
// Pages are opened as http://localhost:<port>/… while parleyd is http://127.0.0.1:<port>/…: two different SITES
// (not only origins), so the thread iframe is a real third-party frame. With 127.0.0.1 on both sides the iframe
// would be cross-origin but same-site (a site ignores the port), and Chromium would apply neither third-party
// cookie blocking nor storage partitioning to it. parleyd's sites list both spellings of the host origin.
'use strict';
const http = require('node:http');

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

let seq = 0;
// A path no other page of this run uses.
const uniqPath = (tag = 'p') => `/${tag}/${process.pid.toString(36)}-${(++seq).toString(36)}`;

async function startHost() {
  const pages = new Map(); // path -> { html, headers }
  const hits = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    hits.push({ method: req.method, path: u.pathname, headers: req.headers });
    const p = pages.get(u.pathname);
    if (!p || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...p.headers });
    res.end(req.method === 'HEAD' ? undefined : p.html);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const host = {
    port,
    origin: `http://localhost:${port}`, // what tests open: cross-site to parleyd
    origins: [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
    hits,
    // Serves HTML at PATH (headers: extra response headers); returns the page's absolute URL on host.origin.
    add(path, html, headers = {}) {
      pages.set(path, { html, headers });
      return `${host.origin}${path}`;
    },
    // An article page embedding Parley from PARLEY (its origin). Options:
    //   site ('blog'), path (unique), title, heading, shares (true), thread (true), counts ([] of URLs for
    //   data-parley-count spans), countLinks (wrap each count span in a link to its URL), script (extra data-
    //   attributes of the script tag, e.g. { theme: 'dark', networks: 'x,email' }), lang (<html lang>),
    //   canonical (<link rel=canonical>), bodyBefore / bodyAfter (raw HTML), paragraphs (filler count).
    // Returns { url, path }: url is the page's own address (what the embed counts, unless data-url says otherwise).
    article(parley, opts = {}) {
      const path = opts.path || uniqPath('article');
      const attrs = Object.entries({ site: opts.site || 'blog', ...(opts.script || {}) })
        .map(([k, v]) => ` data-${k}="${esc(v)}"`).join('');
      const filler = Array.from({ length: opts.paragraphs ?? 2 },
        (_, i) => `<p>Paragraph ${i + 1} of a test article. Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>`).join('\n');
      const counts = (opts.counts || []).map((u, i) => (opts.countLinks === false
        ? `<li><span data-parley-count="${esc(u)}"></span></li>`
        : `<li><a href="${esc(u)}">Story ${i + 1}</a> · <span data-parley-count="${esc(u)}"></span></li>`)).join('\n');
      const html = `<!doctype html>
<html lang="${esc(opts.lang || 'en')}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(opts.title || 'A test article')}</title>
<link rel="icon" href="data:,">
${opts.canonical ? `<link rel="canonical" href="${esc(opts.canonical)}">` : ''}
${opts.head || ''}
</head>
<body>
<main>
<h1>${esc(opts.heading || opts.title || 'A test article')}</h1>
${opts.bodyBefore || ''}
${filler}
${opts.shares === false ? '' : '<div data-parley-shares></div>'}
${counts ? `<ul class="listing">\n${counts}\n</ul>` : ''}
${opts.thread === false ? '' : '<div data-parley-thread></div>'}
${opts.bodyAfter || ''}
</main>
<script src="${esc(parley)}/embed.js"${attrs} async></script>
</body>
</html>
`;
      return { url: host.add(path, html, opts.headers), path };
    },
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
  return host;
}

module.exports = { startHost, uniqPath, esc };
