#!/usr/bin/env node
// Protocol V2 across a cluster (docs/PROTOCOL_V2.md, docs/CLUSTER.md): pushcore nodes with
// `adapter.driver = "redis"` and `connection_recovery` on, on one redis-server this script starts
// itself (127.0.0.1, a free port, no persistence), driven by Sockudo's own client
// (@sockudo/client 2.2.0, `protocolVersion: 2`), raw WebSockets (to read the frames' identity
// fields) and pusher-js (protocol 7) with the `pusher` SDK publishing through any node.
//
//   node sockudo_v2_cluster.mjs --server /path/to/pushcore [--redis /usr/bin/redis-server] [--only a,b]
//
// What must hold cluster-wide: one sequence per channel (the same message_id / stream_id / serial
// on every node, serials consecutive whichever node took the publish), recovery of a client that
// reconnects to another node (also one started after the messages: its mirror is empty and the
// history comes from Redis), rewind on such a late node, position_expired past the buffer,
// idempotency keys shared by the nodes, and client events numbered in the same stream as API
// events (echoed to their V2 sender); protocol 7 clients see none of it. The last scenario
// restarts redis-server (SIGKILL, then empty on the same port): 503 cluster_unavailable meanwhile,
// then resume_failed stream_reset for a client holding a position in the lost stream (it must stay
// last: the restart is for everyone). Nodes A and B run for the whole suite; a "late" node is started inside its scenario and stopped after it. Recovery
// scenarios cut the client's TCP connection with a proxy in this process and point the proxy at
// another node before letting the reconnect through. One line per scenario (ok / FAIL, with every
// failed check below it); exit code 1 when any fails.


import WebSocket from 'ws';

import { APP, Checks, Ctx, Inbox, RUN, appConfig, fmt, makeSdk, pollUntil, rawHttp, sdkStatus, serverConfig, ServerProcess, signedHttp, sleep, withTimeout } from './harness.mjs';
import { events, sockudoClients } from './sockudo_helpers.mjs';
import { Proxy } from '../common/proxy.mjs';
import { tmpdir } from 'node:os';

import { freePort, Redis, RedisCluster } from '../common/redis.mjs';

const HEARTBEAT_MS = 250;
const NODE_TIMEOUT_MS = 3000;
const MAX_BUFFER = 50; // connection_recovery.max_buffer_size of every node
const SCENARIO_TIMEOUT_MS = 20_000;
const RESUME_WAIT_MS = 8_000;

// ---------------------------------------------------------------- args

const args = { only: null, redis: 'redis-server', topology: 'single' };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--server') args.server = process.argv[++i];
  else if (a === '--redis') args.redis = process.argv[++i];
  else if (a === '--only') args.only = process.argv[++i].split(',');
  else if (a === '--topology') args.topology = process.argv[++i];
  else {
    console.error('usage: node sockudo_v2_cluster.mjs --server PATH [--redis PATH] [--topology single|cluster] [--only a,b]');
    process.exit(2);
  }
}
if (!args.server) {
  console.error('--server is required');
  process.exit(2);
}

// ---------------------------------------------------------------- nodes

let nodeConfig; // set in main (needs the redis port)

// `redis`: a port (one redis-server) or the seeds of a Redis Cluster (driver redis-cluster).
function makeNodeConfig(redis, prefix) {
  const timing = { heartbeat_interval_ms: HEARTBEAT_MS, node_timeout_ms: NODE_TIMEOUT_MS };
  return serverConfig({
    apps: [appConfig({ features: { enable_user_authentication: false } })],
    adapter: typeof redis === 'number'
      ? { driver: 'redis', redis: { url: `redis://127.0.0.1:${redis}/0`, prefix, request_timeout_ms: 2000, ...timing } }
      : { driver: 'redis-cluster', cluster: { nodes: redis, prefix, request_timeout_ms: 2000 }, redis: timing },
    connection_recovery: { enabled: true, buffer_ttl_seconds: 60, max_buffer_size: MAX_BUFFER },
    // idempotency: on by default (ttl 120 s)
  });
}

const nodes = new Map(); // name -> { name, server, port, sdk }

// Starts a node and waits until it answers the API (connected to Redis, state synced).
async function startNode(name) {
  const server = new ServerProcess(args.server, nodeConfig, `node ${name}`);
  const node = { name, server, port: null, sdk: null };
  nodes.set(name, node);
  node.port = await server.start();
  node.sdk = makeSdk(node.port);
  await pollUntil(async () => (await sdkStatus(node.sdk.get({ path: '/channels' }))).status === 200, `node ${name} connected to Redis`, 10_000, 50);
  console.log(`# node ${name}: pushcore on 127.0.0.1:${node.port}`);
  return node;
}

// ---------------------------------------------------------------- clients (closed by the runner)

const open = { clients: new Set(), sockets: new Set(), proxies: new Set(), ctxs: new Set() };

