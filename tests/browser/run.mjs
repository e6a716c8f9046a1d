#!/usr/bin/env node
// Browser end-to-end tests: Debian's headless Chromium (driven by playwright-core) opens the
// example auth server's demo page as two users, against a real pushcore and the example auth
// server (examples/auth-server), both spawned here on free loopback ports.
//
//   node run.mjs --server /path/to/pushcore [--only a,b] [--artifacts DIR] [--verbose]
//
// Env: CHROMIUM_PATH (default /usr/bin/chromium). One line per scenario, then
// "N passed, N failed"; exit 1 on any failure. A screenshot of the demo page is written to
// --artifacts (default tests/browser/artifacts/, git-ignored).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';
import nacl from 'tweetnacl';

import {
  HERE, APP, WAIT_MS, CHROMIUM, guardRun, parseArgs, startStack, runScenarios, assert, assertEq, fmt, marker,
  pollUntil, hmacHex, sharedSecret, withTimeout,
} from './lib.mjs';

const TOTAL_DEADLINE_MS = 85_000;
const CH = {
  public: 'demo-public',
  private: 'private-acme-orders',
  restricted: 'private-acme-admin',
  presence: 'presence-acme-lobby',
  encrypted: 'private-encrypted-acme-secrets',
};

const args = parseArgs(process.argv.slice(2), { name: 'run.mjs', extra: { artifacts: join(HERE, 'artifacts') } });

const watchdog = guardRun(TOTAL_DEADLINE_MS);

// ---------------------------------------------------------------- browser side

class UserPage {
  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.wsFrames = []; // raw text frames the page's WebSocket received (CDP capture)
    this.problems = []; // uncaught page errors and CSP violations
    this.console = [];
  }

  static async open(browser, name, base) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 960 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    const up = new UserPage(name, context, page);
    page.on('websocket', (ws) => {
      if (!/\/app\//.test(ws.url())) return;
      ws.on('framereceived', (f) => {
        if (typeof f.payload === 'string') up.wsFrames.push(f.payload);
      });
    });
    page.on('pageerror', (e) => up.problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      const text = m.text();
      up.console.push(`${m.type()}: ${text}`);
      if (up.console.length > 200) up.console.shift();
      if (/Content Security Policy/i.test(text)) up.problems.push(`csp: ${text}`);
    });
    await page.goto(base, { waitUntil: 'load' });
    await page.waitForSelector('#login-panel:not([hidden])');
    // Log in through the UI: the quick-login button posts /login, the page reloads.
    await Promise.all([page.waitForEvent('load'), page.click(`#login-${name}`)]);
    await page.waitForFunction(() => window.demo && window.demo.pusher && window.demo.pusher.connection.state === 'connected');
    return up;
  }

  eval(fn, arg) {
    return this.page.evaluate(fn, arg);
  }

  async waitForStatuses(expected) {
    await this.page.waitForFunction((exp) => Object.entries(exp).every(([c, s]) => window.demo.status[c] === s), expected)
      .catch(async (e) => {
        throw new Error(`${this.name}: channel statuses ${fmt(await this.eval(() => window.demo.status))}, want ${fmt(expected)} (${e.message.split('\n')[0]})`);
      });
  }

  // Waits for an event (by channel, name and a marker in data) in the page's event list.
  async waitForEvent(channel, event, mark, ms = WAIT_MS) {
    try {
      await this.page.waitForFunction(([c, ev, m]) => window.demo.events.some((e) =>
        e.channel === c && e.event === ev && (m === null || (e.data && e.data.marker === m))), [channel, event, mark], { timeout: ms });
    } catch (e) {
      const seen = await this.eval(() => window.demo.events.map((x) => `${x.channel}/${x.event}`)).catch(() => '?');
      throw new Error(`${this.name}: no ${channel}/${event}${mark ? ` marker ${mark}` : ''} within ${ms} ms; seen ${fmt(seen)}`);
    }
    return this.eval(([c, ev, m]) => window.demo.events.filter((e) =>
      e.channel === c && e.event === ev && (m === null || (e.data && e.data.marker === m))), [channel, event, mark]);
  }

  events(pred) {
    return this.eval(() => window.demo.events).then((evs) => evs.filter(pred));
  }
}

