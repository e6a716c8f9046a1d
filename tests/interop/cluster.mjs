#!/usr/bin/env node
// Cluster suite (docs/CLUSTER.md): three pushcore nodes with `adapter.driver = "redis"` on one
// redis-server that this script starts itself (127.0.0.1, a free port, no persistence), driven
// by real pusher-js clients spread over the nodes and the `pusher` SDK talking to any node.
//
//   node cluster.mjs --server /path/to/pushcore [--redis /usr/bin/redis-server] [--only a,b]
//
// Ordering without sleeps: an event published through node X reaches node Y over Redis in
// Redis' order, and presence member events are published from inside the Redis scripts that
// decide them. So "nothing more arrived" is checked with a barrier event published through a
// node other than the observer's, after the state change was observed through the HTTP API.
// One line per scenario (ok / FAIL); exit code 1 when any fails.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';

import { APP, Ctx, Checks, Inbox, RUN, WAIT_MS, appConfig, assert, assertEq, fmt, makeSdk, pollUntil, rawHttp, sdkStatus, serverConfig, ServerProcess, signedHttp, signedQuery, sleep, withTimeout } from './harness.mjs';
import { tmpdir } from 'node:os';

import { makeTestPki } from '../common/certs.mjs';
import { freePort, Redis, RedisCluster, redisCli } from '../common/redis.mjs';

const HEARTBEAT_MS = 250;
const QUOTA = 3; // max_connections of QUOTA_APP, cluster-wide
const QUOTA_APP = { id: 'quota-id', key: 'quota-key', secret: 'quota-secret' };
const NODE_TIMEOUT_MS = 3000; // a SIGKILLed node is gone after this (+ one heartbeat); generous for ASan runs

// ---------------------------------------------------------------- args

const args = { only: null, redis: 'redis-server', topology: 'single' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--server') args.server = process.argv[++i];
  else if (a === '--redis') args.redis = process.argv[++i];
  else if (a === '--only') args.only = process.argv[++i].split(',');
  else if (a === '--topology') args.topology = process.argv[++i];
  else if (a === '--verbose') args.verbose = true;
  else {
    console.error(`usage: node cluster.mjs --server PATH [--redis PATH] [--topology single|cluster] [--only a,b]`);
    process.exit(2);
  }
}
if (!args.server) {
  console.error('--server is required');
  process.exit(2);
}

// ---------------------------------------------------------------- webhook receiver

class HookReceiver {
  constructor() {
    this.events = [];
  }
  start() {
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString());
          for (const e of body.events || []) this.events.push(e);
        } catch {}
        res.writeHead(200);
        res.end('{}');
      });
    });
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => r((this.port = this.server.address().port))));
  }
  count(pred) {
    return this.events.filter(pred).length;
  }
  wait(pred, label, ms = WAIT_MS) {
    return pollUntil(() => this.events.find(pred), `webhook ${label}`, ms);
  }
  stop() {
    this.server.close();
  }
}

// ---------------------------------------------------------------- cluster

// `redis`: a port (one redis-server, driver redis) or a RedisCluster (driver redis-cluster).
function nodeConfig(redis, hookPort, prefix) {
  const timing = { heartbeat_interval_ms: HEARTBEAT_MS, node_timeout_ms: NODE_TIMEOUT_MS };
  const adapter = typeof redis === 'number'
    ? { driver: 'redis', redis: { url: `redis://127.0.0.1:${redis}/0`, prefix, request_timeout_ms: 2000, ...timing } }
    : { driver: 'redis-cluster', cluster: { nodes: redis.seeds(), prefix, request_timeout_ms: 2000 }, redis: timing };
  return serverConfig({
    apps: [
      appConfig({
        features: { enable_watchlist_events: true },
        webhooks: [{ url: `http://127.0.0.1:${hookPort}/`, event_types: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] }],
      }),
      // max_connections counts every node's connections (quota scenarios).
      appConfig({ ...QUOTA_APP, limits: { max_connections: QUOTA } }),
    ],
    webhooks: { batching: { enabled: false }, vacate_delay_ms: 0 },
    adapter,
  });
}

const nodes = {}; // name -> { server, ctx, sdk, port }

async function startNode(name, cfg) {
  const server = new ServerProcess(args.server, cfg, `node ${name}`);
  const port = await server.start();
  const sdk = makeSdk(port);
  nodes[name] = { name, server, port, sdk, ctx: new Ctx({ port, sdk, mode: 'server' }) };
  console.log(`# node ${name}: pushcore on 127.0.0.1:${port}`);
  return nodes[name];
}

// The node answers API calls (200) once it is connected to Redis and its state is synced.
// GET `path` (/up, /up/{app_id}, /live) of a node: [status, body, X-Health-Check].
async function health(node, path) {
  const r = await rawHttp(node.port, { path });
  return [r.status, r.text, r.headers['x-health-check']];
}

async function waitReady(node) {
  await pollUntil(async () => (await sdkStatus(node.sdk.get({ path: '/channels' }))).status === 200, `node ${node.name} connected to Redis`, 10_000, 50);
}

// Members in a client's pusher_internal:subscription_succeeded frame for `channel`, as sorted
// ids. pusher-js keeps (and mutates) the frame's hash as its live member list, so clients made
// by `presenceClient` keep a deep copy of each frame as it arrived.
function snapshotIds(client, channel) {
  const ok = client.copies.find((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel);
  const data = typeof ok.data === 'string' ? JSON.parse(ok.data) : ok.data;
  return Object.keys(data.presence.hash).sort();
}

async function presenceClient(node, name, presence) {
  const c = node.ctx.client({ name, presence });
  c.copies = [];
  c.pusher.connection.bind('message', (ev) => c.copies.push(JSON.parse(JSON.stringify(ev))));
  await c.states.waitFor((s) => s === 'connected', `state connected (${name})`);
  return c;
}

// Publishes a marker through `via` (another node than the observers') and waits until every
// inbox got it: everything Redis ordered before it has then arrived.
async function barrier(via, channel, inboxes) {
  const id = randomBytes(4).toString('hex');
  await via.sdk.trigger(channel, 'barrier', { id });
  await Promise.all(inboxes.map((ib) => ib.waitFor((e) => e.event === 'barrier' && e.data && e.data.id === id, `barrier ${id}`)));
}

async function channelInfo(node, channel, info = 'subscription_count') {
  return (await node.sdk.get({ path: `/channels/${channel}`, params: { info } })).json();
}

// A signed-in raw socket on `node` (sign-in signed by the SDK).
async function rawSignedIn(node, userId, name, extra = {}) {
  const r = await node.ctx.rawConnected({ name });
  r.send({ event: 'pusher:signin', data: node.sdk.authenticateUser(r.socketId, { id: userId, ...extra }) });
  await r.frames.waitFor((f) => f.frame.event === 'pusher:signin_success', `${name} signin_success`);
  return r;
}

// ---------------------------------------------------------------- scenarios

// Each scenario runs on one Redis (`single`), on a Redis Cluster (`cluster`), or both.
const scenarios = [];
const scenario = (name, title, fn, timeoutMs = 20_000, topologies = ['single', 'cluster']) => scenarios.push({ name, title, fn, timeoutMs, topologies });

scenario('redis-down-at-start', 'Redis unreachable at start: the node serves local clients, answers 503, logs the outage once', async ({ deadPort, hookPort }) => {
  const D = await startNode('D', nodeConfig(deadPort, hookPort, `pc-dead-${RUN}`));
  try {
    const checks = new Checks();
    const r = await sdkStatus(D.sdk.trigger(`cl-dead-${RUN}`, 'x', {}));
    checks.eq(r.status, 503, 'publish status without Redis');
    // Readiness fails (load balancers take the node out), liveness does not.
    checks.eq(await health(D, '/up'), [503, 'ERROR', 'ERROR'], '/up without Redis');
    checks.eq(await health(D, `/up/${APP.id}`), [503, 'ERROR', 'ERROR'], `/up/${APP.id} without Redis`);
    checks.eq((await health(D, '/live'))[0], 200, '/live without Redis');
    // Local clients work, presence included (decided locally while the cluster is unreachable).
    const ch = `presence-cl-dead-${RUN}`;
    const p = await D.ctx.connected({ name: 'p@D', presence: { user_id: 'pat', user_info: {} } });
    const q = await D.ctx.connected({ name: 'q@D', presence: { user_id: 'quinn', user_info: {} } });
    const sp = await D.ctx.subscribe(p, ch);
    await D.ctx.subscribe(q, ch);
    await sp.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === 'quinn', 'local member_added');
    sp.channel.trigger('client-x', { ok: 1 });
    // Reconnect attempts keep failing (backoff from 100 ms); one log line, one outage.
    await pollUntil(async () => {
      const m = await new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: D.server.metricsPort, path: '/metrics' }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      return /pushcore_horizontal_adapter_outages_total\{[^}]*\} 1\n/.test(m) && /pushcore_horizontal_adapter_connected\{[^}]*\} 0\n/.test(m);
    }, 'outage counted once in metrics');
    const lines = D.server.stderrTail.filter((l) => /msg=redis_(unavailable|disconnected)/.test(l));
    checks.eq(lines.length, 1, `outage log lines (${fmt(lines)})`);
    checks.done();
  } finally {
    await D.ctx.close();
    await D.server.stop();
    delete nodes.D;
  }
}, 20_000, ['single']);

