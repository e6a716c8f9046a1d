// Scenario group "signin": user authentication (protocol.md §7): pusher-js signin() signed by the
// `pusher` SDK's authenticateUser, server-to-user routing over several sockets, watchlists in
// Pusher's pusher_internal:watchlist_events envelope, terminateUserConnections, sign-in errors,
// an app with sign-in disabled, and the sign-in timeout.

import { randomBytes } from 'node:crypto';

import parsePrometheusTextFormat from 'parse-prometheus-text-format';

import {
  APP,
  RUN,
  WAIT_MS,
  Checks,
  Group,
  Inbox,
  appConfig,
  assert,
  assertEq,
  fmt,
  hmac,
  makeSdk,
  pollUntil,
  rawHttp,
  rawPing,
  sdkStatus,
  serverConfig,
  sleep,
  withTimeout,
} from './harness.mjs';

const NOAUTH = { id: 'noauth-app', key: 'noauth-key', secret: 'noauth-secret' };
const TERMINATED = 'You got disconnected by the app.';
const TIMEOUT_MSG = 'Connection not authorized within timeout.';

const group = new Group('signin', {
  servers: {
    // Sign-in + watchlists on the standard app; a second app with sign-in disabled.
    default: () =>
      serverConfig({
        apps: [appConfig({ features: { enable_watchlist_events: true } }), appConfig({ ...NOAUTH, features: { enable_user_authentication: false } })],
      }),
    // user_authentication_timeout 1 s (protocol.md §7.2); watchlist events off (the default); a
    // second app with sign-in disabled, where the timeout does not apply.
    timeout: () =>
      serverConfig({
        user_authentication_timeout: 1,
        apps: [appConfig(), appConfig({ ...NOAUTH, features: { enable_user_authentication: false } })],
      }),
  },
});
const scenario = group.scenario.bind(group);

// ---------------------------------------------------------------- helpers

// A pusher-js client signed in as `id` through pusher.signin() (the SDK's authenticateUser signs).
// c.userEvents records pusher.user events, c.watch records pusher.user.watchlist online/offline.
// Presence channels are joined as { user_id: id }.
async function signedIn(ctx, id, { watchlist, info = { name: id }, name = id, key, auth } = {}) {
  const user = { id, user_info: info, ...(watchlist ? { watchlist } : {}) };
  const c = ctx.client({ user, name, key, auth, presence: { user_id: id, user_info: info } });
  c.userData = user;
  c.userEvents = new Inbox(`${name} user events`);
  c.pusher.user.bind_global((event, data) => c.userEvents.push({ event, data }));
  c.watch = new Inbox(`${name} watchlist`);
  for (const ev of ['online', 'offline']) c.pusher.user.watchlist.bind(ev, (data) => c.watch.push(data));
  c.pusher.signin();
  try {
    await c.frames.waitFor((f) => f.event === 'pusher:signin_success', `pusher:signin_success (${name})`);
  } catch (e) {
    const errs = c.errors.items.map((x) => fmt(x.data || x.error));
    throw new Error(`${e.message}${errs.length ? `; connection errors: ${errs.join(', ')}` : ''}`);
  }
  // pusher-js then subscribes to #server-to-user-<id>.
  await c.frames.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === `#server-to-user-${id}`, `#server-to-user-${id} subscription (${name})`);
  return c;
}

// Signs `user_data` (a string, sent as is) for a socket: `socket_id::user::user_data`.
function signUserData(socketId, userData, { key = APP.key, secret = APP.secret } = {}) {
  return { auth: `${key}:${hmac(secret, `${socketId}::user::${userData}`)}`, user_data: userData };
}

// Sends one pusher:signin on a raw socket and returns the reply frame (signin_success or error).
async function rawSignin(r, data) {
  const from = r.frames.items.length;
  r.send({ event: 'pusher:signin', data });
  const f = await r.frames.waitFor((x) => x.frame.event === 'pusher:signin_success' || x.frame.event === 'pusher:error', `sign-in reply (${r.name})`, WAIT_MS, { from });
  return f.frame;
}
async function rawSignedIn(ctx, sdk, userData, name) {
  const r = await ctx.rawConnected({ name });
  const reply = await rawSignin(r, sdk.authenticateUser(r.socketId, userData));
  assertEq(reply.event, 'pusher:signin_success', `${name} sign-in reply (${fmt(reply)})`);
  return r;
}

