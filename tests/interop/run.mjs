#!/usr/bin/env node
// Interop suite: the real pusher-js client and the real `pusher` server SDK against a
// Pusher-protocol-7 server (ours, "pushcore", or any peer such as Soketi).
//
//   node run.mjs --server /path/to/pushcore     spawn pushcore with temporary configs (port 0)
//   node run.mjs --external 127.0.0.1:6101      use a running server (app-id/app-key/app-secret)
//
// Scenario groups (--group a,b; default all):
//   core      this file: connect, channels, presence, encrypted, client events, cache, sign-in
//   http_api  http_api.mjs: HTTP API through the `pusher` SDK and raw signed requests, limits,
//             CORS, health routes, keep-alive, Prometheus metrics
//   signin    signin.mjs: sign-in, server-to-user routing, watchlists, terminate, sign-in timeout
// Scenarios that need a server with their own config are skipped with --external.
//
// Options: --only a,b (run only these scenarios), --verbose (pusher-js debug log on failure).
// Env: INTEROP_SKIP=signin,... skips scenarios by name; INTEROP_VERBOSE=1 like --verbose.
// One line per scenario (ok / FAIL / skip); exit code 1 when any scenario fails.
// Assertions follow docs/protocol.md (Sockudo shapes), not Soketi where the two differ.

import { RUN, WAIT_MS, Group, Inbox, assert, assertEq, barrier, fmt, httpJson, makeSdk, pollUntil, runGroups, withTimeout } from './harness.mjs';
import httpApi from './http_api.mjs';
import signin from './signin.mjs';

// ---------------------------------------------------------------- scenarios

const core = new Group('core');
const scenario = core.scenario.bind(core);

scenario('connect', 'connect: state connected, socket_id format, handshake frame shape', async (ctx) => {
  const c = await ctx.connected();
  const sid = c.pusher.connection.socket_id;
  assert(/^\d+\.\d+$/.test(sid), `socket_id ${fmt(sid)} does not match ^\\d+\\.\\d+$`);
  assertEq(c.pusher.connection.state, 'connected', 'state');
  // Raw handshake: data is a JSON *string* with socket_id then activity_timeout.
  const r = await ctx.rawConnected();
  const f = r.established.frame;
  assertEq(typeof f.data, 'string', 'connection_established data type');
  const d = JSON.parse(f.data);
  assert(/^\d+\.\d+$/.test(d.socket_id), `raw socket_id ${fmt(d.socket_id)}`);
  assert(Number.isInteger(d.activity_timeout) && d.activity_timeout > 0, `activity_timeout ${fmt(d.activity_timeout)}`);
  if (ctx.env.mode === 'server') assertEq(d.activity_timeout, 120, 'activity_timeout (config value)');
  assert(d.socket_id !== sid, 'two connections got the same socket_id');
  // Client ping answered by pong.
  r.send({ event: 'pusher:ping', data: {} });
  await r.frames.waitFor((x) => x.frame.event === 'pusher:pong', 'pusher:pong');
});

scenario('public', 'public channel: 2 clients get an SDK-published event exactly once', async (ctx) => {
  const ch = `my-channel-${RUN}`;
  const [a, b] = await Promise.all([ctx.connected(), ctx.connected()]);
  const [sa, sb] = await Promise.all([ctx.subscribe(a, ch), ctx.subscribe(b, ch)]);
  const payload = { hello: 'world' };
  await ctx.sdk.trigger(ch, 'my-event', payload);
  await ctx.sdk.trigger(ch, 'done', {});
  for (const s of [sa, sb]) {
    const ev = await s.events.waitFor((e) => e.event === 'my-event', 'my-event');
    await s.events.waitFor((e) => e.event === 'done', 'done marker');
    assertEq(ev.data, payload, 'my-event data');
    assertEq(s.events.count((e) => e.event === 'my-event'), 1, `my-event deliveries on ${s.events.name}`);
  }
  // Wire shape of an API publish: data is a string.
  const f = a.frames.filter((x) => x.event === 'my-event');
  assertEq(f.length, 1, 'my-event frames');
  assertEq(f[0].channel, ch, 'frame channel');
});

