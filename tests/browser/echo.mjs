#!/usr/bin/env node
// Laravel Echo (npm `laravel-echo` + `pusher-js`, broadcaster 'pusher') against pushcore through
// the example auth server's endpoints, in Node (no browser). The session is passed the way Echo
// supports for API clients: `bearerToken` (Authorization: Bearer).
//
//   node echo.mjs --server /path/to/pushcore [--only a,b] [--verbose]

import Echo from 'laravel-echo';
import Pusher from 'pusher-js';
import PusherServer from 'pusher';

import { APP, WAIT_MS, parseArgs, startStack, runScenarios, assertEq, Inbox, marker, withTimeout, fmt } from './lib.mjs';

const TOTAL_DEADLINE_MS = 60_000;
const args = parseArgs(process.argv.slice(2), { name: 'echo.mjs' });
const watchdog = setTimeout(() => {
  console.log(`FAIL  total deadline of ${TOTAL_DEADLINE_MS} ms exceeded`);
  process.exit(1);
}, TOTAL_DEADLINE_MS);
watchdog.unref();

const pjsLog = [];
Pusher.logToConsole = false;
Pusher.log = (m) => {
  pjsLog.push(m);
  if (pjsLog.length > 200) pjsLog.shift();
};

function makeEcho(ctx, token, extra = {}) {
  const base = ctx.stack.auth.base;
  const echo = new Echo({
    broadcaster: 'pusher',
    key: APP.key,
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: ctx.stack.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    authEndpoint: `${base}/sockudo/auth`,
    // Fresh header objects per instance: Echo mutates its (shared) default ones otherwise.
    auth: { headers: {} },
    userAuthentication: { endpoint: `${base}/sockudo/user-auth`, headers: {} },
    bearerToken: token || null,
    Pusher,
    ...extra,
  });
  ctx.echos.push(echo);
  return echo;
}

async function connected(echo) {
  const p = echo.connector.pusher;
  if (p.connection.state === 'connected') return;
  await withTimeout(new Promise((resolve) => p.connection.bind('connected', resolve)), WAIT_MS, 'Echo connection');
}

const scenarios = [];
const scenario = (name, title, fn) => scenarios.push({ name, title, fn });

scenario('echo-presence', 'Echo join(): here() lists members with safe user_info, joining()/leaving() follow', async (ctx) => {
  const alice = makeEcho(ctx, ctx.tokens.alice);
  const bob = makeEcho(ctx, ctx.tokens.bob);
  const a = new Inbox('alice presence');
  alice.join('acme-lobby')
    .here((users) => a.push({ kind: 'here', users }))
    .joining((u) => a.push({ kind: 'joining', u }))
    .leaving((u) => a.push({ kind: 'leaving', u }))
    .error((e) => a.push({ kind: 'error', e }));
  const here = await a.waitFor((x) => x.kind !== 'joining', 'alice here()');
  assertEq(here, { kind: 'here', users: [{ name: 'Alice', role: 'admin' }] }, 'alice here()');
  const b = new Inbox('bob presence');
  bob.join('acme-lobby').here((users) => b.push({ kind: 'here', users })).error((e) => b.push({ kind: 'error', e }));
  const bh = await b.waitFor(() => true, 'bob here()');
  assertEq(bh.kind, 'here', `bob here() (${fmt(bh)})`);
  assertEq(bh.users.map((u) => u.name).sort(), ['Alice', 'Bob'], 'bob here() names');
  assertEq((await a.waitFor((x) => x.kind === 'joining', 'alice joining()')).u, { name: 'Bob', role: 'member' }, 'joining() user');
  bob.leave('acme-lobby');
  assertEq((await a.waitFor((x) => x.kind === 'leaving', 'alice leaving()')).u, { name: 'Bob', role: 'member' }, 'leaving() user');
});

scenario('echo-private', 'Echo private().listen() gets SDK events (dotted and App.Events-namespaced names)', async (ctx) => {
  const alice = makeEcho(ctx, ctx.tokens.alice);
  const got = new Inbox('alice private');
  const subscribed = new Inbox('alice subscribed');
  alice.private('acme-orders')
    .subscribed(() => subscribed.push(true))
    .listen('.order-created', (d) => got.push({ ev: 'order-created', d }))
    .listen('OrderShipped', (d) => got.push({ ev: 'OrderShipped', d }))
    .error((e) => got.push({ ev: 'error', d: e }));
  await subscribed.waitFor(() => true, 'private subscription');
  const m = marker('order');
  await ctx.stack.sdk.trigger('private-acme-orders', 'order-created', { marker: m });
  await ctx.stack.sdk.trigger('private-acme-orders', 'App\\Events\\OrderShipped', { marker: m, shipped: true });
  assertEq((await got.waitFor((x) => x.ev === 'order-created', 'order-created')).d, { marker: m }, 'order-created data');
  assertEq((await got.waitFor((x) => x.ev === 'OrderShipped', 'OrderShipped')).d, { marker: m, shipped: true }, 'OrderShipped data');
  assertEq(got.filter((x) => x.ev === 'error').length, 0, 'errors');
});

scenario('echo-whisper', 'Echo whisper() / listenForWhisper() between two users on a private channel', async (ctx) => {
  const alice = makeEcho(ctx, ctx.tokens.alice);
  const bob = makeEcho(ctx, ctx.tokens.bob);
  const subs = new Inbox('subscribed');
  const heard = new Inbox('bob whispers');
  const ac = alice.private('acme-orders').subscribed(() => subs.push('alice'));
  bob.private('acme-orders').subscribed(() => subs.push('bob')).listenForWhisper('typing', (d) => heard.push(d));
  await subs.waitFor((x) => x === 'alice', 'alice subscribed');
  await subs.waitFor((x) => x === 'bob', 'bob subscribed');
  const m = marker('typing');
  ac.whisper('typing', { marker: m, name: 'Alice' });
  assertEq(await heard.waitFor((d) => d.marker === m, 'whisper at bob'), { marker: m, name: 'Alice' }, 'whisper data');
});