// Marker sent to each user: once it arrived on every given pusher-js client / raw socket, all
// earlier server-to-user events for them have arrived too (ordered delivery per connection).
async function userBarrier(ctx, targets) {
  const id = randomBytes(4).toString('hex');
  const users = [...new Set(targets.map((t) => t.userId))];
  await Promise.all(users.map((u) => ctx.sdk.sendToUser(u, 'marker', { id })));
  await Promise.all(
    targets.map((t) =>
      t.client
        ? t.client.userEvents.waitFor((e) => e.event === 'marker' && e.data.id === id, `marker ${id} for ${t.userId}`)
        : t.raw.frames.waitFor((f) => f.frame.event === 'marker' && JSON.parse(f.frame.data).id === id, `marker ${id} for ${t.userId}`)
    )
  );
}

const userCount = (c, event) => c.userEvents.count((e) => e.event === event);
const rawCount = (r, event) => r.frames.count((f) => f.frame.event === event);

// Waits until pusher-js gave up after a 4009 close: terminal state, both the pusher:error frame and
// the close reported as errors, and no reconnect attempt within a round trip.
async function assertRefused(ctx, c, message, what) {
  const terminal = (s) => s === 'disconnected' || s === 'failed';
  await c.states.waitFor(terminal, `${what}: state disconnected/failed`);
  const codes = c.errors.items.filter((e) => e && e.type === 'PusherError').map((e) => [e.data.code, e.data.message]);
  // One from the pusher:error frame, one from the close frame (code + reason).
  assertEq(codes, [[4009, message], [4009, message]], `${what}: pusher-js errors (frame, close)`);
  const n = c.states.items.length;
  await rawHttp(ctx.port, { path: '/up' }); // one round trip, no fixed sleep
  assertEq(c.states.items.slice(n), [], `${what}: state changes after the refusal`);
  assertEq(c.states.items.slice(c.states.items.findIndex(terminal)).filter((s) => s === 'connecting'), [], `${what}: reconnect attempts`);
}

// null without a metrics port (--external).
async function scrapeValue(ctx, name, labels) {
  if (!ctx.env.metricsPort) return null;
  const res = await rawHttp(ctx.env.metricsPort, { path: '/metrics' });
  const f = parsePrometheusTextFormat(res.text).find((x) => x.name === name);
  assert(f, `metric ${name} missing`);
  const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels && x.labels[k] === v));
  assert(m, `metric ${name}${fmt(labels)} missing`);
  return Number(m.value);
}

// ---------------------------------------------------------------- scenarios

scenario('signin-routing', 'sendToUser: user A on 2 sockets, B on 1; each event reaches exactly its user\'s signed-in sockets', async (ctx) => {
  const A = `alice-${RUN}`;
  const B = `bob-${RUN}`;
  const [a1, a2, b1] = await Promise.all([signedIn(ctx, A, { name: 'a1' }), signedIn(ctx, A, { name: 'a2' }), signedIn(ctx, B, { name: 'b1' })]);
  const c = new Checks();
  c.eq(a1.pusher.user.user_data, a1.userData, 'a1 pusher.user.user_data');
  const ok = a1.frames.filter((f) => f.event === 'pusher:signin_success')[0];
  c.eq(ok.data, { user_data: JSON.stringify(a1.userData) }, 'signin_success data (object with the signed user_data string)');

  // Not signed in, but subscribed to A's server-to-user channel: delivery must not depend on the
  // subscription (protocol.md §7.3), so this socket gets nothing.
  const spy = await ctx.rawConnected({ name: 'spy' });
  spy.send({ event: 'pusher:subscribe', data: { channel: `#server-to-user-${A}`, auth: '' } });
  await spy.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded' || f.frame.event === 'pusher:error', 'spy subscribe reply');
  // Not signed in, but carrying user id A through presence channel_data (Sockudo would route to
  // it; the recommendation is signed-in sockets only).
  const pch = `presence-route-${RUN}`;
  const pres = await ctx.rawConnected({ name: 'presence-A' });
  const channelData = { user_id: A, user_info: {} };
  const pa = ctx.sdk.authorizeChannel(pres.socketId, pch, channelData);
  pres.send({ event: 'pusher:subscribe', data: { channel: pch, auth: pa.auth, channel_data: pa.channel_data } });
  await pres.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded', 'presence subscription of the unsigned A socket');

  c.eq(await (await ctx.sdk.sendToUser(A, 'to-a', { n: 1 })).json(), { ok: true }, 'sendToUser response');
  await ctx.sdk.sendToUser(B, 'to-b', { n: 2 });
  await ctx.sdk.sendToUser(`nobody-${RUN}`, 'to-nobody', {});
  // socket_id exclusion applies to server-to-user events too (SDK trigger refuses '#', so post).
  await ctx.sdk.post({ path: '/events', body: { name: 'to-a-not-a1', channels: [`#server-to-user-${A}`], data: '{}', socket_id: a1.pusher.connection.socket_id } });
  await userBarrier(ctx, [
    { userId: A, client: a1 },
    { userId: A, client: a2 },
    { userId: B, client: b1 },
  ]);
  await Promise.all([rawPing(spy), rawPing(pres)]);

  const events = ['to-a', 'to-b', 'to-nobody', 'to-a-not-a1'];
  const counts = (cl) => events.map((e) => userCount(cl, e));
  c.eq(counts(a1), [1, 0, 0, 0], 'a1 (A) counts of to-a, to-b, to-nobody, to-a-not-a1');
  c.eq(counts(a2), [1, 0, 0, 1], 'a2 (A) counts');
  c.eq(counts(b1), [0, 1, 0, 0], 'b1 (B) counts');
  c.eq(a1.userEvents.filter((e) => e.event === 'to-a')[0]?.data, { n: 1 }, 'to-a data');
  const raw = a2.frames.filter((f) => f.event === 'to-a')[0];
  c.eq(raw && raw.channel, `#server-to-user-${A}`, 'to-a frame channel');
  c.eq(events.map((e) => rawCount(spy, e)), [0, 0, 0, 0], 'unsigned socket subscribed to #server-to-user-A (counts)');
  c.eq(events.map((e) => rawCount(pres, e)), [0, 0, 0, 0], 'unsigned socket with presence user_id A (counts)');
  c.eq(rawCount(spy, 'marker') + rawCount(pres, 'marker'), 0, 'markers on unsigned sockets');
  c.done();
});