function closeAll() {
  for (const c of open.clients) {
    try {
      c.disconnect();
    } catch {}
  }
  for (const ws of open.sockets) ws.terminate();
  for (const p of open.proxies) p.close();
  for (const ctx of open.ctxs) ctx.close();
  for (const set of Object.values(open)) set.clear();
}

const V2 = sockudoClients(2);

// A V2 @sockudo/client (connectionRecovery on) through `port`; `sdk` signs private channels.
function connect(port, sdk) {
  const c = V2.connect(port, sdk, { recovery: true });
  open.clients.add(c);
  return c;
}
const { connected, subscribe } = V2;

async function proxyTo(node) {
  const proxy = new Proxy(node.port);
  open.proxies.add(proxy);
  return { proxy, via: await proxy.listen() };
}

// A frame's data, parsed when it is a JSON string.
function dataOf(f) {
  if (typeof f.data !== 'string') return f.data;
  try {
    return JSON.parse(f.data);
  } catch {
    return f.data;
  }
}

// One message's identity on the wire, for comparing across nodes.
const ident = (f) => `${f.stream_id}#${f.serial}/${f.message_id}`;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

// A raw WebSocket on `node` speaking `protocol` (2 or 7): `frames` holds every frame parsed,
// `texts` the bytes as received. subscribe() signs private channels with the node's SDK.
async function rawSocket(node, name, protocol = 2) {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/app/${APP.key}?protocol=${protocol}&client=js&version=2.2.0`);
  open.sockets.add(ws);
  const frames = new Inbox(`${name} frames`);
  const texts = [];
  ws.on('message', (m) => {
    const text = String(m);
    texts.push(text);
    try {
      frames.push(JSON.parse(text));
    } catch {
      frames.push({ unparseable: text });
    }
  });
  ws.on('error', () => {});
  const est = await frames.waitFor((f) => /connection_established$/.test(f.event || ''), `${name} connection_established`);
  const socketId = dataOf(est).socket_id;
  const prefix = protocol === 2 ? 'sockudo:' : 'pusher:';
  return {
    name,
    ws,
    frames,
    texts,
    socketId,
    async subscribe(channel) {
      const data = { channel };
      if (channel.startsWith('private-')) Object.assign(data, node.sdk.authorizeChannel(socketId, channel));
      ws.send(JSON.stringify({ event: `${prefix}subscribe`, data }));
      return frames.waitFor((f) => /subscription_succeeded$/.test(f.event || '') && f.channel === channel, `${name} subscription_succeeded(${channel})`);
    },
    // The frames of user event `event` on `channel`, in arrival order.
    of(event, channel) {
      return frames.filter((f) => f.event === event && f.channel === channel);
    },
  };
}

// A pusher-js (protocol 7) context on `node` (harness Ctx: clients, subscriptions, raw sockets).
function pusherJs(node) {
  const ctx = new Ctx({ port: node.port, sdk: node.sdk, mode: 'server' });
  open.ctxs.add(ctx);
  return ctx;
}

// ---------------------------------------------------------------- scenarios

const scenarios = [];
const scenario = (name, title, fn, timeoutMs = SCENARIO_TIMEOUT_MS) => scenarios.push({ name, title, fn, timeoutMs });

scenario('identity', 'one message has the same message_id, stream_id and serial on A and B; serials consecutive whichever node took the publish', async ({ A, B }) => {
  const ch = `cl-ids-${RUN}`;
  const a = await rawSocket(A, 'raw@A');
  const b = await rawSocket(B, 'raw@B');
  const okA = await a.subscribe(ch);
  const okB = await b.subscribe(ch);
  const checks = new Checks();
  checks.ok(typeof okA.stream_id === 'string', `stream_id in subscription_succeeded on A: ${fmt(okA)}`);
  checks.eq(okB.stream_id, okA.stream_id, 'subscription_succeeded stream_id on B (vs A: one stream per channel in the cluster)');
  checks.eq([okA.serial, okB.serial], [0, 0], 'subscription_succeeded serial on A, B (nothing published yet)');
  const N = 6;
  for (let i = 1; i <= N; i++) await (i % 2 ? A : B).sdk.trigger(ch, 'e', { i }); // A, B, A, B, ...
  // A marker through each node after them: once both sockets have both, every copy has arrived.
  await A.sdk.trigger(ch, 'end', {});
  await B.sdk.trigger(ch, 'end', {});
  const seen = {};
  for (const s of [a, b]) {
    await checks.run(`markers on ${s.name}`, () => pollUntil(() => s.of('end', ch).length >= 2, `two end markers on ${s.name}`));
    const got = s.of('e', ch);
    seen[s.name] = got.map(ident);
    checks.eq(got.map((f) => dataOf(f).i), range(1, N), `events on ${s.name} (each once, in publish order)`);
    checks.eq(got.map((f) => f.serial), range(1, N), `serials on ${s.name}`);
    checks.eq([...new Set(got.map((f) => f.stream_id))], [okA.stream_id], `stream_id of the events on ${s.name} (the channel's stream from subscription_succeeded on A)`);
    checks.eq(new Set(got.map((f) => f.message_id)).size, N, `distinct message_ids on ${s.name}`);
  }
  checks.eq(seen['raw@B'], seen['raw@A'], 'stream_id#serial/message_id of each message on B (vs A)');
  checks.done();
});

