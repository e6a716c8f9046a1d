#!/usr/bin/env node
// Sockudo's own client, @sockudo/client 2.2.0 (tests/vendor), against pushcore: Protocol V2
// (`protocolVersion: 2`: sockudo: prefixes, message ids, serials, connection recovery, rewind,
// echo control) or, with --protocol 1, the same client on Pusher protocol 7. The client keeps its
// protocol version in module globals, so each protocol runs in its own process (two CTest tests).
//
//   node sockudo_v2.mjs --server /path/to/pushcore [--protocol 2|1]
//
// Recovery scenarios drop the client's TCP connection with a proxy in this process (the client
// sees an abnormal close and reconnects through the proxy, which holds new connections until the
// test lets them through), while the pusher SDK keeps publishing: every missed event must arrive
// once, in order, before the live ones. One line per scenario; exit code 1 when any fails.

import WebSocket from 'ws';

import { assert, assertEq, fmt, Inbox, pollUntil, rawHttp, RUN, sleep, withTimeout } from './harness.mjs';
import { APP, events, sdkFor, sockudoClients } from './sockudo_helpers.mjs';
import { PushcoreProcess } from '../common/testkit.mjs';
import { Proxy } from '../common/proxy.mjs';

const args = process.argv.slice(2);
const serverBin = args[args.indexOf('--server') + 1];
const PROTOCOL = args.includes('--protocol') ? Number(args[args.indexOf('--protocol') + 1]) : 2;
if (!args.includes('--server') || !serverBin || ![1, 2].includes(PROTOCOL)) {
  console.error('usage: node sockudo_v2.mjs --server /path/to/pushcore [--protocol 2|1]');
  process.exit(2);
}
const V2 = PROTOCOL === 2;
const P = V2 ? 'sockudo:' : 'pusher:'; // the client's event prefix
const SCENARIO_TIMEOUT_MS = 20_000;

function config({ recovery = {}, ...top } = {}) {
  return {
    host: '127.0.0.1',
    port: 0,
    metrics: { enabled: false },
    shutdown_grace_period: 1,
    connection_recovery: { enabled: true, buffer_ttl_seconds: 60, max_buffer_size: 50, ...recovery },
    app_manager: {
      array: {
        apps: [
          {
            id: APP.id,
            key: APP.key,
            secret: APP.secret,
            enabled: true,
            policy: {
              limits: { max_client_events_per_second: 100 },
              // Sign-in on (its 3600 s default timeout never closes a test's unsigned clients).
              features: { enable_client_messages: true, enable_user_authentication: true, enable_watchlist_events: true },
            },
          },
        ],
      },
    },
    ...top,
  };
}

const { connect, connected, subscribe } = sockudoClients(PROTOCOL);

// ---------------------------------------------------------------- scenarios

const scenarios = [];
const scenario = (name, fn, { only } = {}) => scenarios.push({ name, fn, only });