scenario('signin-watchlist', 'watchlist: B watches A (2 sockets each): online at sign-in, offline on A\'s last disconnect, online on return', async (ctx) => {
  const A = `wa-${RUN}`;
  const B = `wb-${RUN}`;
  const C = `wc-${RUN}`;
  const D = `wd-${RUN}`;
  const a1 = await signedIn(ctx, A, { name: 'a1' });
  const b1 = await signedIn(ctx, B, { name: 'b1', watchlist: [A, C] });
  const b2 = await signedIn(ctx, B, { name: 'b2', watchlist: [A, C] });
  // Initial state: one frame, online [A], offline [C].
  await Promise.all([b1, b2].map((b) => b.watch.waitFor((e) => e.name === 'offline', `${b.name} initial offline`)));
  const a2 = await signedIn(ctx, A, { name: 'a2' }); // second socket of an online user: nothing
  const d1 = await signedIn(ctx, D, { name: 'd1' }); // nobody watches D: nothing
  const c1 = await signedIn(ctx, C, { name: 'c1' }); // C comes online
  await Promise.all([b1, b2].map((b) => b.watch.waitFor((e) => e.name === 'online' && e.user_ids.includes(C), `${b.name} online C`)));

  // A's first socket leaves: A is still online through a2, so nothing. The server having processed
  // the disconnect is observed through a probe channel only a1 is in (pushcore keeps no
  // subscription state for #server-to-user-<id>, so that channel cannot be polled).
  const probe = `probe-${RUN}`;
  await ctx.subscribe(a1, probe);
  a1.pusher.disconnect();
  const occupied = async () => (await (await ctx.sdk.get({ path: `/channels/${probe}` })).json()).occupied;
  await pollUntil(async () => (await occupied()) === false, `${probe} vacated after a1 left`);
  await userBarrier(ctx, [
    { userId: B, client: b1 },
    { userId: B, client: b2 },
  ]);
  const c = new Checks();
  const seq = (b) => b.watch.items.map((e) => [e.name, [...e.user_ids]]);
  const initial = [
    ['online', [A]],
    ['offline', [C]],
  ];
  c.eq(seq(b1), [...initial, ['online', [C]]], 'b1 watchlist events before A\'s last socket leaves');
  c.eq(seq(b2), [...initial, ['online', [C]]], 'b2 watchlist events before A\'s last socket leaves');

  // A's last socket leaves: offline, once per watcher socket.
  a2.pusher.disconnect();
  await Promise.all([b1, b2].map((b) => b.watch.waitFor((e) => e.name === 'offline' && e.user_ids.includes(A), `${b.name} offline A`)));
  // A returns.
  const a3 = await signedIn(ctx, A, { name: 'a3' });
  await Promise.all([b1, b2].map((b) => b.watch.waitFor((e, i) => e.name === 'online' && e.user_ids.includes(A) && b.watch.items.indexOf(e) > 2, `${b.name} online A again`)));
  await userBarrier(ctx, [
    { userId: B, client: b1 },
    { userId: B, client: b2 },
    { userId: A, client: a3 },
  ]);
  const expected = [...initial, ['online', [C]], ['offline', [A]], ['online', [A]]];
  c.eq(seq(b1), expected, 'b1 watchlist events (whole run)');
  c.eq(seq(b2), expected, 'b2 watchlist events (whole run)');
  c.eq(b1.watch.items[0], { name: 'online', user_ids: [A] }, 'event object passed to watchlist.bind');
  // Wire envelope (protocol.md §7.4): no channel, data.events list; the initial state is one frame.
  const frames = b1.frames.filter((f) => f.event === 'pusher_internal:watchlist_events');
  c.eq(frames.map((f) => f.channel), frames.map(() => undefined), 'watchlist frames carry no channel');
  c.eq(frames[0] && frames[0].data, { events: [{ name: 'online', user_ids: [A] }, { name: 'offline', user_ids: [C] }] }, 'initial watchlist frame');
  c.eq(frames.length, 4, 'watchlist frames on b1');
  for (const x of [a3, c1, d1]) c.eq(x.watch.items, [], `watchlist events on ${x.name} (watches nobody)`);
  c.done();
}, { external: false });

