// Test harness for the API tests: starts a real redis-server and the real parleyd (the binary named by $PARLEYD)
// on free loopback ports in a temp directory, and gives small HTTP/1.1, h2c and TLS h2 clients.
// Every process started here is stopped by its PID in stop(); nothing else is touched.
'use strict';
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const http2 = require('node:http2');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const PARLEYD = process.env.PARLEYD || path.resolve(__dirname, '../../../build/asan/src/parleyd');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Temp dirs made by this process are removed when it exits cleanly (code 0); a failed run keeps them (logs,
// configs) for a look, and so does PARLEY_KEEP_TMP=1.
const madeDirs = [];
process.on('exit', (code) => {
  if (code !== 0 || process.env.PARLEY_KEEP_TMP) return;
  for (const d of madeDirs) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

function tmpdir(tag) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `parley-${tag}-`));
  madeDirs.push(d);
  return d;
}

// Headers given as null or undefined are left out (e.g. { 'user-agent': null } sends no User-Agent at all).
function cleanHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

// Parses one RESP2 reply from BUF at OFF; returns { value, off } or null when more bytes are needed.
// Errors become Error objects, nil becomes null, arrays become JS arrays, bulk strings are utf8 strings.
function parseResp(buf, off = 0) {
  const eol = buf.indexOf('\r\n', off, 'latin1');
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, eol);
  const next = eol + 2;
  if (type === '+') return { value: line, off: next };
  if (type === '-') return { value: new Error(line), off: next };
  if (type === ':') return { value: Number(line), off: next };
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return { value: null, off: next };
    if (buf.length < next + n + 2) return null;
    return { value: buf.toString('utf8', next, next + n), off: next + n + 2 };
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return { value: null, off: next };
    const arr = [];
    let o = next;
    for (let i = 0; i < n; i++) {
      const r = parseResp(buf, o);
      if (r === null) return null;
      arr.push(r.value);
      o = r.off;
    }
    return { value: arr, off: o };
  }
  throw new Error(`bad RESP type byte ${JSON.stringify(type)}`);
}

// One Redis command over a fresh connection; resolves with the parsed reply (an error reply rejects).
// Asynchronous, unlike redisCli, so it never blocks the test's event loop (e.g. while Redis is paused).
function redisCmd(port, args, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`redis timeout: ${args[0]}`)); }, timeoutMs);
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const r = parseResp(buf, 0);
      if (r === null) return;
      clearTimeout(t);
      sock.end();
      if (r.value instanceof Error) reject(r.value); else resolve(r.value);
    });
    let cmd = `*${args.length}\r\n`;
    for (const a of args) cmd += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
    sock.write(cmd);
  });
}

// One RESP command over a fresh connection; resolves with the raw reply text.
function redisRaw(port, args, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => { sock.destroy(); reject(new Error('redis timeout')); }, timeoutMs);
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
    sock.on('data', (d) => {
      out += d.toString('latin1');
      if (out.endsWith('\r\n')) { clearTimeout(t); sock.end(); resolve(out); }
    });
    let cmd = `*${args.length}\r\n`;
    for (const a of args) cmd += `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`;
    sock.write(cmd);
  });
}

function redisCli(port, ...args) {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-raw', ...args.map(String)], {
    encoding: 'utf8',
  }).trim();
}

async function startRedis(opts = {}) {
  const dir = opts.dir || tmpdir('redis');
  const port = opts.port || (await freePort());
  const proc = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--logfile',
    path.join(dir, 'redis.log'), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 250; i++) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited ${proc.exitCode}`);
    try { if ((await redisRaw(port, ['PING'], 200)).startsWith('+PONG')) break; } catch { /* not yet */ }
    await sleep(20);
  }
  const r = {
    port, dir, proc,
    url: `redis://127.0.0.1:${port}`,
    cli: (...a) => redisCli(port, ...a),
    cmd: (...a) => redisCmd(port, a),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise((res) => proc.once('exit', res));
        proc.kill('SIGTERM');
        await done;
      }
    },
    async restart() {
      await r.stop();
      const again = await startRedis({ dir, port });
      r.proc = again.proc;
      r.stop = again.stop;
    },
  };
  return r;
}

let certCache;
function devCert() {
  if (certCache) return certCache;
  const dir = tmpdir('cert');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  fs.chmodSync(path.join(dir, 'key.pem'), 0o600);
  certCache = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  return certCache;
}