scenario('redis-auth', 'a password Redis refuses stops start-up with a configuration error naming adapter.redis.url (no password in it); the right password, and an ACL user, work', async ({ hookPort }) => {
  const port = await freePort();
  const secured = new Redis(args.redis, port, ['--requirepass', 'right-pw', '--user', 'alice', 'on', '>alice-pw', '~*', '&*', '+@all'], { auth: true });
  await secured.start();
  try {
    const checks = new Checks();
    for (const url of [`redis://:wrong-pw@127.0.0.1:${port}/0`, `redis://alice:bad-pw@127.0.0.1:${port}/0`, `redis://127.0.0.1:${port}/0`.replace('redis://', 'redis://:right-pw@').replace('/0', '/99')]) {
      const cfg = nodeConfig(port, hookPort, `cl-auth-${RUN}`);
      cfg.adapter.redis.url = url;
      const bad = new ServerProcess(args.server, cfg, 'node bad-auth');
      let started = false;
      try {
        await bad.start();
        started = true;
      } catch {}
      const exit = await withTimeout(bad.exited, WAIT_MS, 'exit of the refused node');
      const text = bad.tail.join('\n');
      checks.eq([started, exit.code], [false, 2], `${url.replace(/:[^:@/]*@/, ':***@')}: start refused, exit code`);
      checks.ok(/configuration error: adapter\.redis\.url \(REDIS_URL\): (AUTH|SELECT 99) refused/.test(text), `names the key and what Redis refused: ${fmt(text.slice(-300))}`);
      checks.ok(!/wrong-pw|bad-pw|right-pw/.test(text), 'no password in the output');
      await bad.stop();
    }
    for (const url of [`redis://:right-pw@127.0.0.1:${port}/0`, `redis://alice:alice-pw@127.0.0.1:${port}/0`]) {
      const cfg = nodeConfig(port, hookPort, `cl-auth-${RUN}`);
      cfg.adapter.redis.url = url;
      const good = new ServerProcess(args.server, cfg, 'node good-auth');
      await good.start();
      const sdk = makeSdk(good.port);
      // Connected and synced: the API answers 200 (503 while Redis is not usable).
      await pollUntil(async () => (await sdkStatus(sdk.get({ path: '/channels' }))).status === 200, `API 200 with ${url.replace(/:[^:@/]*@/, ':***@')}`);
      await good.stop();
    }
    checks.done();
  } finally {
    await secured.kill();
  }
}, 20_000, ['single']);

// Starts a node that must refuse to start: [exit code, its output].
async function refusedStart(cfg, label) {
  const bad = new ServerProcess(args.server, cfg, label);
  let started = false;
  try {
    await bad.start();
    started = true;
  } catch {}
  const exit = await withTimeout(bad.exited, WAIT_MS, `exit of ${label}`);
  await bad.stop();
  return [started ? 'started' : exit.code, bad.tail.join('\n')];
}

// Two nodes on `cfg`: a publish through the first reaches a subscriber on the second.
async function publishAcross(cfg, ch, checks, label) {
  const [X, Y] = [await startNode(`${label}1`, cfg), await startNode(`${label}2`, cfg)];
  try {
    for (const n of [X, Y]) await waitReady(n);
    const y = await Y.ctx.connected({ name: `y@${label}2` });
    const sy = await Y.ctx.subscribe(y, ch);
    await X.sdk.trigger(ch, 'over-tls', { via: label });
    const ev = await sy.events.waitFor((e) => e.event === 'over-tls', `event through ${label}1 on ${label}2`);
    checks.eq(ev.data, { via: label }, `${label}: event through node 1 on node 2`);
  } finally {
    for (const n of [X, Y]) {
      await n.ctx.close();
      await n.server.stop();
      delete nodes[n.name];
    }
  }
}

scenario('redis-tls', 'rediss:// to a redis-server that serves TLS only and wants client certificates: nodes with the CA and a client certificate work together; a wrong CA, no client certificate or a missing CA file stop start-up naming the key', async ({ hookPort }) => {
  const pki = makeTestPki(`${tmpdir()}/pushcore-redis-tls-${RUN}`);
  const port = await freePort();
  const redis = new Redis(args.redis, port, [], { tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, authClients: true, clientCert: pki.clientCert, clientKey: pki.clientKey } });
  await redis.start();
  try {
    const checks = new Checks();
    const cfg = (tls) => {
      const c = nodeConfig(port, hookPort, `cl-tls-${RUN}`);
      c.adapter.redis.url = `rediss://127.0.0.1:${port}`;
      c.adapter.redis.tls = tls;
      return c;
    };
    const mutual = { ca_path: pki.ca, client_cert_path: pki.clientCert, client_key_path: pki.clientKey };
    await publishAcross(cfg(mutual), `private-cl-tls-${RUN}`, checks, 'T');
    const [code1, out1] = await refusedStart(cfg({ ...mutual, ca_path: pki.otherCa }), 'node wrong-ca');
    checks.eq(code1, 2, 'a wrong CA: exit code');
    checks.ok(/configuration error: adapter\.redis\.url \(REDIS_URL\): TLS handshake: certificate verify failed/.test(out1), `a wrong CA: names the key and the reason: ${fmt(out1.slice(-300))}`);
    const [code2, out2] = await refusedStart(cfg({ ca_path: pki.ca }), 'node no-client-cert');
    checks.eq(code2, 2, 'no client certificate: exit code');
    checks.ok(/configuration error: adapter\.redis\.url \(REDIS_URL\): .*(certificate|alert|closed by Redis)/.test(out2), `no client certificate: names the key and the reason: ${fmt(out2.slice(-300))}`);
    const [code3, out3] = await refusedStart(cfg({ ca_path: `${pki.dir}/missing.pem` }), 'node missing-ca');
    checks.eq(code3, 2, 'a missing CA file: exit code');
    checks.ok(/configuration error: adapter\.redis\.tls\.ca_path: cannot load '.*missing\.pem'/.test(out3), `a missing CA file: names the key and the file: ${fmt(out3.slice(-300))}`);
    checks.done();
  } finally {
    await redis.kill();
  }
}, 40_000, ['single']);

