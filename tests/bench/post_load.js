// HTTP/2 (h2c) load generator for POSTs whose body must differ per request (comments: identical bodies are refused
// as duplicates, so h2load's fixed -d body cannot drive them). Keeps SESSIONS x STREAMS requests in flight.
//   node post_load.js BASE PATH TEMPLATE_JSON TOTAL [SESSIONS=8] [STREAMS=32]
// SIGTERM stops it early and prints the same line for what was done so far (a background flood).
// TEMPLATE_JSON is a JSON object whose string values may contain {n}, replaced by the request number.
// Prints one line: "rps=… p50_ms=… p99_ms=… codes={...}".
'use strict';
const http2 = require('node:http2');

const [base, path, template, totalArg, sessionsArg, streamsArg] = process.argv.slice(2);
const total = Number(totalArg);
const sessions = Number(sessionsArg || 8);
const streams = Number(streamsArg || 32);
const tpl = JSON.stringify(JSON.parse(template));
let next = 0;
let done = 0;
const lat = [];
const codes = {};
const t0 = process.hrtime.bigint();

function fire(client) {
  if (next >= total) return;
  const n = next++;
  const body = tpl.replaceAll('{n}', String(n));
  const start = process.hrtime.bigint();
  const req = client.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json',
    'user-agent': 'Mozilla/5.0 (bench)' });
  req.on('response', (h) => { codes[h[':status']] = (codes[h[':status']] || 0) + 1; });
  req.on('data', () => {});
  req.on('end', () => {
    lat.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (++done === total) finish();
    else fire(client);
  });
  req.on('error', () => { codes.error = (codes.error || 0) + 1; if (++done === total) finish(); else fire(client); });
  req.end(body);
}

const clients = [];
function finish() {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(2) : 'n/a');
  console.log(`rps=${(done / secs).toFixed(0)} p50_ms=${pct(0.5)} p99_ms=${pct(0.99)} done=${done} codes=${JSON.stringify(codes)}`);
  for (const c of clients) c.close();
}
process.on('SIGTERM', () => { finish(); process.exit(0); });

for (let s = 0; s < sessions; s++) {
  const c = http2.connect(base, { peerMaxConcurrentStreams: streams });
  c.on('error', () => {});
  clients.push(c);
  c.on('connect', () => { for (let i = 0; i < streams; i++) fire(c); });
}