scenario('private', 'private channel: SDK auth ok; wrong-secret auth -> pusher:error 4009 + channel pusher:subscription_error, no success', async (ctx) => {
  const ch = `private-orders-${RUN}`;
  const good = await ctx.connected();
  await ctx.subscribe(good, ch);
  assertEq(good.authCalls, [ch], 'auth handler calls');

  const wrongSdk = makeSdk(ctx.env.port, { secret: 'wrong-secret' });
  const bad = await ctx.connected({ auth: wrongSdk, name: 'bad' });
  const denied = `private-denied-${RUN}`;
  const s = await ctx.subscribe(bad, denied, { wait: false });
  // Both: Sockudo's connection-level pusher:error, and the channel-scoped subscription_error
  // that pusher-js hands to channel.bind('pusher:subscription_error') (protocol.md §3.4 revised).
  const err = await bad.errors.waitFor((e) => e && e.type === 'PusherError', "connection 'error' {type:'PusherError'}");
  assertEq(err.data && err.data.code, 4009, 'pusher:error code');
  const se = await s.events.waitFor((x) => x.event === 'pusher:subscription_error', 'channel pusher:subscription_error');
  assertEq(se.data, { type: 'AuthError', error: 'Authentication error: Channel requires authentication', status: 401 }, 'subscription_error data');
  assertEq(s.events.count((e) => e.event === 'pusher:subscription_succeeded'), 0, 'subscription_succeeded count on denied channel');
  assert(!s.channel.subscribed, 'channel marked subscribed after a bad signature');
  const frame = bad.frames.filter((f) => f.event === 'pusher:error')[0];
  assert(frame && frame.channel === undefined, `pusher:error frame must not carry a channel (got ${fmt(frame && frame.channel)})`);
  const scoped = bad.frames.filter((f) => f.event === 'pusher:subscription_error')[0];
  assertEq(scoped && scoped.channel, denied, 'subscription_error frame channel');
  assertEq(bad.pusher.connection.state, 'connected', 'state after a subscription error');
  // The connection stays open and usable after a subscription error.
  await ctx.subscribe(bad, `public-after-error-${RUN}`);
});

scenario('subscription-errors', "refused subscriptions reach channel.bind('pusher:subscription_error') with their cause (name too long, member too big)", async (ctx) => {
  // Default limits: 200-byte channel names, 2 KB presence members (protocol.md §3.4 revised).
  const big = await ctx.connected({ presence: { user_id: 'big', user_info: { blob: 'x'.repeat(4000) } }, name: 'big' });
  const cases = [
    { channel: `public-${'n'.repeat(200)}`, type: 'LimitReached', status: 4009, error: /^Channel error: Channel name too long/ },
    { channel: `presence-big-${RUN}`, type: 'LimitReached', status: 4301, error: /^Channel error: Presence member data size/ },
  ];
  for (const k of cases) {
    const s = await ctx.subscribe(big, k.channel, { wait: false });
    const se = await s.events.waitFor((x) => x.event === 'pusher:subscription_error', `subscription_error for ${k.channel.slice(0, 24)}…`);
    assertEq([se.data.type, se.data.status], [k.type, k.status], `subscription_error type/status (${fmt(se.data)})`);
    assert(k.error.test(se.data.error), `subscription_error error ${fmt(se.data.error)}`);
    assert(!s.channel.subscribed, 'channel marked subscribed after a refusal');
  }
  assertEq(big.pusher.connection.state, 'connected', 'state after the refusals');
});

