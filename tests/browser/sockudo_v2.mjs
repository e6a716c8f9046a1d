#!/usr/bin/env node
// Sockudo's own JavaScript client, @sockudo/client 2.2.0 (tests/vendor), in Debian's headless
// Chromium (playwright-core) on Protocol V2 against a real pushcore: the with-encryption web
// build (dist/web/sockudo-with-encryption.mjs, imported by path) runs in a page served by a small
// HTTP server in this process, which also answers the client's channel authorization with the
// `pusher` SDK. The page reaches pushcore through a TCP proxy in this process, so the recovery
// scenario can drop its connection deterministically while the SDK publishes.
//
//   node sockudo_v2.mjs --server /path/to/pushcore [--only a,b] [--verbose]
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium). One line per scenario, then
// "N passed, N failed"; exit 1 on any failure.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';
import nacl from 'tweetnacl';

import {
  HERE, APP, WAIT_MS, CHROMIUM, guardRun, parseArgs, runScenarios, assert, assertEq, fmt, marker, pollUntil, makeSdk,
  sharedSecret, withTimeout,
} from './lib.mjs';
import { PushcoreProcess } from '../common/testkit.mjs';
import { Proxy } from '../common/proxy.mjs';

const TOTAL_DEADLINE_MS = 80_000;
const RUN = randomBytes(3).toString('hex');
const CH = {
  public: `v2-public-${RUN}`,
  private: `private-v2-${RUN}`,
  encrypted: `private-encrypted-v2-${RUN}`,
};
const ALL = [CH.public, CH.private, CH.encrypted];

const args = parseArgs(process.argv.slice(2), { name: 'sockudo_v2.mjs' });
const watchdog = guardRun(TOTAL_DEADLINE_MS);

// The client's browser build, from the installed package (`npm ci` here). Its subpath exports for
// the with-encryption build point at files the build does not produce, and it exports no
// ./package.json: the files are used by path.
const CLIENT_PKG = join(HERE, 'node_modules', '@sockudo', 'client');
const CLIENT_DIR = join(CLIENT_PKG, 'dist', 'web');
const CLIENT_VERSION = JSON.parse(readFileSync(join(CLIENT_PKG, 'package.json'), 'utf8')).version;
const NACL_DIR = join(HERE, 'node_modules', 'tweetnacl');
const PAGE_DIR = join(HERE, 'sockudo-page');

// pushcore: client events on, connection recovery (replay buffer) on, no metrics listener.
function pushcoreConfig() {
  return {
    host: '127.0.0.1',
    port: 0,
    activity_timeout: 120,
    shutdown_grace_period: 1,
    metrics: { enabled: false },
    connection_recovery: { enabled: true, buffer_ttl_seconds: 60, max_buffer_size: 50 },
    app_manager: { array: { apps: [{
      id: APP.id, key: APP.key, secret: APP.secret, enabled: true,
      policy: {
        limits: { max_client_events_per_second: 100 },
        features: { enable_client_messages: true, enable_user_authentication: false },
      },
    }] } },
  };
}

// ---------------------------------------------------------------- TCP proxy (page <-> pushcore)


// ---------------------------------------------------------------- page server

