// The share bar and listing counts on a host page of another site: buttons for the chosen networks, a click counts
// once per visitor and day and opens the network's intent, copy and Mastodon, the site's minimum, and the listing
// page's counts in one request.
'use strict';
const { setupFile } = require('./lib/env');

const env = setupFile({ file: 'shares' });
require('./lib/flows/shares')(env);
env.finalChecks();