scenario('presence', 'presence: members, member_added/removed, members.me, multi-socket user', async (ctx) => {
  const ch = `presence-room-${RUN}`;
  const c1 = await ctx.connected({ presence: { user_id: 'u1', user_info: { name: 'A' } }, name: 'c1(u1)' });
  const s1 = await ctx.subscribe(c1, ch);
  const pc1 = s1.channel;
  assertEq(pc1.members.count, 1, 'c1 members.count after join');
  assertEq(pc1.members.me, { id: 'u1', info: { name: 'A' } }, 'c1 members.me');

  // Numeric user id from the SDK presence data: accepted and echoed as the number (§5.1, revised).
  const c2 = await ctx.connected({ presence: { user_id: 2, user_info: { name: 'B' } }, name: 'c2(2)' });
  const s2 = await ctx.subscribe(c2, ch);
  const pc2 = s2.channel;
  const added = await s1.events.waitFor((e) => e.event === 'pusher:member_added', 'member_added on c1');
  assertEq(added.data, { id: 2, info: { name: 'B' } }, 'member_added member');
  assertEq(pc1.members.count, 2, 'c1 members.count after c2 joined');
  assertEq(pc2.members.count, 2, 'c2 members.count');
  assertEq(pc2.members.me && pc2.members.me.id, 2, 'c2 members.me.id');
  assertEq(pc2.members.me.info, { name: 'B' }, 'c2 members.me.info');
  assertEq(pc2.members.get('u1'), { id: 'u1', info: { name: 'A' } }, 'c2 sees u1');
  // Raw subscription_succeeded payload: string data, ids typed as signed, hash keys strings.
  const ok = c2.frames.filter((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === ch)[0];
  const pres = ok.data.presence;
  assertEq([...pres.ids].sort(), [2, 'u1'], 'presence.ids');
  assertEq(pres.hash, { u1: { name: 'A' }, 2: { name: 'B' } }, 'presence.hash');
  assertEq(pres.count, 2, 'presence.count');
  assert(c2.frames.count((f) => f.event === 'pusher_internal:member_added') === 0, 'joiner received its own member_added');

  // Second socket of user 2: no member_added to others, sees 2 distinct members.
  const c3 = await ctx.connected({ presence: { user_id: 2, user_info: { name: 'B' } }, name: 'c3(2 again)' });
  const s3 = await ctx.subscribe(c3, ch);
  assertEq(s3.channel.members.count, 2, 'c3 members.count (distinct users)');
  await barrier(ctx, ch, [s1.events, s2.events]);
  assertEq(s1.events.count((e) => e.event === 'pusher:member_added'), 1, 'member_added on c1 after a second socket of user 2');
  assertEq(s2.events.count((e) => e.event === 'pusher:member_added'), 0, 'member_added on c2 for its own second socket');

  // That second socket leaves: user 2 still present, no member_removed.
  c3.pusher.disconnect();
  await pollUntil(
    async () => (await httpJson(ctx.sdk.get({ path: `/channels/${ch}`, params: { info: 'subscription_count' } }))).subscription_count === 2,
    'subscription_count 2 after c3 left'
  );
  await barrier(ctx, ch, [s1.events]);
  assertEq(s1.events.count((e) => e.event === 'pusher:member_removed'), 0, 'member_removed on c1 while user 2 still has a socket');
  assertEq(pc1.members.count, 2, 'c1 members.count after c3 left');

  // Last socket of user 2 disconnects -> member_removed.
  c2.pusher.disconnect();
  const removed = await s1.events.waitFor((e) => e.event === 'pusher:member_removed', 'member_removed on c1');
  assertEq(removed.data, { id: 2, info: { name: 'B' } }, 'member_removed member');
  assertEq(pc1.members.count, 1, 'c1 members.count after user 2 left');

  // Unsubscribe path: u3 joins then unsubscribes.
  const c4 = await ctx.connected({ presence: { user_id: 'u3', user_info: {} }, name: 'c4(u3)' });
  await ctx.subscribe(c4, ch);
  await s1.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === 'u3', 'member_added u3');
  c4.pusher.unsubscribe(ch);
  await s1.events.waitFor((e) => e.event === 'pusher:member_removed' && e.data.id === 'u3', 'member_removed u3 (unsubscribe)');
  assertEq(pc1.members.count, 1, 'c1 members.count at the end');
  const rawRemoved = c1.frames.filter((f) => f.event === 'pusher_internal:member_removed').map((f) => f.data);
  assertEq(rawRemoved, [{ user_id: 2 }, { user_id: 'u3' }], 'raw member_removed payloads');
});

