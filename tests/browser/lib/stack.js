// The servers behind a browser test: a real redis-server, the SMTP sink (tests/mail/sink.js) and the real parleyd
// (tests/api/lib/harness.js), on free loopback ports, plus the static "host page" server on ANOTHER port
// (tests/browser/lib/hostpage.js) that plays the customer's site embedding Parley.
//
// parleyd's sites all list the host page's origins, so its CORS checks, Origin checks and the thread's
// frame-ancestors accept the host page:
//   blog    moderation none   (most tests)
//   modall  moderation all    (the pending flow)
//   minfive min_shares 5      (counts below the site's minimum are hidden)
//   demo    origins = parleyd's own (the /demo page embeds from the server that serves it), moderation none
// Comments anti-spam is relaxed (no form-age floor, no interval); accounts use cheap argon2 and no registration or
// auth limits (every client is 127.0.0.1).
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../../api/lib/harness');
const { FAST_ARGON2 } = require('../../api/lib/accounts');
const { RELAXED } = require('../../api/lib/comments');
const sinkLib = require('../../mail/sink');
const { startHost } = require('./hostpage');

// SINK: options for the SMTP sink (e.g. { reject: { 'dead@example.test': 550 } } to make mails to it fail for good).
async function startStack({ sites: extraSites = [], comments = {}, accounts = {}, limits = {}, sink: sinkOpts = {} } = {}) {
  const host = await startHost();
  const parleyPort = await h.freePort();
  const parleyOrigins = [`http://127.0.0.1:${parleyPort}`, `http://localhost:${parleyPort}`];
  const sites = [
    { id: 'blog', origins: host.origins, moderation: 'none', min_shares: 0 },
    { id: 'modall', origins: host.origins, moderation: 'all', min_shares: 0 },
    { id: 'minfive', origins: host.origins, moderation: 'none', min_shares: 5 },
    { id: 'demo', origins: parleyOrigins, moderation: 'none' },
    ...extraSites.map((s) => ({ origins: host.origins, ...s })),
  ];
  const redis = await h.startRedis();
  const sinkDir = h.tmpdir('sink');
  const sink = await sinkLib.start({ ...sinkOpts, dir: sinkDir });
  let acc = 'accounts:\n';
  for (const [k, v] of Object.entries({ register_per_hour: 0, ...FAST_ARGON2, ...accounts })) acc += `  ${k}: ${v}\n`;
  let parley;
  try {
    parley = await h.startParley({
      port: parleyPort,
      redisUrl: redis.url,
      sites,
      comments: { ...RELAXED, ...comments },
      limits: { auth: [100000, 60], ...limits },
      extra: `smtp:\n  url: "smtp://127.0.0.1:${sink.port}"\n  from: "Parley <parley@example.com>"\n${acc}`,
    });
  } catch (e) {
    await redis.stop();
    await sink.close();
    await host.close();
    throw e;
  }
  const stack = {
    redis, sink, sinkDir, parley, host,
    origin: parley.base, // http://127.0.0.1:<parleyPort>, also public_url
    mails() {
      return fs.readdirSync(sinkDir).filter((f) => f.endsWith('.json')).sort()
        .map((f) => JSON.parse(fs.readFileSync(path.join(sinkDir, f), 'utf8')));
    },
    async stop() {
      await host.close();
      await parley.stop();
      await redis.stop();
      await sink.close();
      assert.deepEqual(h.sanitizerReport(parley.log()), [], 'no sanitizer report in the parleyd log');
    },
  };
  return stack;
}

module.exports = { startStack };