scenario('signin-watchlist-edge', 'watchlist input: duplicate ids listed once, 100 entries accepted, 101 refused with 4302 (socket stays open)', async (ctx) => {
  const S = `we-s-${RUN}`;
  const on = await rawSignedIn(ctx, ctx.sdk, { id: S }, 'watched');
  const c = new Checks();
  // Duplicates: the initial state names each user once; one notification per change.
  const dup = await rawSignedIn(ctx, ctx.sdk, { id: `we-dup-${RUN}`, watchlist: [S, S, `we-off-${RUN}`, `we-off-${RUN}`] }, 'duplicates');
  await rawPing(dup);
  const initial = dup.frames.filter((f) => f.frame.event === 'pusher_internal:watchlist_events').map((f) => f.frame.data);
  c.eq(initial, [{ events: [{ name: 'online', user_ids: [S] }, { name: 'offline', user_ids: [`we-off-${RUN}`] }] }], 'initial frame for a watchlist with duplicates');
  on.ws.close();
  await on.closed;
  await dup.frames.waitFor((f) => f.frame.event === 'pusher_internal:watchlist_events' && f.frame.data.events[0].name === 'offline' && f.frame.data.events[0].user_ids[0] === S, 'offline S');
  await rawPing(dup);
  c.eq(dup.frames.filter((f) => f.frame.event === 'pusher_internal:watchlist_events').length, 2, 'watchlist frames after S left (initial + one offline)');

  // Size: 100 entries fine, 101 refused with 4302 "Watchlist limit exceeded" (pusher:error only).
  const list = (n) => Array.from({ length: n }, (_, i) => `we-${i}-${RUN}`);
  const hundred = await rawSignedIn(ctx, ctx.sdk, { id: `we-100-${RUN}`, watchlist: list(100) }, '100 entries');
  const frame = await hundred.frames.waitFor((f) => f.frame.event === 'pusher_internal:watchlist_events', 'initial frame for 100 entries');
  c.eq(frame.frame.data.events.map((e) => [e.name, e.user_ids.length]), [['offline', 100]], 'initial frame for 100 offline users');
  const r = await ctx.rawConnected({ name: '101 entries' });
  const reply = await rawSignin(r, ctx.sdk.authenticateUser(r.socketId, { id: `we-101-${RUN}`, watchlist: list(101) }));
  c.eq(reply, { event: 'pusher:error', data: { code: 4302, message: 'Watchlist limit exceeded' } }, 'reply to a 101-entry watchlist');
  await rawPing(r, 'socket open after the refused watchlist');
  c.done();
}, { external: false });