scenario('presence-numeric', 'presence: a numeric user_id (Laravel-style) stays a number for pusher-js and the SDK; 42 and "42" are one user', async (ctx) => {
  const ch = `presence-num-${RUN}`;
  // The SDK's authorizeChannel signs JSON.stringify(presence): {"user_id":42,"user_info":{...}}.
  const watcher = await ctx.connected({ presence: { user_id: 'w', user_info: {} }, name: 'watcher' });
  const sw = await ctx.subscribe(watcher, ch);
  const n = await ctx.connected({ presence: { user_id: 42, user_info: { name: 'Num' } }, name: 'n(42)' });
  const sn = await ctx.subscribe(n, ch);

  const added = await sw.events.waitFor((e) => e.event === 'pusher:member_added', 'member_added 42 on watcher');
  assert(added.data.id === 42, `member_added member.id is ${fmt(added.data.id)} (${typeof added.data.id}), not the number 42`);
  assertEq(added.data.info, { name: 'Num' }, 'member_added info');
  const got = sw.channel.members.get(42);
  assert(got && got.id === 42, `watcher members.get(42): ${fmt(got)}`);
  assertEq(got.info, { name: 'Num' }, 'watcher members.get(42).info');
  assert(sn.channel.members.me.id === 42, `members.me.id is ${fmt(sn.channel.members.me.id)}`);
  assertEq(sn.channel.members.count, 2, 'members.count');
  const ok = n.frames.filter((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === ch)[0];
  assert(ok.data.presence.ids.includes(42), `raw presence.ids lacks the number 42: ${fmt(ok.data.presence.ids)}`);
  assert(!ok.data.presence.ids.includes('42'), `raw presence.ids has the string "42": ${fmt(ok.data.presence.ids)}`);
  assertEq(ok.data.presence.hash['42'], { name: 'Num' }, 'raw presence.hash["42"]');

  // A client event carries metadata.user_id as the number.
  const typing = new Inbox('watcher client-num');
  sw.channel.bind('client-num', (data, metadata) => typing.push({ data, metadata }));
  sn.channel.trigger('client-num', { x: 1 });
  const ce = await typing.waitFor(() => true, 'client-num on watcher');
  assert(ce.metadata && ce.metadata.user_id === 42, `metadata.user_id: ${fmt(ce.metadata)}`);

  // The same user signed as the string "42": one user, no second member_added.
  const s = await ctx.connected({ presence: { user_id: '42', user_info: { name: 'Str' } }, name: 's("42")' });
  const ss = await ctx.subscribe(s, ch);
  assertEq(ss.channel.members.count, 2, 'members.count with 42 and "42"');

  // GET users through the SDK: the id is the number.
  const users = await httpJson(ctx.sdk.get({ path: `/channels/${ch}/users` }));
  const ids = users.users.map((u) => u.id);
  assert(ids.includes(42) && ids.includes('w') && ids.length === 2, `GET users ids: ${fmt(ids)}`);
  const info = await httpJson(ctx.sdk.get({ path: `/channels/${ch}`, params: { info: 'user_count' } }));
  assertEq(info.user_count, 2, 'user_count with 42 and "42"');
  await barrier(ctx, ch, [sw.events]);
  assertEq(sw.events.count((e) => e.event === 'pusher:member_added'), 1, 'member_added count on watcher');

  n.pusher.disconnect();
  s.pusher.disconnect();
  const removed = await sw.events.waitFor((e) => e.event === 'pusher:member_removed', 'member_removed 42');
  assert(removed.data.id === 42, `member_removed member.id: ${fmt(removed.data.id)}`);
  assertEq(sw.channel.members.count, 1, 'watcher members.count at the end');
});

scenario('encrypted', 'encrypted channel: client decrypts; raw socket sees only {nonce, ciphertext}', async (ctx) => {
  const ch = `private-encrypted-x-${RUN}`;
  const c = await ctx.connected();
  const s = await ctx.subscribe(c, ch);
  // Raw socket subscribed with an SDK auth (it strips shared_secret like pusher-js does).
  const r = await ctx.rawConnected();
  const a = ctx.sdk.authorizeChannel(r.socketId, ch);
  assert(typeof a.shared_secret === 'string', 'SDK did not return shared_secret (encryptionMasterKeyBase64 missing?)');
  r.send({ event: 'pusher:subscribe', data: { auth: a.auth, channel: ch } });
  await r.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded' && f.frame.channel === ch, 'raw subscription_succeeded');

  await ctx.sdk.trigger(ch, 'secret-event', { msg: 'hi' });
  const ev = await s.events.waitFor((e) => e.event === 'secret-event', 'decrypted secret-event');
  assertEq(ev.data, { msg: 'hi' }, 'decrypted data');

  const raw = await r.frames.waitFor((f) => f.frame.event === 'secret-event', 'raw secret-event');
  assertEq(typeof raw.frame.data, 'string', 'raw data type');
  const payload = JSON.parse(raw.frame.data);
  assertEq(Object.keys(payload).sort(), ['ciphertext', 'nonce'], 'raw payload keys');
  assertEq(Buffer.from(payload.nonce, 'base64').length, 24, 'nonce length');
  assert(!raw.text.includes('"msg"') && !raw.text.includes('hi"'), `plaintext leaked: ${raw.text}`);

  // Client events on encrypted channels: pusher-js refuses locally.
  let threw = false;
  try {
    s.channel.trigger('client-x', {});
  } catch {
    threw = true;
  }
  assert(threw, 'pusher-js allowed a client event on an encrypted channel');
});

scenario('client-events', 'client events: private relayed to others only; presence adds user_id', async (ctx) => {
  const ch = `private-chat-${RUN}`;
  const [a, b] = await Promise.all([ctx.connected({ name: 'A' }), ctx.connected({ name: 'B' })]);
  const [sa, sb] = await Promise.all([ctx.subscribe(a, ch), ctx.subscribe(b, ch)]);
  assert(sa.channel.trigger('client-typing', { x: 1 }), 'trigger returned false');
  const got = await sb.events.waitFor((e) => e.event === 'client-typing', 'client-typing on B');
  assertEq(got.data, { x: 1 }, 'client-typing data');
  await barrier(ctx, ch, [sa.events, sb.events]);
  assertEq(sa.events.count((e) => e.event === 'client-typing'), 0, 'client-typing echoed to the sender');
  assertEq(sb.events.count((e) => e.event === 'client-typing'), 1, 'client-typing deliveries on B');
  const bf = b.frames.filter((f) => f.event === 'client-typing')[0];
  assert(bf.user_id === undefined, `user_id on a private channel client event: ${fmt(bf.user_id)}`);

  const pch = `presence-chat-${RUN}`;
  const [pa, pb] = await Promise.all([
    ctx.connected({ name: 'PA', presence: { user_id: 'alice', user_info: { n: 'A' } } }),
    ctx.connected({ name: 'PB', presence: { user_id: 'bob', user_info: { n: 'B' } } }),
  ]);
  const [psa, psb] = await Promise.all([ctx.subscribe(pa, pch), ctx.subscribe(pb, pch)]);
  // bind_global handlers get no metadata; a named binding gets (data, metadata).
  const typing = new Inbox('PB client-typing');
  psb.channel.bind('client-typing', (data, metadata) => typing.push({ data, metadata }));
  psa.channel.trigger('client-typing', { x: 2 });
  const pgot = await typing.waitFor(() => true, 'presence client-typing on B');
  assertEq(pgot.data, { x: 2 }, 'presence client-typing data');
  const pframe = pb.frames.filter((f) => f.event === 'client-typing')[0];
  assertEq(pgot.metadata && pgot.metadata.user_id, 'alice', `metadata.user_id (frame ${fmt(pframe)})`);
  await barrier(ctx, pch, [psa.events]);
  assertEq(psa.events.count((e) => e.event === 'client-typing'), 0, 'presence client-typing echoed to the sender');
});

scenario('cache', 'cache channel: cached event on subscribe; pusher:cache_miss on empty', async (ctx) => {
  const ch = `cache-prices-${RUN}`;
  await ctx.sdk.trigger(ch, 'price', { eur: 1.08 });
  const c = await ctx.connected();
  const global = new Inbox('global');
  c.pusher.bind_global((event, data) => global.push({ event, data }));
  const s = await ctx.subscribe(c, ch);
  const ev = await s.events.waitFor((e) => e.event === 'price', 'cached price event');
  assertEq(ev.data, { eur: 1.08 }, 'cached data');
  const i = s.events.items.findIndex((e) => e.event === 'pusher:subscription_succeeded');
  const j = s.events.items.findIndex((e) => e.event === 'price');
  assert(i >= 0 && j > i, 'cached event must follow subscription_succeeded');
  assertEq(s.events.count((e) => e.event === 'pusher:cache_miss'), 0, 'cache_miss on a filled cache channel');

  const empty = `cache-empty-${RUN}`;
  const se = await ctx.subscribe(c, empty);
  await global.waitFor((e) => e.event === 'pusher:cache_miss', 'pusher:cache_miss (bind_global)');
  const f = await c.frames.waitFor((x) => x.event === 'pusher:cache_miss', 'cache_miss frame');
  assertEq(f.channel, empty, 'cache_miss channel');
  assertEq(se.events.count((e) => e.event === 'pusher:cache_miss'), 1, 'cache_miss on the channel');
});

scenario('signin', 'sign-in: pusher:signin_success, then sendToUser reaches pusher.user', async (ctx) => {
  const c = await ctx.connected({ user: { id: 'user-1', user_info: { name: 'A' } } });
  const global = new Inbox('global');
  c.pusher.bind_global((event, data) => global.push({ event, data }));
  const userEvents = new Inbox('user');
  c.pusher.user.bind('notify', (data) => userEvents.push(data));
  c.pusher.signin();
  let ok;
  try {
    ok = await global.waitFor((e) => e.event === 'pusher:signin_success', 'pusher:signin_success');
  } catch (e) {
    const errs = c.errors.items.map((x) => fmt(x.data || x.error));
    throw new Error(`${e.message}${errs.length ? `; connection errors: ${errs.join(', ')}` : ''}`);
  }
  assertEq(typeof ok.data.user_data, 'string', 'signin_success data.user_data type');
  assertEq(JSON.parse(ok.data.user_data), { id: 'user-1', user_info: { name: 'A' } }, 'signin_success user_data');
  // pusher-js then subscribes to #server-to-user-user-1; wait for that before publishing
  // (a server that delivers by subscription, like Soketi, needs it; ours must not care).
  await c.frames.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === '#server-to-user-user-1', 'subscription to #server-to-user-user-1');
  await ctx.sdk.sendToUser('user-1', 'notify', { n: 1 });
  const got = await userEvents.waitFor(() => true, "pusher.user 'notify'");
  assertEq(got, { n: 1 }, 'notify data');
});

