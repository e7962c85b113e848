// A Redis, an in-process SMTP sink (tests/mail/sink.js) and a parleyd that mails through it (smtp.url, with
// accounts.admin_emails), for the tests of mails Parley sends. Everything started here is stopped by stop().
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('./harness');
const sinkLib = require('../../mail/sink');

// A YAML value for the accounts: section: arrays as flow sequences of quoted strings, scalars as they are.
const yamlValue = (v) => (Array.isArray(v) ? `[${v.map((x) => JSON.stringify(String(x))).join(', ')}]`
  : (typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(String(v))));

// ADMINS becomes accounts.admin_emails; ACCOUNTS (optional, an object of scalars and string arrays) adds or overrides
// keys of that same accounts: section (argon2_memory_kib, free_failures, reserved_names ...). LIMITS (optional,
// { class: [requests, window_s] }) and THREADS (optional) go to the harness's startParley as they are; EXTRA
// (optional YAML text of other top-level sections, e.g. privacy:) is appended to the config.
async function startMailStack({ sites, admins = [], comments, env = {}, accounts = {}, limits, threads, extra = '' }) {
  const redis = await h.startRedis();
  const sinkDir = h.tmpdir('sink');
  const sink = await sinkLib.start({ dir: sinkDir });
  let acc = 'accounts:\n';
  for (const [k, v] of Object.entries({ admin_emails: admins, ...accounts })) {
    if (v !== undefined && v !== null) acc += `  ${k}: ${yamlValue(v)}\n`;
  }
  let parley;
  try {
    parley = await h.startParley({
      redisUrl: redis.url, comments, env, sites, limits, ...(threads !== undefined ? { threads } : {}),
      extra: `smtp:\n  url: "smtp://127.0.0.1:${sink.port}"\n  from: "Parley <parley@example.com>"\n${acc}${extra}`,
    });
  } catch (e) {
    // parleyd did not come up (e.g. a config key it refuses): stop what was started, so nothing keeps the run alive.
    await redis.stop();
    await sink.close();
    throw e;
  }
  const stack = {
    redis, sink, sinkDir, parley,
    // Every mail the sink accepted so far, oldest first (the sink's JSON records).
    mails() {
      return fs.readdirSync(sinkDir).filter((f) => f.endsWith('.json')).sort()
        .map((f) => JSON.parse(fs.readFileSync(path.join(sinkDir, f), 'utf8')));
    },
    // The first mail matching PRED, polling up to MS; undefined if none came.
    async waitMail(pred, ms = 10000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const m = stack.mails().find(pred);
        if (m) return m;
        await h.sleep(50);
      }
      return undefined;
    },
    async stop() {
      await parley.stop();
      await redis.stop();
      await sink.close();
      assert.deepEqual(h.sanitizerReport(parley.log()), [], 'no sanitizer report in the parleyd log');
    },
  };
  return stack;
}

module.exports = { startMailStack };