scenario('cluster-tls-auth', 'a Redis Cluster with TLS (also between its nodes), a password and an ACL user: rediss://:pw@ and rediss://alice:pw@ seeds with adapter.cluster.tls.ca_path work; a wrong password stops start-up naming adapter.cluster.nodes, without the password', async ({ hookPort }) => {
  const pki = makeTestPki(`${tmpdir()}/pushcore-cluster-tls-${RUN}`);
  const secured = new RedisCluster(args.redis, `${tmpdir()}/pushcore-redis-cluster-tls-${RUN}`, {
    primaries: 3,
    replicas: 0,
    tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca },
    password: 'cluster-pw',
    extra: ['--user', 'alice', 'on', '>alice-pw', '~*', '&*', '+@all'], // an ACL user too
  });
  await secured.start();
  try {
    const checks = new Checks();
    const cfg = nodeConfig(secured, hookPort, `cl-ctls-${RUN}`);
    cfg.adapter.cluster.tls = { ca_path: pki.ca };
    await publishAcross(cfg, `private-cl-ctls-${RUN}`, checks, 'S');
    const acl = nodeConfig(secured, hookPort, `cl-ctls-${RUN}`);
    acl.adapter.cluster.tls = { ca_path: pki.ca };
    acl.adapter.cluster.nodes = acl.adapter.cluster.nodes.map((u) => u.replace(':cluster-pw@', 'alice:alice-pw@'));
    await publishAcross(acl, `private-cl-cacl-${RUN}`, checks, 'U');
    const wrong = nodeConfig(secured, hookPort, `cl-ctls-${RUN}`);
    wrong.adapter.cluster.tls = { ca_path: pki.ca };
    wrong.adapter.cluster.nodes = wrong.adapter.cluster.nodes.map((u) => u.replace(':cluster-pw@', ':wrong-pw@'));
    const [code, out] = await refusedStart(wrong, 'node wrong-cluster-pw');
    checks.eq(code, 2, 'a wrong cluster password: exit code');
    checks.ok(/configuration error: adapter\.cluster\.nodes \(REDIS_CLUSTER_NODES\): 127\.0\.0\.1:\d+: AUTH refused: WRONGPASS/.test(out), `names the key and what Redis refused: ${fmt(out.slice(-300))}`);
    checks.ok(!/wrong-pw|cluster-pw/.test(out), 'no password in the output');
    checks.done();
  } finally {
    await secured.killAll();
  }
}, 60_000, ['cluster']);

scenario('query-redis-stopped', 'a query waiting for a stopped Redis does not stall the WebSockets of its worker; it answers 200 with the local count after requests_timeout', async ({ hookPort }) => {
  // Its own redis-server and node: stopping Redis must not disturb the nodes of the other scenarios.
  const redis = new Redis(args.redis, await freePort());
  await redis.start();
  let E = null;
  let stopped = false;
  try {
    const cfg = nodeConfig(redis.port, hookPort, `pc-stop-${RUN}`);
    cfg.workers = 1; // the WebSocket and the HTTP requests are served by the same worker thread
    E = await startNode('E', cfg);
    await waitReady(E);
    const ch = `cl-stop-${RUN}`;
    const r = await E.ctx.rawConnected({ name: 'r@E' });
    r.send({ event: 'pusher:subscribe', data: { channel: ch } });
    await r.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded', 'subscription_succeeded on E');
    const checks = new Checks();
    await checks.run('cluster count before the stop', () => pollUntil(async () => isDeepStrictEqual(await channelInfo(E, ch), { occupied: true, subscription_count: 1 }), 'subscription_count 1 on E'));
    // Redis stops answering but keeps its sockets: the node stays "connected" and sends the
    // query, whose reply never comes.
    redis.proc.kill('SIGSTOP');
    stopped = true;
    const route = `/channels/${ch}`;
    let answered = false;
    const t0 = Date.now();
    const query = signedHttp(E.port, { route, params: { info: 'subscription_count' } }).then((res) => {
      answered = true;
      return res;
    });
    // A second query whose client gives up and closes its socket while the answer is pending.
    const path = `/apps/${APP.id}${route}`;
    const abandoned = rawHttp(E.port, { path: `${path}?${signedQuery({ method: 'GET', path })}`, timeoutMs: 200 }).then(
      () => 'answered',
      () => 'gave up'
    );
    // Give the worker time to take both requests before the ping (the only sleep here: it lets
    // a worker that blocks in the query be caught blocking; the pass itself is decided by the
    // order of the pong and the answer, not by a time).
    await sleep(300);
    const from = r.frames.items.length;
    r.send({ event: 'pusher:ping', data: {} });
    await checks.run('pong while the query waits for Redis', async () => {
      await r.frames.waitFor((f) => f.frame.event === 'pusher:pong', 'pong (r@E)', WAIT_MS, { from });
      assert(!answered, 'the query was answered before the pong: the worker was blocked by it');
    });
    checks.eq(await abandoned, 'gave up', 'abandoned query (client closed after 200 ms)');
    // After requests_timeout (2 s) the node answers from its own registry.
    const res = await query;
    console.log(`# query answered after ${Date.now() - t0} ms (requests_timeout 2000 ms)`);
    checks.eq(res.status, 200, 'query status after the Redis timeout');
    checks.eq(res.json, { occupied: true, subscription_count: 1 }, 'query body (local answer)');
    checks.ok(E.server.stderrTail.some((l) => /msg=redis_query_timeout/.test(l)), 'redis_query_timeout logged');
    // The worker is still fine after answering the abandoned query into a closed socket.
    const from2 = r.frames.items.length;
    r.send({ event: 'pusher:ping', data: {} });
    await checks.run('pong after the timeouts', () => r.frames.waitFor((f) => f.frame.event === 'pusher:pong', 'second pong (r@E)', WAIT_MS, { from: from2 }));
    redis.proc.kill('SIGCONT');
    stopped = false;
    checks.done();
  } finally {
    if (stopped) redis.proc.kill('SIGCONT');
    if (E) {
      await E.ctx.close();
      await E.server.stop();
      delete nodes.E;
      const exit = await E.server.exited;
      if (exit.code !== 0) throw new Error(`node E did not shut down cleanly (code ${exit.code}, signal ${exit.signal})`);
    }
    await redis.kill();
  }
}, 20_000, ['single']);

scenario('publish', 'publish through A reaches subscribers on A, B and C exactly once', async ({ A, B, C }) => {
  const ch = `cl-pub-${RUN}`;
  const subs = [];
  for (const n of [A, B, C]) {
    const c = await n.ctx.connected({ name: `pub-${n.name}` });
    subs.push(await n.ctx.subscribe(c, ch));
  }
  await A.sdk.trigger(ch, 'hello', { n: 1 });
  await B.sdk.trigger(ch, 'done', {});
  const checks = new Checks();
  for (const s of subs) {
    const ev = await s.events.waitFor((e) => e.event === 'hello', `hello on ${s.events.name}`);
    await s.events.waitFor((e) => e.event === 'done', `done on ${s.events.name}`);
    checks.eq(ev.data, { n: 1 }, `hello data on ${s.events.name}`);
    checks.eq(s.events.count((e) => e.event === 'hello'), 1, `hello deliveries on ${s.events.name}`);
  }
  // Cluster-wide subscription count, asked on every node (subscription_succeeded of a
  // non-presence channel does not wait for Redis, so the count may lag an instant).
  for (const n of [A, B, C]) {
    await checks.run(`GET /channels/${ch} on ${n.name}`, () =>
      pollUntil(async () => isDeepStrictEqual(await channelInfo(n, ch), { occupied: true, subscription_count: 3 }), `subscription_count 3 on ${n.name}`)
    );
  }
  checks.done();
});

