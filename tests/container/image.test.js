// The container image end to end, with podman (no Docker engine here): builds docker/Dockerfile (whose build stage
// compiles parleyd and runs the unit tests) on a local debian:bookworm-slim made by base-image.sh, then
//  1. one container with the embedded Redis: ready, a comment posted, approved, still there after `podman stop` +
//     `start` and after `rm` + `run` on the same named volume; parleyd is PID 1 and not root; the image's
//     HEALTHCHECK passes (and fails when pointed at a closed port); `podman stop` ends it with exit code 0 within
//     5 s and the embedded redis-server shuts down cleanly;
//  2. the compose topology without compose: docker/redis.Dockerfile run with compose.yaml's own command line and
//     health check, and the Parley image with compose.yaml's environment (PARLEY_REDIS_URL, the password) in the
//     same network namespace, where `redis` resolves to it as on compose's network.
// Containers use the host network (parleyd on a free loopback port) or none (case 2: its own loopback only).
// Everything this file creates has a unique name and is removed at the end, except the builds' dependency layers
// (the apt-get installs), tagged localhost/parley-test-cache:{build,runtime,redis}-deps: a rerun recompiles Parley
// but downloads nothing (`podman rmi` those tags to drop the cache; base-image.sh's debian:bookworm-slim stays too).
'use strict';
const { test, before, after } = require('node:test');
const { spawnSync } = require('node:child_process');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../api/lib/harness');
const { SOURCE_DIR, loadYaml, interpolate, podmanEnv, podman, podmanOk } = require('./lib');

const RUN = `parley-ctest-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
const IMAGE = `localhost/${RUN}:app`;
const REDIS_IMAGE = `localhost/${RUN}:redis`;
const UA = 'Mozilla/5.0 (X11; Linux x86_64) parley-container-test';
const ADMIN_TOKEN = `container-admin-token-${crypto.randomBytes(12).toString('hex')}`;
const LIMITS = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=4096:4096'];

const tmp = h.tmpdir('container');
const env = podmanEnv(tmp);
const made = { containers: [], volumes: [] };
let imagesBefore = new Set();
const timings = {};
const cache = new Map(); // cache tag name -> layer id (see keepDependencyLayers)

function note(what, ms) {
  timings[what] = ms;
  process.stdout.write(`# ${what}: ${(ms / 1000).toFixed(1)} s\n`);
}

async function allImages() {
  const out = await podmanOk(env, ['images', '--all', '--quiet', '--no-trunc']);
  return new Set(out.split('\n').filter(Boolean).map((id) => id.replace(/^sha256:/, '')));
}

// podman build of DOCKERFILE (context: the repository root, or DIR) into TAG; the log goes to the temp dir.
async function build(tag, dockerfile, context = SOURCE_DIR) {
  const log = path.join(tmp, `build-${path.basename(dockerfile)}.log`);
  const r = await podman(env, ['build', '--pull=never', '--network=host', '--format', 'docker', '--layers',
    '-f', dockerfile, '-t', tag, context], { log, timeoutMs: 20 * 60 * 1000 });
  const tail = fs.readFileSync(log, 'utf8').split('\n').slice(-60).join('\n');
  assert.equal(r.code, 0, `podman build ${dockerfile}:\n${tail}`);
  return { ms: r.ms, log: fs.readFileSync(log, 'utf8') };
}

async function volume(tag) {
  const name = `${RUN}-${tag}`;
  await podmanOk(env, ['volume', 'create', name]);
  made.volumes.push(name);
  return name;
}

// podman run -d; records the name for clean-up. ARGS go before the image, CMD after it.
async function run(name, args, image, cmd = []) {
  made.containers.push(name);
  return podmanOk(env, ['run', '-d', '--name', name, ...LIMITS, ...args, image, ...cmd]);
}

const exec = (name, cmd, extra = []) => podman(env, ['exec', ...extra, name, ...cmd]);