// A client on `from` (through a proxy) subscribed to a public and a private channel loses its
// connection; 5 events per channel are published (alternating over `publishers`); then the proxy
// points at `await target()` and the client reconnects there. Every missed event must arrive once,
// in order, before the live one, and resume_success must list both channels with 5 replayed.
async function recoverOnto({ from, publishers, target, tag }) {
  const { proxy, via } = await proxyTo(from);
  const client = connect(via, from.sdk);
  await connected(client);
  const pub = await subscribe(client, `cl-rec-${tag}-${RUN}`);
  const priv = await subscribe(client, `private-cl-rec-${tag}-${RUN}`);
  const names = [pub.name, priv.name];
  await from.sdk.trigger(names, 'tick', { tag: 'before', i: 0 });
  for (const ch of [pub, priv]) await ch.inbox.next((m) => m.event === 'tick', 5_000);
  proxy.cut();
  await pollUntil(() => client.connection.state !== 'connected', 'client noticed the drop');
  for (let i = 1; i <= 5; i++) await publishers[(i - 1) % publishers.length].sdk.trigger(names, 'tick', { tag: 'missed', i });
  const to = await target();
  proxy.retarget(to.port);
  proxy.release();
  await connected(client);
  const checks = new Checks();
  const resumed = await client.global.next((m) => m.event === 'sockudo:resume_success', RESUME_WAIT_MS);
  await from.sdk.trigger(names, 'tick', { tag: 'live', i: 6 });
  for (const ch of [pub, priv]) {
    await checks.run(`live event on ${ch.name}`, () => ch.inbox.next((m) => m.event === 'tick' && m.data.tag === 'live', 5_000));
  }
  await sleep(200); // a late duplicate would show by now
  // Sequences compared as one string each: short failure lines.
  const expected = 'before0 missed1 missed2 missed3 missed4 missed5 live6';
  for (const ch of [pub, priv]) {
    checks.eq(events(ch.inbox, 'tick').map((d) => `${d.tag}${d.i}`).join(' '), expected, `${ch.name} events (client, after its message_id dedup)`);
    const wire = client.frames.filter((f) => f.event === 'tick' && f.channel === ch.name);
    checks.eq(wire.map((f) => `${dataOf(f).tag}${dataOf(f).i}`).join(' '), expected, `${ch.name} frames on the wire (duplicates included)`);
    checks.eq(wire.map((f) => f.serial).join(' '), range(1, 7).join(' '), `${ch.name} serials on the wire`);
    checks.eq(new Set(wire.map((f) => f.stream_id)).size, 1, `${ch.name}: one stream_id on the wire (${fmt([...new Set(wire.map((f) => f.stream_id))])})`);
  }
  const failures = client.global.filter((m) => m.event === 'sockudo:resume_failed').map((m) => [m.data.channel, m.data.code, m.data.reason]);
  checks.eq(failures, [], 'resume_failed frames');
  const rec = (resumed.data.recovered || []).map((r) => [r.channel, r.replayed]).sort();
  checks.eq(rec, [[pub.name, 5], [priv.name, 5]].sort(), 'resume_success recovered [channel, replayed]');
  checks.eq((resumed.data.failed || []).map((f) => [f.channel, f.code]), [], 'resume_success failed');
  checks.done();
}

scenario('recovery-other-node', 'a client cut from A reconnects to B: 5 missed events per channel (published via A and B) arrive once, in order, then live; resume_success 5+5', async ({ A, B }) => {
  await recoverOnto({ from: A, publishers: [A, B], target: async () => B, tag: 'ab' });
});

scenario('recovery-late-node', 'a client cut from A resumes on C, started after the events were published (empty mirror): recovered from Redis', async ({ A, B }) => {
  await recoverOnto({ from: A, publishers: [B, A], target: () => startNode('C'), tag: 'late' });
});

scenario('rewind-late-node', 'rewind: 3 on a node started after the messages: the last 3 in order (same identities as on A), rewind_complete historical_count 3, then live', async ({ A, B }) => {
  const ch = `cl-rewind-${RUN}`;
  const obs = await rawSocket(A, 'observer@A');
  await obs.subscribe(ch);
  for (let i = 1; i <= 5; i++) await (i % 2 ? A : B).sdk.trigger(ch, 'hist', { i });
  await pollUntil(() => obs.of('hist', ch).length >= 5, 'five hist events on the observer at A');
  const D = await startNode('D');
  const client = connect(D.port, D.sdk);
  await connected(client);
  const chan = await subscribe(client, ch, { rewind: 3 });
  const done = await chan.inbox.next((m) => m.event === 'sockudo:rewind_complete', 5_000);
  const checks = new Checks();
  checks.eq(events(chan.inbox, 'hist').map((d) => d.i), [3, 4, 5], 'history delivered on the late node D');
  checks.eq(done.data.historical_count, 3, `rewind_complete historical_count (data ${fmt(done.data)})`);
  const wire = client.frames.filter((f) => f.event === 'hist' && f.channel === ch);
  checks.eq(wire.map(ident), obs.of('hist', ch).slice(-3).map(ident), 'stream_id#serial/message_id of the history on D (vs live on A)');
  await A.sdk.trigger(ch, 'hist', { i: 6 });
  await checks.run('live event after the rewind', async () => {
    await chan.inbox.next((m) => m.event === 'hist' && m.data.i === 6, 5_000);
    const live = client.frames.filter((f) => f.event === 'hist' && f.channel === ch).pop();
    checks.eq(live.serial, 6, 'serial of the live event on D');
  });
  checks.done();
});

