#!/usr/bin/env node
// Webhook end-to-end suite: pushcore with webhooks pointed at real express receivers on
// 127.0.0.1. Every request a receiver gets is validated with the `pusher` SDK's
// `webhook({headers, rawBody}).isValid()`; channels are driven with pusher-js.
//
//   node run.mjs --server /path/to/pushcore [--only a,b] [--verbose]
//
// One line per scenario (ok / FAIL), then "N passed, N failed"; exit code 1 when any failed.
// Assertions follow docs/protocol.md §10 and docs/WEBHOOKS.md.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import express from 'express';
import PusherClient from 'pusher-js';
import PusherServer from 'pusher';

import { assert, assertEq, fmt, Inbox, PushcoreProcess, sleep, withTimeout } from '../common/testkit.mjs';

const RUN = randomBytes(3).toString('hex');
const VACATE_DELAY_MS = 1500; // webhooks.vacate_delay_ms in the test config (default 3000)
const WAIT_MS = 8_000;
const SCENARIO_TIMEOUT_MS = 30_000;

// Apps: each scenario family has its own app, so receivers never see each other's events.
const APPS = {
  main: { id: 'wh-main', key: 'wh-main-key', secret: 'wh-main-secret' },
  flaky: { id: 'wh-flaky', key: 'wh-flaky-key', secret: 'wh-flaky-secret' },
  hang: { id: 'wh-hang', key: 'wh-hang-key', secret: 'wh-hang-secret' },
  dead: { id: 'wh-dead', key: 'wh-dead-key', secret: 'wh-dead-secret' },
  tls: { id: 'wh-tls', key: 'wh-tls-key', secret: 'wh-tls-secret' },
};
const ALL_TYPES = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'];

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const out = { only: null, verbose: !!process.env.WEBHOOKS_VERBOSE };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--server') out.server = val();
    else if (a === '--only') out.only = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--verbose') out.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!out.server) usage('--server is required');
  return out;
}

function usage(err) {
  if (err) console.error(`error: ${err}`);
  console.error('usage: node run.mjs --server /path/to/pushcore [--only a,b] [--verbose]');
  process.exit(2);
}

// ---------------------------------------------------------------- small helpers


// A TCP port on 127.0.0.1 with nothing listening (bound, then released).
async function closedPort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