scenario('connect: every channel kind, presence members, client events and their echo', async ({ port, sdk }) => {
  const a = connect(port, sdk, { userId: 'alice' });
  const b = connect(port, sdk, { userId: 'bob', echo: false });
  try {
    await Promise.all([connected(a), connected(b)]);
    assert(/^\d+\.\d+$/.test(a.connection.socket_id), `socket id ${a.connection.socket_id}`);
    const pub = `chan-${RUN}`;
    const priv = `private-chan-${RUN}`;
    const pres = `presence-room-${RUN}`;
    const [ap, bp] = [await subscribe(a, pub), await subscribe(b, pub)];
    const [apriv, bpriv] = [await subscribe(a, priv), await subscribe(b, priv)];
    const apres = await subscribe(a, pres);
    const bpres = await subscribe(b, pres);
    const member = await apres.inbox.next((m) => m.event === `${P}member_added`);
    assertEq(member.data.id, 'bob', 'member_added id');
    assertEq(bpres.members.count, 2, "bob's member count");

    await sdk.trigger(pub, 'greeting', { n: 1 });
    for (const ch of [ap, bp]) assertEq((await ch.inbox.next((m) => m.event === 'greeting')).data, { n: 1 }, 'API event');

    // Client events: the other gets it; a V2 sender gets its own echo unless echo_messages=false.
    apriv.trigger('client-hi', { from: 'a' });
    assertEq((await bpriv.inbox.next((m) => m.event === 'client-hi')).data, { from: 'a' }, 'client event to b');
    bpriv.trigger('client-hi', { from: 'b' });
    assertEq((await apriv.inbox.next((m) => m.event === 'client-hi' && m.data.from === 'b')).data, { from: 'b' }, 'client event to a');
    await sleep(300);
    const aEcho = events(apriv.inbox, 'client-hi').filter((d) => d.from === 'a').length;
    const bEcho = events(bpriv.inbox, 'client-hi').filter((d) => d.from === 'b').length;
    assertEq(aEcho, V2 ? 1 : 0, 'own client event echoed to the sender (echo_messages default)');
    assertEq(bEcho, 0, 'no echo with echo_messages=false');

    b.unsubscribe(pres);
    const left = await apres.inbox.next((m) => m.event === `${P}member_removed`);
    assertEq(left.data.id, 'bob', 'member_removed id');
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

scenario('sign-in, server-to-user events and watchlists', async ({ port, sdk }) => {
  const carol = connect(port, sdk, { user: { id: `carol-${RUN}`, watchlist: [`dave-${RUN}`] } });
  const dave = connect(port, sdk, { user: { id: `dave-${RUN}` } });
  try {
    await connected(carol);
    const watch = new Inbox('watchlist');
    carol.user.watchlist.bind('online', (e) => watch.push({ kind: 'online', ids: e.user_ids }));
    carol.user.watchlist.bind('offline', (e) => watch.push({ kind: 'offline', ids: e.user_ids }));
    const notes = new Inbox('to carol');
    carol.user.bind('note', (data) => notes.push(data));
    carol.signin();
    const ok = await carol.frames.next((f) => f.event === `${P}signin_success`, 5_000);
    const userData = JSON.parse((typeof ok.data === 'string' ? JSON.parse(ok.data) : ok.data).user_data);
    assertEq(userData.id, `carol-${RUN}`, 'signin_success user_data.id');
    // The initial watchlist state follows the sign-in (dave is offline: no online ids yet).
    await carol.frames.next((f) => /^(sockudo|pusher)_internal:watchlist_events$/.test(f.event || ''), 5_000);
    // Server-to-user: the backend's sendToUser reaches the signed-in client.
    await sdk.sendToUser(`carol-${RUN}`, 'note', { n: 1 });
    assertEq(await notes.next(() => true, 5_000), { n: 1 }, 'sendToUser event');
    // Watchlist: dave's sign-in and disconnect.
    await connected(dave);
    dave.signin();
    await dave.frames.next((f) => f.event === `${P}signin_success`, 5_000);
    assertEq(await watch.next((w) => w.kind === 'online', 5_000), { kind: 'online', ids: [`dave-${RUN}`] }, 'online');
    dave.disconnect();
    assertEq(await watch.next((w) => w.kind === 'offline', 5_000), { kind: 'offline', ids: [`dave-${RUN}`] }, 'offline');
  } finally {
    carol.disconnect();
    dave.disconnect();
  }
});

scenario('cache channels: cache_miss on an empty one, the last event on subscribe', async ({ port, sdk }) => {
  const a = connect(port, sdk);
  const b = connect(port, sdk);
  try {
    await Promise.all([connected(a), connected(b)]);
    const name = `cache-v-${RUN}`;
    const first = await subscribe(a, name);
    await first.inbox.next((m) => m.event === `${P}cache_miss`, 5_000);
    await sdk.trigger(name, 'state', { v: 7 });
    assertEq((await first.inbox.next((m) => m.event === 'state', 5_000)).data, { v: 7 }, 'live on the first subscriber');
    const late = await subscribe(b, name);
    assertEq((await late.inbox.next((m) => m.event === 'state', 5_000)).data, { v: 7 }, 'the cached last event on subscribe');
    assertEq(late.inbox.items.filter((m) => m.event === `${P}cache_miss`).length, 0, 'no cache_miss once cached');
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

scenario('identity: V2 channel messages carry message_id, stream_id and serials in order', async ({ port, sdk }) => {
  // Raw frames of the client's own socket (what a V2 application can read off the wire).
  const ch = `ids-${RUN}`;
  const url = `ws://127.0.0.1:${port}/app/${APP.key}?protocol=${PROTOCOL}&client=js&version=2.2.0`;
  const ws = new WebSocket(url);
  const inbox = new Inbox('raw');
  ws.on('message', (m) => inbox.push(JSON.parse(String(m))));
  const est = await inbox.next(() => true);
  assertEq(est.event, `${P}connection_established`, 'first frame');
  ws.send(JSON.stringify({ event: `${P}subscribe`, data: { channel: ch } }));
  const ok = await inbox.next((m) => m.event?.endsWith('subscription_succeeded'));
  if (V2) {
    assertEq(ok.event, 'sockudo_internal:subscription_succeeded', 'V2 internal prefix');
    assert(typeof ok.stream_id === 'string' && ok.serial === 0, `position on subscribe: ${fmt(ok)}`);
    assert(typeof est.message_id === 'string', 'direct frames have a message_id');
  } else {
    assertEq(ok.event, 'pusher_internal:subscription_succeeded', 'V1 prefix');
    assert(ok.serial === undefined && ok.message_id === undefined, `V1 frame unchanged: ${fmt(ok)}`);
  }
  for (let i = 1; i <= 3; i += 1) await sdk.trigger(ch, 'e', { i });
  await pollUntil(() => inbox.count((m) => m.event === 'e') === 3, 'three events');
  const got = inbox.filter((m) => m.event === 'e');
  if (V2) {
    const ids = new Set(got.map((m) => m.message_id));
    assertEq(ids.size, 3, 'distinct message ids');
    assertEq(got.map((m) => m.serial), [1, 2, 3], 'serials');
    assert(got.every((m) => m.stream_id === ok.stream_id), 'one stream');
  } else {
    assert(got.every((m) => m.serial === undefined && m.message_id === undefined), 'V1 events have no identity');
  }
  ws.close();
});

// Publishes `n` events to each of `channels` while the client's connection is down.
async function publishWhileDown(sdk, proxy, client, channels, n, tag) {
  proxy.cut();
  await pollUntil(() => client.connection.state !== 'connected', 'client noticed the drop');
  for (let i = 1; i <= n; i += 1) {
    for (const c of channels) await sdk.trigger(c, 'tick', { tag, i });
  }
  proxy.release();
  await connected(client);
}

scenario('recovery: missed events on a public and a private channel arrive once, in order, then live', async ({ port, sdk }) => {
  const proxy = new Proxy(port);
  const via = await proxy.listen();
  const client = connect(via, sdk);
  try {
    await connected(client);
    const pub = await subscribe(client, `rec-${RUN}`);
    const priv = await subscribe(client, `private-rec-${RUN}`);
    await sdk.trigger([pub.name, priv.name], 'tick', { tag: 'before', i: 0 });
    for (const ch of [pub, priv]) await ch.inbox.next((m) => m.event === 'tick');
    await publishWhileDown(sdk, proxy, client, [pub.name, priv.name], 5, 'missed');
    const resumed = await client.global.next((m) => m.event === `${P}resume_success`, 8_000);
    await sdk.trigger([pub.name, priv.name], 'tick', { tag: 'live', i: 6 });
    for (const ch of [pub, priv]) {
      await ch.inbox.next((m) => m.event === 'tick' && m.data.tag === 'live');
      await sleep(100);
      const seen = events(ch.inbox, 'tick').map((d) => `${d.tag}${d.i}`);
      assertEq(seen, ['before0', 'missed1', 'missed2', 'missed3', 'missed4', 'missed5', 'live6'], `${ch.name} events`);
    }
    const rec = resumed.data.recovered.map((r) => [r.channel, r.replayed]).sort();
    assertEq(rec, [[pub.name, 5], [priv.name, 5]].sort(), 'resume_success recovered');
    assertEq(resumed.data.failed, [], 'nothing failed');
  } finally {
    client.disconnect();
    proxy.close();
  }
}, { only: 2 });

scenario('recovery: a position past the buffer gets resume_failed, the channel stays subscribed', async ({ port, sdk }) => {
  // The default server's buffer keeps 50 messages per channel; 60 missed is past it.
  const proxy = new Proxy(port);
  const via = await proxy.listen();
  const client = connect(via, sdk);
  try {
    await connected(client);
    const ch = await subscribe(client, `expire-${RUN}`);
    await sdk.trigger(ch.name, 'tick', { tag: 'before', i: 0 });
    await ch.inbox.next((m) => m.event === 'tick');
    proxy.cut();
    await pollUntil(() => client.connection.state !== 'connected', 'client noticed the drop');
    await sdk.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ channel: ch.name, name: 'tick', data: JSON.stringify({ tag: 'lost', i }) })));
    for (let k = 0; k < 5; k += 1) {
      await sdk.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ channel: ch.name, name: 'tick', data: JSON.stringify({ tag: 'lost', i }) })));
    }
    proxy.release();
    await connected(client);
    const failed = await client.global.next((m) => m.event === `${P}resume_failed`, 8_000);
    assertEq(failed.data.channel, ch.name, 'resume_failed channel (read from data)');
    assertEq(failed.data.code, 'position_expired', 'code');
    assertEq(typeof failed.data.newest_available_serial, 'number', 'newest_available_serial');
    const success = await client.global.next((m) => m.event === `${P}resume_success`);
    assertEq(success.data.failed.map((f) => f.channel), [ch.name], 'listed as failed');
    assert(client.channel(ch.name).subscribed, 'still subscribed');
    await sdk.trigger(ch.name, 'tick', { tag: 'live', i: 1 });
    await ch.inbox.next((m) => m.event === 'tick' && m.data.tag === 'live');
  } finally {
    client.disconnect();
    proxy.close();
  }
}, { only: 2 });