scenario('expired-other-node', `${MAX_BUFFER + 10} missed (max_buffer_size ${MAX_BUFFER}), resumed on B: resume_failed position_expired, the channel stays subscribed and gets live events`, async ({ A, B }) => {
  const { proxy, via } = await proxyTo(A);
  const client = connect(via, A.sdk);
  await connected(client);
  const ch = await subscribe(client, `cl-expire-${RUN}`);
  await A.sdk.trigger(ch.name, 'tick', { tag: 'before', i: 0 });
  await ch.inbox.next((m) => m.event === 'tick', 5_000);
  proxy.cut();
  await pollUntil(() => client.connection.state !== 'connected', 'client noticed the drop');
  proxy.retarget(B.port);
  const batches = (MAX_BUFFER + 10) / 10;
  for (let k = 0; k < batches; k++) {
    const items = Array.from({ length: 10 }, (_, j) => ({ channel: ch.name, name: 'tick', data: JSON.stringify({ tag: 'lost', i: k * 10 + j }) }));
    await (k % 2 ? B : A).sdk.triggerBatch(items);
  }
  proxy.release();
  await connected(client);
  const failed = await client.global.next((m) => m.event === 'sockudo:resume_failed', RESUME_WAIT_MS);
  const checks = new Checks();
  checks.eq([failed.data.channel, failed.data.code], [ch.name, 'position_expired'], `resume_failed channel, code (data ${fmt(failed.data)})`);
  checks.eq(failed.data.newest_available_serial, MAX_BUFFER + 11, 'newest_available_serial (1 before + 60 missed)');
  await checks.run('resume_success after the failure', async () => {
    const success = await client.global.next((m) => m.event === 'sockudo:resume_success', 5_000);
    checks.eq((success.data.failed || []).map((f) => f.channel), [ch.name], 'resume_success lists the channel as failed');
    checks.eq(success.data.recovered || [], [], 'resume_success recovered');
  });
  checks.ok(client.channel(ch.name) && client.channel(ch.name).subscribed, 'still subscribed after resume_failed');
  await A.sdk.trigger(ch.name, 'tick', { tag: 'live', i: 1 });
  await checks.run('live event after resume_failed', () => ch.inbox.next((m) => m.event === 'tick' && m.data.tag === 'live', 5_000));
  checks.eq(events(ch.inbox, 'tick').filter((d) => d.tag === 'lost').length, 0, 'lost events replayed anyway');
  checks.done();
});

scenario('idempotency-across-nodes', 'one publish retried on A, B, A with its key (header, then body field): three 200s with one body, delivered once on A and once on B', async ({ A, B }) => {
  const ch = `cl-idem-${RUN}`;
  const subs = [];
  for (const n of [A, B]) {
    const c = connect(n.port, n.sdk);
    await connected(c);
    subs.push({ node: n.name, client: c, channel: await subscribe(c, ch) });
  }
  const checks = new Checks();
  const post = (node, body, headers = {}) => signedHttp(node.port, { method: 'POST', route: '/events', body: JSON.stringify(body), headers });
  // The header form: X-Idempotency-Key.
  const hKey = `hdr-${RUN}`;
  const hBody = { name: 'pay', channels: [ch], data: JSON.stringify({ amount: 1 }) };
  const hAnswers = [];
  for (const n of [A, B, A]) {
    const r = await post(n, hBody, { 'X-Idempotency-Key': hKey });
    hAnswers.push([n.name, r.status, r.text]);
  }
  checks.eq(hAnswers.map(([, s]) => s), [200, 200, 200], `statuses with X-Idempotency-Key via A, B, A (${fmt(hAnswers)})`);
  checks.eq(new Set(hAnswers.map(([, , t]) => t)).size, 1, `one body for the three answers (${fmt(hAnswers.map(([, , t]) => t))})`);
  // The body form: idempotency_key, via B, A, B.
  const bBody = { name: 'pay', channels: [ch], data: JSON.stringify({ amount: 2 }), idempotency_key: `body-${RUN}` };
  const bAnswers = [];
  for (const n of [B, A, B]) {
    const r = await post(n, bBody);
    bAnswers.push([n.name, r.status, r.text]);
  }
  checks.eq(bAnswers.map(([, s]) => s), [200, 200, 200], `statuses with idempotency_key via B, A, B (${fmt(bAnswers)})`);
  checks.eq(new Set(bAnswers.map(([, , t]) => t)).size, 1, `one body for the three answers (${fmt(bAnswers.map(([, , t]) => t))})`);
  // A marker through each node after the retries: once both subscribers have both, every
  // (wrongly) republished copy would have arrived too.
  await A.sdk.trigger(ch, 'end', {});
  await B.sdk.trigger(ch, 'end', {});
  for (const s of subs) {
    await checks.run(`markers on ${s.node}`, () => pollUntil(() => events(s.channel.inbox, 'end').length >= 2, `two end markers on ${s.node}`));
  }
  await sleep(100);
  for (const s of subs) {
    const wire = s.client.frames.filter((f) => f.event === 'pay' && f.channel === ch).map((f) => dataOf(f).amount);
    checks.eq(wire, [1, 2], `pay events on the subscriber at ${s.node} (frames on the wire: each once)`);
  }
  checks.done();
});