// A self-signed certificate for localhost / 127.0.0.1 made with the openssl CLI, or null when
// there is no openssl (the https scenario is then skipped).
function makeCert(dir, name) {
  const key = join(dir, `${name}-key.pem`);
  const cert = join(dir, `${name}-cert.pem`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=localhost`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  if (r.status !== 0) return null;
  return { key: readFileSync(key), cert: readFileSync(cert), certPath: cert };
}

// ---------------------------------------------------------------- the receiver

// One express server; each path is a webhook endpoint with its own behaviour. Every request is
// validated with the pusher SDK against the app that owns the path, and recorded.
class Receiver {
  constructor() {
    this.app = express();
    this.endpoints = new Map(); // path -> { app, behave(n) -> 'ok' | 500 | 'hang', requests: Inbox, events: Inbox }
    this.invalid = [];
    this.hanging = [];
    this.app.use(express.raw({ type: () => true, limit: '10mb' }));
    this.app.post('/:name', (req, res) => this.handle(req, res));
  }

  endpoint(name, app, behave = () => 'ok') {
    const ep = { app, behave, requests: new Inbox(`/${name} requests`, { waitMs: WAIT_MS }), events: new Inbox(`/${name} delivered events`, { waitMs: WAIT_MS }) };
    this.endpoints.set(name, ep);
    return ep;
  }

  url(name) {
    return `http://127.0.0.1:${this.port}/${name}`;
  }

  async start() {
    await new Promise((resolve) => {
      this.server = this.app.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    this.servers = [this.server];
  }

  // The same endpoints over https with `cert`; returns the port.
  async startTls(cert) {
    const srv = createHttpsServer({ key: cert.key, cert: cert.cert }, this.app);
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
    this.servers.push(srv);
    return srv.address().port;
  }

  async stop() {
    for (const res of this.hanging) {
      try {
        res.socket?.destroy();
      } catch {}
    }
    for (const srv of this.servers ?? []) {
      srv.closeAllConnections?.();
      await new Promise((resolve) => srv.close(() => resolve()));
    }
  }

  handle(req, res) {
    const ep = this.endpoints.get(req.params.name);
    if (!ep) {
      res.status(404).send('no such endpoint');
      return;
    }
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const sdk = new PusherServer({ appId: ep.app.id, key: ep.app.key, secret: ep.app.secret });
    const webhook = sdk.webhook({ headers: req.headers, rawBody });
    const valid = webhook.isValid();
    const record = {
      at: Date.now(),
      valid,
      contentType: req.headers['content-type'],
      key: req.headers['x-pusher-key'],
      custom: req.headers['x-custom'],
      rawBody,
      body: valid ? webhook.getData() : null,
    };
    if (!valid) this.invalid.push({ path: req.params.name, headers: req.headers, rawBody });
    const n = ep.requests.items.length;
    ep.requests.push(record);
    const action = ep.behave(n);
    if (action === 'hang') {
      this.hanging.push(res);
      return;
    }
    if (typeof action === 'number') {
      res.status(action).send('failing on purpose');
      return;
    }
    // Delivered: record its events once.
    if (valid) for (const e of webhook.getEvents()) ep.events.push({ ...e, time_ms: record.body.time_ms, at: record.at });
    res.status(200).send('ok');
  }
}

// ---------------------------------------------------------------- the server under test

// PushcoreProcess (tests/common/testkit.mjs): pushcore with a temporary config, its log lines
// in `lines` (awaitable), `rssKiB()`, `stop()` -> exit status.

function serverConfig(receiver, deadUrl, tls) {
  const app = (a, webhooks, extra = {}) => ({
    id: a.id,
    key: a.key,
    secret: a.secret,
    enabled: true,
    policy: {
      limits: { max_client_events_per_second: 100000 },
      features: { enable_client_messages: true, enable_user_authentication: false },
      webhooks,
    },
    ...extra,
  });
  return {
    host: '127.0.0.1',
    port: 0,
    shutdown_grace_period: 3,
    metrics: { port: 0 }, // any free port: runs in parallel with other suites
    // The flood scenario relays thousands of client events to a client in the same Node
    // process; keep its outbound budget out of the way.
    send_queue: { max_bytes: 64 * 1024 * 1024, max_messages: 100000 },
    webhooks: {
      batching: { enabled: true, duration: 50 },
      vacate_delay_ms: VACATE_DELAY_MS,
      max_queue_size: 300,
      request_timeout_ms: 5000,
      retry: { initial_interval_ms: 200, max_interval_ms: 1000 },
    },
    app_manager: {
      driver: 'array',
      array: {
        apps: [
          app(APPS.main, [
            { url: receiver.url('main'), event_types: ALL_TYPES, headers: { 'X-Custom': 'from-config' } },
            // Only occupancy of beta- channels (Soketi's filter key), signed over its own body.
            { url: receiver.url('filtered'), event_types: ['channel_occupied'], filter: { channel_name_starts_with: `beta-${RUN}` } },
          ]),
          app(APPS.flaky, [{ url: receiver.url('flaky'), event_types: ['channel_occupied'] }]),
          app(APPS.hang, [{ url: receiver.url('hang'), event_types: ['channel_occupied'], request_timeout_ms: 500 }]),
          // Flat app-level `webhooks` key (Sockudo's form).
          { ...app(APPS.dead, undefined), webhooks: [{ url: deadUrl, event_types: ['client_event', 'channel_occupied'], retry: { initial_interval_ms: 100, max_elapsed_time_ms: 800 } }] },
          // https: one receiver whose certificate the server trusts (SSL_CERT_FILE), one it must refuse.
          app(
            APPS.tls,
            tls
              ? [
                  { url: `https://localhost:${tls.trustedPort}/tls`, event_types: ['channel_occupied'] },
                  { url: `https://localhost:${tls.untrustedPort}/untrusted`, event_types: ['channel_occupied'], retry: { initial_interval_ms: 100, max_elapsed_time_ms: 500 } },
                ]
              : [],
          ),
        ],
      },
    },
  };
}

// ---------------------------------------------------------------- pusher-js clients

const pjsLog = [];
PusherClient.logToConsole = false;
PusherClient.log = (msg) => {
  pjsLog.push(`${new Date().toISOString()} ${msg}`);
  if (pjsLog.length > 400) pjsLog.shift();
};

class Ctx {
  constructor(env) {
    this.env = env; // { port, receiver, server, endpoints }
    this.clients = [];
  }

  sdk(app) {
    return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(this.env.port), useTLS: false, timeout: 5000 });
  }

  async connected(app, { presence } = {}) {
    const auth = this.sdk(app);
    const p = new PusherClient(app.key, {
      wsHost: '127.0.0.1',
      wsPort: this.env.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      cluster: 'mt1',
      disableStats: true,
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, callback) => {
          try {
            const data = channelName.startsWith('presence-') ? presence : undefined;
            callback(null, auth.authorizeChannel(socketId, channelName, data));
          } catch (e) {
            callback(e, null);
          }
        },
      },
    });
    const c = { pusher: p, states: new Inbox('client states', { waitMs: WAIT_MS }) };
    p.connection.bind('state_change', (s) => c.states.push(s.current));
    this.clients.push(c);
    await c.states.waitFor((s) => s === 'connected', 'state connected');
    c.socketId = p.connection.socket_id;
    return c;
  }

  async subscribe(c, name) {
    const events = new Inbox(`channel ${name}`, { waitMs: WAIT_MS });
    const channel = c.pusher.subscribe(name);
    channel.bind_global((event, data) => events.push({ event, data }));
    await events.waitFor((e) => e.event === 'pusher:subscription_succeeded', `subscription_succeeded(${name})`);
    return { channel, events };
  }

  async close() {
    for (const c of this.clients) {
      try {
        c.pusher.disconnect();
      } catch {}
    }
  }
}