scenario('signin-resignin', 'signing in again on a socket replaces its user (routing and watchers follow)', async (ctx) => {
  const X = `rx-${RUN}`;
  const Y = `ry-${RUN}`;
  const w = await signedIn(ctx, `rw-${RUN}`, { name: 'watcher', watchlist: [X, Y] });
  await w.watch.waitFor((e) => e.name === 'offline', 'initial offline');
  const r = await rawSignedIn(ctx, ctx.sdk, { id: X }, 'r');
  await w.watch.waitFor((e) => e.name === 'online' && e.user_ids.includes(X), 'online X');
  const reply = await rawSignin(r, ctx.sdk.authenticateUser(r.socketId, { id: Y }));
  assertEq(reply.event, 'pusher:signin_success', `second sign-in reply (${fmt(reply)})`);
  await w.watch.waitFor((e) => e.name === 'online' && e.user_ids.includes(Y), 'online Y');
  await ctx.sdk.sendToUser(X, 'to-x', {});
  await ctx.sdk.sendToUser(Y, 'to-y', {});
  await r.frames.waitFor((f) => f.frame.event === 'to-y', 'to-y on the re-signed socket');
  const c = new Checks();
  c.eq(rawCount(r, 'to-x'), 0, 'event for the replaced user X');
  c.eq(w.watch.items.map((e) => [e.name, [...e.user_ids]]), [['offline', [X, Y]], ['online', [X]], ['offline', [X]], ['online', [Y]]], 'watcher events');
  c.done();
}, { external: false });

scenario('signin-force-reconnect', 'POST users/{id}/force_reconnect: the user\'s sockets get 4200 and pusher-js reconnects at once; others stay', async (ctx) => {
  const A = `fr-${RUN}`;
  const B = `fr-b-${RUN}`;
  const [a1, b1] = await Promise.all([signedIn(ctx, A, { name: 'a1' }), signedIn(ctx, B, { name: 'b1' })]);
  const araw = await rawSignedIn(ctx, ctx.sdk, { id: A }, 'a-raw');
  const before = a1.pusher.connection.socket_id;
  const res = await sdkStatus(ctx.sdk.post({ path: `/users/${encodeURIComponent(A)}/force_reconnect`, body: {} }));
  assertEq([res.status, JSON.parse(res.body)], [200, { ok: true }], 'force_reconnect response');
  const RECONNECT = 'Force reconnect requested by the app.';
  const closed = await withTimeout(araw.closed, WAIT_MS, 'close of the raw A socket');
  assertEq(closed, { code: 4200, reason: RECONNECT }, 'raw A close code/reason');
  assertEq(araw.frames.filter((f) => f.frame.event === 'pusher:error').map((f) => f.text), [JSON.stringify({ event: 'pusher:error', data: { code: 4200, message: RECONNECT } })], 'raw A pusher:error frame');
  // 4200-4299: pusher-js reconnects immediately, with a new socket id.
  await pollUntil(async () => a1.pusher.connection.state === 'connected' && a1.pusher.connection.socket_id !== before, 'a1 reconnected with a new socket id', WAIT_MS, 20);
  assertEq(b1.pusher.connection.state, 'connected', 'b1 state');
  assertEq(b1.errors.items, [], 'b1 errors');
});

