// The deployment files in docker/ read as their tools would, without the tools (no compose or Prometheus here):
// compose.yaml's services, volumes, health checks, restart policies and Parley's external-Redis settings;
// prometheus.yml's scrape job; and alerts.yml, whose every metric must be one a real parleyd exports on /metrics
// (started by the API harness with its own redis-server), with label names and route values that exist.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../api/lib/harness');
const { SOURCE_DIR, loadYaml, interpolate } = require('./lib');

const DOCKER = path.join(SOURCE_DIR, 'docker');
// Series Prometheus makes itself, not parleyd.
const PROMETHEUS_OWN = new Set(['up']);
// PromQL words that look like metric names in an expression.
const PROMQL_WORDS = new Set(['sum', 'rate', 'increase', 'by', 'without', 'and', 'or', 'unless', 'max', 'min', 'avg',
  'count', 'histogram_quantile', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'abs', 'topk']);

let redis;
let parley;

before(async () => {
  redis = await h.startRedis();
  parley = await h.startParley({ redisUrl: redis.url });
});

after(async () => {
  if (parley) await h.stopClean(parley);
  if (redis) await redis.stop();
});

// Every vector selector in EXPR: [{ name, matchers: [{ label, op, value }] }].
function selectors(expr) {
  const out = [];
  // A metric name is an identifier outside quotes and not followed by "(". Quoted label values are masked with the
  // same number of '#', so offsets into STRIPPED and EXPR agree.
  const stripped = expr.replace(/"(?:[^"\\]|\\.)*"/g, (q) => `"${'#'.repeat(q.length - 2)}"`);
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g;
  let m;
  const original = expr;
  while ((m = re.exec(stripped)) !== null) {
    const name = m[1];
    const after = stripped.slice(re.lastIndex).trimStart();
    if (PROMQL_WORDS.has(name) || after.startsWith('(') && !m[2]) continue;
    // by (route, le) lists label names, not metrics.
    const before = stripped.slice(0, m.index);
    if (/\b(by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue;
    if (/^\d/.test(name) || /^[smhdwy]$/.test(name)) continue;
    const matchers = [];
    if (m[2]) {
      const raw = original.slice(m.index + m[0].indexOf('{'), m.index + m[0].length);
      for (const x of raw.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)) {
        matchers.push({ label: x[1], op: x[2], value: x[3] });
      }
    }
    out.push({ name, matchers });
  }
  return out;
}

test('alerts.yml: every metric, label and route it names is in a real parleyd\'s /metrics', async () => {
  // Traffic first, so the request counters have series too.
  await h.h1(parley, 'GET', '/readyz');
  await h.h1(parley, 'GET', '/no-such-page');
  const samples = await h.metrics(parley);
  const names = new Set(samples.map((s) => s.name));
  const labelsOf = (name) => new Set(samples.filter((s) => s.name === name).flatMap((s) => Object.keys(s.labels)));
  const routes = new Set(samples.filter((s) => s.name === 'parley_http_request_duration_seconds_bucket').map((s) => s.labels.route));
  assert.ok(routes.has('readyz') && routes.has('comments_post'), [...routes].join(' '));

  const alerts = loadYaml(path.join(DOCKER, 'alerts.yml'));
  const rules = alerts.groups.flatMap((g) => g.rules);
  assert.ok(rules.length >= 8, 'the rules cover down, Redis, 5xx, latency, mail and moderation');
  const used = new Set();
  for (const rule of rules) {
    assert.ok(rule.alert && rule.expr, JSON.stringify(rule));
    assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity), `${rule.alert}: severity`);
    assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
    const sels = selectors(String(rule.expr));
    assert.ok(sels.length > 0, `${rule.alert}: no metric found in ${rule.expr}`);
    for (const { name, matchers } of sels) {
      used.add(name);
      if (PROMETHEUS_OWN.has(name)) continue;
      assert.ok(names.has(name), `${rule.alert}: ${name} is not exported by parleyd`);
      for (const { label, op, value } of matchers) {
        if (label === 'job' || label === 'instance') continue; // added by Prometheus at scrape time
        assert.ok(labelsOf(name).has(label), `${rule.alert}: ${name} has no label ${label}`);
        if (label === 'route') {
          const ok = op === '=' || op === '!=' ? routes.has(value)
            : value.split('|').every((v) => routes.has(v));
          assert.ok(ok, `${rule.alert}: no route ${value}`);
        } else if (op === '=') {
          const values = new Set(samples.filter((s) => s.name === name).map((s) => s.labels[label]));
          const onDemand = name === 'parley_http_requests_total'; // series appear with their first request
          assert.ok(onDemand || values.has(value), `${rule.alert}: ${name}{${label}="${value}"} never exported`);
        }
      }
    }
  }
  for (const must of ['up', 'parley_redis_errors_total', 'parley_redis_timeouts_total', 'parley_http_requests_total',
    'parley_http_request_duration_seconds_bucket', 'parley_mail_dead_total', 'parley_mail_failures_total']) {
    assert.ok(used.has(must), `alerts.yml uses ${must}`);
  }
});