// Waits until GET /readyz on P answers 200 (parleyd up and its Redis answering).
async function waitReady(p, name, ms = 30000) {
  const t0 = Date.now();
  let last = 'no answer';
  while (Date.now() - t0 < ms) {
    try {
      const r = await h.h1(p, 'GET', '/readyz');
      if (r.status === 200) return Date.now() - t0;
      last = `${r.status} ${r.text}`;
    } catch (e) { last = e.message; }
    const st = await podman(env, ['inspect', '--format', '{{.State.Status}}', name]);
    if (st.out === 'exited') break;
    await h.sleep(100);
  }
  const logs = await podman(env, ['logs', name]);
  throw new Error(`${name}: /readyz never answered 200 (${last}):\n${logs.out}\n${logs.err}`);
}

// podman stop; asserts exit code 0 (SIGTERM handled, no SIGKILL) within 5 s. Returns the stop's duration.
async function stopGracefully(name) {
  const r = await podman(env, ['stop', '--time', '10', name]);
  assert.equal(r.code, 0, r.err);
  const code = await podmanOk(env, ['inspect', '--format', '{{.State.ExitCode}}', name]);
  const logs = await podman(env, ['logs', name]);
  assert.equal(code, '0', `exit code after podman stop:\n${logs.err}`);
  assert.ok(r.ms < 5000, `podman stop took ${r.ms} ms`);
  assert.match(logs.err, /SIGTERM: stopping/);
  assert.match(logs.err, /INFO stopped/);
  return r.ms;
}

before(async () => {
  const t0 = Date.now();
  const cached = (await podman(env, ['image', 'exists', 'debian:bookworm-slim'])).code === 0;
  const base = spawnSync(path.join(__dirname, 'base-image.sh'), [], { env, encoding: 'utf8' });
  assert.equal(base.status, 0, `base-image.sh: ${base.stderr}`);
  note(cached ? 'base image (cached)' : 'base image (debootstrap + import)', Date.now() - t0);

  imagesBefore = await allImages();
  const b = await build(IMAGE, path.join(SOURCE_DIR, 'docker/Dockerfile'));
  note('build docker/Dockerfile', b.ms);
  // A RUN that fails is never cached: either the steps ran now and said so, or an earlier build passed them.
  const ranOrCached = (step, said) => said.test(b.log) || new RegExp(`${step}[^\n]*\n--> Using cache`).test(b.log);
  assert.ok(ranOrCached('ctest --no-tests=error', /100% tests passed, 0 tests failed out of \d+/), 'unit tests in the build');
  assert.ok(ranOrCached('parleyd --check-config', /configuration is valid/), 'config checked in the runtime stage');
  const [buildDeps, runtimeDeps] = depLayers(b.log);
  cache.set('build-deps', buildDeps).set('runtime-deps', runtimeDeps);
  const r = await build(REDIS_IMAGE, path.join(SOURCE_DIR, 'docker/redis.Dockerfile'), path.join(SOURCE_DIR, 'docker'));
  note('build docker/redis.Dockerfile', r.ms);
  cache.set('redis-deps', depLayers(r.log)[0]);
});

// The image IDs of the dependency steps in a podman build log (RUN lines that install packages), in step order.
function depLayers(log) {
  const out = [];
  let cur = null;
  for (const line of log.split('\n')) {
    const step = /STEP \d+\/\d+: (.*)$/.exec(line);
    if (step) {
      cur = /^RUN .*(deps\/install\.sh|apt-get install)/.test(step[1]) ? { id: null } : null;
      if (cur) out.push(cur);
      continue;
    }
    const id = /^--> ([0-9a-f]{11,64})$/.exec(line);
    if (id && cur) cur.id = id[1];
  }
  return out.map((x) => x.id);
}

// Tags the dependency layers of this run's builds as localhost/parley-test-cache:<name> (so removing the images
// keeps them: the next run skips the downloads), and removes the layer a tag pointed to before, if it changed.
async function keepDependencyLayers() {
  const keep = [];
  for (const [name, id] of cache) {
    if (!id) continue;
    const tag = `localhost/parley-test-cache:${name}`;
    const old = await podman(env, ['image', 'inspect', '--format', '{{.Id}}', tag]);
    await podmanOk(env, ['tag', id, tag]);
    process.stdout.write(`# cache: ${tag} = ${id}\n`);
    keep.push(id);
    if (old.code === 0 && !old.out.startsWith(id)) await podman(env, ['rmi', old.out]);
  }
  return keep;
}