scenario('v1-clients', 'protocol 7 clients (pusher-js, raw) on A and B with recovery on: each event once, in order, no serial/stream_id/message_id on the wire', async ({ A, B }) => {
  const pub = `cl-v1-${RUN}`;
  const priv = `private-cl-v1-${RUN}`;
  const ctxA = pusherJs(A);
  const ctxB = pusherJs(B);
  const pa = await ctxA.connected({ name: 'pusher-js@A' });
  const pb = await ctxB.connected({ name: 'pusher-js@B' });
  const subs = {
    'pusher-js@A pub': await ctxA.subscribe(pa, pub),
    'pusher-js@A priv': await ctxA.subscribe(pa, priv),
    'pusher-js@B pub': await ctxB.subscribe(pb, pub),
    'pusher-js@B priv': await ctxB.subscribe(pb, priv),
  };
  const raws = [await rawSocket(A, 'v1-raw@A', 7), await rawSocket(B, 'v1-raw@B', 7)];
  for (const r of raws) {
    await r.subscribe(pub);
    await r.subscribe(priv);
  }
  // A V2 socket on the same channel: recovery is on (its frames have serials), V1 must not show it.
  const v2 = await rawSocket(B, 'v2-raw@B', 2);
  await v2.subscribe(pub);
  for (let i = 1; i <= 4; i++) await (i % 2 ? A : B).sdk.trigger([pub, priv], 'v1', { i });
  subs['pusher-js@A priv'].channel.trigger('client-v1', { from: 'A' });
  await subs['pusher-js@B priv'].events.waitFor((e) => e.event === 'client-v1', 'client-v1 on pusher-js@B');
  await A.sdk.trigger([pub, priv], 'end', {});
  await B.sdk.trigger([pub, priv], 'end', {});
  const checks = new Checks();
  for (const [label, s] of Object.entries(subs)) {
    await checks.run(`markers on ${label}`, () => pollUntil(() => events(s.events, 'end').length >= 2, `two end markers on ${label}`));
    checks.eq(events(s.events, 'v1').map((d) => d.i), [1, 2, 3, 4], `v1 events on ${label}`);
  }
  checks.eq(events(subs['pusher-js@B priv'].events, 'client-v1').length, 1, 'client event on pusher-js@B');
  checks.eq(events(subs['pusher-js@A priv'].events, 'client-v1').length, 0, 'client event echoed to its V1 sender');
  for (const r of raws) {
    for (const ch of [pub, priv]) {
      await checks.run(`markers on ${r.name} ${ch}`, () => pollUntil(() => r.of('end', ch).length >= 2, `two end markers on ${r.name} ${ch}`));
      checks.eq(r.of('v1', ch).map((f) => dataOf(f).i), [1, 2, 3, 4], `v1 frames on ${r.name} ${ch}`);
    }
    const withIdentity = r.texts.filter((t) => /"(serial|stream_id|message_id)"/.test(t));
    checks.eq(withIdentity, [], `frames with identity fields on ${r.name}`);
    const v2Prefixed = r.frames.filter((f) => /^sockudo/.test(f.event || '')).map((f) => f.event);
    checks.eq(v2Prefixed, [], `sockudo: prefixed events on ${r.name}`);
  }
  await checks.run('markers on v2-raw@B', () => pollUntil(() => v2.of('end', pub).length >= 2, 'two end markers on v2-raw@B'));
  const v2Frames = v2.of('v1', pub);
  checks.eq(v2Frames.map((f) => dataOf(f).i), [1, 2, 3, 4], 'v1 events on the V2 socket');
  checks.ok(v2Frames.every((f) => Number.isInteger(f.serial) && typeof f.stream_id === 'string' && typeof f.message_id === 'string'), `the V2 socket's frames carry an identity (recovery is on): ${fmt(v2Frames.map(ident))}`);
  checks.done();
});

