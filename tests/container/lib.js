// Helpers for the container tests: a YAML reader (Debian's python3-yaml, since the npm test tools have no YAML
// parser), compose-style ${VAR} interpolation, and a podman runner that applies this machine's workarounds
// (/work/shared/notes/test-tools-facts.md §6): runc instead of crun, explicit ulimits, the host network only.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SOURCE_DIR = process.env.PARLEY_SOURCE_DIR || path.resolve(__dirname, '../..');

// The YAML file at FILE as a JS value (YAML 1.1 as PyYAML's safe_load reads it; no custom tags).
function loadYaml(file) {
  const r = spawnSync('/usr/bin/python3', ['-c',
    'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1], encoding="utf-8")), sys.stdout)', file],
  { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot read ${file} as YAML: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Compose's variable interpolation for the forms compose.yaml uses: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$.
function interpolate(s, env) {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}/g, (m, name, op, arg) => {
    if (m === '$$') return '$';
    const v = env[name];
    if (op === ':-') return v ? v : arg;
    if (op === ':?' && !v) throw new Error(`compose would stop: ${name}: ${arg}`);
    return v === undefined ? '' : v;
  });
}

// A containers.conf in DIR that every podman call of this process uses (through CONTAINERS_CONF).
function podmanEnv(dir) {
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]\n' +
    '[engine]\nruntime = "runc"\n');
  return { ...process.env, CONTAINERS_CONF: conf };
}

// Runs podman ARGS to completion; resolves { code, out, err, ms }. opts.log: a file that gets the output instead
// of memory (builds print a lot); opts.timeoutMs kills it (by its PID) when over.
function podman(env, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const logFd = opts.log ? fs.openSync(opts.log, 'a') : null;
    const proc = spawn('podman', args, { env, stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'] });
    let out = '';
    let err = '';
    if (!logFd) {
      proc.stdout.on('data', (d) => { out += d; });
      proc.stderr.on('data', (d) => { err += d; });
    }
    const timer = opts.timeoutMs ? setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs) : null;
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (logFd !== null) fs.closeSync(logFd);
      resolve({ code: code ?? 128, signal, out: out.trim(), err: err.trim(), ms: Date.now() - t0 });
    });
  });
}

// Like podman(), but rejects unless the exit code is 0; resolves with stdout.
async function podmanOk(env, args, opts = {}) {
  const r = await podman(env, args, opts);
  if (r.code !== 0) {
    const tail = opts.log ? fs.readFileSync(opts.log, 'utf8').split('\n').slice(-40).join('\n') : r.err;
    throw new Error(`podman ${args.join(' ')} exited ${r.code}:\n${tail}`);
  }
  return r.out;
}

module.exports = { SOURCE_DIR, loadYaml, interpolate, podmanEnv, podman, podmanOk };