// Removes what this file made: containers, volumes, the two images and the builds' other new layers.
after(async () => {
  for (const c of made.containers) await podman(env, ['rm', '--force', '--volumes', '--time', '0', c]);
  for (const v of made.volumes) await podman(env, ['volume', 'rm', '--force', v]);
  const keep = await keepDependencyLayers();
  // The cached layers' ancestors stay too: the build cache finds a step's result through its parent's record.
  for (const id of [...keep]) {
    for (let x = id, i = 0; x && i < 64; i++) {
      const r = await podman(env, ['image', 'inspect', '--format', '{{.Parent}}', x]);
      x = r.code === 0 ? r.out.replace(/^sha256:/, '') : '';
      if (x) keep.push(x);
    }
  }
  await podman(env, ['rmi', IMAGE, REDIS_IMAGE]);
  // Children before parents: retry until nothing more can go (a layer the cache stands on never can).
  let left = [...(await allImages())].filter((id) => !imagesBefore.has(id) && !keep.some((k) => id.startsWith(k)));
  for (let round = 0; left.length > 0 && round < 20; round++) {
    const next = [];
    for (const id of left) if ((await podman(env, ['rmi', id])).code !== 0) next.push(id);
    if (next.length === left.length) break;
    left = next;
  }
  process.stdout.write(`# timings: ${JSON.stringify(timings)}\n`);
});