// ---------------------------------------------------------------- scenarios

const scenarios = [];
const scenario = (name, title, fn, timeoutMs) => scenarios.push({ name, title, fn, timeoutMs });

async function post(ctx, path, { token, cookie, form, json, query = '' } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  } else if (json) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const res = await fetch(`${ctx.stack.auth.base}${path}${query}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(WAIT_MS) });
  const text = await res.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {}
  return { status: res.status, data, text };
}

// Expects exactly `n` new audit lines since `before`, and returns them.
async function newAudits(ctx, before, n) {
  await pollUntil(() => ctx.stack.auth.audits().length >= before + n, `${n} audit line(s)`, 2_000, 20);
  // Every request was answered before this point, so nothing more is in flight for them.
  const lines = ctx.stack.auth.audits().slice(before);
  assertEq(lines.length, n, `audit lines (${fmt(lines)})`);
  return lines;
}

scenario('security', 'auth endpoint checklist: 401 before signing, body-only params, 403 + one audit line, safe user_info, no secrets in page', async (ctx) => {
  const { auth, masterKey } = ctx.stack;
  const socketId = '1234.5678';
  const alice = await auth.login('alice');
  const bob = await auth.login('bob');
  assert(/^demo_session=/.test(alice.cookie) && alice.token, `login gives a session cookie and token (${fmt(alice.cookie)})`);
  let before = auth.audits().length;

  // Unauthenticated: 401, nothing signed, one audit line each.
  for (const [path, form] of [['/sockudo/auth', { socket_id: socketId, channel_name: CH.private }], ['/sockudo/user-auth', { socket_id: socketId }]]) {
    const r = await post(ctx, path, { form });
    assertEq([r.status, r.data], [401, { error: 'Unauthorized' }], `${path} without a session`);
  }
  const bogus = await post(ctx, '/sockudo/auth', { form: { socket_id: socketId, channel_name: CH.private }, cookie: 'demo_session=forged', token: undefined });
  assertEq(bogus.status, 401, 'forged session cookie');
  // 401 comes first even when the body is garbage (it is not even parsed).
  const garbage = await fetch(`${auth.base}/sockudo/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json', signal: AbortSignal.timeout(WAIT_MS) });
  assertEq(garbage.status, 401, 'anonymous request with a malformed body');
  let lines = await newAudits(ctx, before, 4);
  assertEq(lines.map((l) => [l.status, l.endpoint]), [[401, '/sockudo/auth'], [401, '/sockudo/user-auth'], [401, '/sockudo/auth'], [401, '/sockudo/auth']], 'audit (status, endpoint)');
  before += 4;

  // socket_id / channel_name only from the body: query-only is a bad request, never signed.
  const q = `?socket_id=${socketId}&channel_name=${CH.private}`;
  const qonly = await post(ctx, '/sockudo/auth', { token: alice.token, query: q });
  assertEq(qonly.status, 400, 'params in the query string only');
  assert(!qonly.text.includes('auth'), 'no signature for query-string params');
  // Body wins over the query: bob asks (body) for the admin channel while the query names an allowed one.
  const mixed = await post(ctx, '/sockudo/auth', { token: bob.token, query: q, form: { socket_id: socketId, channel_name: CH.restricted } });
  assertEq([mixed.status, mixed.text], [403, '{"error":"Forbidden"}'], 'denied channel (exact 403 body)');
  const malformed = await post(ctx, '/sockudo/auth', { token: alice.token, form: { socket_id: '1.1:evil', channel_name: CH.private } });
  assertEq(malformed.status, 400, 'malformed socket_id');
  // Tenant and ownership rules.
  const owner = await post(ctx, '/sockudo/auth', { token: alice.token, form: { socket_id: socketId, channel_name: 'private-user-2' } });
  const tenant = await post(ctx, '/sockudo/auth', { token: alice.token, form: { socket_id: socketId, channel_name: 'private-globex-orders' } });
  assertEq([owner.status, tenant.status], [403, 403], 'ownership / tenant denials');
  lines = await newAudits(ctx, before, 5);
  assertEq(lines.map((l) => [l.status, l.user_id]), [[400, '1'], [403, '2'], [400, '1'], [403, '1'], [403, '1']], 'audit (status, user_id)');
  assertEq([lines[1].channel_name, lines[1].socket_id, lines[1].reason], [CH.restricted, socketId, 'role admin required'], 'audit line of the 403');
  const logText = JSON.stringify(auth.logs.items);
  for (const secret of [APP.secret, masterKey, alice.token, bob.token]) assert(!logText.includes(secret), 'a secret or session token appears in the log');
  before += 5;

  // Allowed: signatures verified independently (HMAC-SHA256 with the app secret).
  const priv = await post(ctx, '/sockudo/auth', { cookie: alice.cookie, form: { socket_id: socketId, channel_name: CH.private } });
  assertEq(priv.data, { auth: `${APP.key}:${hmacHex(`${socketId}:${CH.private}`)}` }, 'private auth response');
  const pres = await post(ctx, '/sockudo/auth', { token: bob.token, form: { socket_id: socketId, channel_name: CH.presence } });
  assertEq(pres.status, 200, 'presence auth status');
  assertEq(JSON.parse(pres.data.channel_data), { user_id: '2', user_info: { name: 'Bob', role: 'member' } }, 'presence channel_data (only fields safe for all members)');
  assertEq(pres.data.auth, `${APP.key}:${hmacHex(`${socketId}:${CH.presence}:${pres.data.channel_data}`)}`, 'presence signature');
  assert(!/email|tenant|@acme/.test(pres.text), `presence auth leaks private fields: ${pres.text}`);
  const enc = await post(ctx, '/sockudo/auth', { token: alice.token, form: { socket_id: socketId, channel_name: CH.encrypted } });
  assertEq(enc.data, { auth: `${APP.key}:${hmacHex(`${socketId}:${CH.encrypted}`)}`, shared_secret: sharedSecret(CH.encrypted, masterKey).toString('base64') }, 'encrypted auth response');
  const user = await post(ctx, '/sockudo/user-auth', { token: alice.token, form: { socket_id: socketId } });
  assertEq(JSON.parse(user.data.user_data), { id: '1', user_info: { name: 'Alice', role: 'admin' } }, 'user_data');
  assertEq(user.data.auth, `${APP.key}:${hmacHex(`${socketId}::user::${user.data.user_data}`)}`, 'user-auth signature');
  assertEq(auth.audits().length, before, 'no audit line for granted requests');

  // The page and its config carry neither the secret nor the master key.
  for (const path of ['/', '/app.js', '/style.css', '/config.json', '/vendor/pusher-with-encryption.min.js']) {
    const res = await fetch(`${auth.base}${path}`, { signal: AbortSignal.timeout(WAIT_MS) });
    assertEq(res.status, 200, `GET ${path}`);
    const body = await res.text();
    for (const secret of [APP.secret, masterKey]) assert(!body.includes(secret), `GET ${path} contains a secret`);
  }
  const cfg = await (await fetch(`${auth.base}/config.json`)).json();
  assertEq(Object.keys(cfg).sort(), ['channelAuthEndpoint', 'channels', 'forceTLS', 'key', 'userAuthEndpoint', 'wsHost', 'wsPort'], 'page config keys');

  // Short request timeouts: a request whose headers never finish is cut off.
  const t0 = Date.now();
  const closedAfter = await new Promise((resolve, reject) => {
    const s = net.connect(auth.port, '127.0.0.1', () => s.write('POST /sockudo/auth HTTP/1.1\r\nHost: x\r\n'));
    s.on('data', () => {});
    s.on('close', () => resolve(Date.now() - t0));
    s.on('error', reject);
    setTimeout(() => { s.destroy(); reject(new Error('slow request still open after 6 s')); }, 6_000);
  });
  assert(closedAfter < 6_000, `slow request closed after ${closedAfter} ms`);
});