// Waits for a delivered event matching `pred` on an endpoint.
function delivered(ep, pred, label, ms = WAIT_MS) {
  return ep.events.waitFor(pred, label, ms);
}

// ---------------------------------------------------------------- scenarios

const scenarios = [];
function scenario(name, title, fn) {
  scenarios.push({ name, title, fn });
}

scenario('occupancy', 'channel_occupied at once, channel_vacated after the delay, each once; subscription_count', async (ctx) => {
  const main = ctx.env.endpoints.main;
  const ch = `wh-${RUN}-pub`;
  const c = await ctx.connected(APPS.main);
  const t0 = Date.now();
  const s = await ctx.subscribe(c, ch);
  const occ = await delivered(main, (e) => e.name === 'channel_occupied' && e.channel === ch, 'channel_occupied');
  assert(occ.time_ms >= t0 - 1000 && occ.time_ms <= Date.now(), `time_ms ${occ.time_ms} not when it happened`);
  assertEq(Object.keys(occ).filter((k) => !['time_ms', 'at'].includes(k)).sort(), ['channel', 'name'], 'channel_occupied fields');
  const count = await delivered(main, (e) => e.name === 'subscription_count' && e.channel === ch, 'subscription_count');
  assertEq(count.subscription_count, 1, 'subscription_count after the first subscribe');

  const tUnsub = Date.now();
  c.pusher.unsubscribe(ch);
  void s;
  const vac = await delivered(main, (e) => e.name === 'channel_vacated' && e.channel === ch, 'channel_vacated', VACATE_DELAY_MS + WAIT_MS);
  assert(vac.at - tUnsub >= VACATE_DELAY_MS - 100, `channel_vacated came ${vac.at - tUnsub} ms after the unsubscribe (delay ${VACATE_DELAY_MS})`);
  assert(vac.time_ms >= tUnsub - 1000 && vac.time_ms <= tUnsub + 1000, `vacated time_ms ${vac.time_ms} is not when it happened (${tUnsub})`);
  await sleep(300);
  assertEq(main.events.count((e) => e.name === 'channel_occupied' && e.channel === ch), 1, 'channel_occupied count');
  assertEq(main.events.count((e) => e.name === 'channel_vacated' && e.channel === ch), 1, 'channel_vacated count');
  const counts = main.events.filter((e) => e.name === 'subscription_count' && e.channel === ch).map((e) => e.subscription_count);
  assert(counts.includes(0), `no subscription_count 0 after the unsubscribe (got ${fmt(counts)})`);
});