scenario('recovery: a stream the server does not know (restart) gets resume_failed', async ({ port, sdk }) => {
  const client = connect(port, sdk);
  try {
    await connected(client);
    const ch = await subscribe(client, `reset-${RUN}`);
    // As a client that recovered its positions from storage after the server lost the stream.
    client.send_event(`${P}resume`, JSON.stringify({ channel_positions: { [ch.name]: { stream_id: 'not-this-stream', serial: 3 } } }));
    const failed = await client.global.next((m) => m.event === `${P}resume_failed`);
    // Protocol 7 connections carry no serials (as Sockudo's) and a V1 subscribe starts no stream,
    // but pusher:resume is accepted and answered the same way.
    const code = V2 ? 'stream_reset' : 'position_expired';
    assertEq([failed.data.channel, failed.data.code, failed.data.expected_stream_id], [ch.name, code, 'not-this-stream'], 'failure');
    if (V2) assert(typeof failed.data.current_stream_id === 'string', 'current_stream_id');
  } finally {
    client.disconnect();
  }
});

scenario('resume: unsupported without recovery (4301), empty positions (4302)', async ({ sdk, servers }) => {
  const port = await servers.get('norecovery');
  const client = connect(port, sdk);
  try {
    await connected(client);
    client.send_event(`${P}resume`, JSON.stringify({ channel_positions: { x: { serial: 1 } } }));
    const err = await client.global.next((m) => m.event === `${P}error`);
    assertEq([err.data.code, err.data.message], [4301, 'Connection recovery is not enabled'], 'disabled');
  } finally {
    client.disconnect();
  }
  const other = connect(await servers.get('default'), sdk);
  try {
    await connected(other);
    other.send_event(`${P}resume`, JSON.stringify({ channel_positions: {} }));
    const err = await other.global.next((m) => m.event === `${P}error`);
    assertEq([err.data.code, err.data.message], [4302, 'No channel recovery positions provided'], 'empty');
  } finally {
    other.disconnect();
  }
});