scenario('pages', 'two Chromium pages log in (alice, bob), connect, sign in and subscribe', async (ctx) => {
  const base = ctx.stack.auth.base;
  [ctx.alice, ctx.bob] = await Promise.all([UserPage.open(ctx.browser, 'alice', base), UserPage.open(ctx.browser, 'bob', base)]);
  await ctx.alice.waitForStatuses({ [CH.public]: 'subscribed', [CH.private]: 'subscribed', [CH.restricted]: 'subscribed', [CH.presence]: 'subscribed', [CH.encrypted]: 'subscribed' });
  await ctx.bob.waitForStatuses({ [CH.public]: 'subscribed', [CH.private]: 'subscribed', [CH.restricted]: 'denied', [CH.presence]: 'subscribed', [CH.encrypted]: 'subscribed' });
  for (const p of [ctx.alice, ctx.bob]) {
    await p.page.waitForFunction(() => window.demo.signedIn && window.demo.userChannelReady);
    assertEq(await p.page.textContent('#state'), 'connected', `${p.name} #state`);
  }
}, 25_000);

scenario('public', 'public event published through the HTTP API appears in both pages exactly once', async (ctx) => {
  const m = marker('pub');
  await ctx.stack.sdk.trigger(CH.public, 'demo-event', { marker: m, text: 'hello both' });
  for (const p of [ctx.alice, ctx.bob]) {
    const evs = await p.waitForEvent(CH.public, 'demo-event', m);
    assertEq(evs.map((e) => e.data), [{ marker: m, text: 'hello both' }], `${p.name} events`);
    const li = await p.page.locator(`#log li[data-channel="${CH.public}"][data-event="demo-event"]`).first().textContent();
    assert(li.includes(m), `${p.name}: event not shown in #log (${li})`);
  }
});