scenario('rejoin', 'a re-subscribe within the delay: no vacated, no second occupied', async (ctx) => {
  const main = ctx.env.endpoints.main;
  const ch = `wh-${RUN}-rejoin`;
  const c = await ctx.connected(APPS.main);
  await ctx.subscribe(c, ch);
  await delivered(main, (e) => e.name === 'channel_occupied' && e.channel === ch, 'channel_occupied');
  c.pusher.unsubscribe(ch);
  await sleep(200);
  await ctx.subscribe(c, ch);
  await sleep(VACATE_DELAY_MS + 700);
  assertEq(main.events.count((e) => e.name === 'channel_occupied' && e.channel === ch), 1, 'channel_occupied count');
  assertEq(main.events.count((e) => e.name === 'channel_vacated' && e.channel === ch), 0, 'channel_vacated count');
});

scenario('presence', 'member_added / member_removed once per user, with user_id; presence client_event has user_id', async (ctx) => {
  const main = ctx.env.endpoints.main;
  const ch = `presence-wh-${RUN}`;
  const a = await ctx.connected(APPS.main, { presence: { user_id: 'alice', user_info: { n: 1 } } });
  const b = await ctx.connected(APPS.main, { presence: { user_id: 'bob' } });
  const b2 = await ctx.connected(APPS.main, { presence: { user_id: 'bob' } }); // bob's second socket
  const sa = await ctx.subscribe(a, ch);
  await ctx.subscribe(b, ch);
  await ctx.subscribe(b2, ch);
  const added = await delivered(main, (e) => e.name === 'member_added' && e.channel === ch && e.user_id === 'alice', 'member_added alice');
  assertEq(Object.keys(added).filter((k) => !['time_ms', 'at'].includes(k)).sort(), ['channel', 'name', 'user_id'], 'member_added fields');
  await delivered(main, (e) => e.name === 'member_added' && e.channel === ch && e.user_id === 'bob', 'member_added bob');
  await delivered(main, (e) => e.name === 'channel_occupied' && e.channel === ch, 'channel_occupied (presence)');

  // A client event on a presence channel carries the sender's user_id.
  sa.channel.trigger('client-wave', 'hi there');
  const ce = await delivered(main, (e) => e.name === 'client_event' && e.channel === ch, 'presence client_event');
  assertEq(ce.event, 'client-wave', 'client_event event');
  assertEq(ce.data, 'hi there', 'client_event data (string, as sent)');
  assertEq(ce.user_id, 'alice', 'client_event user_id');
  assertEq(ce.socket_id, a.socketId, 'client_event socket_id');

  // bob leaves on one socket: still present; then on the other: removed after the delay.
  b.pusher.unsubscribe(ch);
  await sleep(300);
  const tLeave = Date.now();
  b2.pusher.unsubscribe(ch);
  const removed = await delivered(main, (e) => e.name === 'member_removed' && e.channel === ch && e.user_id === 'bob', 'member_removed bob', VACATE_DELAY_MS + WAIT_MS);
  assert(removed.at - tLeave >= VACATE_DELAY_MS - 100, `member_removed came ${removed.at - tLeave} ms after the leave`);

  // alice leaves and comes back within the delay: no removal, no second member_added.
  a.pusher.unsubscribe(ch);
  await sleep(200);
  await ctx.subscribe(a, ch);
  await sleep(VACATE_DELAY_MS + 700);
  assertEq(main.events.count((e) => e.name === 'member_added' && e.channel === ch && e.user_id === 'alice'), 1, 'member_added alice count');
  assertEq(main.events.count((e) => e.name === 'member_removed' && e.channel === ch && e.user_id === 'alice'), 0, 'member_removed alice count');
  assertEq(main.events.count((e) => e.name === 'member_added' && e.channel === ch && e.user_id === 'bob'), 1, 'member_added bob count');
  assertEq(main.events.count((e) => e.name === 'member_removed' && e.channel === ch && e.user_id === 'bob'), 1, 'member_removed bob count');
  assertEq(main.events.count((e) => e.name === 'channel_vacated' && e.channel === ch), 0, 'channel_vacated (alice stayed)');
  assertEq(main.events.count((e) => e.name === 'subscription_count' && e.channel === ch), 0, 'subscription_count on a presence channel');
});

