// The thread iframe on a host page of another site: posting, the pending flow, replies, edit and delete within the
// window, votes, sizing, deep links, the dark theme, and a comment corpus of XSS vectors that must render inert.
'use strict';
const { setupFile } = require('./lib/env');

const env = setupFile({ file: 'comments' });
require('./lib/flows/comments')(env);
env.finalChecks();