scenario('exclude', 'socket_id exclusion holds across nodes; client events cross nodes, never echoed', async ({ A, B, C }) => {
  const ch = `private-cl-ex-${RUN}`;
  const x = await B.ctx.connected({ name: 'x@B' });
  const y = await C.ctx.connected({ name: 'y@C' });
  const z = await A.ctx.connected({ name: 'z@A' });
  const [sx, sy, sz] = [await B.ctx.subscribe(x, ch), await C.ctx.subscribe(y, ch), await A.ctx.subscribe(z, ch)];
  await A.sdk.trigger(ch, 'not-for-x', { k: 1 }, { socket_id: x.pusher.connection.socket_id });
  await barrier(A, ch, [sx.events, sy.events, sz.events]);
  const checks = new Checks();
  checks.eq(sx.events.count((e) => e.event === 'not-for-x'), 0, 'excluded socket (on B) deliveries');
  checks.eq(sy.events.count((e) => e.event === 'not-for-x'), 1, 'other socket (on C) deliveries');
  checks.eq(sz.events.count((e) => e.event === 'not-for-x'), 1, 'other socket (on A) deliveries');
  // Client event from B: C and A get it once, B (the sender) never.
  sx.channel.trigger('client-hi', { from: 'x' });
  const got = await sy.events.waitFor((e) => e.event === 'client-hi', 'client-hi on C');
  await sz.events.waitFor((e) => e.event === 'client-hi', 'client-hi on A');
  checks.eq(got.data, { from: 'x' }, 'client event data');
  await barrier(C, ch, [sx.events, sy.events, sz.events]);
  checks.eq(sx.events.count((e) => e.event === 'client-hi'), 0, 'client event echoed to its sender');
  checks.eq(sy.events.count((e) => e.event === 'client-hi'), 1, 'client event deliveries on C');
  checks.done();
});

scenario('presence', 'presence across nodes: one member_added/removed per user, cluster snapshot, users API on every node', async ({ A, B, C }) => {
  const ch = `presence-cl-${RUN}`;
  const who = (id) => ({ user_id: id, user_info: { name: id } });
  const watcher = await C.ctx.connected({ name: 'carol@C', presence: who('carol') });
  const sw = await C.ctx.subscribe(watcher, ch);
  const added = (id) => (e) => e.event === 'pusher:member_added' && e.data.id === id;
  const removed = (id) => (e) => e.event === 'pusher:member_removed' && e.data.id === id;
  const a1 = await A.ctx.connected({ name: 'alice@A', presence: who('alice') });
  const sa1 = await A.ctx.subscribe(a1, ch);
  await sw.events.waitFor(added('alice'), 'member_added alice on C');
  const a2 = await presenceClient(B, 'alice@B', who('alice'));
  const sa2 = await B.ctx.subscribe(a2, ch);
  const b1 = await B.ctx.connected({ name: 'bob@B', presence: who('bob') });
  const sb1 = await B.ctx.subscribe(b1, ch);
  await sw.events.waitFor(added('bob'), 'member_added bob on C');
  const checks = new Checks();
  checks.eq(snapshotIds(a2, ch), ['alice', 'carol'], "alice@B's snapshot (members on A and C)");
  // A late joiner on C sees everyone, wherever they are connected.
  const d = await presenceClient(C, 'dave@C', who('dave'));
  const sd = await C.ctx.subscribe(d, ch);
  checks.eq(snapshotIds(d, ch), ['alice', 'bob', 'carol', 'dave'], "dave@C's snapshot");
  checks.eq(sd.channel.members.count, 4, 'pusher-js members.count on C');
  for (const n of [A, B, C]) {
    checks.eq(await channelInfo(n, ch, 'user_count,subscription_count'), { occupied: true, subscription_count: 5, user_count: 4 }, `channel info on ${n.name}`);
    const users = (await (await n.sdk.get({ path: `/channels/${ch}/users` })).json()).users.map((u) => u.id).sort();
    checks.eq(users, ['alice', 'bob', 'carol', 'dave'], `users on ${n.name}`);
  }
  const list = await (await A.sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } })).json();
  checks.eq(list.channels[ch], { user_count: 4 }, 'GET /channels?filter_by_prefix=presence- on A');
  await barrier(A, ch, [sw.events]);
  checks.eq(sw.events.count(added('alice')), 1, 'member_added alice seen on C (two connections on two nodes)');
  // alice leaves A: she is still on B, so no member_removed anywhere.
  a1.pusher.unsubscribe(ch);
  await pollUntil(async () => (await channelInfo(B, ch)).subscription_count === 4, 'subscription_count 4 after alice@A left');
  await barrier(A, ch, [sw.events, sb1.events]);
  checks.eq(sw.events.count(removed('alice')), 0, 'member_removed alice after her first leave');
  // alice leaves B: the last one, exactly one member_removed.
  a2.pusher.unsubscribe(ch);
  await sw.events.waitFor(removed('alice'), 'member_removed alice on C');
  await sb1.events.waitFor(removed('alice'), 'member_removed alice on B');
  // dave may be on another worker of C than carol: his copy is waited for, not assumed.
  await sd.events.waitFor(removed('alice'), 'member_removed alice on dave@C');
  await barrier(A, ch, [sw.events, sb1.events, sd.events]);
  checks.eq(sw.events.count(removed('alice')), 1, 'member_removed alice on C');
  checks.eq(sb1.events.count(removed('alice')), 1, 'member_removed alice on B');
  checks.eq(sa1.events.count(removed('alice')), 0, 'alice@A saw her own removal');
  checks.eq(sd.channel.members.count, 3, 'pusher-js members.count on C after alice left');
  checks.done();
});

scenario('users', 'sendToUser, terminate_connections and force_reconnect through A reach a user signed in on B and C', async ({ A, B, C }) => {
  const u = `sam-${RUN}`;
  const r1 = await rawSignedIn(B, u, 'sam@B');
  const r2 = await rawSignedIn(C, u, 'sam@C');
  await A.sdk.sendToUser(u, 'to-sam', { hi: 1 });
  const checks = new Checks();
  for (const r of [r1, r2]) {
    const f = await r.frames.waitFor((x) => x.frame.event === 'to-sam', `to-sam on ${r.name}`);
    checks.eq(f.frame.channel, `#server-to-user-${u}`, `to-sam channel on ${r.name}`);
  }
  const res = await sdkStatus(A.sdk.terminateUserConnections(u));
  checks.eq(res.status, 200, 'terminate_connections status');
  for (const r of [r1, r2]) {
    const closed = await withTimeout(r.closed, WAIT_MS, `close of ${r.name}`);
    checks.eq(closed.code, 4009, `close code on ${r.name}`);
  }
  // force_reconnect through A closes the user's sockets on the other nodes with 4200.
  const v = `vic-${RUN}`;
  const f1 = await rawSignedIn(B, v, 'vic@B');
  const f2 = await rawSignedIn(C, v, 'vic@C');
  const fr = await sdkStatus(A.sdk.post({ path: `/users/${v}/force_reconnect`, body: {} }));
  checks.eq(fr.status, 200, 'force_reconnect status');
  for (const r of [f1, f2]) {
    const closed = await withTimeout(r.closed, WAIT_MS, `close of ${r.name}`);
    checks.eq(closed, { code: 4200, reason: 'Force reconnect requested by the app.' }, `close on ${r.name}`);
  }
  checks.done();
});

