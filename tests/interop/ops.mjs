#!/usr/bin/env node
// Operations: SIGHUP reload and SIGTERM drain, end to end with real clients.
//
//   node ops.mjs --server /path/to/pushcore
//
// reload: apps A, B, C with connected clients; the config file is rewritten (A: new secret and
//   max_connections 1, B removed, C disabled, D added) and SIGHUP sent. B's socket is closed with
//   4001, C's with 4003, A's client stays connected and receives events published with the new
//   secret (the old one gets 401), a second A connection is over quota, D accepts connections
//   and publishes. Then an invalid file is rejected with one log line (the running config
//   stays), and a node-level change is reported as not applied.
// drain: SIGTERM closes clients with 4200 (pusher-js goes back to connecting), the webhooks the
//   closes produce are delivered, and the process exits 0 within shutdown_grace_period.
// One line per scenario; exit code 1 when any fails.

import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import PusherClient from 'pusher-js';
import PusherServer from 'pusher';
import WebSocket from 'ws';

import { Inbox, RUN, ServerProcess, WAIT_MS, appConfig, assert, assertEq, fmt, pollUntil, serverConfig, withTimeout } from './harness.mjs';

const args = process.argv.slice(2);
const serverBin = args[args.indexOf('--server') + 1];
if (!args.includes('--server') || !serverBin) {
  console.error('usage: node ops.mjs --server /path/to/pushcore');
  process.exit(2);
}
PusherClient.logToConsole = false;

const A = { id: 'app-a', key: 'key-a', secret: 'secret-a' };
const B = { id: 'app-b', key: 'key-b', secret: 'secret-b' };
const C = { id: 'app-c', key: 'key-c', secret: 'secret-c' };
const D = { id: 'app-d', key: 'key-d', secret: 'secret-d' };

const sdk = (port, app, secret = app.secret) =>
  new PusherServer({ appId: app.id, key: app.key, secret, host: '127.0.0.1', port: String(port), useTLS: false, timeout: 5_000 });

