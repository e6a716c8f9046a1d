// Shared harness of the interop suite (run.mjs is the entry point; scenario groups live in
// run.mjs (core), http_api.mjs and signin.mjs).
//
// A *group* is a list of scenarios plus the server configs they need. Each scenario names one
// server of its group ('default' = the standard config below); the runner starts every server a
// group uses (lazily, with port 0 and metrics port 0, so nothing collides with a parallel run)
// and stops them when the group is done.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';

import PusherClient from 'pusher-js'; // Node build: encrypted channels included (bundles tweetnacl)
import PusherServer from 'pusher';
import WebSocket from 'ws';

import { assert, assertEq, fmt, Inbox, PushcoreProcess, TimeoutError, WAIT_MS, withTimeout } from '../common/testkit.mjs';

export const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
export const SCENARIO_TIMEOUT_MS = 10_000; // per scenario
export const RUN = randomBytes(3).toString('hex'); // isolates channel names between runs on one server

// ---------------------------------------------------------------- small async helpers

export { assert, assertEq, fmt, Inbox, pollUntil, sleep, TimeoutError, WAIT_MS, withTimeout } from '../common/testkit.mjs';

// Runs every check and throws one error listing all failures (so one server bug does not hide
// the next assertion of the same scenario).
export class Checks {
  constructor() {
    this.failures = [];
  }
  check(fn) {
    try {
      fn();
    } catch (e) {
      this.failures.push(e.message);
    }
  }
  eq(actual, expected, what) {
    this.check(() => assertEq(actual, expected, what));
  }
  ok(cond, msg) {
    this.check(() => assert(cond, msg));
  }
  async run(label, fn) {
    try {
      await fn();
    } catch (e) {
      this.failures.push(`${label}: ${e.message}`);
    }
  }
  done() {
    if (this.failures.length === 1) throw new Error(this.failures[0]);
    if (this.failures.length) throw new Error(`${this.failures.length} checks failed:\n    - ${this.failures.join('\n    - ')}`);
  }
}

// ---------------------------------------------------------------- server configs

// The standard app: user authentication on (the core sign-in scenario needs it), client events on.
export function appConfig({ id = APP.id, key = APP.key, secret = APP.secret, limits = {}, features = {}, ...rest } = {}) {
  return {
    id,
    key,
    secret,
    enabled: true,
    policy: {
      limits: { max_client_events_per_second: 100, ...limits },
      features: { enable_client_messages: true, enable_user_authentication: true, ...features },
    },
    ...rest,
  };
}

// A whole server config. Metrics on an ephemeral port (never the fixed default 9601, which a
// parallel run or another server would hold); a short shutdown grace keeps teardown fast.
export function serverConfig({ apps = [appConfig()], ...top } = {}) {
  return {
    host: '127.0.0.1',
    port: 0,
    activity_timeout: 120,
    shutdown_grace_period: 1,
    metrics: { enabled: true, host: '127.0.0.1', port: 0 },
    app_manager: { array: { apps } },
    ...top,
  };
}

// ---------------------------------------------------------------- server under test

const liveServers = new Set();
process.on('exit', () => {
  for (const s of liveServers) s.killNow();
});

// pushcore for one group (tests/common/testkit.mjs does the work); `stderrTail` is its output.
export class ServerProcess extends PushcoreProcess {
  constructor(bin, config, label = 'pushcore') {
    super(bin, label);
    this.config = config;
    this.stderrTail = this.tail;
  }

  async start() {
    liveServers.add(this);
    return super.start(this.config);
  }

  async stop() {
    await super.stop();
    liveServers.delete(this);
  }
}

// ---------------------------------------------------------------- SDKs and HTTP

export const pjsLog = []; // pusher-js debug log, printed on failure with --verbose
PusherClient.logToConsole = false;
PusherClient.log = (msg) => {
  pjsLog.push(`${new Date().toISOString()} ${msg}`);
  if (pjsLog.length > 400) pjsLog.shift();
};

export function makeSdk(port, { appId = APP.id, key = APP.key, secret = APP.secret, masterKey, agent } = {}) {
  return new PusherServer({
    appId,
    key,
    secret,
    host: '127.0.0.1',
    port: String(port),
    useTLS: false,
    timeout: 5_000,
    encryptionMasterKeyBase64: masterKey,
    agent,
  });
}

export async function httpJson(promise) {
  const res = await promise;
  return res.json();
}

// Status of a rejected SDK call (RequestError.status), or 'resolved' / the error message.
export async function sdkStatus(promise) {
  try {
    const res = await promise;
    return { status: res.status, body: await res.text() };
  } catch (e) {
    if (e && e.status !== undefined) return { status: e.status, body: e.body };
    throw new Error(`SDK call failed without an HTTP status: ${e && e.message}${e && e.error ? ` (${e.error.message || e.error.code})` : ''}`);
  }
}