scenario('unknown-app', 'unknown app key: error 4001 + close 4001; pusher-js stops without reconnecting', async (ctx) => {
  // Raw: pusher:error {code:4001} first, then close 4001.
  const r = await ctx.raw({ key: 'no-such-key' });
  const closed = await withTimeout(r.closed, WAIT_MS, 'close of the unknown-key socket');
  const err = r.frames.filter((f) => f.frame.event === 'pusher:error')[0];
  assert(err, `no pusher:error frame before close (close code ${closed.code})`);
  assertEq(err.frame.data && err.frame.data.code, 4001, 'pusher:error code');
  assertEq(closed.code, 4001, 'close code');
  assertEq(r.frames.count((f) => f.frame.event === 'pusher:connection_established'), 0, 'connection_established on unknown key');

  // pusher-js: treated as "refused" -> state disconnected, no retry.
  const c = ctx.client({ key: 'no-such-key', name: 'badkey' });
  await c.states.waitFor((s) => s === 'disconnected' || s === 'failed', 'state disconnected/failed');
  const e = c.errors.items.map((x) => x.error || x).find((x) => x && x.data && x.data.code !== undefined);
  assertEq(e && e.data.code, 4001, 'pusher-js error code');
  // pusher-js retries (if it were to) on a 0 ms or 1 s timer; 'refused' cancels both. Check the
  // state machine settled: no further transition after the terminal state within one RTT.
  // (The initial 'connecting' happens inside the constructor, before our binding.)
  const n = c.states.items.length;
  await barrier(ctx, `settle-${RUN}`, []); // one HTTP round-trip, no fixed sleep
  assertEq(c.states.items.slice(n), [], 'state changes after refusal');
  assertEq(c.states.count((s) => s === 'connecting'), 0, 'reconnect attempts');
});