scenario('private', 'private channel: allowed for alice; bob gets 403 -> pusher:subscription_error and no events', async (ctx) => {
  const { sdk, auth } = ctx.stack;
  const err = await ctx.bob.events((e) => e.channel === CH.restricted && e.event === 'pusher:subscription_error');
  assertEq(err.map((e) => e.data), [{ type: 'AuthError', status: 403 }], 'bob subscription_error');
  assertEq((await ctx.bob.page.textContent(`.channel[data-channel="${CH.restricted}"] .status`)).trim(), 'denied (HTTP 403)', 'bob status text');
  const bobSocket = await ctx.bob.eval(() => window.demo.pusher.connection.socket_id);
  const denied = auth.audits().filter((l) => l.socket_id === bobSocket);
  assertEq(denied.map((l) => [l.status, l.endpoint, l.user_id, l.channel_name]), [[403, '/sockudo/auth', '2', CH.restricted]], 'audit lines for bob\'s page');
  const m = marker('adm');
  await sdk.trigger(CH.restricted, 'admin-alert', { marker: m });
  await ctx.alice.waitForEvent(CH.restricted, 'admin-alert', m);
  // Same connection, later event: once bob has it, an admin-alert would have arrived too.
  const b = marker('ord');
  await sdk.trigger(CH.private, 'order-created', { marker: b });
  await Promise.all([ctx.alice.waitForEvent(CH.private, 'order-created', b), ctx.bob.waitForEvent(CH.private, 'order-created', b)]);
  assertEq((await ctx.bob.events((e) => e.channel === CH.restricted && e.event === 'admin-alert')).length, 0, 'admin events at bob');
});

scenario('presence', 'presence: both pages list both members with safe user_info', async (ctx) => {
  const want = [{ id: '1', info: { name: 'Alice', role: 'admin' } }, { id: '2', info: { name: 'Bob', role: 'member' } }];
  for (const p of [ctx.alice, ctx.bob]) {
    await p.page.waitForFunction((c) => window.demo.members(c).length === 2, CH.presence).catch(() => {});
    assertEq(await p.eval((c) => window.demo.members(c), CH.presence), want, `${p.name} members`);
    await p.page.waitForFunction((c) => document.querySelectorAll(`.channel[data-channel="${c}"] .members li`).length === 2, CH.presence);
  }
  // The one that joined second announced itself to the first.
  const added = [...(await ctx.alice.events((e) => e.event === 'pusher:member_added')), ...(await ctx.bob.events((e) => e.event === 'pusher:member_added'))];
  assertEq(added.length, 1, `member_added events (${fmt(added)})`);
});