scenario('format: V2 upgrades asking for MessagePack / Protobuf / unknown formats get 400, json is spoken', async ({ port }) => {
  const upgrade = (query) =>
    rawHttp(port, {
      path: `/app/${APP.key}?${query}`,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
    });
  for (const format of ['msgpack', 'protobuf', 'MessagePack', 'cbor']) {
    const res = await upgrade(`protocol=2&format=${format}`);
    res.socket?.destroy();
    assertEq(res.status, 400, `protocol=2&format=${format}: status`);
    assertEq(res.json?.error, `Unsupported wire format (this server speaks json only): '${format.toLowerCase()}'`, `format=${format}: message`);
  }
  // json (and protocol 7, where Sockudo ignores format) upgrade and speak JSON.
  const first = (query) =>
    withTimeout(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${APP.key}?${query}`);
        ws.on('message', (m) => {
          ws.terminate();
          resolve(JSON.parse(String(m)).event);
        });
        ws.on('unexpected-response', (_req, res) => reject(new Error(`${query}: HTTP ${res.statusCode}`)));
        ws.on('error', reject);
      }),
      5_000,
      `first frame (${query})`
    );
  assertEq(await first('protocol=2&format=json'), 'sockudo:connection_established', 'format=json');
  assertEq(await first('protocol=2&format='), 'sockudo:connection_established', 'format= (empty)');
  assertEq(await first('protocol=7&format=msgpack'), 'pusher:connection_established', 'protocol 7 ignores format');
});

scenario('rewind: the last N messages, then rewind_complete; V1 is refused with 4300', async ({ port, sdk }) => {
  const name = `rewind-${RUN}`;
  for (let i = 1; i <= 5; i += 1) await sdk.trigger(name, 'hist', { i });
  const client = connect(port, sdk);
  try {
    await connected(client);
    if (!V2) {
      client.subscribe(name, { rewind: 3 });
      const err = await client.global.next((m) => m.event === 'pusher:error');
      assertEq(err.data.code, 4300, 'V1 rewind refused');
      return;
    }
    const ch = await subscribe(client, name, { rewind: 3 });
    const done = await ch.inbox.next((m) => m.event === 'sockudo:rewind_complete');
    assertEq(events(ch.inbox, 'hist').map((d) => d.i), [3, 4, 5], 'history');
    assertEq([done.data.historical_count, done.data.complete, done.data.truncated_by_limit], [3, false, true], 'rewind_complete');
    await sdk.trigger(name, 'hist', { i: 6 });
    await ch.inbox.next((m) => m.event === 'hist' && m.data.i === 6);
  } finally {
    client.disconnect();
  }
});

scenario('idempotency: a publish retried three times with its key is delivered once', async ({ port, sdk }) => {
  const client = connect(port, sdk);
  try {
    await connected(client);
    const ch = await subscribe(client, `idem-${RUN}`);
    const body = { name: 'pay', channels: [ch.name], data: JSON.stringify({ amount: 1 }), idempotency_key: `k-${RUN}` };
    const answers = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await sdk.post({ path: '/events', body });
      answers.push([res.status, await res.text()]);
    }
    assertEq(answers, Array(3).fill([200, '{"ok":true}']), 'answers');
    // The header form, on another key.
    const res = await sdk.post({ path: '/events', body: { name: 'pay', channels: [ch.name], data: '{"amount":2}' } });
    assertEq(res.status, 200, 'no key: plain publish');
    await ch.inbox.next((m) => m.event === 'pay' && m.data.amount === 2);
    // batch_events: the batch's key is the X-Idempotency-Key header; an item's own key skips
    // that item when retried (Sockudo).
    const batch = { batch: [{ name: 'pay', channel: ch.name, data: '{"amount":3}', idempotency_key: `item-${RUN}` }] };
    for (let i = 0; i < 2; i += 1) {
      const r = await sdk.post({ path: '/batch_events', body: batch });
      assertEq(r.status, 200, 'batch item retry answered');
    }
    await ch.inbox.next((m) => m.event === 'pay' && m.data.amount === 3);
    const empty = await sdk.post({ path: '/events', body: { ...body, idempotency_key: '' } }).catch((e) => e);
    assertEq(empty.status, 400, 'empty key refused');
    await sleep(200);
    assertEq(events(ch.inbox, 'pay').map((d) => d.amount), [1, 2, 3], 'delivered once each');
  } finally {
    client.disconnect();
  }
});

// ---------------------------------------------------------------- runner

const servers = new Map();
const procs = [];
async function serverPort(name) {
  if (!servers.has(name)) {
    const cfg = name === 'norecovery' ? config({ recovery: { enabled: false } }) : config();
    const proc = new PushcoreProcess(serverBin, `pushcore-${name}`);
    procs.push(proc);
    servers.set(name, proc.start(cfg));
  }
  return servers.get(name);
}

let failed = 0;
const port = await serverPort('default');
const sdk = sdkFor(port);
for (const s of scenarios) {
  const label = `[v${PROTOCOL}] ${s.name}`;
  if (s.only && s.only !== PROTOCOL) continue;
  const t0 = Date.now();
  try {
    await withTimeout(s.fn({ port, sdk, servers: { get: serverPort } }), SCENARIO_TIMEOUT_MS, s.name);
    console.log(`ok   ${label} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${label}: ${e.stack || e}`);
    for (const p of procs) console.log(p.tail.slice(-20).join('\n'));
  }
}
for (const p of procs) await p.stop();
process.exit(failed ? 1 : 0);
