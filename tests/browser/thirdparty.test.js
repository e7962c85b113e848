// Everything again with third-party cookies blocked (Chrome's "Block third-party cookies": the profile preference
// cookie_controls_mode = 1; storage partitioning on, as in Chrome): the probe proves the blocking is in force, then
// the share bar, listing counts, the comment flows and the account flows run unchanged. The thread keeps its token
// in its own (partitioned) localStorage and sends it as a bearer header, so no cookie is ever needed.
'use strict';
const assert = require('node:assert/strict');
const { setupFile } = require('./lib/env');
const { thirdPartyProbe } = require('./lib/probe');

const env = setupFile({ file: 'thirdparty', thirdPartyCookies: 'block' });
const prefix = '[third-party cookies blocked] ';

env.test('the browser blocks third-party cookies here, and partitions third-party storage', async () => {
  const r = await thirdPartyProbe(env);
  assert.deepEqual({ cookie: r.cookie, storage: r.storage, storagePartitioned: r.storagePartitioned },
    { cookie: false, storage: 'ok', storagePartitioned: true }, JSON.stringify(r));
});

const not = (...res) => (name) => !res.some((re) => re.test(name));
// Flows that do not depend on cookies or storage (popups, clipboard, sizing, deep links, themes, languages, XSS) run once, in
// the other files.
require('./lib/flows/shares')(env, { prefix, pick: not(/real popup/, /^copy/, /Mastodon/, /data-networks/) });
require('./lib/flows/comments')(env, { prefix, pick: not(/sizes itself/, /deep link/, /dark theme/, /^languages/, /XSS/) });
require('./lib/flows/accounts')(env, { prefix });
env.finalChecks();
