// A real SMTP sink for Parley's mail tests (npm smtp-server + mailparser), on 127.0.0.1 only.
//
//   node tests/mail/sink.js --dir OUTDIR [--port N] [--reject RCPT=CODE]... [--auth USER:PASS] [--delay-ms MS]
//
// Prints the port it listens on as one line on stdout once it accepts connections (--port 0 or none picks a
// free one; a fixed --port lets a test take the sink down and bring it back on the same port). Every accepted
// message becomes OUTDIR/<time>-<n>.json, written to a temporary name first and then renamed, so a poller never
// reads half a file:
//   { mail_from, rcpt_to: [..], user, from: [{ name, address }], to: [..], subject, text, html, raw,
//     headers: { lower-case name: [values] } }
// from, to, subject, text and html are mailparser's decoded values; raw is the message exactly as received (after SMTP
// dot-unstuffing); headers keeps each value unfolded but not decoded, so a test can check the wire form.
//
// --reject RCPT=CODE answers RCPT TO:<RCPT> with CODE (e.g. 550 permanent, 451 temporary).
// --auth USER:PASS requires AUTH PLAIN/LOGIN with these credentials (offered without TLS: loopback tests only).
// --delay-ms MS holds every message for MS milliseconds after the final "." before storing it and answering 250: a
// slow relay, so a test can kill the client while it waits. The message is stored after the delay even when the
// client is gone by then (as a relay that committed it before replying would), which is what makes a resend a
// visible duplicate.
// SIGTERM or SIGINT closes the server and exits 0. Can also be used in-process: require('./sink').start(opts).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

function headerMap(headerLines) {
  const out = {};
  for (const { key, line } of headerLines) {
    // Unfolding (RFC 5322 §2.2.3) removes the CRLF before folding white space and keeps the white space.
    const unfolded = line.replace(/\r?\n(?=[ \t])/g, '');
    const value = unfolded.slice(unfolded.indexOf(':') + 1).replace(/^[ \t]+/, '');
    (out[key] ??= []).push(value);
  }
  return out;
}

// mailparser's address object as [{ name, address }] with the display names decoded.
const addresses = (a) => (a ? a.value.map(({ name, address }) => ({ name, address })) : null);

// Starts a sink; resolves to { port, close() } once it listens.
function start({ dir, port = 0, reject = {}, auth = null, delayMs = 0 }) {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = new SMTPServer({
    logger: false,
    banner: 'parley test sink',
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !auth,
    allowInsecureAuth: true,
    onAuth(a, session, cb) {
      if (auth && a.username === auth.user && a.password === auth.pass) return cb(null, { user: a.username });
      const err = new Error('Authentication credentials invalid');
      err.responseCode = 535;
      return cb(err);
    },
    onRcptTo(address, session, cb) {
      const code = reject[address.address];
      if (code) {
        const err = new Error(code >= 500 ? 'No such user here' : 'Try again later');
        err.responseCode = code;
        return cb(err);
      }
      return cb();
    },
    onData(stream, session, cb) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', async () => {
        try {
          const raw = Buffer.concat(chunks);
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
          const m = await simpleParser(raw);
          const rec = {
            mail_from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            rcpt_to: session.envelope.rcptTo.map((r) => r.address),
            user: session.user ?? null,
            from: addresses(m.from),
            to: addresses(m.to),
            subject: m.subject ?? null,
            text: m.text ?? null,
            html: m.html || null,
            raw: raw.toString('utf8'),
            headers: headerMap(m.headerLines),
          };
          const f = path.join(dir, `${Date.now()}-${String(++n).padStart(4, '0')}.json`);
          fs.writeFileSync(`${f}.tmp`, JSON.stringify(rec, null, 1));
          fs.renameSync(`${f}.tmp`, f);
          cb(null, 'Queued');
        } catch (e) {
          cb(e);
        }
      });
    },
  });
  return new Promise((resolve, reject_) => {
    server.once('error', reject_);
    server.listen(port, '127.0.0.1', () => {
      resolve({ port: server.server.address().port, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

function parseArgs(argv) {
  const opts = { dir: null, port: 0, reject: {}, auth: null, delayMs: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--dir') opts.dir = v;
    else if (a === '--port') opts.port = Number(v);
    else if (a === '--reject') {
      const eq = v.lastIndexOf('=');
      opts.reject[v.slice(0, eq)] = Number(v.slice(eq + 1));
    } else if (a === '--delay-ms') {
      opts.delayMs = Number(v);
    } else if (a === '--auth') {
      const c = v.indexOf(':');
      opts.auth = { user: v.slice(0, c), pass: v.slice(c + 1) };
    } else throw new Error(`unknown option ${a}`);
  }
  if (!opts.dir) throw new Error('--dir is required');
  return opts;
}

if (require.main === module) {
  let sink;
  const stop = async () => {
    if (sink) await sink.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  start(parseArgs(process.argv.slice(2))).then(
    (s) => {
      sink = s;
      process.stdout.write(`${s.port}\n`);
    },
    (e) => {
      process.stderr.write(`sink: ${e.message}\n`);
      process.exit(1);
    },
  );
}

module.exports = { start };