scenario('encrypted', 'encrypted: SDK-encrypted event decrypted in the page; the captured WebSocket frame holds only ciphertext', async (ctx) => {
  const { sdk, masterKey } = ctx.stack;
  const m = marker('plaintext');
  const payload = { marker: m, text: 'the server must not read this', n: 42 };
  const wsBefore = ctx.alice.wsFrames.length;
  await sdk.trigger(CH.encrypted, 'secret-message', payload);
  for (const p of [ctx.alice, ctx.bob]) {
    const evs = await p.waitForEvent(CH.encrypted, 'secret-message', m);
    assertEq(evs.map((e) => e.data), [payload], `${p.name} decrypted data`);
  }
  // The raw frame of the same event (Chromium's own WebSocket, captured over CDP).
  const frames = ctx.alice.wsFrames.slice(wsBefore).map((t) => ({ t, f: JSON.parse(t) })).filter(({ f }) => f.channel === CH.encrypted && f.event === 'secret-message');
  assertEq(frames.length, 1, 'captured secret-message frames');
  const { t: rawText, f: frame } = frames[0];
  assert(!rawText.includes(m) && !rawText.includes('must not read'), `plaintext visible on the wire: ${rawText}`);
  assertEq(typeof frame.data, 'string', 'frame data type');
  const box = JSON.parse(frame.data);
  assertEq(Object.keys(box).sort(), ['ciphertext', 'nonce'], 'encrypted data fields');
  // Decrypting the captured bytes with the per-channel key gives back exactly the plaintext.
  const opened = nacl.secretbox.open(Buffer.from(box.ciphertext, 'base64'), Buffer.from(box.nonce, 'base64'), sharedSecret(CH.encrypted, masterKey));
  assert(opened, 'captured ciphertext does not open with the channel key');
  assertEq(JSON.parse(Buffer.from(opened).toString('utf8')), payload, 'decrypted capture');
  // pusher-js hands the page the frame's data already JSON-parsed, still encrypted.
  assertEq(await ctx.alice.eval((c) => window.demo.wire[c], CH.encrypted), box, 'ciphertext as pusher-js saw it');

  // Byte-for-byte pass-through: a ciphertext we build ourselves comes out unchanged.
  const nonce = nacl.randomBytes(24);
  const m2 = marker('exact');
  const ct = nacl.secretbox(Buffer.from(JSON.stringify({ marker: m2 })), nonce, sharedSecret(CH.encrypted, masterKey));
  const data = JSON.stringify({ nonce: Buffer.from(nonce).toString('base64'), ciphertext: Buffer.from(ct).toString('base64') });
  const before2 = ctx.alice.wsFrames.length;
  await sdk.post({ path: '/events', body: { name: 'secret-message', channels: [CH.encrypted], data } });
  await ctx.alice.waitForEvent(CH.encrypted, 'secret-message', m2);
  const raw2 = ctx.alice.wsFrames.slice(before2).map((t) => JSON.parse(t)).find((f) => f.channel === CH.encrypted);
  assertEq(raw2 && raw2.data, data, 'relayed ciphertext (must be unchanged)');
});

