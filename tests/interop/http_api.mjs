// Scenario group "http_api": the HTTP API (protocol.md §8.4, §9) end to end with the real `pusher`
// SDK and hand-signed requests, delivery to real pusher-js subscribers, limits, CORS, health
// routes, keep-alive, and the Prometheus endpoint.

import http from 'node:http';
import net from 'node:net';

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
  barrier,
  fmt,
  httpJson,
  makeSdk,
  pollUntil,
  rawHttp,
  sdkStatus,
  serverConfig,
  signedHttp,
  signedQuery,
  withTimeout,
} from './harness.mjs';

const OTHER = { id: 'other-app', key: 'other-key', secret: 'other-secret' };
const BIG = { id: 'big-app', key: 'big-key', secret: 'big-secret' };

const group = new Group('http_api', {
  servers: {
    // Standard app plus a second one (route/key mismatch checks).
    default: () => serverConfig({ apps: [appConfig(), appConfig(OTHER)] }),
    // Small limits: 1 KB event data, 3 channels per publish, 2 events per batch, 1 MiB bodies.
    // big-app allows 4 MiB of event data, so only the HTTP body cap can stop its requests.
    limits: () =>
      serverConfig({
        http_api: { request_limit_in_mb: 1 },
        apps: [
          appConfig({ limits: { max_event_payload_in_kb: 1, max_event_channels_at_once: 3, max_event_batch_size: 2 } }),
          appConfig({ ...BIG, limits: { max_event_payload_in_kb: 4096 } }),
        ],
      }),
    // Nothing else runs on it, so counter deltas are exact.
    metrics: () => serverConfig(),
    // Sockudo's metrics.prometheus.prefix.
    'metrics-prefix': () => serverConfig({ metrics: { enabled: true, host: '127.0.0.1', port: 0, prometheus: { prefix: 'myapp_' } } }),
    // Two allowed CORS origins.
    cors: () => serverConfig({ cors: { origin: ['https://a.example.com', 'https://b.example.com'], methods: ['GET', 'POST', 'DELETE'], allowed_headers: ['Content-Type', 'X-Custom'] } }),
  },
});
const scenario = group.scenario.bind(group);