scenario('echo-denied', 'Echo error(): 403 for a channel the user may not use, 401 without a session', async (ctx) => {
  const bob = makeEcho(ctx, ctx.tokens.bob);
  const anon = makeEcho(ctx, null);
  const errs = new Inbox('errors');
  bob.private('acme-admin').error((e) => errs.push({ who: 'bob', e })).subscribed(() => errs.push({ who: 'bob', ok: true }));
  anon.private('acme-orders').error((e) => errs.push({ who: 'anon', e })).subscribed(() => errs.push({ who: 'anon', ok: true }));
  const b = await errs.waitFor((x) => x.who === 'bob', 'bob error()');
  const n = await errs.waitFor((x) => x.who === 'anon', 'anonymous error()');
  assertEq([b.e && b.e.type, b.e && b.e.status], ['AuthError', 403], `bob error (${fmt(b)})`);
  assertEq([n.e && n.e.type, n.e && n.e.status], ['AuthError', 401], `anonymous error (${fmt(n)})`);
});

scenario('echo-server-refused', 'Echo error(): a subscription the SERVER refuses (bad signature) reaches error() as AuthError 401', async (ctx) => {
  // The app's authorizer answers, but with a signature the server does not accept: the refusal
  // comes from the server's channel-scoped pusher:subscription_error, not from the auth call.
  const badAuth = {
    channelAuthorization: {
      customHandler: (params, callback) => callback(null, { auth: `${APP.key}:${'0'.repeat(64)}` }),
    },
  };
  const echo = makeEcho(ctx, ctx.tokens.alice, badAuth);
  const errs = new Inbox('server refusal');
  echo.private('acme-orders').error((e) => errs.push({ e })).subscribed(() => errs.push({ ok: true }));
  const got = await errs.waitFor(() => true, 'error() or subscribed()');
  assertEq(got.e, { type: 'AuthError', error: 'Authentication error: Channel requires authentication', status: 401 }, `error() (${fmt(got)})`);
});

scenario('echo-server-limits', 'Echo error(): server refusals by limit reach error() with their cause (name too long 4009, member too big 4301)', async (ctx) => {
  // Signed correctly by the app's secret (the `pusher` SDK), refused by the server's limits.
  const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(ctx.stack.port) });
  const signing = {
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        const presence = channelName.startsWith('presence-') ? { user_id: 'big', user_info: { blob: 'x'.repeat(4000) } } : undefined;
        callback(null, sdk.authorizeChannel(socketId, channelName, presence));
      },
    },
  };
  const echo = makeEcho(ctx, ctx.tokens.alice, signing);
  const errs = new Inbox('limit refusals');
  echo.channel('n'.repeat(201)).error((e) => errs.push({ which: 'name', e })).subscribed(() => errs.push({ which: 'name', ok: true }));
  echo.join('big-room').error((e) => errs.push({ which: 'member', e })).here(() => errs.push({ which: 'member', ok: true }));
  const name = await errs.waitFor((x) => x.which === 'name', 'error() for the long name');
  const member = await errs.waitFor((x) => x.which === 'member', 'error() for the big member');
  assertEq([name.e && name.e.type, name.e && name.e.status], ['LimitReached', 4009], `name error (${fmt(name)})`);
  assertEq([member.e && member.e.type, member.e && member.e.status], ['LimitReached', 4301], `member error (${fmt(member)})`);
});

scenario('echo-signin', 'Echo signin() then the SDK\'s sendToUser reaches that user via the Pusher client', async (ctx) => {
  const alice = makeEcho(ctx, ctx.tokens.alice);
  await connected(alice);
  const p = alice.connector.pusher;
  const got = new Inbox('alice user events');
  p.user.bind('notice', (d) => got.push(d));
  alice.connector.signin();
  await withTimeout(p.user.signinDonePromise, WAIT_MS, 'signin');
  assertEq(p.user.user_data, { id: '1', user_info: { name: 'Alice', role: 'admin' } }, 'user_data');
  const m = marker('notice');
  await ctx.stack.sdk.sendToUser('1', 'notice', { marker: m });
  assertEq(await got.waitFor((d) => d.marker === m, 'notice'), { marker: m }, 'notice data');
});

const ctx = { echos: [] };
let failures = 1;
try {
  ctx.stack = await startStack(args.server);
  console.log(`# pushcore on 127.0.0.1:${ctx.stack.port}, auth server on ${ctx.stack.auth.base}`);
  ctx.tokens = { alice: (await ctx.stack.auth.login('alice')).token, bob: (await ctx.stack.auth.login('bob')).token };
  failures = await runScenarios(scenarios, {
    only: args.only,
    ctx,
    timeoutMs: 12_000,
    onFailure: async () => {
      if (args.verbose) console.log(`--- pusher-js\n${pjsLog.slice(-40).join('\n')}\n--- auth server\n${ctx.stack.auth.tail.slice(-20).join('\n')}`);
    },
  });
} catch (e) {
  console.log(`FAIL  setup: ${e && e.stack ? e.stack : e}`);
  failures = 1;
} finally {
  for (const e of ctx.echos) {
    try {
      e.disconnect();
    } catch {}
  }
  if (ctx.stack) await withTimeout(ctx.stack.stop(), 10_000, 'servers to stop').catch(() => ctx.stack.killNow());
}
clearTimeout(watchdog);
process.exit(failures ? 1 : 0);