test('one container with the embedded Redis: comment survives restarts, PID 1 not root, health check, stop < 5 s', async () => {
  const port = await h.freePort();
  const p = { port };
  const origin = `http://127.0.0.1:${port}`;
  const vol = await volume('data');
  const name = `${RUN}-one`;
  const args = ['--network', 'host', '-v', `${vol}:/var/lib/parley`,
    '-e', `PARLEY_LISTEN=127.0.0.1:${port}`, '-e', `PARLEY_PUBLIC_URL=${origin}`, '-e', `PARLEY_SITES=demo=${origin}`,
    '-e', 'PARLEY_THREADS=2', '-e', `PARLEY_ADMIN_TOKEN=${ADMIN_TOKEN}`];
  await run(name, args, IMAGE);
  note('start to ready (fresh volume)', await waitReady(p, name));

  // PID 1 is parleyd, and it and its redis-server run as the image's user, not root.
  assert.equal((await exec(name, ['id', '-u'])).out, '10001');
  assert.equal((await exec(name, ['cat', '/proc/1/comm'])).out, 'parleyd');
  const status = (await exec(name, ['sh', '-c', 'for s in /proc/[0-9]*/status; do grep -E "^(Name|Uid):" "$s"; done'])).out;
  const uids = [...status.matchAll(/^Name:\s+(\S+)\nUid:\s+(\d+)\s+(\d+)/gm)].map((m) => [m[1], m[2], m[3]]);
  assert.ok(uids.some(([n]) => n === 'parleyd'), status);
  assert.ok(uids.some(([n]) => n === 'redis-server'), `the embedded redis-server runs in the container: ${status}`);
  for (const [n, ruid, euid] of uids) assert.ok(ruid !== '0' && euid !== '0', `${n} runs as root: ${status}`);

  // The image's HEALTHCHECK: configured, passes now, and the same script fails against a closed port.
  const hc = await podmanOk(env, ['inspect', '--format', '{{json .Config.Healthcheck}}', name]);
  assert.match(hc, /parley-healthcheck/);
  const healthy = await podman(env, ['healthcheck', 'run', name]);
  assert.equal(healthy.code, 0, `podman healthcheck run: ${healthy.out} ${healthy.err}`);
  const closed = await exec(name, ['parley-healthcheck'], ['-e', `PARLEY_HEALTHCHECK_URL=http://127.0.0.1:${await h.freePort()}/readyz`]);
  assert.notEqual(closed.code, 0, 'the health check fails when nothing answers');

  // A comment as the widget posts it: a form token from the thread, then (after the 3 s minimum form age) the POST.
  const url = `${origin}/story-${RUN}`;
  const q = `site=demo&url=${encodeURIComponent(url)}`;
  const thread = await h.h1(p, 'GET', `/api/v1/comments?${q}`, { headers: { 'user-agent': UA } });
  assert.equal(thread.status, 200, thread.text);
  await h.sleep(3200);
  const body = `Kept across restarts ${RUN}`;
  const posted = await h.h1(p, 'POST', '/api/v1/comments', { headers: { 'user-agent': UA },
    body: { site: 'demo', url, author: 'Container Test', email: 'ctest@example.com', body, form_token: thread.json.form_token } });
  assert.equal(posted.status, 201, posted.text);
  assert.equal(posted.json.comment.status, 'pending', 'the demo site moderates first comments');
  // Approve it through the admin API (token from PARLEY_ADMIN_TOKEN), so anyone sees it after the restarts.
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'user-agent': UA };
  const queue = await h.h1(p, 'GET', '/api/v1/admin/comments?site=demo&status=pending', { headers: auth });
  assert.equal(queue.status, 200, queue.text);
  const item = queue.json.items.find((i) => i.id === posted.json.comment.id);
  assert.ok(item, queue.text);
  const ok = await h.h1(p, 'POST', `/api/v1/admin/comments/${encodeURIComponent(item.ref)}/approve`, { headers: auth, body: { site: 'demo' } });
  assert.equal(ok.status, 200, ok.text);

  const seen = async (what) => {
    const r = await h.h1(p, 'GET', `/api/v1/comments?${q}`, { headers: { 'user-agent': 'Mozilla/5.0 another reader' } });
    assert.equal(r.status, 200, r.text);
    const c = r.json.comments.find((x) => x.id === posted.json.comment.id);
    assert.ok(c, `${what}: the comment is still there: ${r.text}`);
    assert.equal(c.status, 'approved', what);
    assert.match(c.html, new RegExp(`Kept across restarts ${RUN}`), what);
  };
  await seen('before any restart');
  // `parleyd export` inside the running container (parleyd execs parleyd-tool, which links libxml2): the site's
  // JSON holds the comment, read from the embedded Redis the server is using.
  const exported = await exec(name, ['parleyd', 'export', '-c', '/etc/parley/parley.yaml', '--site', 'demo']);
  assert.equal(exported.code, 0, exported.err || exported.out);
  assert.match(exported.out, new RegExp(`Kept across restarts ${RUN}`), 'the export holds the comment');

  // podman stop: SIGTERM to PID 1, exit code 0 within 5 s, and the embedded Redis shut down by itself.
  note('podman stop', await stopGracefully(name));
  const mount = await podmanOk(env, ['volume', 'inspect', '--format', '{{.Mountpoint}}', vol]);
  const redisLog = fs.readFileSync(path.join(mount, 'redis.log'), 'utf8');
  assert.match(redisLog, /Received SIGTERM scheduling shutdown/, 'redis-server got SIGTERM');
  assert.match(redisLog, /ready to exit, bye bye/, 'redis-server finished its AOF and exited');
  assert.ok(fs.existsSync(path.join(mount, 'appendonlydir')), 'the AOF is in the volume');

  await podmanOk(env, ['start', name]);
  note('podman start to ready', await waitReady(p, name));
  await seen('after podman stop + start');
  await stopGracefully(name);

  // A new container on the same volume: the data (and the secret that signs tokens) live in the volume, not the
  // container. The old form token still verifies, which needs the same secret.
  await podmanOk(env, ['rm', name]);
  const name2 = `${RUN}-two`;
  await run(name2, args, IMAGE);
  await waitReady(p, name2);
  await seen('after rm + run on the same volume');
  const again = await h.h1(p, 'POST', '/api/v1/comments/preview', { headers: { 'user-agent': UA }, body: { body: 'x' } });
  assert.equal(again.status, 200, again.text);
  note('podman stop (second container)', await stopGracefully(name2));
});