scenario('client-events', 'client events of a V2 client on A share the channel stream with API events (serials 1, 2..4, 5 on A and B), echoed to the sender with the identities B saw; a V1 socket on A gets them bare', async ({ A, B }) => {
  const ch = `private-cl-cev-${RUN}`;
  const sender = connect(A.port, A.sdk); // echo_messages: the V2 default (on)
  const receiver = connect(B.port, B.sdk);
  await connected(sender);
  await connected(receiver);
  const sCh = await subscribe(sender, ch);
  const rCh = await subscribe(receiver, ch);
  const v1 = await rawSocket(A, 'v1-raw@A', 7);
  await v1.subscribe(ch);
  const peers = [
    { label: 'sender@A', client: sender, channel: sCh },
    { label: 'receiver@B', client: receiver, channel: rCh },
  ];
  const checks = new Checks();
  // The API event first, numbered before the client events: every socket has it before they go.
  await A.sdk.trigger(ch, 'api', { i: 0 });
  for (const p of peers) await p.channel.inbox.next((m) => m.event === 'api', 5_000);
  await v1.frames.waitFor((f) => f.event === 'api' && f.channel === ch, 'api on v1-raw@A');
  for (let i = 1; i <= 3; i++) sCh.trigger('client-x', { i });
  for (const p of peers) {
    await checks.run(`3 client-x on ${p.label}`, () => pollUntil(() => events(p.channel.inbox, 'client-x').length >= 3, `3 client-x on ${p.label}`));
  }
  await checks.run('3 client-x on v1-raw@A', () => pollUntil(() => v1.of('client-x', ch).length >= 3, '3 client-x on v1-raw@A'));
  // The API event after, through the other node; once every socket has it, all copies are in.
  await B.sdk.trigger(ch, 'api', { i: 4 });
  for (const p of peers) {
    await checks.run(`api 4 on ${p.label}`, () => p.channel.inbox.next((m) => m.event === 'api' && m.data.i === 4, 5_000));
  }
  await checks.run('api 4 on v1-raw@A', () => v1.frames.waitFor((f) => f.event === 'api' && f.channel === ch && dataOf(f).i === 4, 'api 4 on v1-raw@A'));
  await sleep(200); // a late duplicate would show by now
  const expected = 'api0 client-x1 client-x2 client-x3 api4';
  const label = (event, d) => `${event}${d.i}`;
  const seen = {};
  for (const p of peers) {
    checks.eq(p.channel.inbox.filter((m) => m.event === 'api' || m.event === 'client-x').map((m) => label(m.event, m.data)).join(' '), expected, `events on ${p.label} (client, after its message_id dedup)`);
    const wire = p.client.frames.filter((f) => f.channel === ch && (f.event === 'api' || f.event === 'client-x'));
    checks.eq(wire.map((f) => label(f.event, dataOf(f))).join(' '), expected, `frames on ${p.label} (duplicates included)`);
    checks.eq(wire.map((f) => f.serial).join(' '), range(1, 5).join(' '), `serials on ${p.label}`);
    checks.eq(new Set(wire.map((f) => f.stream_id)).size, 1, `${p.label}: one stream_id for the API and client events (${fmt([...new Set(wire.map((f) => f.stream_id))])})`);
    checks.ok(wire.every((f) => typeof f.stream_id === 'string' && typeof f.message_id === 'string'), `${p.label}: every frame has a stream_id and a message_id: ${fmt(wire.map(ident))}`);
    checks.eq(new Set(wire.map((f) => f.message_id)).size, wire.length, `${p.label}: distinct message_ids`);
    seen[p.label] = wire.map(ident);
  }
  checks.eq(seen['sender@A'], seen['receiver@B'], 'stream_id#serial/message_id of each message on the sender at A, echo included (vs B)');
  checks.eq(v1.frames.filter((f) => f.channel === ch && (f.event === 'api' || f.event === 'client-x')).map((f) => label(f.event, dataOf(f))).join(' '), expected, 'frames on v1-raw@A');
  checks.eq(v1.texts.filter((t) => /"(serial|stream_id|message_id)"/.test(t)), [], 'frames with identity fields on v1-raw@A');
  checks.eq(v1.frames.filter((f) => /^sockudo/.test(f.event || '')).map((f) => f.event), [], 'sockudo: prefixed events on v1-raw@A');
  checks.done();
});

