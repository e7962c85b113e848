// A stricter browser: third-party cookies blocked AND storage partitioning off, so the thread iframe's localStorage
// throws SecurityError (what Chromium does with Playwright's default switches; older Chrome and some privacy
// settings behave alike). The thread must still work within the page: it loads, takes comments, lets their author
// edit and delete them, and logs in and out, keeping its state in memory.
'use strict';
const assert = require('node:assert/strict');
const { setupFile } = require('./lib/env');
const { thirdPartyProbe } = require('./lib/probe');

const env = setupFile({ file: 'nostorage', thirdPartyCookies: 'block', storagePartitioning: false });
const prefix = '[third-party storage denied] ';

env.test('the browser denies the third-party frame its storage here', async () => {
  const r = await thirdPartyProbe(env);
  assert.deepEqual({ cookie: r.cookie, storage: r.storage }, { cookie: false, storage: 'denied' }, JSON.stringify(r));
});

require('./lib/flows/comments')(env, { prefix, pick: (n) => /^post a comment|^edit and delete|^vote/.test(n) });
require('./lib/flows/shares')(env, { prefix, pick: (n) => /^a share click counts/.test(n) });
require('./lib/flows/accounts')(env, { prefix, pick: (n) => /^register/.test(n), storage: false });
env.finalChecks();