scenario('http-api', 'HTTP API: /channels, /channels/{presence}, /channels/{presence}/users', async (ctx) => {
  const pch = `presence-room-api-${RUN}`;
  const pub = `my-channel-api-${RUN}`;
  const c1 = await ctx.connected({ presence: { user_id: 'u1', user_info: { name: 'A' } } });
  const c2 = await ctx.connected({ presence: { user_id: 2, user_info: { name: 'B' } } });
  await Promise.all([ctx.subscribe(c1, pch), ctx.subscribe(c2, pch), ctx.subscribe(c1, pub)]);

  const all = await httpJson(ctx.sdk.get({ path: '/channels' }));
  assert(all && typeof all.channels === 'object', `GET /channels: ${fmt(all)}`);
  assertEq(all.channels[pch], {}, `/channels entry for ${pch}`);
  assertEq(all.channels[pub], {}, `/channels entry for ${pub}`);

  const pres = await httpJson(ctx.sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-room-api-', info: 'user_count' } }));
  assertEq(pres, { channels: { [pch]: { user_count: 2 } } }, 'GET /channels?filter_by_prefix&info=user_count');

  const users = await httpJson(ctx.sdk.get({ path: `/channels/${pch}/users` }));
  assert(users && Array.isArray(users.users), `GET users: ${fmt(users)}`);
  assertEq(users.users.map((u) => u.id).sort(), [2, 'u1'], 'users ids');
  for (const u of users.users) assertEq(Object.keys(u), ['id'], 'user entry keys');

  const info = await httpJson(ctx.sdk.get({ path: `/channels/${pch}`, params: { info: 'user_count,subscription_count' } }));
  assertEq(info, { occupied: true, subscription_count: 2, user_count: 2 }, `GET /channels/${pch}?info=...`);

  const plain = await httpJson(ctx.sdk.get({ path: `/channels/${pub}` }));
  assertEq(plain, { occupied: true }, `GET /channels/${pub}`);
  const none = await httpJson(ctx.sdk.get({ path: `/channels/unused-${RUN}` }));
  assertEq(none, { occupied: false }, 'GET an unoccupied channel');

  // Non-presence users endpoint -> 400.
  let status;
  try {
    await ctx.sdk.get({ path: `/channels/${pub}/users` });
  } catch (e) {
    status = e.status;
  }
  assertEq(status, 400, 'users endpoint on a public channel status');

  // Publish response shape: Sockudo answers {"ok":true}.
  const res = await httpJson(ctx.sdk.trigger(pub, 'x', {}));
  assertEq(res, { ok: true }, 'POST /events response body');
});

// ---------------------------------------------------------------- runner

runGroups([core, httpApi, signin]).catch((e) => {
  console.log(`FAIL harness - ${e && e.stack ? e.stack : fmt(e)}`);
  process.exit(1);
});