scenario('watchlist', 'watchlists across nodes: online on the first sign-in anywhere, offline on the last sign-out anywhere', async ({ A, B, C }) => {
  const oscar = `oscar-${RUN}`;
  const wl = (r, name) => r.frames.filter((f) => f.frame.event === 'pusher_internal:watchlist_events').flatMap((f) => f.frame.data.events.filter((e) => e.name === name && e.user_ids.includes(oscar)));
  const w = await rawSignedIn(B, `wendy-${RUN}`, 'wendy@B', { watchlist: [oscar] });
  const checks = new Checks();
  const initial = await w.frames.waitFor((f) => f.frame.event === 'pusher_internal:watchlist_events', 'initial watchlist state');
  checks.eq(initial.frame.data.events, [{ name: 'offline', user_ids: [oscar] }], 'initial state (oscar offline)');
  const o1 = await rawSignedIn(C, oscar, 'oscar@C');
  await pollUntil(() => wl(w, 'online').length === 1, 'online event for oscar on B');
  const o2 = await rawSignedIn(A, oscar, 'oscar@A');
  // A watcher signing in on A now sees oscar online (he is on A and C).
  const v = await rawSignedIn(A, `vera-${RUN}`, 'vera@A', { watchlist: [oscar] });
  const vInit = await v.frames.waitFor((f) => f.frame.event === 'pusher_internal:watchlist_events', 'initial watchlist state (vera)');
  checks.eq(vInit.frame.data.events, [{ name: 'online', user_ids: [oscar] }], "vera's initial state (oscar online)");
  o1.ws.close();
  await o1.closed;
  o2.ws.close();
  await pollUntil(() => wl(w, 'offline').length === 2, 'offline event for oscar on B (after the initial state)');
  await pollUntil(() => wl(v, 'offline').length === 1, 'offline event for oscar on A');
  // One more sign-in/out cycle as a marker: everything before it has arrived.
  const o3 = await rawSignedIn(B, oscar, 'oscar@B');
  await pollUntil(() => wl(w, 'online').length === 2, 'second online event on B');
  o3.ws.close();
  await pollUntil(() => wl(w, 'offline').length === 3, 'third offline event on B');
  checks.eq(wl(w, 'online').length, 2, 'online events on B (one per first sign-in anywhere)');
  checks.eq(wl(v, 'online').length, 2, 'online states on A (initial + the marker cycle)');
  checks.done();
});

scenario('presence-numeric', 'a numeric user_id keeps its type across nodes: member events, snapshots, users API, webhooks', async ({ A, B, C, hooks }) => {
  const ch = `presence-cl-num-${RUN}`;
  const watcher = await C.ctx.connected({ name: 'carol@C', presence: { user_id: 'carol', user_info: {} } });
  const sw = await C.ctx.subscribe(watcher, ch);
  const n = await A.ctx.connected({ name: '42@A', presence: { user_id: 42, user_info: { n: 1 } } });
  await A.ctx.subscribe(n, ch);
  const added = await sw.events.waitFor((e) => e.event === 'pusher:member_added', 'member_added 42 on C');
  const checks = new Checks();
  checks.eq(added.data, { id: 42, info: { n: 1 } }, 'member_added on C (id a number)');
  // The same user as the string "42" on B: one user; B's snapshot (from Redis) lists the number.
  const s = await presenceClient(B, '"42"@B', { user_id: '42', user_info: { n: 2 } });
  const ss = await B.ctx.subscribe(s, ch);
  const ok = s.copies.find((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === ch);
  const pres = (typeof ok.data === 'string' ? JSON.parse(ok.data) : ok.data).presence;
  checks.eq([...pres.ids].sort(), [42, 'carol'], "\"42\"@B's snapshot ids");
  checks.eq(Object.keys(pres.hash).sort(), ['42', 'carol'], "\"42\"@B's snapshot hash keys (strings)");
  for (const node of [A, B, C]) {
    const users = (await (await node.sdk.get({ path: `/channels/${ch}/users` })).json()).users.map((u) => u.id).sort();
    checks.eq(users, [42, 'carol'], `users on ${node.name}`);
  }
  // Its client events carry the cluster's type too.
  const typing = new Inbox('carol client-num');
  sw.channel.bind('client-num', (data, metadata) => typing.push({ data, metadata }));
  ss.channel.trigger('client-num', { x: 1 });
  const ce = await typing.waitFor(() => true, 'client-num from "42"@B on C');
  checks.eq(ce.metadata && ce.metadata.user_id, 42, 'client event metadata.user_id on C');
  const hook = await hooks.wait((e) => e.name === 'member_added' && e.channel === ch && e.user_id === 42, 'member_added webhook for 42');
  checks.eq(typeof hook.user_id, 'number', 'member_added webhook user_id type');
  // A leaves first (B still has the user), then B: one member_removed, still the number (B's entry
  // took the cluster's type when it joined).
  n.pusher.disconnect();
  await pollUntil(async () => (await channelInfo(C, ch)).subscription_count === 2, 'subscription_count 2 after 42@A left');
  s.pusher.disconnect();
  const removed = await sw.events.waitFor((e) => e.event === 'pusher:member_removed', 'member_removed 42 on C');
  checks.eq(removed.data.id, 42, 'member_removed on C (id a number)');
  await hooks.wait((e) => e.name === 'member_removed' && e.channel === ch && e.user_id === 42, 'member_removed webhook for 42 (a number)');
  await barrier(A, ch, [sw.events]);
  checks.eq(sw.events.count((e) => e.event === 'pusher:member_added'), 1, 'member_added events on C');
  checks.eq(sw.events.count((e) => e.event === 'pusher:member_removed'), 1, 'member_removed events on C');
  checks.done();
});

scenario('webhooks', 'channel_occupied / channel_vacated webhooks once per cluster-wide transition', async ({ A, B, hooks }) => {
  const ch = `cl-wh-${RUN}`;
  const p = await A.ctx.connected({ name: 'wh@A' });
  const q = await B.ctx.connected({ name: 'wh@B' });
  await A.ctx.subscribe(p, ch);
  await B.ctx.subscribe(q, ch);
  await hooks.wait((e) => e.name === 'channel_occupied' && e.channel === ch, 'channel_occupied');
  p.pusher.unsubscribe(ch);
  await pollUntil(async () => (await channelInfo(A, ch)).subscription_count === 1, 'one subscriber left');
  q.pusher.unsubscribe(ch);
  await hooks.wait((e) => e.name === 'channel_vacated' && e.channel === ch, 'channel_vacated');
  // A second channel's full cycle, sent after: once it is in, the first one's are complete.
  const ch2 = `cl-wh2-${RUN}`;
  await B.ctx.subscribe(q, ch2);
  q.pusher.unsubscribe(ch2);
  await hooks.wait((e) => e.name === 'channel_vacated' && e.channel === ch2, 'channel_vacated (marker)');
  const checks = new Checks();
  checks.eq(hooks.count((e) => e.name === 'channel_occupied' && e.channel === ch), 1, 'channel_occupied webhooks');
  checks.eq(hooks.count((e) => e.name === 'channel_vacated' && e.channel === ch), 1, 'channel_vacated webhooks');
  checks.done();
});

// A raw connection to QUOTA_APP on `node`: 'ok' (connection_established) or the error code.
async function quotaConnect(node, name) {
  const r = await node.ctx.raw({ key: QUOTA_APP.key, name });
  const f = await r.frames.waitFor((x) => x.frame.event === 'pusher:connection_established' || x.frame.event === 'pusher:error', `${name}: first frame`);
  if (f.frame.event === 'pusher:connection_established') return { outcome: 'ok', r };
  const data = typeof f.frame.data === 'string' ? JSON.parse(f.frame.data) : f.frame.data;
  const closed = await withTimeout(r.closed, WAIT_MS, `${name}: close after the error`);
  return { outcome: data.code, close: closed.code, r };
}

// Until a connection on `node` gets `want` ('ok' or a code): the other nodes' counts arrive
// with their heartbeats. Refused attempts close by themselves; accepted extra ones are closed.
async function quotaUntil(node, want, ms) {
  const deadline = Date.now() + ms;
  let last;
  for (let i = 0; Date.now() < deadline; i++) {
    last = await quotaConnect(node, `quota@${node.name}#${i}`);
    if (last.outcome === want) return last;
    if (last.outcome === 'ok') last.r.ws.terminate();
    await sleep(HEARTBEAT_MS);
  }
  throw new Error(`a connection on ${node.name}: expected ${want}, last ${fmt(last && last.outcome)}`);
}

scenario('script-flush', 'scripts go by SHA1 (EVALSHA); after SCRIPT FLUSH on Redis (NOSCRIPT) the nodes send their text again: presence and counts keep working', async ({ A, B, redis }) => {
  const checks = new Checks();
  const ch = `presence-cl-sf-${RUN}`;
  const a = await A.ctx.connected({ name: 'sf-a@A', presence: { user_id: 'sfa', user_info: {} } });
  const sa = await A.ctx.subscribe(a, ch);
  const stats = async () => (await redisCli(redis.cli, redis.port, ['INFO', 'commandstats'])) || '';
  // A script's first call on a connection sends its text; the next ones (heartbeats) its SHA1.
  await checks.run('scripts are called by SHA1', () => pollUntil(async () => /cmdstat_evalsha:calls=[1-9]/.test(await stats()), 'EVALSHA calls in INFO commandstats'));
  checks.ok((await redisCli(redis.cli, redis.port, ['SCRIPT', 'FLUSH'])) !== null, 'SCRIPT FLUSH');
  // The next heartbeats meet NOSCRIPT (Redis counts the error) and resend the text.
  await checks.run('NOSCRIPT answered after the flush', () => pollUntil(async () => /errorstat_NOSCRIPT:count=[1-9]/.test((await redisCli(redis.cli, redis.port, ['INFO', 'errorstats'])) || ''), 'errorstat_NOSCRIPT'));
  // A's presence join script was loaded before the flush: it goes through NOSCRIPT too.
  const a2 = await A.ctx.connected({ name: 'sf-a2@A', presence: { user_id: 'sfa2', user_info: {} } });
  await A.ctx.subscribe(a2, ch);
  const b = await B.ctx.connected({ name: 'sf-b@B', presence: { user_id: 'sfb', user_info: {} } });
  await B.ctx.subscribe(b, ch);
  for (const id of ['sfa2', 'sfb']) {
    await sa.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === id, `member_added ${id} after SCRIPT FLUSH`);
  }
  checks.eq((await channelInfo(B, ch, 'user_count')).user_count, 3, 'user_count after SCRIPT FLUSH');
  checks.done();
}, 20_000, ['single']);