// Must stay the last scenario: Redis is restarted empty (no persistence) for everyone.
scenario('redis-restart', 'Redis SIGKILLed, then restarted empty: API 503 cluster_unavailable + Retry-After meanwhile; a client cut from A resuming with the old stream gets resume_failed stream_reset, no replay, live events in the new stream', async ({ A, B, redis }) => {
  const ch = `cl-rr-${RUN}`;
  const { proxy, via } = await proxyTo(A);
  const client = connect(via, A.sdk);
  await connected(client);
  const chan = await subscribe(client, ch);
  const obs = await rawSocket(B, 'observer@B'); // stays connected through the outage
  await obs.subscribe(ch);
  const checks = new Checks();
  await A.sdk.trigger(ch, 'old', { i: 1 });
  await B.sdk.trigger(ch, 'old', { i: 2 });
  await pollUntil(() => events(chan.inbox, 'old').length >= 2, 'two events on the client before the outage');
  const oldWire = client.frames.filter((f) => f.event === 'old' && f.channel === ch);
  checks.eq(oldWire.map((f) => f.serial), [1, 2], 'serials before the outage');
  const oldStream = oldWire[0].stream_id;
  checks.ok(typeof oldStream === 'string' && oldWire.every((f) => f.stream_id === oldStream), `one stream_id before the outage: ${fmt(oldWire.map(ident))}`);
  try {
    await redis.kill();
    // The SDK's RequestError carries status and body (no headers); polled until the node noticed.
    const statuses = [];
    await checks.run('SDK publish to A during the outage', async () => {
      const refused = await pollUntil(async () => {
        const r = await sdkStatus(A.sdk.trigger(ch, 'outage', { via: 'sdk' }));
        statuses.push(r.status);
        return r.status === 503 ? r : null;
      }, '503 from an SDK publish to A', 10_000, 100);
      let body = null;
      try {
        body = JSON.parse(refused.body);
      } catch {}
      checks.eq(body && body.code, 'cluster_unavailable', `code in the SDK error body (${fmt(refused.body)})`);
    });
    checks.eq(statuses.filter((s) => s < 300), [], `successful SDK publishes during the outage (statuses ${fmt(statuses)})`);
    const raw = await signedHttp(A.port, { method: 'POST', route: '/events', body: JSON.stringify({ name: 'outage', channels: [ch], data: JSON.stringify({ via: 'raw' }) }) });
    checks.eq(raw.status, 503, `signed POST /events to A during the outage (body ${fmt(raw.text)})`);
    checks.eq(raw.json && raw.json.code, 'cluster_unavailable', 'code in the 503 body');
    checks.eq(raw.headers['retry-after'], '1', 'Retry-After header of the 503');
  } finally {
    if (!redis.running) await redis.start(); // same port, empty
  }
  const connectedGauge = async (node) => {
    const r = await rawHttp(node.server.metricsPort, { path: '/metrics' });
    const m = /^pushcore_horizontal_adapter_connected\{[^}]*\} (\d+)$/m.exec(r.text);
    return m ? Number(m[1]) : null;
  };
  const restarted = Date.now();
  await pollUntil(async () => (await connectedGauge(A)) === 1 && (await connectedGauge(B)) === 1, 'pushcore_horizontal_adapter_connected 1 on A and B', 15_000, 50);
  for (const n of [A, B]) {
    await pollUntil(async () => (await sdkStatus(n.sdk.get({ path: '/channels' }))).status === 200, `GET /channels 200 on ${n.name}`, Math.max(1, 15_000 - (Date.now() - restarted)), 50);
  }
  proxy.cut();
  await pollUntil(() => client.connection.state !== 'connected', 'client noticed the drop');
  // The first publishes after the restart: a new stream, serials from 1.
  await B.sdk.trigger(ch, 'cut', { i: 1 });
  await B.sdk.trigger(ch, 'cut', { i: 2 });
  await checks.run('two cut events on observer@B', () => pollUntil(() => obs.of('cut', ch).length >= 2, 'two cut events on observer@B'));
  const cutWire = obs.of('cut', ch);
  const newStream = cutWire.length ? cutWire[0].stream_id : undefined;
  checks.eq(cutWire.map((f) => f.serial), [1, 2], 'serials of the first publishes after the restart (observer@B)');
  checks.ok(typeof newStream === 'string' && newStream !== oldStream && cutWire.every((f) => f.stream_id === newStream), `a new stream_id after the restart (old ${oldStream}): ${fmt(cutWire.map(ident))}`);
  proxy.release();
  await connected(client);
  await checks.run('resume_failed', async () => {
    const failed = await client.global.next((m) => m.event === 'sockudo:resume_failed', RESUME_WAIT_MS);
    const d = failed.data;
    checks.eq([d.channel, d.code], [ch, 'stream_reset'], `resume_failed channel, code (data ${fmt(d)})`);
    checks.eq(d.expected_stream_id, oldStream, 'resume_failed expected_stream_id (the stream before the restart)');
    checks.eq(d.current_stream_id, newStream, 'resume_failed current_stream_id (the stream after the restart)');
  });
  await checks.run('resume_success after the failure', async () => {
    const success = await client.global.next((m) => m.event === 'sockudo:resume_success', 5_000);
    checks.eq((success.data.failed || []).map((f) => [f.channel, f.code]), [[ch, 'stream_reset']], 'resume_success failed [channel, code]');
    checks.eq(success.data.recovered || [], [], 'resume_success recovered');
  });
  // @sockudo/client resubscribes after resume_failed; the live event goes once that is done.
  await checks.run('subscribed again', () => pollUntil(() => client.channel(ch) && client.channel(ch).subscribed, `${ch} subscribed after resume_failed`));
  await A.sdk.trigger(ch, 'live', { i: 3 });
  await checks.run('live event after the resume', () => chan.inbox.next((m) => m.event === 'live', 5_000));
  await sleep(200); // a late duplicate would show by now
  const replayedOld = client.frames.filter((f) => f.channel === ch && f.stream_id === oldStream && f.serial > 2);
  checks.eq(replayedOld.map((f) => `${f.event} ${ident(f)}`), [], 'frames of the old stream past serial 2');
  const live = client.frames.filter((f) => f.event === 'live' && f.channel === ch);
  checks.eq(live.map((f) => [f.stream_id, f.serial]), [[newStream, 3]], 'live frames on the wire [stream_id, serial] (once, new stream)');
  checks.eq(events(chan.inbox, 'live').length, 1, 'live events on the client');
  const leaked = [...client.frames.filter((f) => f.event === 'outage'), ...obs.frames.filter((f) => f.event === 'outage')];
  checks.eq(leaked.map(ident), [], 'events of the refused publishes delivered anyway');
  checks.done();
}, 40_000);