scenario('numeric-ids', 'a numeric presence user_id (Laravel-style) is a JSON number in member_added / member_removed / client_event', async (ctx) => {
  const main = ctx.env.endpoints.main;
  const ch = `presence-wh-num-${RUN}`;
  // The SDK's authorizeChannel signs JSON.stringify(presence): {"user_id":42,...} (protocol.md §5.1).
  const a = await ctx.connected(APPS.main, { presence: { user_id: 42, user_info: { n: 1 } } });
  const a2 = await ctx.connected(APPS.main, { presence: { user_id: '42' } }); // the same user, signed as a string
  const sa = await ctx.subscribe(a, ch);
  await ctx.subscribe(a2, ch);
  const added = await delivered(main, (e) => e.name === 'member_added' && e.channel === ch, 'member_added 42');
  assertEq(added.user_id, 42, 'member_added user_id (a number)');
  const raw = main.requests.items.find((r) => r.rawBody.includes(`"channel":"${ch}"`) && r.rawBody.includes('member_added'));
  assert(raw && raw.rawBody.includes('"user_id":42'), `raw member_added body: ${raw && raw.rawBody}`);

  sa.channel.trigger('client-num', { x: 1 });
  const ce = await delivered(main, (e) => e.name === 'client_event' && e.channel === ch, 'presence client_event');
  assertEq(ce.user_id, 42, 'client_event user_id (a number)');

  a.pusher.unsubscribe(ch);
  a2.pusher.unsubscribe(ch);
  const removed = await delivered(main, (e) => e.name === 'member_removed' && e.channel === ch, 'member_removed 42', VACATE_DELAY_MS + WAIT_MS);
  assertEq(removed.user_id, 42, 'member_removed user_id (a number)');
  await sleep(300);
  // 42 and "42" are one user: one member_added, one member_removed.
  assertEq(main.events.count((e) => e.name === 'member_added' && e.channel === ch), 1, 'member_added count');
  assertEq(main.events.count((e) => e.name === 'member_removed' && e.channel === ch), 1, 'member_removed count');
});

scenario('client_event', 'client_event: event, data as sent (object), socket_id; no user_id off presence; exactly once', async (ctx) => {
  const main = ctx.env.endpoints.main;
  const ch = `private-wh-${RUN}`;
  const a = await ctx.connected(APPS.main);
  const b = await ctx.connected(APPS.main);
  const sa = await ctx.subscribe(a, ch);
  const sb = await ctx.subscribe(b, ch);
  const data = { text: 'héllo "quoted"', n: [1, 2, { deep: true }] };
  sa.channel.trigger('client-message', data);
  await sb.events.waitFor((e) => e.event === 'client-message', 'client-message relayed to b');
  const ce = await delivered(main, (e) => e.name === 'client_event' && e.channel === ch, 'client_event');
  assertEq(ce.event, 'client-message', 'event');
  assertEq(ce.data, data, 'data');
  assertEq(ce.socket_id, a.socketId, 'socket_id');
  assert(!('user_id' in ce), `user_id on a private channel: ${fmt(ce)}`);
  await sleep(300);
  assertEq(main.events.count((e) => e.name === 'client_event' && e.channel === ch), 1, 'client_event count');
});