// A YAML scalar: numbers and booleans as they are, strings double-quoted (JSON strings are valid YAML).
const yamlScalar = (v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(String(v)));

// Builds a YAML config. `extra` is appended verbatim (top-level keys), `limits` overrides limit classes. A site may
// carry more keys than id and origins (moderation, max_depth, edit_window_s, ...): each is written as a scalar
// under the site. `comments` (an object of scalars) becomes the top-level comments: section.
function configYaml({ port, tlsPort, redisUrl, dataDir, sites, limits, timeoutMs = 500, threads = 2, prefix = 't:',
  comments, accessLog = '', staticDir, extra = '' }) {
  const cert = tlsPort ? devCert() : null;
  const siteList = sites || [{ id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'] }];
  let y = 'listen:\n';
  y += `  - host: 127.0.0.1\n    port: ${port}\n`;
  if (tlsPort) y += `  - host: 127.0.0.1\n    port: ${tlsPort}\n    tls:\n      cert: ${cert.cert}\n      key: ${cert.key}\n`;
  y += `threads: ${threads}\npublic_url: http://127.0.0.1:${port}\ndata_dir: ${dataDir}\naccess_log: "${accessLog}"\nlog_level: warn\n`;
  if (staticDir) y += `static_dir: "${staticDir}"\n`;
  y += `redis:\n  url: "${redisUrl}"\n  prefix: "${prefix}"\n  timeout_ms: ${timeoutMs}\n`;
  y += 'sites:\n';
  for (const s of siteList) {
    y += `  - id: ${s.id}\n    origins:\n`;
    for (const o of s.origins) y += `      - "${o}"\n`;
    for (const [k, v] of Object.entries(s)) {
      if (k !== 'id' && k !== 'origins' && v !== undefined) y += `    ${k}: ${yamlScalar(v)}\n`;
    }
  }
  const lim = { read: [100000, 60], write: [100000, 60], share: [100000, 60], ...(limits || {}) };
  y += 'limits:\n';
  for (const [k, [n, w]] of Object.entries(lim)) y += `  ${k}:\n    requests: ${n}\n    window_s: ${w}\n`;
  if (comments) {
    y += 'comments:\n';
    for (const [k, v] of Object.entries(comments)) y += `  ${k}: ${yamlScalar(v)}\n`;
  }
  return y + extra;
}

// Sanitizer settings for an Asan parleyd (harmless for other builds): leaks are checked at exit, and the only
// suppressions are libh2o 2.2.5's own per-thread caches (see lsan.supp). Set ASAN_OPTIONS / LSAN_OPTIONS in the
// environment to override.
const LSAN_SUPP = path.join(__dirname, 'lsan.supp');
function sanitizerEnv() {
  return {
    ASAN_OPTIONS: 'detect_leaks=1',
    LSAN_OPTIONS: `suppressions=${LSAN_SUPP}:print_suppressions=0`,
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    ...process.env,
  };
}

// Lines of a sanitizer report in a parleyd log (empty when clean).
function sanitizerReport(log) {
  return log.split('\n').filter((l) => /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Undefined|Leak)/.test(l));
}

// opts.dir and opts.port reuse a previous instance's directory and port (a restart on the same data).
// Sends SIGTERM to a parleyd and asserts a clean stop: exit code 0, within WITHIN_MS, no sanitizer report.
async function stopClean(p, withinMs = 5000) {
  const t0 = Date.now();
  const { code, signal } = await p.stop('SIGTERM');
  const took = Date.now() - t0;
  const log = p.log();
  assert.deepEqual(sanitizerReport(log), [], log);
  assert.equal(signal, null, log);
  assert.equal(code, 0, log);
  assert.ok(took <= withinMs, `exited ${took} ms after SIGTERM`);
}

async function startParley(opts = {}) {
  const dir = opts.dir || tmpdir('parleyd');
  const port = opts.port || (await freePort());
  const tlsPort = opts.tls ? await freePort() : null;
  const conf = path.join(dir, 'parley.yaml');
  // opts.configText: a complete config to use as it is (e.g. another parleyd's, changed), instead of one built here.
  fs.writeFileSync(conf, opts.configText || configYaml({ port, tlsPort, dataDir: path.join(dir, 'data'), ...opts }));
  const log = fs.openSync(path.join(dir, 'parleyd.log'), 'a');
  const proc = spawn(PARLEYD, ['-c', conf], { stdio: ['ignore', log, log], env: { ...sanitizerEnv(), ...(opts.env || {}) } });
  const p = {
    port, tlsPort, dir, proc, conf,
    base: `http://127.0.0.1:${port}`,
    tlsBase: tlsPort ? `https://127.0.0.1:${tlsPort}` : null,
    log: () => fs.readFileSync(path.join(dir, 'parleyd.log'), 'utf8'),
    exited: new Promise((res) => proc.once('exit', (code, signal) => res({ code, signal }))),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return p.exited;
    },
  };
  for (let i = 0; i < 500; i++) {
    if (proc.exitCode !== null) throw new Error(`parleyd exited ${proc.exitCode}:\n${p.log()}`);
    try {
      const r = await h1(p, 'GET', '/healthz');
      if (r.status === 200) return p;
    } catch { /* not up yet */ }
    await sleep(20);
  }
  await p.stop('SIGKILL');
  throw new Error(`parleyd did not come up:\n${p.log()}`);
}