scenario('quota', `an app's max_connections (${QUOTA}) counts the connections of every node: 4004 on the node that would pass it, a slot freed anywhere is usable everywhere`, async ({ A, B, C }) => {
  const held = [];
  for (const [node, i] of [[A, 1], [B, 2], [C, 3]]) {
    const c = await quotaConnect(node, `quota-held${i}@${node.name}`);
    assertEq(c.outcome, 'ok', `connection ${i} of ${QUOTA} on ${node.name}`);
    held.push(c.r);
  }
  // Within a few heartbeats every node knows the others' counts: a 4th anywhere is refused.
  const refused = await quotaUntil(A, 4004, 10 * HEARTBEAT_MS + WAIT_MS);
  assertEq(refused.close, 4004, 'close code of the refused connection on A');
  const onB = await quotaUntil(B, 4004, 10 * HEARTBEAT_MS + WAIT_MS);
  assertEq(onB.close, 4004, 'close code of the refused connection on B');
  held[2].ws.close(); // C frees its slot: A may take it once C's next heartbeat is counted
  const ok = await quotaUntil(A, 'ok', 10 * HEARTBEAT_MS + WAIT_MS);
  ok.r.ws.close();
  for (const r of held) r.ws.close();
});

// Redis Cluster key slot (CRC16/XMODEM of the key or its {hash tag}, mod 16384).
function keySlot(key) {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const b of Buffer.from(key)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

// Publishes numbered events through `via` until `count` were accepted (200); returns the ids
// accepted and the ones refused (503 while the cluster recovers).
async function publishNumbered(via, ch, tag, count, ms) {
  const accepted = [];
  const refused = [];
  const deadline = Date.now() + ms;
  for (let i = 0; accepted.length < count && Date.now() < deadline; i++) {
    const id = `${tag}-${i}`;
    const body = JSON.stringify({ name: 'numbered', channels: [ch], data: JSON.stringify({ id }) });
    const r = await signedHttp(via.port, { method: 'POST', route: '/events', body, headers: { 'content-type': 'application/json' } });
    if (r.status === 200) accepted.push(id);
    else {
      refused.push([id, r.status, r.headers['retry-after']]);
      await sleep(100);
    }
  }
  return { accepted, refused };
}

// The slot of the bucket that carries (app, channel) on a Redis Cluster, computed the way the
// nodes do (server/redis_slots.hpp make_buckets, RedisAdapter::bucket_of): FNV-1a of
// app id, NUL, channel, mod 16; bucket b's tag is the first {prefix:b<b>.<n>} whose slot falls
// in [b * 1024, (b + 1) * 1024).
function bucketSlot(prefix, appId, channel) {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.concat([Buffer.from(appId), Buffer.from([0]), Buffer.from(channel)])) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  const b = Number(h % 16n);
  for (let n = 0; ; n++) {
    const slot = keySlot(`{${prefix}:b${b}.${n}}`);
    if (slot >= b * 1024 && slot < (b + 1) * 1024) return slot;
  }
}

// A node's metric value (first sample of `name`), or null.
async function metricOf(node, name) {
  const r = await rawHttp(node.server.metricsPort, { path: '/metrics' });
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(r.text);
  return m ? Number(m[1]) : null;
}

scenario('reshard', 'slots move between primaries while the nodes run (the cluster state\'s slot, with its keys; then a channel bucket\'s): every node follows the move (rediscovery, state re-asserted), presence, counts and publishes stay right', async ({ A, B, C, redis, prefix }) => {
  const checks = new Checks();
  const ch = `presence-cl-rs-${RUN}`;
  const pub = `cl-rs-pub-${RUN}`;
  const who = (id) => ({ user_id: id, user_info: {} });
  const a = await A.ctx.connected({ name: 'rs-a@A', presence: who('ann') });
  const b = await B.ctx.connected({ name: 'rs-b@B', presence: who('bob') });
  const sa = await A.ctx.subscribe(a, ch);
  await B.ctx.subscribe(b, ch);
  await sa.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === 'bob', 'member_added bob on A');
  const c = await C.ctx.connected({ name: 'rs-c@C' });
  const sc = await C.ctx.subscribe(c, pub);
  const stateSlot = keySlot(`{${prefix}}`);
  const primaries = [];
  for (const n of redis.nodes) {
    const role = await redis.run(n.port, ['ROLE']);
    if (role && role.startsWith('master')) primaries.push(n.port);
  }
  const from = await redis.primaryOf(stateSlot);
  const to = primaries.find((p) => p !== from);
  // Every node notices a move of a slot it subscribes in (its bus channel goes with it: Redis
  // sends sunsubscribe), rediscovers the cluster and re-asserts its state; commands that reach
  // the old primary before that follow MOVED.
  const outages = async () => Promise.all([A, B, C].map((n) => metricOf(n, 'pushcore_horizontal_adapter_outages_total')));
  const moved = async (before, what) => {
    await pollUntil(async () => (await outages()).every((v, i) => v > before[i]), `every node followed the move of ${what}`);
    for (const n of [A, B, C]) await waitReady(n);
  };
  let before = await outages();
  // A slow migration (1 s between MIGRATING and the keys' move, four heartbeats): the nodes'
  // state scripts meet ASK meanwhile and must wait, not write half a state on the target
  // (which would also make MIGRATE fail with BUSYKEY).
  await redis.migrateSlot(stateSlot, to, { pauseMs: 1000 });
  checks.eq(await redis.primaryOf(stateSlot), to, 'the state slot moved');
  await moved(before, 'the state slot');
  const d = await C.ctx.connected({ name: 'rs-d@C', presence: who('dan') });
  await C.ctx.subscribe(d, ch);
  await sa.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === 'dan', 'member_added dan on A after the move');
  const users = (await (await B.sdk.get({ path: `/channels/${ch}/users` })).json()).users.map((u) => u.id).sort();
  checks.eq(users, ['ann', 'bob', 'dan'], 'presence users after the move (the migrated keys and the new member)');
  // The slot of `pub`'s bucket moves: Redis unsubscribes its subscribers (sunsubscribe), the
  // nodes rediscover the cluster and resubscribe on the new primary.
  const bucket = bucketSlot(prefix, APP.id, pub);
  const bucketFrom = await redis.primaryOf(bucket);
  before = await outages();
  await redis.migrateSlot(bucket, primaries.find((p) => p !== bucketFrom));
  checks.ok((await redis.primaryOf(bucket)) !== bucketFrom, `the bucket slot ${bucket} moved`);
  await moved(before, `the bucket slot ${bucket}`);
  // (Publishes racing the nodes' resubscription may be refused (503) or miss C: pub/sub is at
  // most once; the poll is bounded.)
  await pollUntil(async () => {
    await sdkStatus(A.sdk.trigger(pub, 'after-move', { ok: 1 }));
    await sleep(100);
    return sc.events.count((e) => e.event === 'after-move') > 0;
  }, 'an event through A reaches C after the moves');
  await B.sdk.trigger(ch, 'presence-after', {});
  await sa.events.waitFor((e) => e.event === 'presence-after', 'an event through B on A after the moves');
  checks.eq((await channelInfo(C, ch, 'user_count')).user_count, 3, 'user_count after the moves');
  checks.done();
}, 60_000, ['cluster']);