// A raw protocol client: frames and the close code.
function raw(port, key) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?protocol=7`);
  const c = { ws, frames: new Inbox(`raw ${key} frames`), closed: new Inbox(`raw ${key} close`) };
  ws.on('message', (m) => {
    const f = JSON.parse(m.toString());
    if (typeof f.data === 'string') {
      try {
        f.data = JSON.parse(f.data);
      } catch {}
    }
    c.frames.push(f);
  });
  ws.on('close', (code) => c.closed.push(code));
  ws.on('error', () => {});
  c.established = () => c.frames.waitFor((f) => f.event === 'pusher:connection_established', `${key} connection_established`);
  c.subscribe = async (channel) => {
    ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
    await c.frames.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded' && f.channel === channel, `${key} subscribed to ${channel}`);
  };
  return c;
}

function pjs(port, app) {
  const p = new PusherClient(app.key, { wsHost: '127.0.0.1', wsPort: port, forceTLS: false, enabledTransports: ['ws'], cluster: 'mt1', disableStats: true });
  const c = { pusher: p, states: new Inbox(`pusher-js ${app.key} states`), events: new Inbox(`pusher-js ${app.key} events`) };
  p.connection.bind('state_change', (s) => c.states.push(s.current));
  return c;
}

async function status(promise) {
  try {
    return (await promise).status;
  } catch (e) {
    if (e && e.status !== undefined) return e.status;
    throw e;
  }
}

const waitLine = (server, re, label, from = 0) =>
  pollUntil(async () => server.stderrTail.slice(from).find((l) => re.test(l)), label);

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario('reload', async () => {
  const appsBefore = [appConfig(A), appConfig(B), appConfig(C)];
  const server = new ServerProcess(serverBin, serverConfig({ apps: appsBefore }));
  const closeAll = [];
  try {
    const port = await server.start();
    const cfgPath = join(server.dir, 'config.json');
    const ch = `reload-${RUN}`;
    const a = pjs(port, A);
    closeAll.push(() => a.pusher.disconnect());
    await a.states.waitFor((s) => s === 'connected', 'A connected');
    const sub = a.pusher.subscribe(ch);
    sub.bind_global((event, data) => a.events.push({ event, data }));
    await a.events.waitFor((e) => e.event === 'pusher:subscription_succeeded', 'A subscribed');
    const b = raw(port, B.key);
    const c = raw(port, C.key);
    closeAll.push(() => b.ws.terminate(), () => c.ws.terminate());
    await Promise.all([b.established(), c.established()]);
    await Promise.all([b.subscribe(ch), c.subscribe(ch)]);
    assertEq(await status(sdk(port, A).trigger(ch, 'before', { n: 0 })), 200, 'publish to A before reload');
    await a.events.waitFor((e) => e.event === 'before', 'A event before reload');

    // The new file: A changed, B removed, C disabled, D added.
    writeFileSync(
      cfgPath,
      JSON.stringify(serverConfig({ apps: [appConfig({ ...A, secret: 'secret-a2', limits: { max_connections: 1 } }), appConfig({ ...C, enabled: false }), appConfig(D)] }), null, 2)
    );
    const mark = server.stderrTail.length;
    server.proc.kill('SIGHUP');
    const line = await waitLine(server, /msg=reload\b/, 'the reload log line', mark);
    assert(/apps_added=app-d/.test(line) && /apps_removed=app-b/.test(line) && /apps_disabled=app-c/.test(line), `reload line: ${line}`);

    assertEq(await b.closed.waitFor(() => true, 'B closed'), 4001, 'close code of the removed app B');
    assert(b.frames.count((f) => f.event === 'pusher:error' && f.data.code === 4001) === 1, 'B got no pusher:error 4001');
    assertEq(await c.closed.waitFor(() => true, 'C closed'), 4003, 'close code of the disabled app C');

    // A: still connected; the new secret applies to new requests, the old one is refused.
    assertEq(await status(sdk(port, A).trigger(ch, 'old-secret', {})), 401, 'publish with the old secret');
    assertEq(await status(sdk(port, A, 'secret-a2').trigger(ch, 'after', { n: 1 })), 200, 'publish with the new secret');
    const ev = await a.events.waitFor((e) => e.event === 'after', 'A event after reload');
    assertEq(ev.data, { n: 1 }, 'A event data');
    assertEq(a.states.items.filter((s) => s !== 'connected' && s !== 'connecting' && s !== 'initialized').length, 0, `A state changes ${fmt(a.states.items)}`);
    assertEq(a.states.count((s) => s === 'connected'), 1, 'A never reconnected');
    // A's new limit: a second connection is over quota.
    const a2 = raw(port, A.key);
    closeAll.push(() => a2.ws.terminate());
    const err = await a2.frames.waitFor((f) => f.event === 'pusher:error', 'A second connection refused');
    assertEq(err.data.code, 4004, 'over-quota code for A');
    // B's key is unknown now; D is served.
    const b2 = raw(port, B.key);
    closeAll.push(() => b2.ws.terminate());
    assertEq(await b2.closed.waitFor(() => true, 'new B connection closed'), 4001, 'new connection to removed B');
    const d = raw(port, D.key);
    closeAll.push(() => d.ws.terminate());
    await d.established();
    await d.subscribe(ch);
    assertEq(await status(sdk(port, D).trigger(ch, 'to-d', { d: true })), 200, 'publish to new app D');
    await d.frames.waitFor((f) => f.event === 'to-d', 'D receives its event');
    assertEq(await status(sdk(port, B).trigger(ch, 'to-b', {})), 404, 'publish to removed app B');

    // An invalid file: one log line, the running config stays.
    writeFileSync(cfgPath, '{ "app_manager": { "array": { "apps": [ { "id": "x" ');
    const mark2 = server.stderrTail.length;
    server.proc.kill('SIGHUP');
    await waitLine(server, /msg=reload_rejected\b/, 'the reload_rejected line', mark2);
    assertEq(await status(sdk(port, A, 'secret-a2').trigger(ch, 'still', {})), 200, 'A after a rejected reload');
    await a.events.waitFor((e) => e.event === 'still', 'A event after a rejected reload');
    assertEq(server.stderrTail.slice(mark2).filter((l) => /msg=reload/.test(l)).length, 1, 'log lines for a rejected reload');

    // A node-level change is reported, apps still apply.
    writeFileSync(cfgPath, JSON.stringify(serverConfig({ port: 1, apps: [appConfig({ ...A, secret: 'secret-a3' }), appConfig(D)] }), null, 2));
    const mark3 = server.stderrTail.length;
    server.proc.kill('SIGHUP');
    const na = await waitLine(server, /msg=reload_not_applied\b/, 'the reload_not_applied line', mark3);
    assert(/settings=port\b/.test(na), `reload_not_applied line: ${na}`);
    assertEq(await status(sdk(port, A, 'secret-a3').trigger(ch, 'a3', {})), 200, 'publish with the third secret');
    await a.events.waitFor((e) => e.event === 'a3', 'A event after the third reload');
    assertEq(a.states.count((s) => s === 'connected'), 1, 'A still on its first connection');
  } finally {
    for (const f of closeAll) f();
    await server.stop();
  }
});

scenario('drain', async () => {
  // Webhook receiver.
  const hooks = new Inbox('webhooks');
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      try {
        for (const e of JSON.parse(body).events) hooks.push(e);
      } catch {}
      res.end('{}');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/hook`;
  const server = new ServerProcess(
    serverBin,
    serverConfig({
      shutdown_grace_period: 3,
      webhooks: { batching: { enabled: false }, vacate_delay_ms: 200 },
      apps: [appConfig({ ...A, webhooks: [{ url, event_types: ['channel_occupied', 'channel_vacated'] }] })],
    })
  );
  try {
    const port = await server.start();
    const ch = `drain-${RUN}`;
    const p = pjs(port, A);
    await p.states.waitFor((s) => s === 'connected', 'pusher-js connected');
    p.pusher.subscribe(ch);
    const r = raw(port, A.key);
    await r.established();
    await r.subscribe(ch);
    await hooks.waitFor((e) => e.name === 'channel_occupied' && e.channel === ch, 'channel_occupied webhook');
    const exit = server.exited;
    server.proc.kill('SIGTERM');
    assertEq(await r.closed.waitFor(() => true, 'raw client closed'), 4200, 'close code on shutdown');
    assert(r.frames.count((f) => f.event === 'pusher:error' && f.data.code === 4200) === 1, 'no pusher:error 4200 before the close');
    // pusher-js treats 4200 as "reconnect": it leaves connected and tries again.
    await p.states.waitFor((s) => s === 'connecting' || s === 'unavailable', 'pusher-js reconnecting', WAIT_MS, { from: 1 });
    // The webhook produced by the closes (channel_vacated, after vacate_delay) is delivered
    // before the process ends, and the process ends within the grace period (+ margin).
    const done = await withTimeout(exit, 3_000 + 4_000, 'the server to exit');
    assertEq(done.code, 0, 'exit code');
    assert(hooks.count((e) => e.name === 'channel_vacated' && e.channel === ch) === 1, `channel_vacated not delivered before exit: ${fmt(hooks.items)}`);
    assert(server.stderrTail.some((l) => /msg=stopped\b/.test(l)), 'no stopped log line');
    p.pusher.disconnect();
  } finally {
    await server.stop();
    receiver.close();
  }
});

let failed = 0;
for (const { name, fn } of scenarios) {
  try {
    await withTimeout(fn(), 30_000, `scenario ${name}`);
    console.log(`ok    ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
console.log(`${scenarios.length - failed}/${scenarios.length} ops scenarios passed`);
process.exit(failed ? 1 : 0);