test('compose topology: compose.yaml\'s Redis command and health check, Parley with its environment', async () => {
  const compose = loadYaml(path.join(SOURCE_DIR, 'docker/compose.yaml'));
  const password = crypto.randomBytes(18).toString('hex');
  const vars = { PARLEY_REDIS_PASSWORD: password, PARLEY_ADMIN_TOKEN: ADMIN_TOKEN };
  const rsvc = compose.services.redis;
  const psvc = compose.services.parley;

  // Redis: the image from redis.Dockerfile with compose's command, in a network namespace of its own (loopback
  // only); `redis` resolves to it there, as on compose's network.
  const rvol = await volume('redis');
  const rname = `${RUN}-redis`;
  const renv = Object.entries(rsvc.environment || {}).flatMap(([k, v]) => ['-e', `${k}=${interpolate(String(v), vars)}`]);
  const rcmd = rsvc.command.map((a) => interpolate(String(a), vars));
  await run(rname, ['--network', 'none', '--hostname', 'redis', '-v', `${rvol}:${rsvc.volumes[0].split(':')[1]}`, ...renv],
    REDIS_IMAGE, rcmd);
  const check = rsvc.healthcheck.test;
  assert.equal(check[0], 'CMD-SHELL');
  let healthy = false;
  for (let i = 0; i < 100 && !healthy; i++) {
    healthy = (await exec(rname, ['sh', '-c', check[1]])).code === 0;
    if (!healthy) await h.sleep(100);
  }
  assert.ok(healthy, `compose's Redis health check passes: ${(await podman(env, ['logs', rname])).out}`);
  const noauth = await exec(rname, ['redis-cli', '--no-auth-warning', 'ping'], ['-e', 'REDISCLI_AUTH=wrong']);
  assert.doesNotMatch(noauth.out, /PONG/, 'Redis refuses a wrong password');
  const aof = await exec(rname, ['redis-cli', 'config', 'get', 'appendonly']);
  assert.match(aof.out, /appendonly\s+yes/);

  // Parley: compose's environment, in Redis's network namespace, with an /etc/hosts where `redis` is that
  // namespace's loopback (podman refuses --add-host for a container that joins another's namespace).
  const pname = `${RUN}-app`;
  const hosts = path.join(tmp, 'hosts');
  fs.writeFileSync(hosts, '127.0.0.1 localhost redis\n::1 localhost\n');
  const penv = Object.entries(psvc.environment).flatMap(([k, v]) => ['-e', `${k}=${interpolate(String(v), vars)}`]);
  await run(pname, ['--network', `container:${rname}`, '-v', `${hosts}:/etc/hosts:ro`,
    '-v', `${await volume('app')}:/var/lib/parley`, ...penv], IMAGE);
  let ready = null;
  for (let i = 0; i < 200 && !ready; i++) {
    const r = await exec(pname, psvc.healthcheck.test.slice(1));
    if (r.code === 0) ready = true;
    else await h.sleep(100);
  }
  const plogs = await podman(env, ['logs', pname]);
  assert.ok(ready, `compose's Parley health check passes:\n${plogs.err}`);
  assert.doesNotMatch(plogs.err, /embedded redis-server/, 'Parley uses the external Redis, not an embedded one');

  // A share click through Parley lands in the external Redis.
  const share = await exec(pname, ['curl', '-sS', '-A', UA, '-H', 'content-type: application/json', '-d',
    JSON.stringify({ site: 'demo', url: 'http://127.0.0.1:8080/compose-story', network: 'x' }),
    'http://127.0.0.1:8080/api/v1/shares']);
  assert.equal(share.code, 0, share.err);
  assert.equal(JSON.parse(share.out).counted, true, share.out);
  const keys = await exec(rname, ['redis-cli', '--scan', '--pattern', 'parley:*']);
  assert.ok(keys.out.split('\n').length > 0 && keys.out !== '', 'Parley wrote its keys to the external Redis');

  await stopGracefully(pname);
  const r = await podman(env, ['stop', '--time', '10', rname]);
  assert.equal(r.code, 0);
  assert.equal(await podmanOk(env, ['inspect', '--format', '{{.State.ExitCode}}', rname]), '0', 'Redis stopped cleanly');
});