scenario('failover', 'a Redis Cluster primary SIGKILLed (the one holding the cluster state, then a channel shard): its replica is promoted, publishes resume within a bounded time, nothing is delivered twice, state re-asserted', async ({ A, B, C, redis, prefix }) => {
  const checks = new Checks();
  const ch = `private-cl-fo-${RUN}`;
  const a = await A.ctx.connected({ name: 'a@A' });
  const b = await B.ctx.connected({ name: 'b@B' });
  const c = await C.ctx.connected({ name: 'c@C' });
  const subs = [await A.ctx.subscribe(a, ch), await B.ctx.subscribe(b, ch), await C.ctx.subscribe(c, ch)];
  const accepted = [];
  for (const [round, slot] of [['state', keySlot(`{${prefix}}`)], ['any', null]]) {
    // First the primary of the cluster state's slot, then the primary of another slot range.
    const victimSlot = slot ?? (keySlot(`{${prefix}}`) + 8192) % 16384;
    const victim = await redis.primaryOf(victimSlot);
    const before = await publishNumbered(A, ch, `${round}-before`, 3, WAIT_MS);
    accepted.push(...before.accepted);
    // Delivered everywhere before the kill (Redis pub/sub is at most once: a message in flight
    // to a primary that dies is lost, as on one Redis).
    const last = accepted[accepted.length - 1];
    await Promise.all(subs.map((sub, i) => sub.events.waitFor((e) => e.event === 'numbered' && e.data.id === last, `${last} on ${'ABC'[i]}`)));
    const t0 = Date.now();
    await redis.kill(victim);
    // Publishes through B until one is accepted again: bounded by the cluster's failover
    // (cluster-node-timeout) plus the node's reconnect backoff.
    const during = await publishNumbered(B, ch, `${round}-during`, 1, 20_000);
    const took = Date.now() - t0;
    accepted.push(...during.accepted);
    checks.eq(during.accepted.length, 1, `${round}: a publish accepted again after the failover`);
    checks.ok(during.refused.every(([, status, retry]) => status === 503 && retry === '1'), `${round}: refused publishes meanwhile are 503 + Retry-After: 1 (${fmt(during.refused.slice(0, 3))})`);
    console.log(`# ${round}: primary :${victim} killed, publishes accepted again after ${took} ms (${during.refused.length} refused meanwhile)`);
    const after = await publishNumbered(C, ch, `${round}-after`, 3, WAIT_MS);
    accepted.push(...after.accepted);
    // The old primary comes back as a replica of the promoted one.
    const n = redis.nodes.find((x) => x.port === victim);
    await redis.startNode(n);
    await redis.waitOk();
  }
  // Every accepted event exactly once on every node, in order; refused ones nowhere.
  for (const [i, sub] of subs.entries()) {
    const name = ['A', 'B', 'C'][i];
    await sub.events.waitFor((e) => e.event === 'numbered' && e.data.id === accepted[accepted.length - 1], `last accepted event on ${name}`);
    const got = sub.events.filter((e) => e.event === 'numbered').map((e) => e.data.id);
    // Once each; in order per publishing node (A: before, B: during, C: after). Across nodes
    // there is no order with recovery off: each node delivers its own publishes at once.
    checks.eq([...got].sort(), [...accepted].sort(), `accepted events on ${name}, once each`);
    for (const via of ['before', 'during', 'after']) {
      const mine = (list) => list.filter((id) => id.includes(`-${via}-`));
      checks.eq(mine(got), mine(accepted), `events published through one node (${via}) on ${name}, in order`);
    }
  }
  // The cluster state was re-asserted by every node (counts are cluster-wide again).
  await checks.run('subscription_count 3 after the failovers', () => pollUntil(async () => (await channelInfo(A, ch)).subscription_count === 3, 'subscription_count 3'));
  checks.done();
}, 90_000, ['cluster']);

scenario('node-death', 'a SIGKILLed node: its users get member_removed on the others, counts drop, its share of an app quota is released', async ({ A, B, C, hooks }) => {
  const ch = `presence-cl-kill-${RUN}`;
  const who = (id) => ({ user_id: id, user_info: {} });
  const w = await A.ctx.connected({ name: 'walt@A', presence: who('walt') });
  const sw = await A.ctx.subscribe(w, ch);
  const k = await C.ctx.connected({ name: 'kate@C', presence: who('kate') });
  await C.ctx.subscribe(k, ch);
  const num = await C.ctx.connected({ name: '7@C', presence: who(7) });
  await C.ctx.subscribe(num, ch);
  const m = await B.ctx.connected({ name: 'mia@B', presence: who('mia') });
  await B.ctx.subscribe(m, ch);
  await sw.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === 'kate', 'member_added kate');
  // C holds the whole quota of QUOTA_APP: A refuses more, until C's death releases it.
  // (Until the other nodes' next heartbeats, C may still count the quota scenario's closed ones.)
  for (let i = 1; i <= QUOTA; i++) await quotaUntil(C, 'ok', 10 * HEARTBEAT_MS + WAIT_MS);
  await quotaUntil(A, 4004, 10 * HEARTBEAT_MS + WAIT_MS);
  C.server.proc.kill('SIGKILL');
  await C.server.exited;
  const t0 = Date.now();
  await sw.events.waitFor((e) => e.event === 'pusher:member_removed' && e.data.id === 'kate', 'member_removed kate after SIGKILL', NODE_TIMEOUT_MS + 4 * HEARTBEAT_MS + WAIT_MS);
  const took = Date.now() - t0;
  // The reaper announces the numeric user as the number it joined as (protocol §5.1).
  await sw.events.waitFor((e) => e.event === 'pusher:member_removed' && e.data.id === 7, 'member_removed 7 (a number) after SIGKILL');
  await hooks.wait((e) => e.name === 'member_removed' && e.channel === ch && e.user_id === 7, 'member_removed webhook for 7 (a number)');
  const checks = new Checks();
  checks.eq(await channelInfo(B, ch, 'user_count,subscription_count'), { occupied: true, subscription_count: 2, user_count: 2 }, 'channel info on B after the kill');
  await hooks.wait((e) => e.name === 'member_removed' && e.channel === ch && e.user_id === 'kate', 'member_removed webhook for kate');
  await barrier(B, ch, [sw.events]);
  checks.eq(sw.events.count((e) => e.event === 'pusher:member_removed'), 2, 'member_removed events on A (kate, 7)');
  console.log(`# member_removed for the killed node's user after ${took} ms (node_timeout ${NODE_TIMEOUT_MS} ms)`);
  const freed = await quotaUntil(A, 'ok', NODE_TIMEOUT_MS + 10 * HEARTBEAT_MS + WAIT_MS);
  freed.r.ws.close();
  console.log(`# the dead node's ${QUOTA} quota connections released after ${Date.now() - t0} ms`);
  checks.done();
});