scenario('client-events', 'client events between the pages on private and presence channels (never echoed)', async (ctx) => {
  const m1 = marker('whisper');
  assert(await ctx.alice.eval(([c, d]) => window.demo.trigger(c, 'client-message', d), [CH.private, { marker: m1 }]), 'alice trigger returned false');
  await ctx.bob.waitForEvent(CH.private, 'client-message', m1);
  // Through the page's form on the presence channel: the relayed event carries bob's user_id.
  const m2 = marker('form');
  await ctx.bob.page.selectOption('#client-channel', CH.presence);
  await ctx.bob.page.fill('#client-text', m2);
  await ctx.bob.page.click('#client-send');
  const got = await ctx.alice.page.waitForFunction(([c, m]) => window.demo.events.find((e) => e.channel === c && e.event === 'client-message' && e.data && e.data.text === m), [CH.presence, m2]).then((h) => h.jsonValue());
  assertEq([got.data, got.user_id], [{ text: m2, from: 'Bob' }, '2'], 'client event at alice');
  // Barrier: a later server event on the same channel; by then an echo would have arrived.
  const b = marker('barrier');
  await ctx.stack.sdk.trigger(CH.presence, 'announcement', { marker: b });
  await Promise.all([ctx.alice.waitForEvent(CH.presence, 'announcement', b), ctx.bob.waitForEvent(CH.presence, 'announcement', b)]);
  assertEq((await ctx.alice.events((e) => e.event === 'client-message' && e.data && e.data.marker === m1)).length, 0, 'echo to alice');
  assertEq((await ctx.bob.events((e) => e.event === 'client-message' && e.data && e.data.text === m2)).length, 0, 'echo to bob');
});

scenario('signin', 'signin() + sendToUser reaches only that user\'s page', async (ctx) => {
  const { sdk } = ctx.stack;
  const m = marker('for-alice');
  await sdk.sendToUser('1', 'notice', { marker: m });
  await ctx.alice.waitForEvent('#server-to-user-1', 'notice', m);
  const b = marker('for-bob');
  await sdk.sendToUser('2', 'notice', { marker: b });
  await ctx.bob.waitForEvent('#server-to-user-2', 'notice', b);
  // Sent before bob's own notice, on bob's ordered connection: it would have arrived by now.
  assertEq((await ctx.bob.events((e) => e.data && e.data.marker === m)).length, 0, 'alice\'s notice at bob');
  // And a later notice for alice: had bob's leaked to alice's connection, it would be there first.
  const a2 = marker('for-alice-again');
  await sdk.sendToUser('1', 'notice', { marker: a2 });
  await ctx.alice.waitForEvent('#server-to-user-1', 'notice', a2);
  assertEq((await ctx.alice.events((e) => e.data && e.data.marker === b)).length, 0, 'bob\'s notice at alice');
});

scenario('demo-page', 'the page\'s "Publish demo events" button: events flow on every channel; screenshot saved', async (ctx) => {
  await ctx.alice.page.click('#publish');
  await ctx.alice.page.waitForFunction(() => /published round/.test(document.querySelector('#action-status').textContent));
  const fromButton = (e) => e.data && typeof e.data.source === 'string' && e.data.source.startsWith('button');
  const expect = {
    alice: [CH.public, CH.private, CH.restricted, CH.presence, CH.encrypted, '#server-to-user-1'],
    bob: [CH.public, CH.private, CH.presence, CH.encrypted, '#server-to-user-2'],
  };
  for (const p of [ctx.alice, ctx.bob]) {
    await pollUntil(async () => {
      const chans = new Set((await p.events(fromButton)).map((e) => e.channel));
      return expect[p.name].every((c) => chans.has(c));
    }, `${p.name}: a demo round on ${expect[p.name].join(', ')}`);
  }
  assertEq((await ctx.bob.events((e) => fromButton(e) && (e.channel === CH.restricted || e.channel === '#server-to-user-1'))).length, 0, 'admin-only / alice-only events at bob');
  // Check the cards shown to a person.
  const enc = ctx.alice.page.locator(`.channel[data-channel="${CH.encrypted}"]`);
  assert((await enc.locator('.last').textContent()).includes('end-to-end encrypted #'), 'encrypted card shows plaintext');
  assert((await enc.locator('.wire').textContent()).includes('ciphertext'), 'encrypted card shows the wire ciphertext');
  mkdirSync(ctx.artifacts, { recursive: true });
  const shot = join(ctx.artifacts, 'demo-page.png');
  await ctx.alice.page.screenshot({ path: shot, fullPage: true });
  await ctx.bob.page.screenshot({ path: join(ctx.artifacts, 'demo-page-bob.png'), fullPage: true });
});