scenario('signin-terminate', 'terminateUserConnections(A): both A sockets get 4009 and stay down; B and an unsigned A-presence socket stay', async (ctx) => {
  const A = `ta-${RUN}`;
  const B = `tb-${RUN}`;
  const [a1, a2, b1] = await Promise.all([signedIn(ctx, A, { name: 'a1' }), signedIn(ctx, A, { name: 'a2' }), signedIn(ctx, B, { name: 'b1' })]);
  // A third A socket on a raw WebSocket, to see the exact close frame.
  const araw = await rawSignedIn(ctx, ctx.sdk, { id: A }, 'a-raw');
  // Unsigned socket whose presence user_id is A (protocol.md §7.5 Rec: target signed-in sockets).
  const pch = `presence-term-${RUN}`;
  const pres = await ctx.rawConnected({ name: 'presence-A' });
  const pa = ctx.sdk.authorizeChannel(pres.socketId, pch, { user_id: A, user_info: {} });
  pres.send({ event: 'pusher:subscribe', data: { channel: pch, auth: pa.auth, channel_data: pa.channel_data } });
  await pres.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded', 'presence subscription');

  // a1 and a2 are members of a presence channel as A; b1 is in it as B.
  const room = `presence-room-${RUN}`;
  const [, , roomB] = await Promise.all([ctx.subscribe(a1, room), ctx.subscribe(a2, room), ctx.subscribe(b1, room)]);
  assertEq(roomB.channel.members.count, 2, 'members in the room before terminate');

  const res = await sdkStatus(ctx.sdk.terminateUserConnections(A));
  assertEq([res.status, JSON.parse(res.body)], [200, { ok: true }], 'terminate_connections response');
  const c = new Checks();
  await c.run('raw A socket', async () => {
    const closed = await withTimeout(araw.closed, WAIT_MS, 'close of the raw A socket');
    c.eq(closed, { code: 4009, reason: TERMINATED }, 'raw A close code/reason');
    c.eq(araw.frames.filter((f) => f.frame.event === 'pusher:error').map((f) => f.text), [JSON.stringify({ event: 'pusher:error', data: { code: 4009, message: TERMINATED } })], 'raw A pusher:error frame');
  });
  await c.run('a1', () => assertRefused(ctx, a1, TERMINATED, 'a1'));
  await c.run('a2', () => assertRefused(ctx, a2, TERMINATED, 'a2'));
  c.eq(b1.pusher.connection.state, 'connected', 'b1 state');
  c.eq(b1.errors.items, [], 'b1 errors');
  await c.run('member_removed for A', async () => {
    const removed = await roomB.events.waitFor((e) => e.event === 'pusher:member_removed', 'member_removed A on b1');
    c.eq(removed.data && removed.data.id, A, 'member_removed id');
  });
  await ctx.sdk.sendToUser(B, 'still-there', {});
  await b1.userEvents.waitFor((e) => e.event === 'still-there', 'event for B after terminating A');
  await rawPing(pres, 'unsigned presence-A socket still open');
  c.eq(pres.isClosed, false, 'unsigned presence-A socket closed');

  // Unknown user: ok, nothing happens. A may come back on a new connection.
  const none = await sdkStatus(ctx.sdk.terminateUserConnections(`nobody-${RUN}`));
  c.eq(none.status, 200, 'terminate of an unknown user');
  c.eq(roomB.events.count((e) => e.event === 'pusher:member_removed'), 1, 'member_removed events on b1');
  c.eq(roomB.channel.members.count, 1, 'members in the room after terminate');
  const a3 = await signedIn(ctx, A, { name: 'a3' });
  await ctx.sdk.sendToUser(A, 'welcome-back', {});
  await a3.userEvents.waitFor((e) => e.event === 'welcome-back', 'event for A on a new connection');
  c.done();
});

scenario('signin-errors', 'forged and malformed sign-ins: pusher:error 4009 each, connection stays open, then a valid sign-in works', async (ctx) => {
  const metricsBefore = await scrapeValue(ctx, 'pushcore_auth_failures_total', { reason: 'signin_invalid' });
  const r = await ctx.rawConnected({ name: 'r' });
  const other = await ctx.rawConnected({ name: 'other' });
  const wrongSdk = makeSdk(ctx.port, { secret: 'wrong-secret' });
  const sid = r.socketId;
  const FORGED = 'Authentication error: Connection not authorized for signin.';
  const MISSING_ID = "Authentication error: Missing 'id' field in user_data";
  const goodUd = JSON.stringify({ id: `forged-${RUN}` });
  const cases = [
    ['wrong secret (SDK)', wrongSdk.authenticateUser(sid, { id: `forged-${RUN}` }), FORGED],
    ['right hex, wrong key prefix', { ...signUserData(sid, goodUd), auth: `other-key:${signUserData(sid, goodUd).auth.split(':')[1]}` }, FORGED],
    ['signed for another socket', signUserData(other.socketId, goodUd), FORGED],
    ['user_data not JSON', signUserData(sid, 'not json{'), /^Authentication error: Invalid user_data JSON/],
    ['user_data without id', signUserData(sid, JSON.stringify({ user_info: { a: 1 } })), MISSING_ID],
    ['empty id', signUserData(sid, JSON.stringify({ id: '' })), MISSING_ID],
    ['numeric id', signUserData(sid, JSON.stringify({ id: 42 })), MISSING_ID],
    ['user_data is a JSON array', signUserData(sid, '[1,2]'), MISSING_ID],
    ['auth missing', { user_data: goodUd }, "Authentication error: Missing 'auth' field in signin data"],
    ['user_data missing', { auth: signUserData(sid, goodUd).auth }, "Authentication error: Missing 'user_data' field in signin data"],
  ];
  const c = new Checks();
  for (const [what, data, msg] of cases) {
    const reply = await rawSignin(r, data);
    c.check(() => {
      assertEq(reply.event, 'pusher:error', `${what}: reply event (${fmt(reply)})`);
      assertEq(reply.data && reply.data.code, 4009, `${what}: error code`);
      const m = reply.data && reply.data.message;
      if (msg instanceof RegExp) assert(msg.test(m), `${what}: message ${fmt(m)} does not match ${msg}`);
      else assertEq(m, msg, `${what}: message`);
      assert(reply.channel === undefined, `${what}: error frame has a channel`);
    });
  }
  // data that is not an object: 4000 (protocol.md §7.1 step 1).
  const notObj = await rawSignin(r, 5);
  c.eq([notObj.event, notObj.data && notObj.data.code], ['pusher:error', 4000], `non-object signin data reply (${fmt(notObj)})`);

  await rawPing(r, 'pong after the failed sign-ins');
  c.eq(rawCount(r, 'pusher:signin_success'), 0, 'signin_success after failures');
  await ctx.sdk.sendToUser(`forged-${RUN}`, 'leak', {});
  // pusher-js with a forging auth endpoint: error event, stays connected, not signed in.
  const pj = ctx.client({ name: 'pj-forged', auth: wrongSdk, user: { id: `forged-${RUN}` } });
  pj.pusher.signin();
  const err = await pj.errors.waitFor((e) => e && e.type === 'PusherError', 'pusher-js error for a forged sign-in');
  c.eq(err.data, { code: 4009, message: FORGED }, 'pusher-js forged sign-in error');
  await rawHttp(ctx.port, { path: '/up' });
  c.eq(pj.pusher.connection.state, 'connected', 'pusher-js state after a forged sign-in');
  c.eq(pj.pusher.user.user_data, null, 'pusher-js user_data after a forged sign-in');
  c.eq(pj.frames.count((f) => f.event === 'pusher_internal:subscription_succeeded'), 0, 'subscriptions after a forged sign-in');

  // The same raw socket still works: a valid sign-in now succeeds and receives user events.
  const ok = await rawSignin(r, ctx.sdk.authenticateUser(sid, { id: `real-${RUN}` }));
  c.eq(ok.event, 'pusher:signin_success', `valid sign-in after failures (${fmt(ok)})`);
  await ctx.sdk.sendToUser(`real-${RUN}`, 'hello', {});
  await r.frames.waitFor((f) => f.frame.event === 'hello', 'user event after the valid sign-in');
  c.eq(rawCount(r, 'leak'), 0, 'event for the forged user id');
  c.eq(r.isClosed, false, 'raw socket closed');

  // 3 forged signatures on the raw socket + 1 from pusher-js.
  const metricsAfter = await scrapeValue(ctx, 'pushcore_auth_failures_total', { reason: 'signin_invalid' });
  if (metricsBefore !== null) c.eq(metricsAfter - metricsBefore, 4, 'pushcore_auth_failures_total{reason="signin_invalid"} delta');
  c.done();
});