export const md5 = (s) => createHash('md5').update(s).digest('hex');
export const hmac = (secret, s) => createHmac('sha256', secret).update(s).digest('hex');

// Builds the query string of a signed API request the way the Pusher SDKs do (protocol.md §9.1),
// with knobs to break it: `timestamp`, `bodyMd5` (true = computed, false = omitted, or a string),
// `secret`, `key`, `tamper` (params added after signing).
export function signedQuery({ method, path, params = {}, body, key = APP.key, secret = APP.secret, timestamp, bodyMd5, tamper } = {}) {
  const q = { auth_key: key, auth_timestamp: timestamp ?? Math.floor(Date.now() / 1000), auth_version: '1.0', ...params };
  const withMd5 = bodyMd5 === undefined ? body !== undefined : bodyMd5 !== false;
  if (withMd5) q.body_md5 = typeof bodyMd5 === 'string' ? bodyMd5 : md5(body ?? '');
  const sorted = Object.keys(q)
    .sort()
    .map((k) => `${k}=${q[k]}`)
    .join('&');
  const sig = hmac(secret, `${method.toUpperCase()}\n${path}\n${sorted}`);
  let qs = `${sorted}&auth_signature=${sig}`;
  if (tamper) qs += `&${Object.entries(tamper).map(([k, v]) => `${k}=${v}`).join('&')}`;
  return qs;
}

// One plain HTTP request (own connection unless an agent is given). Resolves with
// { status, headers, text, json } or rejects on a transport error.
export function rawHttp(port, { method = 'GET', path = '/', body, headers = {}, agent = false, timeoutMs = WAIT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode, headers: res.headers, text, json, socket: req.socket });
        });
        res.on('error', reject);
      }
    );
    req.setTimeout(timeoutMs, () => req.destroy(new TimeoutError(`HTTP ${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// A signed API request through rawHttp. `path` is the route below /apps/{appId}.
export function signedHttp(port, { method = 'GET', route, appId = APP.id, params, body, key, secret, timestamp, bodyMd5, tamper, headers, agent } = {}) {
  const path = `/apps/${appId}${route}`;
  const qs = signedQuery({ method, path, params, body, key, secret, timestamp, bodyMd5, tamper });
  return rawHttp(port, { method, path: `${path}?${qs}`, body, headers, agent });
}

// ---------------------------------------------------------------- test context

export class Ctx {
  constructor(env) {
    this.env = env; // { port, metricsPort, sdk, masterKey, mode, server }
    this.clients = [];
    this.sockets = [];
  }
  get sdk() {
    return this.env.sdk;
  }
  get port() {
    return this.env.port;
  }

  // A pusher-js client. `auth` (a server SDK) signs channel/user auth in customHandlers;
  // `presence` is the presence data used for presence-* channels; `user` the sign-in user data.
  client({ key = APP.key, auth = this.env.sdk, presence, user, name = `client${this.clients.length + 1}` } = {}) {
    const authCalls = [];
    const p = new PusherClient(key, {
      wsHost: '127.0.0.1',
      wsPort: this.env.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      cluster: 'mt1',
      disableStats: true,
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, callback) => {
          authCalls.push(channelName);
          try {
            const data = channelName.startsWith('presence-') ? presence : undefined;
            callback(null, auth.authorizeChannel(socketId, channelName, data));
          } catch (e) {
            callback(e, null);
          }
        },
      },
      userAuthentication: {
        customHandler: ({ socketId }, callback) => {
          try {
            callback(null, auth.authenticateUser(socketId, user));
          } catch (e) {
            callback(e, null);
          }
        },
      },
    });
    const c = { name, pusher: p, authCalls, frames: new Inbox(`${name} frames`), states: new Inbox(`${name} states`), errors: new Inbox(`${name} errors`) };
    p.connection.bind('message', (ev) => c.frames.push(ev));
    p.connection.bind('state_change', (s) => c.states.push(s.current));
    p.connection.bind('error', (e) => c.errors.push(e));
    this.clients.push(c);
    return c;
  }

  async connected(opts) {
    const c = this.client(opts);
    await c.states.waitFor((s) => s === 'connected', `state connected (${c.name})`);
    return c;
  }

  // Subscribes and waits for pusher:subscription_succeeded. Returns { channel, events } where
  // `events` records every event the channel emits (name, data, metadata), bound before subscribing.
  async subscribe(c, name, { wait = true } = {}) {
    const events = new Inbox(`${c.name} ${name}`);
    const channel = c.pusher.subscribe(name);
    channel.bind_global((event, data, metadata) => events.push({ event, data, metadata }));
    if (wait) await events.waitFor((e) => e.event === 'pusher:subscription_succeeded', `subscription_succeeded(${name})`);
    return { channel, events };
  }

  // A raw WebSocket speaking the protocol directly (to look at bytes that pusher-js hides).
  async raw({ key = APP.key, name = 'raw' } = {}) {
    const ws = new WebSocket(`ws://127.0.0.1:${this.env.port}/app/${key}?protocol=7&client=js&version=8.6.0&flash=false`);
    const frames = new Inbox(`${name} frames`);
    const closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    let isClosed = false;
    closed.then(() => {
      isClosed = true;
    });
    ws.on('message', (buf, isBinary) => {
      const text = buf.toString();
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { unparseable: text };
      }
      frames.push({ text, frame: parsed, isBinary });
    });
    ws.on('error', () => {}); // surfaced through close
    this.sockets.push(ws);
    return {
      name,
      ws,
      frames,
      closed,
      get isClosed() {
        return isClosed;
      },
      send: (obj) => ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)),
    };
  }

  async rawConnected(opts) {
    const r = await this.raw(opts);
    const est = await r.frames.waitFor((f) => f.frame.event === 'pusher:connection_established', `${r.name} connection_established`);
    r.established = est;
    r.socketId = JSON.parse(est.frame.data).socket_id;
    return r;
  }

  async close() {
    for (const c of this.clients) {
      try {
        c.pusher.disconnect();
      } catch {}
    }
    for (const ws of this.sockets) {
      try {
        ws.terminate();
      } catch {}
    }
  }
}

