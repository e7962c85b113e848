// Test harness for the API tests: starts a real redis-server and the real parleyd (the binary named by $PARLEYD)
// on free loopback ports in a temp directory, and gives small HTTP/1.1, h2c and TLS h2 clients.
// Every process started here is stopped by its PID in stop(); nothing else is touched.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
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

function tmpdir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `parley-${tag}-`));
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

// Builds a YAML config. `extra` is appended verbatim (top-level keys), `limits` overrides limit classes.
function configYaml({ port, tlsPort, redisUrl, dataDir, sites, limits, timeoutMs = 500, threads = 2, extra = '' }) {
  const cert = tlsPort ? devCert() : null;
  const siteList = sites || [{ id: 'blog', origins: ['https://blog.example', 'http://127.0.0.1:9'] }];
  let y = 'listen:\n';
  y += `  - host: 127.0.0.1\n    port: ${port}\n`;
  if (tlsPort) y += `  - host: 127.0.0.1\n    port: ${tlsPort}\n    tls:\n      cert: ${cert.cert}\n      key: ${cert.key}\n`;
  y += `threads: ${threads}\npublic_url: http://127.0.0.1:${port}\ndata_dir: ${dataDir}\naccess_log: ""\nlog_level: warn\n`;
  y += `redis:\n  url: "${redisUrl}"\n  prefix: "t:"\n  timeout_ms: ${timeoutMs}\n`;
  y += 'sites:\n';
  for (const s of siteList) {
    y += `  - id: ${s.id}\n    origins:\n`;
    for (const o of s.origins) y += `      - "${o}"\n`;
  }
  const lim = { read: [100000, 60], write: [100000, 60], share: [100000, 60], ...(limits || {}) };
  y += 'limits:\n';
  for (const [k, [n, w]] of Object.entries(lim)) y += `  ${k}:\n    requests: ${n}\n    window_s: ${w}\n`;
  return y + extra;
}

async function startParley(opts = {}) {
  const dir = tmpdir('parleyd');
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : null;
  const conf = path.join(dir, 'parley.yaml');
  fs.writeFileSync(conf, configYaml({ port, tlsPort, dataDir: path.join(dir, 'data'), ...opts }));
  const log = fs.openSync(path.join(dir, 'parleyd.log'), 'a');
  const proc = spawn(PARLEYD, ['-c', conf], { stdio: ['ignore', log, log], env: { ...process.env, ...(opts.env || {}) } });
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
function h1(p, method, pathname, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    const h = { 'user-agent': 'Mozilla/5.0 (parley-test)', ...headers };
    if (data !== null && h['content-type'] === undefined) h['content-type'] = 'application/json';
    if (data !== null) h['content-length'] = Buffer.byteLength(data);
    const req = http.request({ host: '127.0.0.1', port: p.port, method, path: pathname, headers: h, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(wrap(res.statusCode, res.headers, Buffer.concat(chunks), 'http/1.1')));
    });
    req.on('error', reject);
    if (data !== null) req.write(data);
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
        if (data !== null && h['content-type'] === undefined) h['content-type'] = 'application/json';
        const req = client.request(h, { endStream: data === null });
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

module.exports = { freePort, tmpdir, startRedis, startParley, configYaml, h1, h2, h2session, sleep, redisRaw, PARLEYD };