scenario('signin-disabled', 'app with enable_user_authentication=false: sign-in gets 4009 "User authentication is disabled for this app"', async (ctx) => {
  const sdk = makeSdk(ctx.port, { appId: NOAUTH.id, key: NOAUTH.key, secret: NOAUTH.secret });
  const MSG = 'Authentication error: User authentication is disabled for this app';
  const c = new Checks();
  const pj = ctx.client({ key: NOAUTH.key, auth: sdk, user: { id: `u-${RUN}` }, name: 'noauth' });
  await pj.states.waitFor((s) => s === 'connected', 'connected');
  pj.pusher.signin();
  const err = await pj.errors.waitFor((e) => e && e.type === 'PusherError', 'pusher-js error for sign-in on a no-auth app');
  c.eq(err.data, { code: 4009, message: MSG }, 'pusher-js error data');
  c.eq(pj.frames.count((f) => f.event === 'pusher:signin_success'), 0, 'signin_success');
  // Still usable.
  const ch = `noauth-${RUN}`;
  const ev = new Inbox('noauth channel');
  pj.pusher.subscribe(ch).bind_global((event, data) => ev.push({ event, data }));
  await ev.waitFor((e) => e.event === 'pusher:subscription_succeeded', 'subscription after the refused sign-in');
  await sdk.trigger(ch, 'after', { ok: 1 });
  await ev.waitFor((e) => e.event === 'after', 'event after the refused sign-in');
  c.eq(pj.pusher.connection.state, 'connected', 'state');

  const r = await ctx.rawConnected({ key: NOAUTH.key, name: 'raw-noauth' });
  const reply = await rawSignin(r, sdk.authenticateUser(r.socketId, { id: `u-${RUN}` }));
  c.eq(reply, { event: 'pusher:error', data: { code: 4009, message: MSG } }, 'raw reply');
  await sdk.sendToUser(`u-${RUN}`, 'nope', {});
  await rawPing(r);
  c.eq(rawCount(r, 'nope'), 0, 'user event on a refused sign-in');
  c.done();
}, { external: false });

