// Accounts inside the thread iframe, end to end through the real SMTP sink: register → verification mail → the
// /account/verify page → log in from the iframe's dialog → comment as the user (verified) → log out; and lost
// password → reset mail → /account/reset → the new password works, the old one and the old session do not.
'use strict';
const { setupFile } = require('./lib/env');

const env = setupFile({ file: 'accounts' });
require('./lib/flows/accounts')(env);
env.finalChecks();