// ---------------------------------------------------------------- runner

async function main() {
  // On a Redis Cluster, "Redis" below is the whole cluster: killed and restarted (empty, same
  // topology) together.
  const cluster = args.topology === 'cluster' ? new RedisCluster(args.redis, `${tmpdir()}/pushcore-v2-cluster-${RUN}`) : null;
  const redis = cluster
    ? {
        start: async () => {
          if (cluster.nodes.length === 0) await cluster.start();
          else await cluster.startAll();
          await cluster.waitOk();
        },
        kill: () => cluster.killAll(),
        killNow: () => cluster.killNow(),
        get running() {
          return cluster.nodes.some((n) => cluster.isRunning(n));
        },
      }
    : new Redis(args.redis, await freePort());
  process.on('exit', () => redis.killNow()); // nodes: harness ServerProcess kills them on exit
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      closeAll();
      process.exit(130);
    });
  }
  const all = scenarios.filter((s) => !args.only || args.only.includes(s.name));
  if (args.only && all.length !== args.only.length) {
    console.error(`unknown scenario in --only (known: ${scenarios.map((s) => s.name).join(', ')})`);
    process.exit(2);
  }
  let failed = 0;
  let passed = 0;
  const t0 = Date.now();
  try {
    await redis.start();
    console.log(cluster ? `# Redis Cluster on ${cluster.nodes.map((x) => x.port).join(', ')}` : `# redis-server on 127.0.0.1:${redis.port}`);
    nodeConfig = makeNodeConfig(cluster ? cluster.seeds() : redis.port, `pc-v2-${RUN}`);
    const A = await startNode('A');
    const B = await startNode('B');
    let n = 0;
    for (const s of all) {
      n++;
      const label = `${n} - ${s.name}: ${s.title}`;
      const started = Date.now();
      try {
        for (const core of [A, B]) {
          if (!core.server.running) throw new Error(`node ${core.name} is not running (exited earlier)`);
        }
        await withTimeout(Promise.resolve().then(() => s.fn({ A, B, redis })), s.timeoutMs, `scenario ${s.name}`);
        passed++;
        console.log(`ok   ${label} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${label} (${Date.now() - started} ms)`);
        console.log(`  # ${String(e && e.message ? e.message : fmt(e)).split('\n').join('\n  # ')}`);
        const at = String((e && e.stack) || '').split('\n').find((l) => l.includes('sockudo_v2_cluster.mjs'));
        if (at) console.log(`  # (${at.trim()})`);
        for (const node of nodes.values()) {
          console.log(`  # --- node ${node.name} log (tail) ---`);
          for (const line of node.server.stderrTail.slice(-12)) console.log(`  #   ${line}`);
        }
      }
      closeAll();
      // Late nodes live for their scenario only.
      for (const node of [...nodes.values()]) {
        if (node === A || node === B) continue;
        await node.server.stop().catch(() => {});
        nodes.delete(node.name);
      }
    }
  } catch (e) {
    failed++;
    console.log(`FAIL setup: ${e && e.message ? e.message : fmt(e)}`);
    for (const node of nodes.values()) for (const line of node.server.stderrTail.slice(-12)) console.log(`  #   ${line}`);
  } finally {
    closeAll();
    for (const node of nodes.values()) {
      const wasRunning = node.server.running;
      const exit = await node.server.stop().catch(() => null);
      if (!wasRunning && exit) {
        failed++;
        console.log(`FAIL node ${node.name} exited during the run (code ${exit.code}, signal ${exit.signal})`);
        for (const line of node.server.stderrTail.slice(-12)) console.log(`  #   ${line}`);
      }
    }
    await redis.kill();
  }
  console.log(`# ${passed} of ${all.length} scenarios passed, ${failed} failure(s), in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.exit(failed ? 1 : 0);
}

// A wait that lost its race inside a finished (timed-out) scenario must not crash the run.
process.on('unhandledRejection', (e) => console.log(`# (late rejection ignored: ${e && e.message ? e.message : fmt(e)})`));
main();