// Sends pusher:ping on a raw socket and waits for the pong: proves the socket is open and that
// everything the server queued for it before the pong has arrived.
export async function rawPing(r, label = 'pong') {
  const from = r.frames.items.length;
  r.send({ event: 'pusher:ping', data: {} });
  await r.frames.waitFor((f) => f.frame.event === 'pusher:pong', `${label} (${r.name})`, WAIT_MS, { from });
}

// Publishes a marker event and waits until each given (client, channel-events) pair received it.
// Delivery on one connection is ordered, so everything the server queued for those clients before
// the marker has arrived by then: this checks for the absence of frames without sleeping.
export async function barrier(ctx, channelName, inboxes) {
  const id = randomBytes(4).toString('hex');
  await ctx.sdk.trigger(channelName, 'barrier', { id });
  await Promise.all(inboxes.map((ib) => ib.waitFor((e) => e.event === 'barrier' && e.data && e.data.id === id, `barrier ${id}`)));
}

// ---------------------------------------------------------------- groups and the runner

export class Group {
  constructor(name, { servers = {} } = {}) {
    this.name = name;
    this.servers = { default: () => serverConfig(), ...servers }; // name -> () => config
    this.scenarios = [];
  }
  // `server`: which of the group's servers the scenario runs against. `external: false`: the
  // scenario needs the group's own config (extra apps, features) even on 'default', so it is
  // skipped with --external (which only promises the standard app).
  scenario(name, title, fn, { server = 'default', timeoutMs = SCENARIO_TIMEOUT_MS, external = server === 'default' } = {}) {
    if (!this.servers[server]) throw new Error(`scenario ${name}: unknown server ${server}`);
    this.scenarios.push({ name, title, fn, server, timeoutMs, external });
  }
}

function parseArgs(argv, groups) {
  const out = { only: null, groups: null, verbose: !!process.env.INTEROP_VERBOSE };
  const usage = (err) => {
    if (err) console.error(`error: ${err}`);
    console.error(
      'usage: node run.mjs --server /path/to/pushcore | --external HOST:PORT [--group g1,g2] [--only a,b] [--verbose]\n' +
        `groups: ${groups.map((g) => g.name).join(', ')} (default: all)`
    );
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    const list = () => val().split(',').map((s) => s.trim()).filter(Boolean);
    if (a === '--server') out.server = val();
    else if (a === '--external') out.external = val();
    else if (a === '--only') out.only = list();
    else if (a === '--group') out.groups = list();
    else if (a === '--verbose') out.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!!out.server === !!out.external) usage('give exactly one of --server or --external');
  if (out.groups) {
    const unknown = out.groups.filter((n) => !groups.some((g) => g.name === n));
    if (unknown.length) usage(`unknown group(s): ${unknown.join(', ')}`);
  }
  if (out.only) {
    const all = groups.flatMap((g) => g.scenarios.map((s) => s.name));
    const unknown = out.only.filter((n) => !all.includes(n));
    if (unknown.length) usage(`unknown scenario(s): ${unknown.join(', ')} (known: ${all.join(', ')})`);
  }
  if (out.external) {
    const m = /^([^:]+):(\d+)$/.exec(out.external);
    if (!m) usage('--external wants HOST:PORT');
    if (m[1] !== '127.0.0.1' && m[1] !== 'localhost') usage('only loopback servers are supported');
    out.externalPort = Number(m[2]);
  }
  return out;
}