test('the metric-name check itself catches a name parleyd does not export', () => {
  const sels = selectors('sum(rate(parley_no_such_total{job="parley",route="x"}[5m])) by (route) > 0');
  assert.deepEqual(sels.map((s) => s.name), ['parley_no_such_total']);
  assert.deepEqual(sels[0].matchers.map((m) => m.label), ['job', 'route']);
});

test('prometheus.yml scrapes /metrics of the parley job and loads alerts.yml', () => {
  const prom = loadYaml(path.join(DOCKER, 'prometheus.yml'));
  assert.deepEqual(prom.rule_files, ['alerts.yml']);
  const job = prom.scrape_configs.find((j) => j.job_name === 'parley');
  assert.ok(job, 'a scrape job named parley (alerts.yml selects job="parley")');
  assert.equal(job.metrics_path, '/metrics');
  assert.deepEqual(job.static_configs[0].targets, ['parley:8080'], 'the compose service and its port');
});

test('compose.yaml: Parley and its own Redis 7 with AOF, named volumes, health checks, restart policies', () => {
  const c = loadYaml(path.join(DOCKER, 'compose.yaml'));
  assert.deepEqual(Object.keys(c.services).sort(), ['parley', 'redis']);
  assert.deepEqual(Object.keys(c.volumes).sort(), ['parley-data', 'redis-data']);
  for (const [name, s] of Object.entries(c.services)) {
    assert.equal(s.restart, 'unless-stopped', `${name}: restart policy`);
    assert.ok(Array.isArray(s.healthcheck?.test) && s.healthcheck.test.length >= 2, `${name}: health check`);
    assert.ok(['CMD', 'CMD-SHELL'].includes(s.healthcheck.test[0]), `${name}: health check form`);
    for (const k of ['interval', 'timeout']) assert.match(String(s.healthcheck[k]), /^\d+s$/, `${name}: ${k}`);
    assert.ok(s.volumes.every((v) => c.volumes[v.split(':')[0]] !== undefined), `${name}: named volumes only`);
    assert.ok(fs.existsSync(path.join(DOCKER, s.build.context, s.build.dockerfile)), `${name}: its Dockerfile`);
  }
  const r = c.services.redis;
  const cmd = r.command.join(' ');
  assert.match(cmd, /--appendonly yes/);
  assert.match(cmd, /--appendfsync (always|everysec)/);
  assert.match(cmd, /--maxmemory-policy noeviction/);
  assert.match(cmd, /--requirepass \$\{PARLEY_REDIS_PASSWORD:\?/);
  assert.deepEqual(r.volumes, ['redis-data:/data']);
  assert.equal(r.ports, undefined, 'Redis is not published outside the compose network');
  assert.match(fs.readFileSync(path.join(DOCKER, r.build.dockerfile), 'utf8'), /^FROM debian:bookworm-slim$/m);

  const p = c.services.parley;
  assert.deepEqual(p.depends_on, { redis: { condition: 'service_healthy' } });
  assert.deepEqual(p.volumes, ['parley-data:/var/lib/parley']);
  assert.deepEqual(p.healthcheck.test, ['CMD', '/usr/local/bin/parley-healthcheck']);
  const env = Object.fromEntries(Object.entries(p.environment).map(([k, v]) => [k, interpolate(String(v), { PARLEY_REDIS_PASSWORD: 'pw' })]));
  assert.equal(env.PARLEY_REDIS_URL, 'redis://redis:6379', 'Parley uses the compose Redis, not an embedded one');
  assert.equal(env.PARLEY_REDIS_PASSWORD, 'pw');
  assert.throws(() => interpolate(String(p.environment.PARLEY_REDIS_PASSWORD), {}), /PARLEY_REDIS_PASSWORD/,
    'compose refuses to start without a Redis password');
  // The variable parleyd reads the password from is the one docker/parley.yaml names in redis.password_env.
  const conf = loadYaml(path.join(DOCKER, 'parley.yaml'));
  assert.equal(conf.redis.password_env, 'PARLEY_REDIS_PASSWORD');
  assert.ok(p.ports.every((x) => String(x).startsWith('127.0.0.1:')), 'published on the host\'s loopback only');
});

test('docker/parley.yaml is a valid config that listens on 0.0.0.0:8080 and keeps data in the volume', () => {
  const conf = loadYaml(path.join(DOCKER, 'parley.yaml'));
  assert.deepEqual(conf.listen, [{ host: '0.0.0.0', port: 8080 }]);
  assert.equal(conf.data_dir, '/var/lib/parley');
  assert.match(conf.smtp.url, /^file:\/var\/lib\/parley\//);
  const dockerfile = fs.readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
  assert.match(dockerfile, /^VOLUME \["\/var\/lib\/parley"\]$/m);
  const { execFileSync } = require('node:child_process');
  const out = execFileSync(h.PARLEYD, ['--check-config', '-c', path.join(DOCKER, 'parley.yaml')], { encoding: 'utf8' });
  assert.match(out, /configuration is valid/);
});

test('Dockerfile follows the usual lint rules: pinned base tags, apt-get -y --no-install-recommends, lists removed', () => {
  for (const f of ['Dockerfile', 'redis.Dockerfile']) {
    const text = fs.readFileSync(path.join(DOCKER, f), 'utf8').replace(/\\\n/g, ' ');
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    assert.ok(froms.length > 0, f);
    for (const img of froms) assert.match(img, /^[a-z0-9./-]+:(?!latest$)[\w.-]+$/, `${f}: FROM ${img} has a pinned tag`);
    for (const run of text.matchAll(/^RUN (.*)$/gm)) {
      const cmd = run[1];
      if (!/apt-get (install|update)/.test(cmd)) continue;
      if (/apt-get install/.test(cmd)) assert.match(cmd, /apt-get install -y --no-install-recommends/, `${f}: ${cmd}`);
      assert.match(cmd, /apt-get update && apt-get install|apt-get update\s+&& apt-get install/, `${f}: update and install in one RUN`);
      assert.match(cmd, /rm -rf \/var\/lib\/apt\/lists\/\*/, `${f}: apt lists removed in the same RUN`);
    }
    assert.doesNotMatch(text, /^MAINTAINER/m, f);
    assert.doesNotMatch(text, /^ADD /m, `${f}: COPY, not ADD`);
  }
  const ignore = fs.readFileSync(path.join(SOURCE_DIR, '.dockerignore'), 'utf8').split('\n');
  for (const must of ['build/', '**/node_modules/', 'tests/node_modules', '.git']) assert.ok(ignore.includes(must), `.dockerignore: ${must}`);
});