// Serves the page, the client build and tweetnacl, `/config.json`, and `POST /auth` (the app's
// backend: the `pusher` SDK's authorizeChannel, with shared_secret for private-encrypted-).
class PageServer {
  constructor({ sdk, wsPort }) {
    this.sdk = sdk;
    this.wsPort = wsPort;
    this.authRequests = []; // {socket_id, channel_name, status, body}
    this.requests = []; // every "METHOD path status"
    const files = {
      '/': [join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'],
      '/app.mjs': [join(PAGE_DIR, 'app.mjs'), 'text/javascript; charset=utf-8'],
      '/vendor/tweetnacl.mjs': [join(PAGE_DIR, 'tweetnacl.mjs'), 'text/javascript; charset=utf-8'],
      '/vendor/nacl-fast.min.js': [join(NACL_DIR, 'nacl-fast.min.js'), 'text/javascript; charset=utf-8'],
      '/vendor/sockudo-with-encryption.mjs': [join(CLIENT_DIR, 'sockudo-with-encryption.mjs'), 'text/javascript; charset=utf-8'],
      '/vendor/sockudo-with-encryption.mjs.map': [join(CLIENT_DIR, 'sockudo-with-encryption.mjs.map'), 'application/json'],
    };
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://127.0.0.1');
      const done = (status, type, body) => {
        this.requests.push(`${req.method} ${url.pathname} ${status}`);
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      if (req.method === 'GET' && url.pathname === '/favicon.ico') return done(204, 'image/x-icon', '');
      if (req.method === 'GET' && url.pathname === '/config.json') {
        return done(200, 'application/json', JSON.stringify({ key: APP.key, wsHost: '127.0.0.1', wsPort: this.wsPort }));
      }
      if (req.method === 'GET' && files[url.pathname]) {
        const [path, type] = files[url.pathname];
        return done(200, type, readFileSync(path));
      }
      if (req.method === 'POST' && url.pathname === '/auth') {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c) => { body += c; if (body.length > 10_000) req.destroy(); });
        req.on('end', () => {
          const form = new URLSearchParams(body);
          const socketId = form.get('socket_id');
          const channel = form.get('channel_name');
          const entry = { socket_id: socketId, channel_name: channel, content_type: req.headers['content-type'] };
          this.authRequests.push(entry);
          if (!socketId || !channel || !ALL.includes(channel) || channel === CH.public) {
            entry.status = 403;
            return done(403, 'application/json', '{"error":"Forbidden"}');
          }
          entry.status = 200;
          entry.body = this.sdk.authorizeChannel(socketId, channel);
          return done(200, 'application/json', JSON.stringify(entry.body));
        });
        return undefined;
      }
      return done(404, 'text/plain', 'not found');
    });
    this.server.requestTimeout = 5_000;
    this.server.headersTimeout = 5_000;
  }
  async listen() {
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = this.server.address().port;
    this.base = `http://127.0.0.1:${this.port}`;
    return this.port;
  }
  close() {
    this.server.closeAllConnections?.();
    return new Promise((r) => this.server.close(r));
  }
}

// ---------------------------------------------------------------- the page

class V2Page {
  constructor(page) {
    this.page = page;
    this.sockets = []; // every WebSocket the page opened to /app/: {url, received: [], sent: []}
    this.problems = [];
    this.console = [];
  }