// Redis down and back: one redis-server, or the whole Redis Cluster (restarted empty with the
// same topology: its nodes.conf files stay).
const redisDown = (redis) => (redis instanceof RedisCluster ? redis.killAll() : redis.kill());
async function redisUp(redis) {
  if (!(redis instanceof RedisCluster)) return redis.start();
  await redis.startAll();
  await redis.waitOk();
}

scenario('redis-restart', 'Redis (or the whole Redis Cluster) down: local clients keep working, API and /up answer 503, /live 200; after restart the cluster and /up work again, state re-asserted', async ({ A, B, redis }) => {
  const ch = `private-cl-rr-${RUN}`;
  const pch = `presence-cl-rr-${RUN}`;
  const a = await A.ctx.connected({ name: 'a@A', presence: { user_id: 'ann', user_info: {} } });
  const a2 = await A.ctx.connected({ name: 'a2@A' });
  const b = await B.ctx.connected({ name: 'b@B' });
  const [sa, sa2, sb] = [await A.ctx.subscribe(a, ch), await A.ctx.subscribe(a2, ch), await B.ctx.subscribe(b, ch)];
  await A.ctx.subscribe(a, pch);
  const checks = new Checks();
  checks.eq(await health(A, '/up'), [200, 'OK', 'OK'], '/up before the outage');
  await redisDown(redis);
  // Readiness flips to 503 once the node noticed (bounded poll); liveness stays 200.
  await checks.run('/up 503 while Redis is down', () => pollUntil(async () => (await health(A, '/up'))[0] === 503, '/up 503 on A'));
  checks.eq(await health(A, '/up'), [503, 'ERROR', 'ERROR'], '/up during the outage');
  checks.eq(await health(B, `/up/${APP.id}`), [503, 'ERROR', 'ERROR'], `/up/${APP.id} on B during the outage`);
  checks.eq((await health(A, '/live'))[0], 200, '/live during the outage');
  // The API refuses (instead of delivering to this node only) with a retry hint.
  const refused = await pollUntil(async () => {
    const r = await sdkStatus(A.sdk.trigger(ch, 'during-outage', {}));
    return r.status === 503 ? r : null;
  }, '503 from the API while Redis is down');
  checks.ok(/cluster_unavailable/.test(refused.body), `503 body names the cause: ${fmt(refused.body)}`);
  const raw = await A.ctx.rawConnected({ name: 'probe@A' });
  const { signedHttp } = await import('./harness.mjs');
  const rh = await signedHttp(A.port, { method: 'GET', route: '/channels' });
  checks.eq(rh.status, 503, 'GET /channels status during the outage');
  checks.eq(rh.headers['retry-after'], '1', 'Retry-After header');
  // Local clients keep working: client events between two sockets of node A.
  sa.channel.trigger('client-local', { ok: true });
  await sa2.events.waitFor((e) => e.event === 'client-local', 'client event between local clients during the outage');
  raw.send({ event: 'pusher:ping', data: {} });
  await raw.frames.waitFor((f) => f.frame.event === 'pusher:pong', 'pong during the outage');
  // Restart: nodes reconnect (backoff), resubscribe and re-assert their state.
  await redisUp(redis);
  await waitReady(A);
  await waitReady(B);
  await checks.run('/up 200 after the restart', () => pollUntil(async () => (await health(A, '/up'))[0] === 200, '/up 200 on A'));
  checks.eq(await health(B, `/up/${APP.id}`), [200, 'OK', 'OK'], `/up/${APP.id} on B after the restart`);
  await A.sdk.trigger(ch, 'after-restart', { n: 2 });
  const ev = await sb.events.waitFor((e) => e.event === 'after-restart', 'after-restart on B');
  checks.eq(ev.data, { n: 2 }, 'event through A after the restart, on B');
  // Redis lost everything; A re-asserted its subscriptions and presence members.
  checks.eq(await channelInfo(B, ch), { occupied: true, subscription_count: 3 }, 'subscription_count on B after the restart');
  const users = (await (await B.sdk.get({ path: `/channels/${pch}/users` })).json()).users.map((u) => u.id);
  checks.eq(users, ['ann'], 'presence users on B after the restart');
  const metrics = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: A.server.metricsPort, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  const outages = /pushcore_horizontal_adapter_outages_total\{[^}]*\} (\d+)/.exec(metrics);
  checks.ok(outages && Number(outages[1]) >= 1, `outage counted in metrics (${outages && outages[1]})`);
  checks.ok(/sockudo_horizontal_adapter_sent_requests\{[^}]*\} [1-9]/.test(metrics), 'sent_requests metric');
  checks.done();
}, 60_000);

// ---------------------------------------------------------------- runner

async function main() {
  const onCluster = args.topology === 'cluster';
  const redis = onCluster
    ? new RedisCluster(args.redis, `${tmpdir()}/pushcore-redis-cluster-${RUN}`, { primaries: 3, replicas: 1 })
    : new Redis(args.redis, await freePort());
  const hooks = new HookReceiver();
  let failed = 0;
  const all = scenarios.filter((s) => s.topologies.includes(args.topology) && (!args.only || args.only.includes(s.name)));
  console.log(`1..${all.length}`);
  try {
    await redis.start();
    console.log(onCluster ? `# Redis Cluster: 3 primaries + 3 replicas on ${redis.nodes.map((n) => n.port).join(', ')}` : `# redis-server on 127.0.0.1:${redis.port}`);
    await hooks.start();
    const prefix = `pc-${RUN}`;
    const cfg = nodeConfig(onCluster ? redis : redis.port, hooks.port, prefix);
    const [A, B, C] = [await startNode('A', cfg), await startNode('B', cfg), await startNode('C', cfg)];
    for (const n of [A, B, C]) await waitReady(n);
    const env = { A, B, C, redis, prefix, hooks, hookPort: hooks.port, deadPort: await freePort() };
    let i = 0;
    for (const s of all) {
      i++;
      try {
        await withTimeout(s.fn(env), s.timeoutMs, `scenario ${s.name}`);
        console.log(`ok ${i} - ${s.name}: ${s.title}`);
      } catch (e) {
        failed++;
        console.log(`not ok ${i} - ${s.name}: ${s.title}\n  # ${String(e.message).split('\n').join('\n  # ')}`);
        for (const n of Object.values(nodes)) {
          console.log(`  # --- node ${n.name} stderr (tail) ---`);
          for (const line of n.server.stderrTail.slice(-25)) console.log(`  #   ${line}`);
        }
      }
      for (const n of Object.values(nodes)) await n.ctx.close();
    }
  } catch (e) {
    failed++;
    console.log(`not ok - setup: ${e.message}`);
  } finally {
    // SIGTERM: every node still up must exit by itself (the harness SIGKILLs after 5 s), with 0.
    const alive = Object.values(nodes).filter((n) => n.server.running);
    await Promise.all(alive.map((n) => n.server.stop().catch(() => {})));
    for (const n of alive) {
      const { code, signal } = await n.server.exited;
      if (code !== 0) {
        failed++;
        console.log(`not ok - node ${n.name} did not shut down cleanly on SIGTERM (code ${code}, signal ${signal})`);
        for (const line of n.server.stderrTail.slice(-10)) console.log(`  #   ${line}`);
      }
    }
    if (onCluster) await redis.killAll();
    else await redis.kill();
    hooks.stop();
  }
  console.log(failed ? `# ${failed} failed` : '# all passed');
  process.exit(failed ? 1 : 0);
}

process.on('unhandledRejection', (e) => console.log(`# (late rejection ignored: ${e && e.message ? e.message : fmt(e)})`));
main();