scenario('cache_miss', 'cache_miss on subscribing to an empty cache channel', async (ctx) => {
  const main = ctx.env.endpoints.main;
  const ch = `cache-wh-${RUN}`;
  const c = await ctx.connected(APPS.main);
  await ctx.subscribe(c, ch);
  const miss = await delivered(main, (e) => e.name === 'cache_miss' && e.channel === ch, 'cache_miss');
  void miss;
  await sleep(200);
  assertEq(main.events.count((e) => e.name === 'cache_miss' && e.channel === ch), 1, 'cache_miss count');
});

scenario('filter', 'a filtered webhook gets only its events, in its own signed body', async (ctx) => {
  const filtered = ctx.env.endpoints.filtered;
  const beta = `beta-${RUN}-room`;
  const other = `alpha-${RUN}-room`;
  const c = await ctx.connected(APPS.main);
  await ctx.subscribe(c, other);
  await ctx.subscribe(c, beta);
  const e = await delivered(filtered, (x) => x.channel === beta, 'filtered channel_occupied');
  assertEq(e.name, 'channel_occupied', 'filtered event name');
  await delivered(ctx.env.endpoints.main, (x) => x.name === 'channel_occupied' && x.channel === other, 'main sees the other channel');
  await sleep(200);
  assertEq(filtered.events.count((x) => x.channel === other), 0, 'events for a channel the filter excludes');
  assertEq(filtered.events.count((x) => x.name !== 'channel_occupied'), 0, 'event types the webhook did not ask for');
});

scenario('retry', 'a receiver answering 500 twice then 200: retried with the same body, delivered once', async (ctx) => {
  const flaky = ctx.env.endpoints.flaky;
  const ch = `wh-${RUN}-flaky`;
  const c = await ctx.connected(APPS.flaky);
  await ctx.subscribe(c, ch);
  await delivered(flaky, (e) => e.channel === ch, 'delivery after two 500s', WAIT_MS);
  assertEq(flaky.requests.items.length, 3, 'requests (500, 500, 200)');
  const bodies = new Set(flaky.requests.items.map((r) => r.rawBody));
  assertEq(bodies.size, 1, 'distinct bodies across attempts');
  const gap1 = flaky.requests.items[1].at - flaky.requests.items[0].at;
  const gap2 = flaky.requests.items[2].at - flaky.requests.items[1].at;
  assert(gap1 >= 150 && gap2 >= 300, `backoff gaps ${gap1} ms, ${gap2} ms (initial 200 ms, doubling)`);
  await sleep(500);
  assertEq(flaky.events.count((e) => e.channel === ch), 1, 'deliveries');
});

scenario('hang', 'a receiver that hangs: timed out, retried, delivered; the server stays responsive meanwhile', async (ctx) => {
  const hang = ctx.env.endpoints.hang;
  const ch = `wh-${RUN}-hang`;
  const c = await ctx.connected(APPS.hang);
  await ctx.subscribe(c, ch);
  await hang.requests.waitFor(() => true, 'first (hanging) request');
  // While the webhook request hangs, WebSocket traffic and the HTTP API are unaffected.
  const t0 = Date.now();
  const x = await ctx.connected(APPS.main);
  const y = await ctx.connected(APPS.main);
  const pch = `private-wh-${RUN}-live`;
  const sx = await ctx.subscribe(x, pch);
  const sy = await ctx.subscribe(y, pch);
  sx.channel.trigger('client-ping', { i: 1 });
  await sy.events.waitFor((e) => e.event === 'client-ping', 'client event relayed during the hang', 2000);
  await ctx.sdk(APPS.main).trigger(pch, 'api-event', { ok: true });
  await sx.events.waitFor((e) => e.event === 'api-event', 'API publish during the hang', 2000);
  assert(Date.now() - t0 < 2000, `traffic during the hang took ${Date.now() - t0} ms`);
  await delivered(hang, (e) => e.channel === ch, 'delivery after the timeout', WAIT_MS);
  assert(hang.requests.items.length === 2, `requests: ${hang.requests.items.length} (hang, then ok)`);
  const gap = hang.requests.items[1].at - hang.requests.items[0].at;
  assert(gap >= 600, `retry came ${gap} ms after the hanging request (timeout 500 + backoff 200)`);
});