  static async open(context, base) {
    const page = await context.newPage();
    const p = new V2Page(page);
    page.on('websocket', (ws) => {
      if (!/\/app\//.test(ws.url())) return;
      const s = { url: ws.url(), received: [], sent: [], closed: false };
      p.sockets.push(s);
      ws.on('framereceived', (f) => typeof f.payload === 'string' && s.received.push(f.payload));
      ws.on('framesent', (f) => typeof f.payload === 'string' && s.sent.push(f.payload));
      ws.on('close', () => { s.closed = true; });
    });
    page.on('pageerror', (e) => p.problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      p.console.push(`${m.type()}: ${m.text()}`);
      if (p.console.length > 200) p.console.shift();
      if (m.type() === 'error') p.problems.push(`console error: ${m.text()}`);
    });
    page.on('requestfailed', (r) => p.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    await page.goto(base, { waitUntil: 'load' });
    await page.waitForFunction(() => window.sockudoTest && window.sockudoTest.ready).catch(async (e) => {
      throw new Error(`page did not load the client: ${fmt(p.problems)} ${fmt(p.console.slice(-10))} (${e.message.split('\n')[0]})`);
    });
    return p;
  }

  eval(fn, arg) {
    return this.page.evaluate(fn, arg);
  }

  state() {
    return this.eval(() => window.sockudoTest.state());
  }

  async waitConnected(ms = 10_000) {
    await this.page.waitForFunction(() => window.sockudoTest.state() === 'connected', null, { timeout: ms }).catch(async (e) => {
      throw new Error(`page not connected within ${ms} ms: states ${fmt(await this.eval(() => window.sockudoTest.states))} (${e.message.split('\n')[0]})`);
    });
  }

  // Events of `channel` (named `event`) recorded by the page.
  async events(channel, event) {
    const all = await this.eval(() => window.sockudoTest.events);
    return all.filter((e) => e.channel === channel && (event === undefined || e.event === event));
  }

  async waitForEvent(channel, event, pred = () => true, ms = WAIT_MS) {
    return pollUntil(async () => (await this.events(channel, event)).find(pred), `${channel}/${event} in the page`, ms, 25)
      .catch(async (e) => {
        const seen = (await this.eval(() => window.sockudoTest.events)).map((x) => `${x.channel}/${x.event}`);
        throw new Error(`${e.message}; seen ${fmt(seen.slice(-20))}`);
      });
  }

  async waitForGlobal(event, ms = WAIT_MS) {
    return pollUntil(async () => (await this.eval(() => window.sockudoTest.global)).find((g) => g.event === event), `global ${event}`, ms, 25);
  }

  // Parsed frames received on every socket so far, with the socket's index.
  frames() {
    return this.sockets.flatMap((s, i) => s.received.map((t) => ({ sock: i, text: t, f: JSON.parse(t) })));
  }
}

// ---------------------------------------------------------------- scenarios

// A channel frame's data as the application sees it (encrypted channel: opened with the key).
function plain(ctx, f) {
  const d = JSON.parse(f.data);
  if (f.channel !== CH.encrypted) return d;
  const opened = nacl.secretbox.open(Buffer.from(d.ciphertext, 'base64'), Buffer.from(d.nonce, 'base64'), sharedSecret(CH.encrypted, ctx.masterKey));
  assert(opened, `ciphertext does not open with the channel key: ${f.data}`);
  return JSON.parse(Buffer.from(opened).toString('utf8'));
}

const scenarios = [];
const scenario = (name, title, fn, timeoutMs) => scenarios.push({ name, title, fn, timeoutMs });

scenario('connect', 'page loads the with-encryption build; V2 connection (?protocol=2, sockudo: prefixes); public, private and private-encrypted subscribed via the page\'s own /auth calls', async (ctx) => {
  ctx.page = await V2Page.open(ctx.context, ctx.web.base);
  const p = ctx.page;
  await p.waitConnected();
  assertEq(p.sockets.length, 1, 'WebSockets opened');
  const url = new URL(p.sockets[0].url);
  assertEq([url.host, url.pathname, url.searchParams.get('protocol'), url.searchParams.get('version')],
    [`127.0.0.1:${ctx.proxyPort}`, `/app/${APP.key}`, '2', CLIENT_VERSION], `WebSocket URL ${url}`);
  const first = JSON.parse(p.sockets[0].received[0]);
  assertEq(first.event, 'sockudo:connection_established', 'first frame');
  const socketId = await p.eval(() => window.sockudoTest.socketId());
  assertEq(JSON.parse(first.data).socket_id, socketId, 'socket_id');

  for (const c of ALL) await p.eval((n) => window.sockudoTest.subscribe(n), c);
  for (const c of ALL) await p.waitForEvent(c, 'sockudo:subscription_succeeded', () => true, 8_000);

  // The client's own authorizer: one form POST per protected channel, signed by the SDK.
  const auths = ctx.web.authRequests.filter((a) => a.socket_id === socketId);
  assertEq(auths.map((a) => [a.channel_name, a.status, a.content_type]).sort(),
    [[CH.private, 200, 'application/x-www-form-urlencoded'], [CH.encrypted, 200, 'application/x-www-form-urlencoded']].sort(), 'auth requests');
  const enc = auths.find((a) => a.channel_name === CH.encrypted);
  assertEq(enc.body.shared_secret, sharedSecret(CH.encrypted, ctx.masterKey).toString('base64'), 'shared_secret from the SDK');
  // On the wire: V2 subscribe frames, the server's answers with the internal V2 prefix.
  const sent = p.sockets[0].sent.map((t) => JSON.parse(t)).filter((f) => f.event === 'sockudo:subscribe');
  assertEq(sent.map((f) => f.data.channel).sort(), [...ALL].sort(), 'sockudo:subscribe frames');
  for (const f of sent) {
    const signed = auths.find((a) => a.channel_name === f.data.channel);
    assertEq(f.data.auth || null, signed ? signed.body.auth : null, `${f.data.channel} subscribe auth (the endpoint's signature; none for public)`);
  }
  const ok = p.frames().filter(({ f }) => f.event === 'sockudo_internal:subscription_succeeded');
  assertEq(ok.map(({ f }) => f.channel).sort(), [...ALL].sort(), 'sockudo_internal:subscription_succeeded frames');
  assert(ok.every(({ f }) => typeof f.stream_id === 'string' && Number.isInteger(f.serial)), `subscription positions: ${fmt(ok.map((x) => x.f))}`);
  const legacy = p.frames().filter(({ f }) => /^pusher(_internal)?:/.test(f.event || ''));
  assertEq(legacy.map(({ f }) => f.event), [], 'pusher: prefixed frames on a V2 connection');
}, 20_000);

scenario('events', 'SDK events on each channel arrive once with their data (encrypted: decrypted by the client, only ciphertext on the wire); frames carry message_id, stream_id, serial', async (ctx) => {
  const p = ctx.page;
  const payloads = Object.fromEntries(ALL.map((c) => [c, { marker: marker('ev'), channel: c, text: 'héllo ✓' }]));
  for (const c of ALL) await ctx.sdk.trigger(c, 'news', payloads[c]);
  for (const c of ALL) {
    await p.waitForEvent(c, 'news', (e) => e.data && e.data.marker === payloads[c].marker);
  }
  // Barrier: one more event per channel; by then a duplicate would have arrived.
  for (const c of ALL) await ctx.sdk.trigger(c, 'barrier', { c });
  for (const c of ALL) await p.waitForEvent(c, 'barrier');
  for (const c of ALL) assertEq((await p.events(c, 'news')).map((e) => e.data), [payloads[c]], `${c} events at the page`);

  const frames = p.frames().filter(({ f }) => f.event === 'news');
  assertEq(frames.map(({ f }) => f.channel).sort(), [...ALL].sort(), 'news frames on the wire');
  for (const { f, text } of frames) {
    assert(typeof f.message_id === 'string' && f.message_id.length > 0, `message_id on ${text}`);
    assert(typeof f.stream_id === 'string' && f.stream_id.length > 0, `stream_id on ${text}`);
    assert(Number.isInteger(f.serial) && f.serial >= 1, `serial on ${text}`);
    const subscribed = p.frames().find((x) => x.f.event === 'sockudo_internal:subscription_succeeded' && x.f.channel === f.channel).f;
    assertEq([f.stream_id, f.serial], [subscribed.stream_id, subscribed.serial + 1], `${f.channel} position follows the subscription's`);
  }
  assertEq(new Set(frames.map(({ f }) => f.message_id)).size, frames.length, 'distinct message ids');
  const { f: encFrame, text: encText } = frames.find(({ f }) => f.channel === CH.encrypted);
  assert(!encText.includes(payloads[CH.encrypted].marker), `plaintext visible on the wire: ${encText}`);
  assertEq(Object.keys(JSON.parse(encFrame.data)).sort(), ['ciphertext', 'nonce'], 'encrypted data fields');
  assertEq(plain(ctx, encFrame), payloads[CH.encrypted], 'wire ciphertext opened by the test');
});

scenario('client-echo', 'a V2 client event on the private channel is echoed back to its sender (echo_messages default)', async (ctx) => {
  const p = ctx.page;
  const m = marker('whisper');
  assertEq(await p.eval(([c, d]) => window.sockudoTest.trigger(c, 'client-typing', d), [CH.private, { marker: m }]), true, 'trigger() result');
  const echoed = await p.waitForEvent(CH.private, 'client-typing', (e) => e.data && e.data.marker === m);
  assertEq(echoed.data, { marker: m }, 'echoed client event');
  const b = marker('barrier');
  await ctx.sdk.trigger(CH.private, 'barrier', { marker: b });
  await p.waitForEvent(CH.private, 'barrier', (e) => e.data && e.data.marker === b);
  assertEq((await p.events(CH.private, 'client-typing')).length, 1, 'echoes of one client event');
  const sent = p.sockets.at(-1).sent.map((t) => JSON.parse(t)).filter((f) => f.event === 'client-typing');
  assertEq(sent.map((f) => [f.channel, f.data]), [[CH.private, { marker: m }]], 'client event frame sent');
});

scenario('recovery', 'connection dropped (TCP proxy) while the SDK publishes 5 events per channel: after reconnect all 5 arrive once, in order, then live; sockudo:resume_success lists each channel with replayed 5', async (ctx) => {
  const p = ctx.page;
  const socketsBefore = p.sockets.length;
  const oldSocketId = await p.eval(() => window.sockudoTest.socketId());
  for (const c of ALL) await ctx.sdk.trigger(c, 'tick', { tag: 'before', i: 0 });
  for (const c of ALL) await p.waitForEvent(c, 'tick', (e) => e.data && e.data.tag === 'before');
  const lastBefore = Object.fromEntries(ALL.map((c) => [c, p.frames().filter(({ f }) => f.channel === c && f.event === 'tick').at(-1).f]));

  ctx.proxy.cut();
  await pollUntil(async () => (await p.state()) !== 'connected', 'the page noticed the drop', 8_000);
  for (let i = 1; i <= 5; i += 1) {
    for (const c of ALL) await ctx.sdk.trigger(c, 'tick', { tag: 'missed', i });
  }
  assertEq((await Promise.all(ALL.map((c) => p.events(c, 'tick')))).map((l) => l.length), [1, 1, 1], 'ticks at the page while down');
  ctx.proxy.release();
  await p.waitConnected(15_000);
  const resumed = await p.waitForGlobal('sockudo:resume_success', 12_000);
  for (const c of ALL) await ctx.sdk.trigger(c, 'tick', { tag: 'live', i: 6 });
  for (const c of ALL) await p.waitForEvent(c, 'tick', (e) => e.data && e.data.tag === 'live');
  // Barrier: a later event per channel; a late duplicate of a replayed one would be there by now.
  for (const c of ALL) await ctx.sdk.trigger(c, 'barrier', { after: 'recovery' });
  for (const c of ALL) await p.waitForEvent(c, 'barrier', (e) => e.data && e.data.after === 'recovery');

  for (const c of ALL) {
    const seen = (await p.events(c, 'tick')).map((e) => `${e.data.tag}${e.data.i}`);
    assertEq(seen, ['before0', 'missed1', 'missed2', 'missed3', 'missed4', 'missed5', 'live6'], `${c} ticks at the page`);
  }
  const rec = resumed.data.recovered.map((r) => [r.channel, r.replayed]).sort();
  assertEq(rec, ALL.map((c) => [c, 5]).sort(), `resume_success recovered (${fmt(resumed.data)})`);
  assertEq(resumed.data.failed, [], 'resume_success failed');

  // What happened on the wire: a new socket (new socket id), the client's sockudo:resume naming
  // each channel at its last position, and exactly 5 replayed frames per channel, serials in order.
  assert(p.sockets.length > socketsBefore, 'the page opened a new WebSocket');
  const sock = p.sockets.at(-1);
  assertEq(new URL(sock.url).searchParams.get('protocol'), '2', 'reconnect URL protocol');
  const newSocketId = await p.eval(() => window.sockudoTest.socketId());
  assert(newSocketId && newSocketId !== oldSocketId, `new socket id (${oldSocketId} -> ${newSocketId})`);
  const resume = sock.sent.map((t) => JSON.parse(t)).filter((f) => f.event === 'sockudo:resume');
  assertEq(resume.length, 1, 'sockudo:resume frames sent');
  const positions = (typeof resume[0].data === 'string' ? JSON.parse(resume[0].data) : resume[0].data).channel_positions;
  for (const c of ALL) {
    assertEq([positions[c] && positions[c].stream_id, positions[c] && positions[c].serial], [lastBefore[c].stream_id, lastBefore[c].serial], `${c} resume position`);
  }
  const received = sock.received.map((t) => JSON.parse(t));
  for (const c of ALL) {
    const replayed = received.filter((f) => f.channel === c && f.event === 'tick' && plain(ctx, f).tag === 'missed');
    assertEq(replayed.map((f) => f.serial), [1, 2, 3, 4, 5].map((k) => lastBefore[c].serial + k), `${c} replayed serials on the wire`);
  }
  const success = received.filter((f) => f.event === 'sockudo:resume_success');
  assertEq(success.length, 1, 'resume_success frames');
  // The protected channels were authorized again for the new socket.
  assertEq(ctx.web.authRequests.filter((a) => a.socket_id === newSocketId).map((a) => a.channel_name).sort(), [CH.private, CH.encrypted].sort(), 'auth requests after the reconnect');
}, 40_000);

scenario('page-health', 'no page errors, console errors or failed requests; the page loaded only local files', async (ctx) => {
  assertEq(ctx.page.problems, [], 'page problems');
  const loaded = ctx.web.requests.filter((r) => r.startsWith('GET ')).map((r) => r.split(' ')[1]);
  for (const f of ['/', '/app.mjs', '/config.json', '/vendor/sockudo-with-encryption.mjs', '/vendor/tweetnacl.mjs', '/vendor/nacl-fast.min.js']) {
    assert(loaded.includes(f), `${f} not requested (${fmt(loaded)})`);
  }
  assertEq(ctx.web.requests.filter((r) => / 404$/.test(r)), [], 'requests answered 404');
});

// ---------------------------------------------------------------- runner

const ctx = {};
let failures = 1;
let browser;
let pushcore;
try {
  pushcore = new PushcoreProcess(args.server, 'pushcore');
  process.once('exit', () => pushcore.killNow());
  const port = await pushcore.start(pushcoreConfig());
  ctx.masterKey = randomBytes(32).toString('base64');
  ctx.sdk = makeSdk(port, ctx.masterKey);
  ctx.proxy = new Proxy(port);
  ctx.proxyPort = await ctx.proxy.listen();
  ctx.web = new PageServer({ sdk: ctx.sdk, wsPort: ctx.proxyPort });
  await ctx.web.listen();
  console.log(`# pushcore on 127.0.0.1:${port}, proxy on 127.0.0.1:${ctx.proxyPort}, page on ${ctx.web.base}, @sockudo/client ${CLIENT_VERSION}`);
  browser = await withTimeout(chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage', '--no-proxy-server'] }), 20_000, 'Chromium to start');
  ctx.context = await browser.newContext();
  ctx.context.setDefaultTimeout(WAIT_MS);
  failures = await runScenarios(scenarios, {
    only: args.only,
    ctx,
    timeoutMs: 15_000,
    onFailure: async () => {
      if (!args.verbose) return;
      const p = ctx.page;
      if (p) {
        console.log(`--- page console\n${p.console.slice(-30).join('\n')}`);
        console.log(`--- page states ${fmt(await p.eval(() => window.sockudoTest.states).catch(() => '?'))}`);
        p.sockets.forEach((s, i) => console.log(`--- socket ${i} ${s.url}\n  received:\n    ${s.received.slice(-25).join('\n    ')}\n  sent:\n    ${s.sent.slice(-10).join('\n    ')}`));
      }
      console.log(`--- pushcore\n${pushcore.tail.slice(-30).join('\n')}`);
    },
  });
} catch (e) {
  console.log(`FAIL  setup: ${e && e.stack ? e.stack : e}`);
  failures = 1;
} finally {
  if (browser) await withTimeout(browser.close(), 10_000, 'Chromium to close').catch(() => {});
  if (ctx.proxy) ctx.proxy.close();
  if (ctx.web) await withTimeout(ctx.web.close(), 5_000, 'page server to close').catch(() => {});
  if (pushcore) {
    const ex = await withTimeout(pushcore.stop(), 10_000, 'pushcore to stop').catch(() => pushcore.killNow());
    if (ex && ex.code !== 0 && ex.code !== undefined) {
      console.log(`# warning: pushcore exit on SIGTERM: code ${ex.code}, signal ${ex.signal}\n${pushcore.tail.slice(-30).join('\n')}`);
    }
  }
}
clearTimeout(watchdog);
process.exit(failures ? 1 : 0);