// HTTP/1.1 request. body: object (sent as JSON) or string/Buffer (sent as is).
function h1(p, method, pathname, { body, headers = {}, tls = false } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    const h = { 'user-agent': 'Mozilla/5.0 (parley-test)', ...headers };
    if (data !== null && !('content-type' in h)) h['content-type'] = 'application/json';
    if (data !== null) h['content-length'] = Buffer.byteLength(data);
    const mod = tls ? https : http;
    const o = { host: '127.0.0.1', port: tls ? p.tlsPort : p.port, method, path: pathname, headers: cleanHeaders(h), agent: false };
    if (tls) { o.rejectUnauthorized = false; o.ALPNProtocols = ['http/1.1']; }
    const req = mod.request(o, (res) => {
      const chunks = [];
      const proto = tls ? res.socket.alpnProtocol : 'http/1.1';
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(wrap(res.statusCode, res.headers, Buffer.concat(chunks), proto)));
    });
    req.on('error', reject);
    if (data !== null) req.write(data);
    req.end();
  });
}

// HTTP/1.1 to P with the raw body bytes (h1 decodes as text) and the path sent exactly as given (no normalising).
function h1raw(p, method, pathname, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p.port, method, path: pathname, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wrap(status, headers, buf, proto) {
  const text = buf.toString('utf8');
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: Number(status), headers, text, json, proto };
}

// HTTP/2 session (h2c with prior knowledge, or TLS h2 when tls is true). Reuse with session.request().
function h2session(p, { tls = false } = {}) {
  const authority = tls ? p.tlsBase : p.base;
  const client = http2.connect(authority, tls ? { rejectUnauthorized: false } : {});
  client.on('error', () => {});
  const session = {
    client,
    request(method, pathname, { body, headers = {} } = {}) {
      return new Promise((resolve, reject) => {
        const data = body === undefined ? null : (typeof body === 'string' ? body : JSON.stringify(body));
        const h = { ':method': method, ':path': pathname, 'user-agent': 'Mozilla/5.0 (parley-test)', ...headers };
        if (data !== null && !('content-type' in h)) h['content-type'] = 'application/json';
        const req = client.request(cleanHeaders(h), { endStream: data === null });
        const chunks = [];
        let resHeaders;
        req.on('response', (x) => { resHeaders = x; });
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => resolve(wrap(resHeaders[':status'], resHeaders, Buffer.concat(chunks), client.alpnProtocol)));
        req.on('error', reject);
        if (data !== null) req.end(data);
      });
    },
    close() { client.close(); },
  };
  return session;
}

async function h2(p, method, pathname, opts = {}) {
  const s = h2session(p, opts);
  try { return await s.request(method, pathname, opts); } finally { s.close(); }
}

// Prometheus text -> [{ name, labels, value }]. Throws on a line that is not a sample, comment or blank.
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample: ${line}`);
    const labels = {};
    if (m[2]) for (const kv of m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[kv[1]] = kv[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// GET /metrics over HTTP/1.1, parsed.
async function metrics(p) {
  const r = await h1(p, 'GET', '/metrics');
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}`);
  return parseMetrics(r.text);
}

// The value of the first sample NAME whose labels include LABELS; undefined if none.
function metricValue(samples, name, labels = {}) {
  const hit = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit ? hit.value : undefined;
}

module.exports = {
  freePort, tmpdir, startRedis, startParley, configYaml, h1, h1raw, h2, h2session, sleep, redisRaw, PARLEYD,
  redisCmd, parseResp, sanitizerEnv, sanitizerReport, stopClean, parseMetrics, metrics, metricValue,
};