scenario('https', 'https:// receivers: a trusted certificate is delivered to, an untrusted one is refused', async (ctx) => {
  if (!ctx.env.tls) return 'skip (no openssl CLI to make a certificate)';
  const ch = `wh-${RUN}-tls`;
  const c = await ctx.connected(APPS.tls);
  await ctx.subscribe(c, ch);
  const e = await delivered(ctx.env.endpoints.tls, (x) => x.channel === ch, 'channel_occupied over https');
  assertEq(e.name, 'channel_occupied', 'event over https');
  const url = `https://localhost:${ctx.env.tls.untrustedPort}/untrusted`;
  const line = await ctx.env.server.lines.waitFor((l) => /msg=webhook_dropped\b/.test(l) && l.includes(`:${ctx.env.tls.untrustedPort}/untrusted`), `webhook_dropped for ${url}`, WAIT_MS);
  assert(/certificate|verify|handshake/i.test(line), `the drop reason does not name the certificate: ${line}`);
  assertEq(ctx.env.endpoints.untrusted.requests.items.length, 0, 'requests that reached the untrusted receiver');
});

scenario('unreachable', 'an unreachable URL: retries exhausted, counted and logged, no crash, memory bounded', async (ctx) => {
  const server = ctx.env.server;
  const ch = `private-wh-${RUN}-dead`;
  const a = await ctx.connected(APPS.dead);
  const b = await ctx.connected(APPS.dead);
  const sa = await ctx.subscribe(a, ch);
  const sb = await ctx.subscribe(b, ch);
  await server.lines.waitFor((l) => /msg=webhook_dropped\b/.test(l) && /kind=retries_exhausted\b/.test(l), 'webhook_dropped kind=retries_exhausted log line', WAIT_MS);
  assert(!server.lines.items.some((l) => l.includes(APPS.dead.secret)), 'the app secret appears in the log');

  // A flood of client events towards the dead URL: the queue (300) fills, the rest is dropped
  // and logged once per burst, and the relay to the other client is unaffected.
  const rss0 = server.rssKiB();
  const N = 5000;
  const blob = 'x'.repeat(500);
  for (let i = 0; i < N; i++) sa.channel.trigger('client-flood', { i, blob });
  await sb.events.waitFor((e) => e.event === 'client-flood' && e.data.i === N - 1, 'last flooded client event relayed', 15_000);
  await server.lines.waitFor((l) => /msg=webhook_dropped\b/.test(l) && /kind=queue_full\b/.test(l), 'webhook_dropped kind=queue_full log line', 5000);
  const rss1 = server.rssKiB();
  if (rss0 !== null && rss1 !== null) {
    // A sanity bound only: the exact bound is unit-tested (unit_webhooks), and the relay's own
    // buffers also move RSS. The webhook queue holds at most 300 events here.
    assert(rss1 - rss0 < 24 * 1024, `server RSS grew by ${rss1 - rss0} KiB during the flood`);
  }
  const drops = server.lines.filter((l) => /msg=webhook_dropped\b/.test(l) && /kind=queue_full\b/.test(l));
  assert(drops.length <= 2, `queue_full logged ${drops.length} times in one burst`);
  assert(server.running, 'server died');
  const c = await ctx.connected(APPS.main);
  assert(c.socketId, 'cannot connect after the flood');
});