scenario(
  'signin-timeout',
  'user_authentication_timeout 1 s: unsigned sockets closed 4009; signed-in and private/presence-subscribed ones stay',
  async (ctx) => {
    const t0 = Date.now();
    // Closed: no sign-in, only public / #server-to-user subscriptions, a failed private auth, a forged sign-in.
    const unsigned = await ctx.rawConnected({ name: 'unsigned' });
    unsigned.send({ event: 'pusher:subscribe', data: { channel: `public-${RUN}` } });
    const hashSub = await ctx.rawConnected({ name: '#server-to-user only' });
    hashSub.send({ event: 'pusher:subscribe', data: { channel: `#server-to-user-x-${RUN}`, auth: '' } });
    const badPrivate = await ctx.rawConnected({ name: 'failed private' });
    badPrivate.send({ event: 'pusher:subscribe', data: { channel: `private-t-${RUN}`, auth: `${APP.key}:${'0'.repeat(64)}` } });
    const forged = await ctx.rawConnected({ name: 'forged sign-in' });
    forged.send({ event: 'pusher:signin', data: makeSdk(ctx.port, { secret: 'wrong' }).authenticateUser(forged.socketId, { id: 'f' }) });
    const pjUnsigned = ctx.client({ name: 'pusher-js unsigned' });
    // Not affected: an unsigned socket of the app without user authentication.
    const noauth = await ctx.rawConnected({ key: NOAUTH.key, name: 'unsigned on the no-auth app' });
    // Exempt: signed in (raw and pusher-js), completed private and presence subscriptions.
    const signed = await rawSignedIn(ctx, ctx.sdk, { id: `s-${RUN}` }, 'signed');
    // Signs in with a watchlist naming an online user: this app has enable_watchlist_events off,
    // so no watchlist frame may arrive.
    const pjSigned = await signedIn(ctx, `pj-${RUN}`, { name: 'pusher-js signed', watchlist: [`s-${RUN}`, 'offline-user'] });
    const priv = await ctx.rawConnected({ name: 'private' });
    const pchan = `private-ok-${RUN}`;
    priv.send({ event: 'pusher:subscribe', data: { channel: pchan, auth: ctx.sdk.authorizeChannel(priv.socketId, pchan).auth } });
    await priv.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded', 'private subscription');
    const pres = await ctx.rawConnected({ name: 'presence' });
    const prchan = `presence-ok-${RUN}`;
    const pa = ctx.sdk.authorizeChannel(pres.socketId, prchan, { user_id: 'p', user_info: {} });
    pres.send({ event: 'pusher:subscribe', data: { channel: prchan, auth: pa.auth, channel_data: pa.channel_data } });
    await pres.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded', 'presence subscription');
    const lastConnected = Date.now();

    const c = new Checks();
    for (const r of [unsigned, hashSub, badPrivate, forged]) {
      await c.run(r.name, async () => {
        const closed = await withTimeout(r.closed, 4_000, `close of the ${r.name} socket`);
        const elapsed = Date.now() - t0;
        c.eq(closed, { code: 4009, reason: TIMEOUT_MSG }, `${r.name}: close code/reason`);
        c.ok(elapsed >= 900, `${r.name}: closed after ${elapsed} ms, before the 1 s timeout`);
        const errs = r.frames.filter((f) => f.frame.event === 'pusher:error' && f.frame.data.message === TIMEOUT_MSG).map((f) => f.frame.data);
        c.eq(errs, [{ code: 4009, message: TIMEOUT_MSG }], `${r.name}: timeout pusher:error frame`);
      });
    }
    await c.run('pusher-js unsigned', () => assertRefused(ctx, pjUnsigned, TIMEOUT_MSG, 'pusher-js unsigned'));

    // The exempt sockets outlive the timeout (+ the 250 ms sweep) by a margin.
    const wait = lastConnected + 1_800 - Date.now();
    if (wait > 0) await sleep(wait);
    for (const r of [signed, priv, pres, noauth]) {
      await c.run(r.name, async () => {
        await rawPing(r, `${r.name} still open`);
        c.eq(r.isClosed, false, `${r.name} closed`);
        c.eq(rawCount(r, 'pusher:error'), 0, `${r.name}: pusher:error frames`);
      });
    }
    c.eq(pjSigned.pusher.connection.state, 'connected', 'pusher-js signed state');
    c.eq(pjSigned.errors.items, [], 'pusher-js signed errors');
    c.eq(pjSigned.frames.count((f) => f.event === 'pusher_internal:watchlist_events'), 0, 'watchlist frames with enable_watchlist_events off');
    c.done();
  },
  { server: 'timeout' }
);

export default group;