// The Sockudo error body (protocol.md §8.4).
function assertErrorBody(res, status, code, what) {
  assertEq(res.status, status, `${what}: status (body ${fmt(res.text ?? res.body)})`);
  const text = res.text ?? res.body;
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${what}: error body is not JSON: ${fmt(text)}`);
  }
  assertEq(typeof body.error, 'string', `${what}: type of "error" in ${fmt(body)}`);
  assertEq({ code: body.code, status: body.status }, { code, status }, `${what}: code/status in ${fmt(body)}`);
  return body;
}

// Drops the optional acknowledgement_id (a Sockudo extension, protocol.md §9.2) from info entries.
function withoutAck(obj) {
  if (Array.isArray(obj)) return obj.map(withoutAck);
  if (obj && typeof obj === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(obj)) if (k !== 'acknowledgement_id') out[k] = withoutAck(v);
    return out;
  }
  return obj;
}

// ---------------------------------------------------------------- publishing

scenario('api-trigger', 'trigger to one and to many channels reaches pusher-js subscribers once per channel', async (ctx) => {
  const chA = `api-a-${RUN}`;
  const chB = `api-b-${RUN}`;
  const chC = `private-api-c-${RUN}`;
  const pres = `presence-api-${RUN}`;
  const [c1, c2, c3] = await Promise.all([
    ctx.connected({ name: 'c1', presence: { user_id: 'u1', user_info: {} } }),
    ctx.connected({ name: 'c2', presence: { user_id: 'u2', user_info: {} } }),
    ctx.connected({ name: 'c3' }),
  ]);
  const [s1a, s2a, s2b, s3c, p1, p2] = await Promise.all([
    ctx.subscribe(c1, chA),
    ctx.subscribe(c2, chA),
    ctx.subscribe(c2, chB),
    ctx.subscribe(c3, chC),
    ctx.subscribe(c1, pres),
    ctx.subscribe(c2, pres),
  ]);
  const raw = await ctx.rawConnected();
  raw.send({ event: 'pusher:subscribe', data: { channel: chA } });
  await raw.frames.waitFor((f) => f.frame.event === 'pusher_internal:subscription_succeeded', 'raw subscription_succeeded');

  // One channel.
  assertEq(await httpJson(ctx.sdk.trigger(chA, 'one', { a: 1 })), { ok: true }, 'POST /events body (one channel)');
  // Many channels (one of them private), one request.
  assertEq(await httpJson(ctx.sdk.trigger([chA, chB, chC], 'many', { m: 1 })), { ok: true }, 'POST /events body (3 channels)');
  // A string payload is delivered as is.
  await ctx.sdk.trigger(chA, 'str', 'plain text, not JSON');
  await barrier(ctx, chA, [s1a.events, s2a.events]);
  await barrier(ctx, chB, [s2b.events]);
  await barrier(ctx, chC, [s3c.events]);

  const c = new Checks();
  for (const [s, want] of [
    [s1a, { one: 1, many: 1, str: 1 }],
    [s2a, { one: 1, many: 1, str: 1 }],
    [s2b, { one: 0, many: 1, str: 0 }],
    [s3c, { one: 0, many: 1, str: 0 }],
  ]) {
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, s.events.count((e) => e.event === k)]));
    c.eq(got, want, `deliveries on ${s.events.name}`);
  }
  c.eq(s1a.events.filter((e) => e.event === 'many')[0]?.data, { m: 1 }, 'many data');
  c.eq(s1a.events.filter((e) => e.event === 'str')[0]?.data, 'plain text, not JSON', 'string data');
  c.eq(p1.events.count((e) => e.event === 'one' || e.event === 'many'), 0, 'events leaking into the presence channel');
  // Wire shape (protocol.md §0/§9.2): event, channel, data (a string), in that order.
  const w = raw.frames.filter((f) => f.frame.event === 'one')[0];
  c.eq(w && w.text, JSON.stringify({ event: 'one', channel: chA, data: JSON.stringify({ a: 1 }) }), 'raw frame of an API publish');

  // info on a publish: subscription_count for every channel, user_count for presence only.
  const info = await httpJson(ctx.sdk.trigger([chA, pres], 'with-info', {}, { info: 'subscription_count,user_count' }));
  c.eq(withoutAck(info), { channels: { [chA]: { subscription_count: 3 }, [pres]: { subscription_count: 2, user_count: 2 } } }, 'POST /events info response');
  if (info.channels && info.channels[chA] && 'acknowledgement_id' in info.channels[chA]) {
    c.eq(typeof info.channels[chA].acknowledgement_id, 'string', 'acknowledgement_id type');
  }
  await p2.events.waitFor((e) => e.event === 'with-info', 'with-info on the presence channel');

  // Hand-made bodies: non-string data is sent as compact JSON text, missing data as "null".
  const post = (obj) => signedHttp(ctx.port, { method: 'POST', route: '/events', body: JSON.stringify(obj) });
  c.eq((await post({ name: 'obj-data', channel: chA, data: { x: [1, 2], y: 'z' } })).status, 200, 'object data status');
  c.eq((await post({ name: 'no-data', channel: chA })).status, 200, 'missing data status');
  // `channels` wins over `channel`.
  c.eq((await post({ name: 'both', channel: chB, channels: [chA], data: '{}' })).status, 200, 'channel + channels status');
  // An invalid channel among valid ones fails the request before anything is delivered.
  const badMix = await post({ name: 'never', channels: [chA, 'bad name!'], data: '{}' });
  c.check(() => assertErrorBody(badMix, 400, 'invalid_input', 'publish to a valid and an invalid channel'));
  // Encrypted channels take exactly one channel (the SDK refuses this itself).
  const encMix = await post({ name: 'never-enc', channels: [chA, `private-encrypted-${RUN}`], data: '{}' });
  c.check(() => assertErrorBody(encMix, 400, 'invalid_input', 'publish to an encrypted and another channel'));
  await barrier(ctx, chA, [s1a.events]);
  await barrier(ctx, chB, [s2b.events]);
  const rawText = (event) => raw.frames.filter((f) => f.frame.event === event).map((f) => f.frame.data);
  c.eq(rawText('obj-data'), ['{"x":[1,2],"y":"z"}'], 'object data on the wire (compact JSON string)');
  c.eq(rawText('no-data'), ['null'], 'missing data on the wire');
  c.eq([s1a.events.count((e) => e.event === 'both'), s2b.events.count((e) => e.event === 'both')], [1, 0], "'both' on chA / chB");
  c.eq(s1a.events.count((e) => e.event === 'never' || e.event === 'never-enc'), 0, 'deliveries of rejected publishes');
  c.done();
});

scenario('api-batch', 'triggerBatch: delivery in order, response shapes, info, validation before delivery', async (ctx) => {
  const chA = `batch-a-${RUN}`;
  const chB = `batch-b-${RUN}`;
  const [c1, c2] = await Promise.all([ctx.connected({ name: 'c1' }), ctx.connected({ name: 'c2' })]);
  const [s1a, s2a, s2b] = await Promise.all([ctx.subscribe(c1, chA), ctx.subscribe(c2, chA), ctx.subscribe(c2, chB)]);
  const c = new Checks();

  const res = await httpJson(
    ctx.sdk.triggerBatch([
      { channel: chA, name: 'b1', data: { i: 1 } },
      { channel: chB, name: 'b2', data: 'two' },
      { channel: chA, name: 'b3', data: { i: 3 } },
    ])
  );
  c.eq(res, {}, 'batch response without info');
  await barrier(ctx, chA, [s1a.events, s2a.events]);
  await barrier(ctx, chB, [s2b.events]);
  for (const s of [s1a, s2a]) {
    c.eq(s.events.filter((e) => /^b\d$/.test(e.event)).map((e) => [e.event, e.data]), [['b1', { i: 1 }], ['b3', { i: 3 }]], `batch events in order on ${s.events.name}`);
  }
  c.eq(s2b.events.filter((e) => /^b\d$/.test(e.event)).map((e) => [e.event, e.data]), [['b2', 'two']], `batch events on ${s2b.events.name}`);

  // With info on some items: one object per item, {} for items without info.
  const withInfo = await httpJson(
    ctx.sdk.triggerBatch([
      { channel: chA, name: 'i1', data: {}, info: 'subscription_count' },
      { channel: chB, name: 'i2', data: {} },
    ])
  );
  c.eq(withoutAck(withInfo), { batch: [{ subscription_count: 2 }, {}] }, 'batch response with info');

  // socket_id on a batch item excludes that socket for that item only.
  await ctx.sdk.triggerBatch([
    { channel: chA, name: 'x1', data: {}, socket_id: c1.pusher.connection.socket_id },
    { channel: chA, name: 'x2', data: {} },
  ]);
  // An invalid item fails the whole batch before anything is delivered (protocol.md §9.3 notes
  // Sockudo's partial delivery; pushcore validates first, as its source says).
  const bad = await sdkStatus(
    ctx.sdk.triggerBatch([
      { channel: chA, name: 'never-1', data: {} },
      { channel: 'bad channel name!', name: 'never-2', data: {} },
    ])
  );
  c.check(() => assertErrorBody(bad, 400, 'invalid_input', 'batch with an invalid channel name'));
  await barrier(ctx, chA, [s1a.events, s2a.events]);
  c.eq([s1a.events.count((e) => e.event === 'x1'), s1a.events.count((e) => e.event === 'x2')], [0, 1], 'x1/x2 on the excluded socket');
  c.eq([s2a.events.count((e) => e.event === 'x1'), s2a.events.count((e) => e.event === 'x2')], [1, 1], 'x1/x2 on the other socket');
  c.eq(s1a.events.count((e) => e.event === 'never-1') + s2a.events.count((e) => e.event === 'never-1'), 0, 'deliveries of the first item of a rejected batch');

  // Batch size over the default limit (10).
  const eleven = Array.from({ length: 11 }, (_, i) => ({ channel: chA, name: `over-${i}`, data: {} }));
  const over = await sdkStatus(ctx.sdk.triggerBatch(eleven));
  c.check(() => assertErrorBody(over, 400, 'limit_exceeded', 'batch of 11 (default limit 10)'));
  const ten = await sdkStatus(ctx.sdk.triggerBatch(eleven.slice(0, 10)));
  c.eq(ten.status, 200, 'batch of 10 status');
  c.done();
});

scenario('api-socket-exclusion', 'socket_id excludes exactly that socket (one and many channels); malformed/unknown ids ignored', async (ctx) => {
  const chA = `excl-a-${RUN}`;
  const chB = `excl-b-${RUN}`;
  const [a, b] = await Promise.all([ctx.connected({ name: 'A' }), ctx.connected({ name: 'B' })]);
  const [saA, saB, sbA, sbB] = await Promise.all([ctx.subscribe(a, chA), ctx.subscribe(a, chB), ctx.subscribe(b, chA), ctx.subscribe(b, chB)]);
  const sid = a.pusher.connection.socket_id;
  await ctx.sdk.trigger(chA, 'e1', { n: 1 }, { socket_id: sid });
  await ctx.sdk.trigger([chA, chB], 'e2', { n: 2 }, { socket_id: sid });
  // Malformed socket_id (SDK refuses it, so hand-signed) and a well-formed unknown one: ignored.
  const body = (socket_id, name) => JSON.stringify({ name, channels: [chA], data: '{}', socket_id });
  const r1 = await signedHttp(ctx.port, { method: 'POST', route: '/events', body: body('not-a-socket-id', 'e3') });
  const r2 = await signedHttp(ctx.port, { method: 'POST', route: '/events', body: body('999999.999999', 'e4') });
  await barrier(ctx, chA, [saA.events, sbA.events]);
  await barrier(ctx, chB, [saB.events, sbB.events]);
  const c = new Checks();
  c.eq([r1.status, r2.status], [200, 200], 'status with malformed / unknown socket_id');
  const counts = (s) => ['e1', 'e2', 'e3', 'e4'].map((e) => s.events.count((x) => x.event === e));
  c.eq(counts(saA), [0, 0, 1, 1], `A on ${chA} (e1..e4)`);
  c.eq(counts(saB), [0, 0, 0, 0], `A on ${chB} (e1..e4)`);
  c.eq(counts(sbA), [1, 1, 1, 1], `B on ${chA} (e1..e4)`);
  c.eq(counts(sbB), [0, 1, 0, 0], `B on ${chB} (e1..e4)`);
  c.done();
});

// ---------------------------------------------------------------- queries

scenario('api-queries', 'GET /channels, /channels/{name}, /users with every info option and filter_by_prefix', async (ctx) => {
  const pub = `qa-${RUN}-pub`;
  const pub2 = `qa-${RUN}-pub2`;
  const pres = `presence-qa-${RUN}`;
  const priv = `private-qa-${RUN}`;
  const cache = `cache-qa-${RUN}`;
  const emptyCache = `cache-qa-empty-${RUN}`;
  await ctx.sdk.trigger(cache, 'price', { v: 1 });
  const [c1, c2, c3] = await Promise.all([
    ctx.connected({ name: 'c1', presence: { user_id: 'u1', user_info: { n: 1 } } }),
    ctx.connected({ name: 'c2', presence: { user_id: 'u1', user_info: { n: 1 } } }),
    ctx.connected({ name: 'c3', presence: { user_id: 'u2', user_info: { n: 2 } } }),
  ]);
  await Promise.all([
    ctx.subscribe(c1, pub),
    ctx.subscribe(c2, pub),
    ctx.subscribe(c3, pub2),
    ctx.subscribe(c1, pres),
    ctx.subscribe(c2, pres),
    ctx.subscribe(c3, pres),
    ctx.subscribe(c1, priv),
    ctx.subscribe(c1, cache),
  ]);
  const get = (path, params) => httpJson(ctx.sdk.get({ path, params }));
  const getStatus = (path, params) => sdkStatus(ctx.sdk.get({ path, params }));
  const c = new Checks();

  await c.run('GET /channels', async () => {
    const all = await get('/channels');
    for (const ch of [pub, pub2, pres, priv, cache]) c.eq(all.channels && all.channels[ch], {}, `/channels entry for ${ch}`);
    c.eq(emptyCache in (all.channels || {}), false, 'unoccupied channel listed');
  });
  await c.run('filter_by_prefix', async () => {
    c.eq(await get('/channels', { filter_by_prefix: `qa-${RUN}` }), { channels: { [pub]: {}, [pub2]: {} } }, 'filter_by_prefix');
    c.eq(await get('/channels', { filter_by_prefix: `qa-${RUN}`, info: 'subscription_count' }), { channels: { [pub]: { subscription_count: 2 }, [pub2]: { subscription_count: 1 } } }, 'filter_by_prefix + info=subscription_count');
    c.eq(await get('/channels', { filter_by_prefix: `presence-qa-${RUN}`, info: 'user_count' }), { channels: { [pres]: { user_count: 2 } } }, 'presence prefix + info=user_count');
    c.eq(await get('/channels', { filter_by_prefix: `presence-qa-${RUN}`, info: 'user_count,subscription_count' }), { channels: { [pres]: { user_count: 2, subscription_count: 3 } } }, 'presence prefix + info=user_count,subscription_count');
    c.eq(await get('/channels', { filter_by_prefix: `nothing-${RUN}` }), { channels: {} }, 'prefix matching nothing');
    const bad = await getStatus('/channels', { filter_by_prefix: `qa-${RUN}`, info: 'user_count' });
    const body = assertErrorBody(bad, 400, 'invalid_input', 'info=user_count with a non-presence prefix');
    c.eq(body.error, 'user_count is only available for presence channels. Use filter_by_prefix=presence-', 'error text');
  });
  await c.run('GET /channels/{name}', async () => {
    c.eq(await get(`/channels/${pub}`), { occupied: true }, 'public, no info');
    c.eq(await get(`/channels/${pub}`, { info: 'subscription_count' }), { occupied: true, subscription_count: 2 }, 'public, subscription_count');
    const p = await get(`/channels/${pres}`, { info: 'user_count,subscription_count' });
    c.eq(p, { occupied: true, subscription_count: 3, user_count: 2 }, 'presence, user_count+subscription_count');
    c.eq(Object.keys(p), ['occupied', 'subscription_count', 'user_count'], 'key order (protocol.md §9.5)');
    c.eq(await get(`/channels/${priv}`, { info: 'subscription_count' }), { occupied: true, subscription_count: 1 }, 'private, subscription_count');
    c.eq(await get(`/channels/presence-none-${RUN}`, { info: 'user_count,subscription_count' }), { occupied: false, subscription_count: 0, user_count: 0 }, 'unoccupied presence');
    const bad = await getStatus(`/channels/${pub}`, { info: 'user_count' });
    const body = assertErrorBody(bad, 400, 'invalid_input', 'user_count on a public channel');
    c.eq(body.error, 'user_count is only available for presence channels', 'error text');
    const tooLong = await getStatus(`/channels/${'x'.repeat(201)}`);
    assertErrorBody(tooLong, 400, 'invalid_input', 'channel name of 201 characters');
  });
  await c.run('info=cache', async () => {
    const full = await get(`/channels/${cache}`, { info: 'cache,subscription_count' });
    c.eq(Object.keys(full), ['occupied', 'subscription_count', 'cache'], 'cache channel key order');
    c.eq([full.occupied, full.subscription_count], [true, 1], 'cache channel occupied/subscription_count');
    c.ok(full.cache && typeof full.cache.data === 'string', `cache.data must be a string: ${fmt(full.cache)}`);
    if (full.cache && typeof full.cache.data === 'string') {
      c.eq(JSON.parse(full.cache.data), { event: 'price', channel: cache, data: JSON.stringify({ v: 1 }) }, 'cache.data (the whole cached frame)');
      c.ok(Number.isInteger(full.cache.ttl) && full.cache.ttl > 3590 && full.cache.ttl <= 3600, `cache.ttl ${fmt(full.cache.ttl)} (default ttl 3600)`);
    }
    c.eq(await get(`/channels/${emptyCache}`, { info: 'cache' }), { occupied: false }, 'empty cache channel with info=cache');
    c.eq(await get(`/channels/${pub}`, { info: 'cache' }), { occupied: true }, 'non-cache channel with info=cache');
  });
  await c.run('special characters and percent-encoding', async () => {
    // Every character the protocol allows in a name (protocol.md §3.1), through the SDK.
    const special = `qs-${RUN}-_=@,.;x`;
    const sp = await ctx.subscribe(c3, special);
    await ctx.sdk.trigger(special, 'sp', { ok: 1 });
    await sp.events.waitFor((e) => e.event === 'sp', 'event on a channel with special characters');
    c.eq(await get(`/channels/${special}`, { info: 'subscription_count' }), { occupied: true, subscription_count: 1 }, 'GET a channel with special characters');
    c.eq(await get('/channels', { filter_by_prefix: `qs-${RUN}-_=@` }), { channels: { [special]: {} } }, 'filter_by_prefix with special characters');
    // Query values are signed decoded (protocol.md §9.1): send every value byte percent-encoded.
    const enc = (v) => [...Buffer.from(String(v))].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    const q = signedQuery({ method: 'GET', path: `/apps/${APP.id}/channels`, params: { filter_by_prefix: `presence-qa-${RUN}`, info: 'user_count,subscription_count' } });
    const encoded = q.replace(/(filter_by_prefix|info)=([^&]*)/g, (_, k, v) => `${k}=${enc(v)}`);
    const r = await rawHttp(ctx.port, { path: `/apps/${APP.id}/channels?${encoded}` });
    c.eq([r.status, r.json], [200, { channels: { [pres]: { user_count: 2, subscription_count: 3 } } }], `percent-encoded query values (${encoded.slice(0, 80)}...)`);
    // A percent-encoded channel name in the path.
    const hashed = await get(`/channels/${encodeURIComponent(pres)}`, { info: 'user_count' });
    c.eq(hashed, { occupied: true, user_count: 2 }, 'percent-encoded channel in the path');
  });
  await c.run('users', async () => {
    const users = await get(`/channels/${pres}/users`);
    c.ok(users && Array.isArray(users.users) && Object.keys(users).length === 1, `users response shape: ${fmt(users)}`);
    c.eq([...(users.users || [])].sort((x, y) => (x.id < y.id ? -1 : 1)), [{ id: 'u1' }, { id: 'u2' }], 'users (u1 has two sockets, listed once; entries are {id} only)');
    c.eq(await get(`/channels/presence-none-${RUN}/users`), { users: [] }, 'users of an unoccupied presence channel');
    const bad = await getStatus(`/channels/${priv}/users`);
    const body = assertErrorBody(bad, 400, 'invalid_input', 'users of a private channel');
    c.eq(body.error, 'Only presence channels support this endpoint', 'error text');
  });
  c.done();
});

// ---------------------------------------------------------------- authentication errors

scenario('api-auth-errors', 'signing errors: wrong secret, stale/future timestamp, unknown key, app mismatch, body_md5 rules', async (ctx) => {
  const ch = `auth-${RUN}`;
  const c = new Checks();
  const now = () => Math.floor(Date.now() / 1000);

  await c.run('wrong secret (SDK)', async () => {
    const wrong = makeSdk(ctx.port, { secret: 'wrong-secret' });
    assertErrorBody(await sdkStatus(wrong.trigger(ch, 'x', {})), 401, 'auth_failed', 'trigger signed with a wrong secret');
    assertErrorBody(await sdkStatus(wrong.get({ path: '/channels' })), 401, 'auth_failed', 'GET /channels signed with a wrong secret');
    const r = await signedHttp(ctx.port, { route: '/channels', secret: 'wrong-secret' });
    const body = assertErrorBody(r, 401, 'auth_failed', 'raw wrong secret');
    c.eq(body.error, 'Invalid API signature', 'wrong secret error text');
    c.eq((r.headers['content-type'] || '').split(';')[0], 'application/json', 'error Content-Type');
  });

  await c.run('timestamps (SDK with a shifted clock)', async () => {
    // The SDK reads Date.now() synchronously while signing: shift it for that call only.
    const shifted = async (deltaS, fn) => {
      const real = Date.now;
      Date.now = () => real() + deltaS * 1000;
      let p;
      try {
        p = fn();
      } finally {
        Date.now = real;
      }
      return sdkStatus(p);
    };
    assertErrorBody(await shifted(-700, () => ctx.sdk.trigger(ch, 'x', {})), 401, 'auth_failed', 'timestamp 700 s in the past');
    assertErrorBody(await shifted(+700, () => ctx.sdk.get({ path: '/channels' })), 401, 'auth_failed', 'timestamp 700 s in the future');
    c.eq((await shifted(-500, () => ctx.sdk.trigger(ch, 'x', {}))).status, 200, 'timestamp 500 s in the past (inside the 600 s window)');
    c.eq((await shifted(+500, () => ctx.sdk.get({ path: '/channels' }))).status, 200, 'timestamp 500 s in the future');
    // The window is abs(now - ts) <= 600 s; two seconds either side of the edge avoid clock ticks.
    c.eq((await shifted(-598, () => ctx.sdk.get({ path: '/channels' }))).status, 200, 'timestamp now-598');
    c.eq((await shifted(+598, () => ctx.sdk.get({ path: '/channels' }))).status, 200, 'timestamp now+598');
    c.eq((await shifted(-602, () => ctx.sdk.get({ path: '/channels' }))).status, 401, 'timestamp now-602');
    c.eq((await shifted(+602, () => ctx.sdk.get({ path: '/channels' }))).status, 401, 'timestamp now+602');
  });

  await c.run('timestamps (raw)', async () => {
    const stale = await signedHttp(ctx.port, { route: '/channels', timestamp: now() - 601 });
    assertErrorBody(stale, 401, 'auth_failed', 'raw timestamp now-601');
    const notInt = await signedHttp(ctx.port, { route: '/channels', timestamp: 'abc' });
    assertErrorBody(notInt, 401, 'auth_failed', 'raw timestamp "abc"');
  });

  await c.run('unknown app key', async () => {
    const unknown = makeSdk(ctx.port, { key: 'no-such-key' });
    const body = assertErrorBody(await sdkStatus(unknown.trigger(ch, 'x', {})), 404, 'app_not_found', 'unknown auth_key (SDK trigger)');
    c.eq(body.error, 'Application key not found or invalid: Invalid app key', 'unknown key error text');
    assertErrorBody(await sdkStatus(unknown.get({ path: '/channels' })), 404, 'app_not_found', 'unknown auth_key (SDK get)');
  });

  await c.run('key of another app', async () => {
    // Valid signature with other-app's key and secret, but the path names app-id.
    const mixed = makeSdk(ctx.port, { appId: APP.id, key: OTHER.key, secret: OTHER.secret });
    const body = assertErrorBody(await sdkStatus(mixed.get({ path: '/channels' })), 401, 'auth_failed', 'other app key on /apps/app-id');
    c.eq(body.error, 'Authenticated app does not match route app_id', 'mismatch error text');
    // The same SDK pointed at its own app works.
    const own = makeSdk(ctx.port, { appId: OTHER.id, key: OTHER.key, secret: OTHER.secret });
    c.eq((await sdkStatus(own.get({ path: '/channels' }))).status, 200, 'other app on its own route');
  });

  await c.run('body_md5 rules', async () => {
    const getWithMd5 = await signedHttp(ctx.port, { route: '/channels', bodyMd5: true, body: undefined });
    assertErrorBody(getWithMd5, 401, 'auth_failed', 'GET with body_md5 (correctly signed)');
    const body = JSON.stringify({ name: 'x', channel: ch, data: '{}' });
    const noMd5 = await signedHttp(ctx.port, { method: 'POST', route: '/events', body, bodyMd5: false });
    assertErrorBody(noMd5, 401, 'auth_failed', 'POST without body_md5 (correctly signed)');
    const wrongMd5 = await signedHttp(ctx.port, { method: 'POST', route: '/events', body, bodyMd5: '0'.repeat(32) });
    assertErrorBody(wrongMd5, 401, 'auth_failed', 'POST with a wrong body_md5 (correctly signed)');
    const ok = await signedHttp(ctx.port, { method: 'POST', route: '/events', body });
    c.eq([ok.status, ok.json], [200, { ok: true }], 'the same POST with body_md5');
  });

  await c.run('tampered / missing query', async () => {
    const tampered = await signedHttp(ctx.port, { route: '/channels', tamper: { filter_by_prefix: 'x' } });
    assertErrorBody(tampered, 401, 'auth_failed', 'parameter added after signing');
    const noQuery = await rawHttp(ctx.port, { path: `/apps/${APP.id}/channels` });
    c.eq(noQuery.status, 400, `no query at all (body ${noQuery.text})`);
  });
  c.done();
}, { external: false });

// ---------------------------------------------------------------- limits

scenario('api-default-limits', 'default limits (README): 100 channels, 200-char names, 100 KB data, 10-event batches', async (ctx) => {
  const ch = `lim-${RUN}`;
  const c = new Checks();
  const post = (obj) => signedHttp(ctx.port, { method: 'POST', route: '/events', body: JSON.stringify(obj) });
  const chans = (n) => Array.from({ length: n }, (_, i) => `lim-${RUN}-${i}`);
  // The SDK refuses > 100 channels itself, so these are hand-signed.
  c.eq((await post({ name: 'x', channels: chans(100), data: '{}' })).status, 200, '100 channels');
  await c.run('101 channels', async () => {
    const body = assertErrorBody(await post({ name: 'x', channels: chans(101), data: '{}' }), 400, 'limit_exceeded', '101 channels');
    c.eq(body.error, 'Number of channels (101) exceeds limit (100)', '101 channels error text');
  });
  c.eq((await post({ name: 'n'.repeat(200), channel: ch, data: '{}' })).status, 200, 'event name of 200 characters');
  await c.run('event name of 201', async () => assertErrorBody(await post({ name: 'n'.repeat(201), channel: ch, data: '{}' }), 400, 'limit_exceeded', 'event name of 201 characters'));
  c.eq((await sdkStatus(ctx.sdk.trigger(ch, 'x', 'd'.repeat(100 * 1024)))).status, 200, 'data of exactly 100 KB');
  await c.run('data of 100 KB + 1', async () => assertErrorBody(await sdkStatus(ctx.sdk.trigger(ch, 'x', 'd'.repeat(100 * 1024 + 1))), 413, 'payload_too_large', 'data of 100 KB + 1 byte'));
  await c.run('missing channel', async () => assertErrorBody(await post({ name: 'x', data: '{}' }), 400, 'missing_channel_info', 'no channel / channels'));
  await c.run('empty channels', async () => assertErrorBody(await post({ name: 'x', channels: [], data: '{}' }), 400, 'missing_channel_info', 'empty channels'));
  await c.run('missing name', async () => assertErrorBody(await post({ channel: ch, data: '{}' }), 400, 'invalid_input', 'missing event name'));
  c.done();
});

scenario(
  'api-limits',
  'small limits: 413 for event data and for a body over request_limit_in_mb; 400 for channels / batch over limit',
  async (ctx) => {
    const ch = `small-${RUN}`;
    const sub = await ctx.connected({ name: 'sub' });
    const s = await ctx.subscribe(sub, ch);
    const c = new Checks();

    await c.run('event data', async () => {
      c.eq((await sdkStatus(ctx.sdk.trigger(ch, 'fits', 'd'.repeat(1024)))).status, 200, 'data of exactly 1 KB (limit 1 KB)');
      const body = assertErrorBody(await sdkStatus(ctx.sdk.trigger(ch, 'too-big', 'd'.repeat(1025))), 413, 'payload_too_large', 'data of 1025 bytes');
      c.ok(/1025/.test(body.error), `413 message should name the size: ${fmt(body.error)}`);
      // Non-string data counts by its JSON length.
      assertErrorBody(await sdkStatus(ctx.sdk.trigger(ch, 'too-big-json', { s: 'd'.repeat(1020) })), 413, 'payload_too_large', 'JSON data of 1029 bytes');
      assertErrorBody(await sdkStatus(ctx.sdk.triggerBatch([{ channel: ch, name: 'b-too-big', data: 'd'.repeat(2000) }])), 413, 'payload_too_large', 'batch item data over the limit');
    });

    await c.run('channels per publish', async () => {
      const chans = (n) => Array.from({ length: n }, (_, i) => (i === 0 ? ch : `small-${RUN}-${i}`));
      c.eq((await sdkStatus(ctx.sdk.trigger(chans(3), 'three', {}))).status, 200, '3 channels (limit 3)');
      const body = assertErrorBody(await sdkStatus(ctx.sdk.trigger(chans(4), 'four', {})), 400, 'limit_exceeded', '4 channels (limit 3)');
      c.eq(body.error, 'Number of channels (4) exceeds limit (3)', 'error text');
    });

    await c.run('batch size', async () => {
      const items = (n) => Array.from({ length: n }, (_, i) => ({ channel: ch, name: `batch-${n}-${i}`, data: {} }));
      c.eq((await sdkStatus(ctx.sdk.triggerBatch(items(2)))).status, 200, 'batch of 2 (limit 2)');
      const body = assertErrorBody(await sdkStatus(ctx.sdk.triggerBatch(items(3))), 400, 'limit_exceeded', 'batch of 3 (limit 2)');
      c.eq(body.error, 'Batch size (3) exceeds limit (2)', 'error text');
    });

    await c.run('HTTP body over request_limit_in_mb (SDK)', async () => {
      // big-app accepts 4 MiB of event data, so only the 1 MiB HTTP body cap applies.
      const big = makeSdk(ctx.port, { appId: BIG.id, key: BIG.key, secret: BIG.secret });
      let res;
      try {
        res = await sdkStatus(big.trigger(ch, 'huge', 'd'.repeat(1536 * 1024)));
      } catch (e) {
        throw new Error(`1.5 MiB body: expected a 413 response, the SDK got a transport error instead (${e.message})`);
      }
      assertErrorBody(res, 413, 'payload_too_large', '1.5 MiB body (request_limit_in_mb 1)');
      c.eq((await sdkStatus(big.trigger(ch, 'large-ok', 'd'.repeat(512 * 1024)))).status, 200, '0.5 MiB body');
    });

    await c.run('HTTP body over request_limit_in_mb (raw, Content-Length known up front)', async () => {
      const body = JSON.stringify({ name: 'huge-raw', channel: ch, data: 'd'.repeat(3 * 1024 * 1024) });
      let res;
      try {
        res = await signedHttp(ctx.port, { method: 'POST', route: '/events', appId: BIG.id, key: BIG.key, secret: BIG.secret, body });
      } catch (e) {
        throw new Error(`3 MiB body: expected a 413 response, got a transport error instead (${e.code || e.message})`);
      }
      assertErrorBody(res, 413, 'payload_too_large', '3 MiB body (request_limit_in_mb 1)');
    });


    await barrier(ctx, ch, [s.events]);
    c.eq(s.events.filter((e) => e.event !== 'pusher:subscription_succeeded' && e.event !== 'barrier').map((e) => e.event), ['fits', 'three', 'batch-2-0', 'batch-2-1'], 'events delivered on app-id (only the accepted ones)');
    c.done();
  },
  { server: 'limits' }
);

scenario(
  'api-cors-errors',
  'Access-Control-Allow-Origin also on errors produced before routing (body over the HTTP limit, malformed request)',
  async (ctx) => {
    const c = new Checks();
    const origin = { origin: 'https://app.example.com' };
    const body = JSON.stringify({ name: 'huge-cors', channel: `cors-${RUN}`, data: 'd'.repeat(1100 * 1024) });
    const big = await signedHttp(ctx.port, { method: 'POST', route: '/events', appId: BIG.id, key: BIG.key, secret: BIG.secret, body, headers: origin });
    c.eq([big.status, big.headers['access-control-allow-origin']], [413, '*'], 'body over request_limit_in_mb: status + Access-Control-Allow-Origin (README: cors.origin on HTTP responses)');
    // For comparison: the handler-level 413 (event data over the app limit) carries it.
    const data = await signedHttp(ctx.port, { method: 'POST', route: '/events', body: JSON.stringify({ name: 'x', channel: `cors-${RUN}`, data: 'd'.repeat(2000) }), headers: origin });
    c.eq([data.status, data.headers['access-control-allow-origin']], [413, '*'], 'event data over max_event_payload_in_kb: status + Access-Control-Allow-Origin');
    const sock = net.connect(ctx.port, '127.0.0.1');
    const text = await withTimeout(
      new Promise((resolve, reject) => {
        let buf = '';
        sock.setEncoding('utf8');
        sock.on('data', (d) => (buf += d));
        sock.on('close', () => resolve(buf));
        sock.on('error', reject);
        sock.write('GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example.com\r\nContent-Length: abc\r\n\r\n');
      }),
      WAIT_MS,
      'response to a malformed request'
    );
    c.ok(/^HTTP\/1\.1 400 /.test(text), `malformed request status line: ${fmt(text.split('\r\n')[0])}`);
    c.ok(/\r\naccess-control-allow-origin: \*\r\n/i.test(text), `malformed request (400) without Access-Control-Allow-Origin: ${fmt(text.split('\r\n\r\n')[0])}`);
    c.done();
  },
  { server: 'limits' }
);

// ---------------------------------------------------------------- routes, CORS, keep-alive

scenario('api-routes', 'unknown routes 404, OPTIONS preflight + CORS headers, /up, /up/{app_id}, /usage', async (ctx) => {
  const c = new Checks();
  await c.run('unknown routes', async () => {
    const signed = await signedHttp(ctx.port, { route: '/nope' });
    c.eq(signed.status, 404, `signed GET /apps/app-id/nope (body ${signed.text})`);
    const signedPost = await signedHttp(ctx.port, { method: 'POST', route: '/nope', body: '{}' });
    c.eq(signedPost.status, 404, `signed POST /apps/app-id/nope (body ${signedPost.text})`);
    const plain = await rawHttp(ctx.port, { path: '/nope' });
    c.eq(plain.status, 404, `GET /nope (body ${plain.text})`);
  });
  await c.run('OPTIONS preflight', async () => {
    const pre = await rawHttp(ctx.port, {
      method: 'OPTIONS',
      path: `/apps/${APP.id}/events`,
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    c.ok(pre.status === 204 || pre.status === 200, `preflight status ${pre.status}`);
    c.eq(pre.headers['access-control-allow-origin'], '*', 'preflight Access-Control-Allow-Origin (cors.origin default *)');
    c.eq(pre.headers['access-control-allow-credentials'], undefined, 'no Access-Control-Allow-Credentials with origin * (as Sockudo)');
    const methods = (pre.headers['access-control-allow-methods'] || '').toUpperCase();
    c.ok(/\bPOST\b/.test(methods) && /\bGET\b/.test(methods), `Access-Control-Allow-Methods ${fmt(methods)}`);
    c.ok(/\bcontent-type\b/i.test(pre.headers['access-control-allow-headers'] || ''), `Access-Control-Allow-Headers ${fmt(pre.headers['access-control-allow-headers'])}`);
  });
  await c.run('CORS on normal responses', async () => {
    const ok = await signedHttp(ctx.port, { route: '/channels', headers: { origin: 'https://app.example.com' } });
    c.eq([ok.status, ok.headers['access-control-allow-origin']], [200, '*'], 'GET /channels status + Access-Control-Allow-Origin');
    const denied = await signedHttp(ctx.port, { route: '/channels', secret: 'nope', headers: { origin: 'https://app.example.com' } });
    c.eq([denied.status, denied.headers['access-control-allow-origin']], [401, '*'], '401 status + Access-Control-Allow-Origin');
  });
  await c.run('health', async () => {
    const up = await rawHttp(ctx.port, { path: '/up' });
    c.eq(up.status, 200, 'GET /up');
    const upApp = await rawHttp(ctx.port, { path: `/up/${APP.id}` });
    c.eq(upApp.status, 200, `GET /up/${APP.id}`);
    const upOther = await rawHttp(ctx.port, { path: `/up/${OTHER.id}` });
    c.eq(upOther.status, 200, `GET /up/${OTHER.id}`);
    const upUnknown = await rawHttp(ctx.port, { path: '/up/no-such-app' });
    c.eq(upUnknown.status, 404, 'GET /up/no-such-app');
    const usage = await rawHttp(ctx.port, { path: '/usage' });
    c.eq(usage.status, 200, 'GET /usage');
    c.eq((usage.headers['content-type'] || '').split(';')[0], 'application/json', '/usage Content-Type');
    c.ok(usage.json && typeof usage.json === 'object' && !Array.isArray(usage.json), `/usage is not a JSON object: ${fmt(usage.text)}`);
    const mem = usage.json && usage.json.memory;
    c.ok(mem && Number.isInteger(mem.rss) && mem.rss > 0 && Number.isInteger(mem.virtual) && mem.virtual >= mem.rss, `/usage memory ${fmt(mem)}`);
    // Sockudo's (and Soketi's) fields: host memory in bytes, percent used.
    c.ok(mem && Number.isInteger(mem.total) && mem.total > 0 && Number.isInteger(mem.used) && Number.isInteger(mem.free) && mem.used + mem.free === mem.total && typeof mem.percent === 'number' && mem.percent >= 0 && mem.percent <= 100, `/usage Sockudo memory fields ${fmt(mem)}`);
    const live = await rawHttp(ctx.port, { path: '/live' });
    c.eq(live.status, 200, 'GET /live');
  });
  c.done();
}, { external: false });

scenario(
  'api-cors-list',
  'cors.origin with two origins: a listed Origin is echoed (preflight and response), an unlisted one gets no grant',
  async (ctx) => {
    const c = new Checks();
    const pre = (origin) =>
      rawHttp(ctx.port, { method: 'OPTIONS', path: `/apps/${APP.id}/events`, headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    for (const origin of ['https://a.example.com', 'https://b.example.com']) {
      const p = await pre(origin);
      c.eq(p.headers['access-control-allow-origin'], origin, `preflight from ${origin}: Access-Control-Allow-Origin`);
      c.ok(/\borigin\b/i.test(p.headers.vary || ''), `preflight from ${origin}: Vary must name Origin (got ${fmt(p.headers.vary)})`);
      // cors.credentials (default true) for a listed origin; cors.methods / allowed_headers.
      c.eq(p.headers['access-control-allow-credentials'], 'true', `preflight from ${origin}: Access-Control-Allow-Credentials`);
      c.eq(p.headers['access-control-allow-methods'], 'GET, POST, DELETE', 'preflight Access-Control-Allow-Methods (cors.methods)');
      c.eq(p.headers['access-control-allow-headers'], 'Content-Type, X-Custom', 'preflight Access-Control-Allow-Headers (cors.allowed_headers)');
      const r = await signedHttp(ctx.port, { route: '/channels', headers: { origin } });
      c.eq([r.status, r.headers['access-control-allow-origin']], [200, origin], `GET /channels from ${origin}: status + Access-Control-Allow-Origin`);
    }
    const evil = await pre('https://evil.example.com');
    const granted = evil.headers['access-control-allow-origin'];
    c.ok(granted === undefined, `preflight from an unlisted origin must not be granted (Access-Control-Allow-Origin ${fmt(granted)})`);
    c.done();
  },
  { server: 'cors' }
);

scenario('api-keep-alive', 'keep-alive: SDK calls (ok and error) share one connection; pipelined requests answered in order', async (ctx) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let created = 0;
  const orig = agent.createConnection.bind(agent);
  agent.createConnection = (...args) => {
    created++;
    return orig(...args);
  };
  try {
    const sdk = makeSdk(ctx.port, { agent });
    const wrong = makeSdk(ctx.port, { agent, secret: 'wrong' });
    const ch = `ka-${RUN}`;
    const c = new Checks();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await sdkStatus(sdk.trigger(ch, 'e', { i }))).status);
    statuses.push((await sdkStatus(sdk.get({ path: '/channels' }))).status);
    statuses.push((await sdkStatus(wrong.get({ path: '/channels' }))).status); // 401 keeps the connection
    statuses.push((await sdkStatus(sdk.get({ path: `/channels/${ch}` }))).status);
    statuses.push((await sdkStatus(sdk.triggerBatch([{ channel: ch, name: 'b', data: {} }]))).status);
    const last = await rawHttp(ctx.port, { path: `/apps/${APP.id}/channels?x=1`, agent }); // no auth_key: 404, same socket
    statuses.push(last.status);
    c.eq(statuses, [200, 200, 200, 200, 401, 200, 200, 404], 'statuses');
    c.eq(created, 1, 'TCP connections opened for 8 requests');
    c.ok(last.headers.connection !== 'close', `Connection header ${fmt(last.headers.connection)}`);

    // Pipelining: two requests written at once on one raw socket, two responses in order.
    const text = await withTimeout(
      new Promise((resolve, reject) => {
        const sock = net.connect(ctx.port, '127.0.0.1');
        let buf = '';
        sock.setEncoding('utf8');
        sock.on('data', (d) => {
          buf += d;
          if ((buf.match(/HTTP\/1\.1 \d+/g) || []).length >= 2 && buf.endsWith('}}')) {
            sock.destroy();
            resolve(buf);
          }
        });
        sock.on('error', reject);
        sock.on('close', () => resolve(buf));
        sock.write('GET /up HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /usage HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      }),
      WAIT_MS,
      'two pipelined responses'
    );
    const heads = text.match(/HTTP\/1\.1 \d+/g) || [];
    c.eq(heads, ['HTTP/1.1 200', 'HTTP/1.1 200'], `pipelined status lines (got ${fmt(text.slice(0, 300))})`);
    c.ok(text.indexOf('"memory"') > text.indexOf('HTTP/1.1 200', 1), 'second response (/usage) follows the first');
    c.done();
  } finally {
    agent.destroy();
  }
});

scenario('api-expect-continue', 'POST with Expect: 100-continue gets "100 Continue" before the body is sent (curl does this for bodies > 1 MiB)', async (ctx) => {
  const ch = `expect-${RUN}`;
  const sub = await ctx.connected();
  const s = await ctx.subscribe(sub, ch);
  const body = JSON.stringify({ name: 'expected', channel: ch, data: '{}' });
  const path = `/apps/${APP.id}/events`;
  const qs = signedQuery({ method: 'POST', path, body });
  const sock = net.connect(ctx.port, '127.0.0.1');
  const got = new Inbox('expect-continue socket');
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d) => {
    buf += d;
    got.push(buf);
  });
  sock.on('error', () => {});
  try {
    sock.write(`POST ${path}?${qs} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`);
    // RFC 9110 §10.1.1: the server answers 100 (or a final status) instead of waiting for the body;
    // clients wait before sending it anyway (curl: 1 s), so a missing 100 costs that much latency.
    let interim = null;
    try {
      interim = await got.waitFor((t) => /^HTTP\/1\.1 \d{3}/.test(t), 'interim response', 500);
    } catch {}
    sock.write(body);
    const final = await got.waitFor((t) => /HTTP\/1\.1 200[\s\S]*\r\n\r\n\{"ok":true\}/.test(t), 'final 200 response');
    await s.events.waitFor((e) => e.event === 'expected', 'the event published with Expect: 100-continue');
    assert(interim !== null, `no "HTTP/1.1 100 Continue" within 500 ms of the headers (the server waited for the body; final response: ${fmt(final.slice(0, 60))})`);
    assert(/^HTTP\/1\.1 100 /.test(interim), `interim response ${fmt(interim.slice(0, 40))}`);
  } finally {
    sock.destroy();
  }
});

// ---------------------------------------------------------------- metrics

async function scrape(ctx) {
  assert(ctx.env.metricsPort, 'no metrics port (msg=metrics_listening missing from the server log)');
  const res = await rawHttp(ctx.env.metricsPort, { path: '/metrics' });
  assertEq(res.status, 200, 'GET /metrics status');
  const families = parsePrometheusTextFormat(res.text);
  const byName = new Map(families.map((f) => [f.name, f]));
  const value = (name, labels = {}) => {
    const f = byName.get(name);
    if (!f) throw new Error(`metric ${name} missing from the scrape`);
    const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels && x.labels[k] === v));
    if (!m) throw new Error(`metric ${name}${fmt(labels)} has no such series: ${fmt(f.metrics)}`);
    return Number(m.value);
  };
  return { text: res.text, headers: res.headers, families, byName, value };
}

scenario(
  'metrics',
  'Prometheus scrape (parse-prometheus-text-format): counters after N connections, K subscriptions, M events x S subscribers, bad signatures',
  async (ctx) => {
    const app = { app_id: APP.id };
    const c = new Checks();
    const s0 = await scrape(ctx);
    c.ok((s0.headers['content-type'] || '').startsWith('text/plain'), `Content-Type ${fmt(s0.headers['content-type'])}`);
    // Types and labels.
    const want = {
      sockudo_connected: 'GAUGE',
      sockudo_active_channels: 'GAUGE',
      sockudo_new_connections_total: 'COUNTER',
      sockudo_new_disconnections_total: 'COUNTER',
      sockudo_channel_subscriptions_total: 'COUNTER',
      sockudo_channel_unsubscriptions_total: 'COUNTER',
      sockudo_ws_messages_sent_total: 'COUNTER',
      sockudo_ws_messages_received_total: 'COUNTER',
      sockudo_http_calls_received_total: 'COUNTER',
      pushcore_auth_failures_total: 'COUNTER',
    };
    for (const [name, type] of Object.entries(want)) c.eq(s0.byName.get(name)?.type, type, `${name} type`);
    c.eq(s0.byName.get('sockudo_connected')?.metrics?.[0]?.labels, { app_id: APP.id, port: String(ctx.port) }, 'sockudo_connected labels');
    c.eq(s0.value('sockudo_connected', app), 0, 'sockudo_connected before any connection');
    c.done();

    const d = (a, b, name, labels = app) => b.value(name, labels) - a.value(name, labels);
    // N connections.
    const N = 3;
    const clients = await Promise.all(Array.from({ length: N }, (_, i) => ctx.connected({ name: `m${i}` })));
    const s1 = await scrape(ctx);
    c.eq(s1.value('sockudo_connected', app), N, 'sockudo_connected after N connections');
    c.eq(d(s0, s1, 'sockudo_new_connections_total'), N, 'sockudo_new_connections_total delta');

    // K subscriptions: every client joins two channels.
    const chans = [`m-a-${RUN}`, `m-b-${RUN}`];
    const subs = await Promise.all(clients.flatMap((cl) => chans.map((ch) => ctx.subscribe(cl, ch))));
    const K = subs.length;
    const s2 = await scrape(ctx);
    c.eq(d(s1, s2, 'sockudo_channel_subscriptions_total'), K, 'sockudo_channel_subscriptions_total delta');
    c.eq(s2.value('sockudo_active_channels', app), chans.length, 'sockudo_active_channels');
    c.ok(d(s1, s2, 'sockudo_ws_messages_received_total') >= K, `sockudo_ws_messages_received_total delta ${d(s1, s2, 'sockudo_ws_messages_received_total')} >= ${K} subscribe frames`);

    // M events to a channel with S subscribers, through M API calls.
    const M = 4;
    const S = N;
    for (let i = 0; i < M; i++) await ctx.sdk.trigger(chans[0], 'm', { i });
    await Promise.all(subs.filter((_, i) => i % 2 === 0).map((s) => s.events.waitFor((e) => e.event === 'm' && e.data.i === M - 1, 'last metrics event')));
    const s3 = await scrape(ctx);
    c.ok(d(s2, s3, 'sockudo_ws_messages_sent_total') >= M * S, `sockudo_ws_messages_sent_total delta ${d(s2, s3, 'sockudo_ws_messages_sent_total')} >= M*S = ${M * S}`);
    c.eq(d(s2, s3, 'sockudo_http_calls_received_total'), M, 'sockudo_http_calls_received_total delta after M API calls');
    c.ok(d(s2, s3, 'sockudo_http_received_bytes') > 0, 'sockudo_http_received_bytes increased');
    c.ok(d(s2, s3, 'sockudo_socket_transmitted_bytes') > 0, 'sockudo_socket_transmitted_bytes increased');
    // Sockudo's publish latency histogram: one observation per published channel, labelled by
    // channel type and recipient-count bucket (S = 3 recipients: "xs"). Read from the text:
    // parse-prometheus-text-format drops the labels of labelled histograms.
    c.eq(s3.byName.get('sockudo_broadcast_latency_ms')?.type, 'HISTOGRAM', 'sockudo_broadcast_latency_ms type');
    const lbl = `app_id="${APP.id}",port="${ctx.port}",channel_type="public",recipient_count_bucket="xs"`;
    const line = (suffix, extra = '') => {
      const m = s3.text.split('\n').find((l) => l.startsWith(`sockudo_broadcast_latency_ms_${suffix}{${lbl}${extra}} `));
      return m === undefined ? undefined : Number(m.slice(m.lastIndexOf(' ') + 1));
    };
    c.eq(line('count'), M, 'latency observations (_count) = publishes');
    c.eq(line('bucket', ',le="+Inf"'), M, 'le="+Inf" bucket = count');
    c.ok(line('bucket', ',le="5000"') === M, 'every publish under 5 s');
    c.ok(line('sum') >= 0, 'latency _sum present');
    c.eq(s3.text.split('\n').filter((l) => l.startsWith('sockudo_broadcast_latency_ms_count{')).length, 1, 'one latency series');

    // A bad API signature.
    const label = { reason: 'api_request' };
    await sdkStatus(makeSdk(ctx.port, { secret: 'wrong' }).trigger(chans[0], 'x', {}));
    const s4 = await scrape(ctx);
    c.eq(d(s3, s4, 'pushcore_auth_failures_total', label), 1, 'pushcore_auth_failures_total{reason="api_request"} delta');

    // A bad channel signature.
    const bad = await ctx.connected({ name: 'bad', auth: makeSdk(ctx.port, { secret: 'wrong' }) });
    await ctx.subscribe(bad, `private-m-${RUN}`, { wait: false });
    await bad.errors.waitFor((e) => e && e.data && e.data.code === 4009, 'pusher:error 4009 for the bad channel auth');
    const s5 = await scrape(ctx);
    c.eq(d(s4, s5, 'pushcore_auth_failures_total', { reason: 'signature_invalid' }), 1, 'pushcore_auth_failures_total{reason="signature_invalid"} delta');
    bad.pusher.disconnect();

    // Everyone leaves.
    for (const cl of clients) cl.pusher.disconnect();
    const s6 = await pollUntil(async () => {
      const s = await scrape(ctx);
      return s.value('sockudo_connected', app) === 0 ? s : null;
    }, 'sockudo_connected back to 0');
    c.eq(d(s1, s6, 'sockudo_new_disconnections_total'), N + 1, 'sockudo_new_disconnections_total delta (N + the bad-auth client)');
    c.eq(d(s1, s6, 'sockudo_channel_unsubscriptions_total'), K, 'sockudo_channel_unsubscriptions_total delta');
    c.eq(s6.value('sockudo_active_channels', app), 0, 'sockudo_active_channels at the end');

    const notFound = await rawHttp(ctx.env.metricsPort, { path: '/nope' });
    c.eq(notFound.status, 404, 'GET /nope on the metrics port');
    c.done();
  },
  { server: 'metrics' }
);

scenario(
  'metrics-prefix',
  "metrics.prometheus.prefix renames Sockudo's sockudo_* metrics (pushcore_* stay)",
  async (ctx) => {
    const s = await scrape(ctx);
    const c = new Checks();
    c.eq(s.byName.get('myapp_connected')?.type, 'GAUGE', 'myapp_connected type');
    c.eq(s.byName.has('sockudo_connected'), false, 'no sockudo_connected');
    c.eq(s.byName.get('pushcore_auth_failures_total')?.type, 'COUNTER', 'pushcore_auth_failures_total kept');
    c.ok(!/^sockudo_/m.test(s.text) && !/^# (HELP|TYPE) sockudo_/m.test(s.text), 'no sockudo_ name left');
    c.done();
  },
  { server: 'metrics-prefix' }
);

export default group;