// ---------------------------------------------------------------- main

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const receiver = new Receiver();
  await receiver.start();
  const endpoints = {
    main: receiver.endpoint('main', APPS.main),
    filtered: receiver.endpoint('filtered', APPS.main),
    flaky: receiver.endpoint('flaky', APPS.flaky, (n) => (n < 2 ? 500 : 'ok')),
    hang: receiver.endpoint('hang', APPS.hang, (n) => (n === 0 ? 'hang' : 'ok')),
  };
  endpoints.tls = receiver.endpoint('tls', APPS.tls);
  endpoints.untrusted = receiver.endpoint('untrusted', APPS.tls);
  const deadUrl = `http://127.0.0.1:${await closedPort()}/nothing-listens-here`;
  const certDir = mkdtempSync(join(tmpdir(), 'pushcore-webhooks-certs-'));
  const trusted = makeCert(certDir, 'trusted');
  const untrusted = trusted && makeCert(certDir, 'untrusted');
  let tls = null;
  if (trusted && untrusted) {
    tls = { trustedPort: await receiver.startTls(trusted), untrustedPort: await receiver.startTls(untrusted) };
  }
  const server = new PushcoreProcess(args.server, 'pushcore', { max: 2000 });
  process.on('exit', () => server.killNow());
  let failed = 0;
  let passed = 0;
  try {
    // SSL_CERT_FILE replaces OpenSSL's default CA store: only the "trusted" certificate is.
    const port = await server.start(serverConfig(receiver, deadUrl, tls), tls ? { SSL_CERT_FILE: trusted.certPath } : {});
    const env = { port, receiver, server, endpoints, tls };
    for (const s of scenarios) {
      if (args.only && !args.only.includes(s.name)) continue;
      const ctx = new Ctx(env);
      const t0 = Date.now();
      try {
        const note = await withTimeout(s.fn(ctx), SCENARIO_TIMEOUT_MS, `scenario ${s.name}`);
        if (typeof note === 'string' && note.startsWith('skip')) {
          console.log(`skip ${s.name}: ${s.title}: ${note}`);
          continue;
        }
        passed++;
        console.log(`ok   ${s.name}: ${s.title} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`FAIL ${s.name}: ${s.title}\n     ${fmt(e)}`);
        if (args.verbose) {
          console.log('     --- pusher-js log ---');
          for (const l of pjsLog.slice(-40)) console.log(`     ${l}`);
        }
      } finally {
        await ctx.close();
      }
    }
    // Every request any endpoint received must pass the SDK's validation.
    const total = [...receiver.endpoints.values()].reduce((n, ep) => n + ep.requests.items.length, 0);
    if (receiver.invalid.length === 0 && (total > 0 || args.only)) {
      passed++;
      console.log(`ok   signatures: all ${total} webhook requests pass pusher.webhook(...).isValid()`);
    } else {
      failed++;
      console.log(`FAIL signatures: ${receiver.invalid.length} of ${total} requests failed isValid()`);
      for (const r of receiver.invalid.slice(0, 3)) console.log(`     ${fmt({ path: r.path, ct: r.headers['content-type'], body: r.rawBody.slice(0, 200) })}`);
    }
    const ct = [...receiver.endpoints.values()].flatMap((ep) => ep.requests.items.map((r) => r.contentType));
    const custom = endpoints.main.requests.items.map((r) => r.custom);
    if (ct.every((c) => c === 'application/json') && custom.every((c) => c === 'from-config')) {
      passed++;
      console.log('ok   headers: Content-Type exactly application/json, configured headers sent');
    } else {
      failed++;
      console.log(`FAIL headers: content types ${fmt([...new Set(ct)])}, custom ${fmt([...new Set(custom)])}`);
    }
  } catch (e) {
    failed++;
    console.log(`FAIL setup: ${fmt(e)}`);
  } finally {
    const exit = await server.stop();
    if (exit && exit.code !== 0 && exit.signal === null) {
      failed++;
      console.log(`FAIL shutdown: server exited with code ${exit.code}`);
    }
    if (failed > 0 || args.verbose) {
      console.log('--- server log (tail) ---');
      for (const l of server.lines.items.slice(-40)) console.log(l);
    }
    await receiver.stop();
    rmSync(certDir, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main();