scenario('presence-leave', 'closing bob\'s page: alice gets member_removed and the list shrinks', async (ctx) => {
  await ctx.bob.context.close();
  ctx.bobClosed = true;
  await ctx.alice.page.waitForFunction((c) => window.demo.events.some((e) => e.channel === c && e.event === 'pusher:member_removed' && e.data.id === '2'), CH.presence);
  assertEq(await ctx.alice.eval((c) => window.demo.members(c), CH.presence), [{ id: '1', info: { name: 'Alice', role: 'admin' } }], 'alice members after bob left');
  assertEq(await ctx.alice.page.locator(`.channel[data-channel="${CH.presence}"] .members li`).count(), 1, 'members shown');
  const users = await (await ctx.stack.sdk.get({ path: `/channels/${CH.presence}/users` })).json();
  assertEq(users, { users: [{ id: '1' }] }, 'HTTP API presence users');
});

scenario('page-health', 'no page errors or CSP violations; no secret in the page; session cookie HttpOnly', async (ctx) => {
  const problems = [ctx.alice, ctx.bob].filter(Boolean).flatMap((p) => p.problems.map((x) => `${p.name}: ${x}`));
  assertEq(problems, [], 'page problems');
  const seen = await ctx.alice.eval(() => JSON.stringify({
    html: document.documentElement.outerHTML, config: window.demo.config, cookie: document.cookie,
    local: Object.assign({}, localStorage), session: Object.assign({}, sessionStorage),
  }));
  for (const [what, secret] of [['app secret', APP.secret], ['master key', ctx.stack.masterKey]]) assert(!seen.includes(secret), `${what} visible in the page`);
  assert(!JSON.parse(seen).cookie.includes('demo_session'), 'session cookie readable from script (not HttpOnly)');
  const cookies = await ctx.alice.context.cookies();
  const sc = cookies.find((c) => c.name === 'demo_session');
  assertEq(sc && [sc.httpOnly, sc.sameSite], [true, 'Strict'], 'session cookie flags');
});

// ---------------------------------------------------------------- main

// Every browser scenario runs on the two pages that `pages` opens.
if (args.only && !args.only.includes('pages') && args.only.some((n) => n !== 'security')) args.only.unshift('pages');

const ctx = { artifacts: args.artifacts };
let failures = 1;
try {
  ctx.stack = await startStack(args.server);
  ctx.browser = await withTimeout(chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // launch() gives the browser a fresh temporary profile (user-data-dir) and removes it on close.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage', '--no-proxy-server'],
  }), 20_000, 'Chromium to launch');
  console.log(`# pushcore on 127.0.0.1:${ctx.stack.port}, auth server on ${ctx.stack.auth.base}, Chromium ${ctx.browser.version()}, artifacts in ${ctx.artifacts}`);
  failures = await runScenarios(scenarios, {
    only: args.only,
    ctx,
    onFailure: async () => {
      if (!args.verbose) return;
      for (const p of [ctx.alice, ctx.bob].filter(Boolean)) console.log(`--- ${p.name} console\n${p.console.slice(-30).join('\n')}`);
      console.log(`--- auth server\n${ctx.stack.auth.tail.slice(-30).join('\n')}\n--- pushcore\n${ctx.stack.pushcore.tail.slice(-30).join('\n')}`);
    },
  });
} catch (e) {
  console.log(`FAIL  setup: ${e && e.stack ? e.stack : e}`);
  if (ctx.stack) console.log(`--- pushcore\n${ctx.stack.pushcore.tail.slice(-20).join('\n')}\n--- auth server\n${ctx.stack.auth.tail.slice(-20).join('\n')}`);
  failures = 1;
} finally {
  if (ctx.browser) await withTimeout(ctx.browser.close(), 10_000, 'Chromium to close').catch(() => {});
  if (ctx.stack) await withTimeout(ctx.stack.stop(), 10_000, 'servers to stop').catch(() => ctx.stack.killNow());
}
clearTimeout(watchdog);
process.exit(failures ? 1 : 0);