export async function runGroups(groups) {
  const args = parseArgs(process.argv.slice(2), groups);
  const skip = new Set((process.env.INTEROP_SKIP || '').split(',').map((s) => s.trim()).filter(Boolean));
  const t0 = Date.now();
  const masterKey = randomBytes(32).toString('base64');
  const servers = []; // every ServerProcess started (for teardown and the failure log)

  const cleanupAndExit = async (code) => {
    await Promise.all(servers.map((s) => s.stop().catch(() => {})));
    process.exit(code);
  };
  // A wait that lost a race inside a finished scenario must not crash the run.
  process.on('unhandledRejection', (e) => console.log(`# (late rejection ignored: ${e && e.message ? e.message : fmt(e)})`));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => cleanupAndExit(130));

  const selectedGroups = groups.filter((g) => !args.groups || args.groups.includes(g.name));
  const plan = selectedGroups.map((g) => ({ group: g, scenarios: g.scenarios.filter((s) => !args.only || args.only.includes(s.name)) })).filter((p) => p.scenarios.length);
  const total = plan.reduce((n, p) => n + p.scenarios.length, 0);

  let failed = 0;
  let passed = 0;
  let skipped = 0;
  const failedServers = new Set();
  console.log(`1..${total}`);
  let n = 0;
  for (const { group, scenarios } of plan) {
    const envs = new Map(); // server name -> env | Error
    const groupServers = [];
    const envFor = async (name) => {
      if (envs.has(name)) return envs.get(name);
      let env;
      if (args.external) {
        env = name === 'default' ? { port: args.externalPort, mode: 'external', masterKey, sdk: makeSdk(args.externalPort, { masterKey }) } : null;
      } else {
        const config = group.servers[name]();
        const s = new ServerProcess(args.server, config, `${group.name}/${name}`);
        servers.push(s);
        groupServers.push(s);
        try {
          const port = await s.start();
          console.log(`# ${group.name}/${name}: pushcore listening on 127.0.0.1:${port}${s.metricsPort ? ` (metrics ${s.metricsPort})` : ''}`);
          env = { port, metricsPort: s.metricsPort, mode: 'server', masterKey, sdk: makeSdk(port, { masterKey }), server: s, config };
        } catch (e) {
          env = new Error(`cannot start server ${group.name}/${name}: ${e.message}`);
          failedServers.add(s);
        }
      }
      envs.set(name, env);
      return env;
    };

    for (const s of scenarios) {
      n++;
      const label = `${n} - ${s.name}`;
      if (skip.has(s.name)) {
        skipped++;
        console.log(`skip ${label}: ${s.title} (INTEROP_SKIP)`);
        continue;
      }
      const env = args.external && !s.external ? null : await envFor(s.server);
      if (env === null) {
        skipped++;
        console.log(`skip ${label}: ${s.title} (needs a pushcore started with its own config)`);
        continue;
      }
      if (env instanceof Error) {
        failed++;
        console.log(`FAIL ${label}: ${env.message}`);
        continue;
      }
      if (env.server && !env.server.running) {
        failed++;
        console.log(`FAIL ${label}: server ${env.server.label} is not running (exited earlier)`);
        continue;
      }
      const ctx = new Ctx(env);
      const started = Date.now();
      pjsLog.length = 0;
      try {
        await withTimeout(Promise.resolve().then(() => s.fn(ctx)), s.timeoutMs, `scenario ${s.name}`);
        passed++;
        console.log(`ok   ${label}: ${s.title} (${Date.now() - started} ms)`);
      } catch (e) {
        failed++;
        if (env.server) failedServers.add(env.server);
        console.log(`FAIL ${label}: ${e && e.message ? e.message : fmt(e)} (${Date.now() - started} ms)`);
        if (args.verbose) {
          if (e && e.stack) console.log(e.stack.split('\n').slice(1, 4).map((l) => `  #${l}`).join('\n'));
          console.log(pjsLog.slice(-40).map((l) => `  # pusher-js: ${l}`).join('\n'));
        }
      } finally {
        await ctx.close();
      }
      if (env.server && !env.server.running) {
        console.log(`FAIL server ${env.server.label} exited during ${s.name} (code ${env.server.proc.exitCode}, signal ${env.server.proc.signalCode})`);
        failedServers.add(env.server);
        failed++;
      }
    }
    await Promise.all(groupServers.map((s) => s.stop().catch(() => {})));
  }

  console.log(`# ${passed} passed, ${failed} failed, ${skipped} skipped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const s of failedServers) {
    if (!s.stderrTail.length) continue;
    console.log(`# last log lines of ${s.label}:`);
    console.log(s.stderrTail.slice(-30).map((l) => `  | ${l}`).join('\n'));
  }
  await cleanupAndExit(failed ? 1 : 0);
}
