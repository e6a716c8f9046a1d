#!/usr/bin/env node
// Database app managers end to end (docs/APP_MANAGERS.md): a real PostgreSQL or MariaDB server
// started here on loopback (throwaway data directory under --dir), pushcore configured the
// Sockudo way (APP_MANAGER_DRIVER, DATABASE_POSTGRES_* / DATABASE_MYSQL_*, CACHE_TTL_SECONDS),
// real clients: pusher-js connects with database apps, the `pusher` SDK publishes signed with
// the secret in the row, and the rows are changed, disabled and deleted under running clients.
//
//   node app_db.mjs --server /path/to/pushcore --driver postgres|mysql --dir /path/to/scratch
//
// One line per scenario; exit code 1 when any fails.

import { resolve as resolvePath } from 'node:path';

import PusherClient from 'pusher-js';
import PusherServer from 'pusher';
import WebSocket from 'ws';

import { MariaDb } from '../common/mariadb.mjs';
import { Postgres } from '../common/postgres.mjs';
import { Inbox, PushcoreProcess, WAIT_MS, assert, assertEq, fmt, pollUntil, sleep, withTimeout } from '../common/testkit.mjs';

const args = process.argv.slice(2);
const arg = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const serverBin = arg('--server');
const driver = arg('--driver');
const scratch = arg('--dir') && resolvePath(arg('--dir'));
if (!serverBin || !['postgres', 'mysql'].includes(driver) || !scratch) {
  console.error('usage: node app_db.mjs --server /path/to/pushcore --driver postgres|mysql --dir /scratch/dir');
  process.exit(2);
}
PusherClient.logToConsole = false;
PusherClient.log = () => {};

const TTL_S = 1; // CACHE_TTL_SECONDS: rows are re-read every second
const ENV_PREFIX = driver === 'mysql' ? 'DATABASE_MYSQL' : 'DATABASE_POSTGRES';
const q = (col) => (driver === 'mysql' ? `\`${col}\`` : col);
const lit = (s) => (s === null ? 'NULL' : `'${String(s).replace(/\\/g, driver === 'mysql' ? '\\\\' : '\\').replace(/'/g, "''")}'`);

let db; // the database server
let server; // pushcore on it
const children = [];

// ---------------------------------------------------------------- helpers

function dbEnv(overrides = {}) {
  return {
    APP_MANAGER_DRIVER: driver === 'mysql' ? 'mysql' : 'pgsql',
    [`${ENV_PREFIX}_HOST`]: db.host,
    [`${ENV_PREFIX}_PORT`]: String(db.port),
    [`${ENV_PREFIX}_USERNAME`]: db.user,
    [`${ENV_PREFIX}_PASSWORD`]: db.password,
    [`${ENV_PREFIX}_DATABASE`]: db.database,
    CACHE_TTL_SECONDS: String(TTL_S),
    ...overrides,
  };
}

const baseConfig = { host: '127.0.0.1', port: 0, shutdown_grace_period: 1, metrics: { enabled: true, host: '127.0.0.1', port: 0 } };

async function startServer(env, config = baseConfig, label = `pushcore-${driver}`) {
  const p = new PushcoreProcess(serverBin, label);
  children.push(p);
  await p.start(config, env);
  return p;
}

// Runs pushcore expecting a start-up failure; resolves with { code, stderr }.
async function startFailure(env, config = baseConfig) {
  const p = new PushcoreProcess(serverBin, `pushcore-${driver}-bad`);
  children.push(p);
  let err = null;
  try {
    await p.start(config, env);
  } catch (e) {
    err = e;
  }
  assert(err, 'pushcore started although it should have refused');
  await pollUntil(() => p.proc && p.proc.exitCode !== null, 'exit code', WAIT_MS);
  const out = { code: p.proc.exitCode, stderr: p.tail.join('\n') };
  await p.stop();
  return out;
}

async function insertApp(app) {
  const row = {
    id: app.id,
    key: app.key,
    secret: app.secret,
    max_connections: app.max_connections ?? 0,
    enable_client_messages: app.enable_client_messages ?? true,
    enabled: app.enabled ?? true,
    max_client_events_per_second: app.max_client_events_per_second ?? 100,
    enable_user_authentication: app.enable_user_authentication ?? null,
    policy: app.policy ? JSON.stringify(app.policy) : null,
    webhooks: app.webhooks ? JSON.stringify(app.webhooks) : null,
  };
  const cols = Object.keys(row);
  const vals = cols.map((c) => (typeof row[c] === 'boolean' ? (row[c] ? 'TRUE' : 'FALSE') : typeof row[c] === 'number' ? String(row[c]) : lit(row[c])));
  await db.sql(`INSERT INTO applications (${cols.map(q).join(', ')}) VALUES (${vals.join(', ')})`);
}

const sdk = (port, app, secret = app.secret) =>
  new PusherServer({ appId: app.id, key: app.key, secret, host: '127.0.0.1', port: String(port), useTLS: false, timeout: 5_000 });

async function status(promise) {
  try {
    return (await promise).status;
  } catch (e) {
    if (e && e.status !== undefined) return e.status;
    throw e;
  }
}

// A raw protocol client: frames and the close code.
function raw(port, key) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?protocol=7`);
  const c = { ws, frames: new Inbox(`raw ${key} frames`), closed: new Inbox(`raw ${key} close`) };
  ws.on('message', (m) => c.frames.push(JSON.parse(m.toString())));
  ws.on('close', (code) => c.closed.push(code));
  ws.on('error', () => {});
  c.established = () => c.frames.waitFor((f) => f.event === 'pusher:connection_established', `${key} connection_established`);
  c.closeCode = (ms = WAIT_MS) => c.closed.waitFor(() => true, `${key} close code`, ms);
  return c;
}

function pjs(port, app, authSecret = () => app.secret) {
  const signer = () => sdk(port, app, authSecret());
  const p = new PusherClient(app.key, {
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'mt1',
    disableStats: true,
    // The app's backend signs with the secret it knows (the row's).
    channelAuthorization: { customHandler: ({ socketId, channelName }, cb) => cb(null, signer().authorizeChannel(socketId, channelName)) },
  });
  const c = { pusher: p, states: new Inbox(`pusher-js ${app.key} states`), events: new Inbox(`pusher-js ${app.key} events`), closes: new Inbox(`pusher-js ${app.key} closes`) };
  p.connection.bind('state_change', (s) => c.states.push(s.current));
  p.connection.bind('error', (e) => {
    const code = e && e.error && e.error.data && e.error.data.code;
    if (code) c.closes.push(code);
  });
  c.connected = () => c.states.waitFor((s) => s === 'connected', `${app.key} connected`);
  c.subscribe = (name) =>
    new Promise((resolve, reject) => {
      const ch = p.subscribe(name);
      ch.bind('pusher:subscription_succeeded', () => resolve(ch));
      ch.bind('pusher:subscription_error', (e) => reject(new Error(`${name}: subscription_error ${fmt(e)}`)));
      ch.bind_global((event, data) => {
        if (!event.startsWith('pusher:')) c.events.push({ channel: name, event, data });
      });
    });
  return c;
}

async function metric(name, labels = '') {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const re = new RegExp(`^${name}\\{${labels}[^}]*\\} (\\S+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

async function up() {
  const res = await fetch(`http://127.0.0.1:${server.port}/up`);
  return `${res.status} ${res.headers.get('x-health-check')}`;
}

const apps = {};
const mkApp = (name, extra = {}) => (apps[name] = { id: `${name}-id`, key: `${name}-key`, secret: `${name}-secret`, ...extra });

// ---------------------------------------------------------------- scenarios

const scenarios = [
  ['bad password stops start-up naming the settings, never the password', async () => {
    const r = await startFailure(dbEnv({ [`${ENV_PREFIX}_PASSWORD`]: 'not-the-password-xyz' }));
    assertEq(r.code, 2, 'exit code');
    assert(r.stderr.includes(`database.${driver}`) && r.stderr.includes(`${ENV_PREFIX}_*`), `message names the settings: ${r.stderr}`);
    assert(!r.stderr.includes('not-the-password-xyz'), 'password not in the message');
  }],
  ['a table without Sockudo\'s columns stops start-up naming the table', async () => {
    await db.sql(`CREATE TABLE not_apps (id VARCHAR(255) PRIMARY KEY, name VARCHAR(255))`);
    const r = await startFailure(dbEnv({ [`${ENV_PREFIX}_TABLE_NAME`]: 'not_apps' }));
    assertEq(r.code, 2, 'exit code');
    assert(/not_apps/.test(r.stderr) && /key|secret/.test(r.stderr), `message names the table and a column: ${r.stderr}`);
  }],
  ['start-up creates Sockudo\'s table in an empty database', async () => {
    server = await startServer(dbEnv());
    const cols = await db.sql(driver === 'mysql'
      ? `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'sockudo' AND table_name = 'applications'`
      : `SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'applications'`);
    assertEq(Number(cols.trim()), 26, 'columns of applications (Sockudo\'s 24 + created_at, updated_at)');
  }],
  ['a database app: pusher-js connects, private channel signed with the row\'s secret, SDK publish', async () => {
    const a = mkApp('alpha');
    await insertApp(a);
    const c = pjs(server.port, a);
    try {
      await c.connected();
      await c.subscribe('public-news');
      await c.subscribe('private-room');
      assertEq(await status(sdk(server.port, a).trigger('public-news', 'hello', { n: 1 })), 200, 'publish status');
      assertEq(await status(sdk(server.port, a).trigger('private-room', 'secret-hello', { n: 2 })), 200, 'private publish status');
      const got = await c.events.waitFor((e) => e.event === 'secret-hello', 'private event');
      assertEq(got.data, { n: 2 }, 'private event data');
      await c.events.waitFor((e) => e.event === 'hello', 'public event');
      assertEq(await status(sdk(server.port, a, 'wrong-secret').trigger('public-news', 'x', {})), 401, 'publish with a wrong secret');
    } finally {
      c.pusher.disconnect();
    }
  }],
  ['HTTP API first: a cold app publishes before any connection', async () => {
    const b = mkApp('bravo');
    await insertApp(b);
    assertEq(await status(sdk(server.port, b).trigger('cold', 'e', {})), 200, 'publish on a never-seen app');
    const res = await sdk(server.port, b).get({ path: '/channels' });
    assertEq(res.status, 200, 'channel query');
  }],
  ['unknown keys: 4001, repeated ones from the negative cache, not the database', async () => {
    const c1 = raw(server.port, 'nobody-key');
    assertEq(await c1.closeCode(), 4001, 'unknown key close code');
    const misses0 = await metric('pushcore_app_manager_lookups_total', 'result="miss"');
    const neg0 = await metric('pushcore_app_manager_lookups_total', 'result="negative"');
    const burst = Array.from({ length: 20 }, () => raw(server.port, 'nobody-key'));
    for (const r of burst) assertEq(await r.closeCode(), 4001, 'repeated unknown key');
    const misses1 = await metric('pushcore_app_manager_lookups_total', 'result="miss"');
    const neg1 = await metric('pushcore_app_manager_lookups_total', 'result="negative"');
    // The negative entry lives min(ttl, 30 s) = 1 s: a burst within it asks the database at most twice.
    assert(misses1 - misses0 <= 2, `misses grew by ${misses1 - misses0} for 20 repeated unknown keys`);
    assert(neg1 - neg0 >= 18, `negative hits grew by ${neg1 - neg0}`);
  }],
  ['a row inserted after its key was refused is served once the negative entry expires', async () => {
    const c = mkApp('charlie');
    const r1 = raw(server.port, c.key);
    assertEq(await r1.closeCode(), 4001, 'before the insert');
    await insertApp(c);
    await pollUntil(async () => {
      const r = raw(server.port, c.key);
      const f = await r.frames.waitFor(() => true, 'first frame');
      r.ws.close();
      return f.event === 'pusher:connection_established';
    }, 'charlie served', 5_000, 200);
  }],
  ['policy JSON column: limits and features from `policy` (max_connections 1 -> 4004)', async () => {
    const d = mkApp('delta', { policy: { limits: { max_connections: 1, max_client_events_per_second: 10 }, features: { enable_client_messages: true } } });
    await insertApp(d);
    const r1 = raw(server.port, d.key);
    await r1.established();
    const r2 = raw(server.port, d.key);
    assertEq(await r2.closeCode(), 4004, 'second connection over the policy quota');
    r1.ws.close();
  }],
  ['changed secret: new requests use it at once after the TTL, the connected client stays', async () => {
    const e = mkApp('echo');
    await insertApp(e);
    let secret = e.secret;
    const c = pjs(server.port, e, () => secret);
    try {
      await c.connected();
      await c.subscribe('updates');
      await db.sql(`UPDATE applications SET secret = 'echo-rotated' WHERE id = 'echo-id'`);
      await pollUntil(async () => (await status(sdk(server.port, e, 'echo-rotated').trigger('updates', 'rotated', { ok: true }))) === 200, 'new secret accepted', 5_000, 200);
      assertEq(await status(sdk(server.port, e, e.secret).trigger('updates', 'x', {})), 401, 'old secret refused');
      await c.events.waitFor((x) => x.event === 'rotated', 'event published with the new secret');
      assertEq(c.pusher.connection.state, 'connected', 'existing connection');
      secret = 'echo-rotated';
      await c.subscribe('private-after-rotation'); // signed with the new secret
    } finally {
      c.pusher.disconnect();
    }
  }],
  ['disabled row: its sockets close with 4003 within the TTL, new connections get 4003', async () => {
    const f = mkApp('foxtrot');
    await insertApp(f);
    const r = raw(server.port, f.key);
    await r.established();
    await db.sql(`UPDATE applications SET enabled = FALSE WHERE id = 'foxtrot-id'`);
    assertEq(await r.closeCode(TTL_S * 1000 + 4_000), 4003, 'connected socket');
    assertEq(await raw(server.port, f.key).closeCode(), 4003, 'new connection');
  }],
  ['deleted row: its sockets close with 4001 within the TTL, then unknown', async () => {
    const g = mkApp('golf');
    await insertApp(g);
    const r = raw(server.port, g.key);
    await r.established();
    await db.sql(`DELETE FROM applications WHERE id = 'golf-id'`);
    assertEq(await r.closeCode(TTL_S * 1000 + 4_000), 4001, 'connected socket');
    assertEq(await raw(server.port, g.key).closeCode(), 4001, 'new connection');
    assertEq(await status(sdk(server.port, g).trigger('x', 'y', {})), 404, 'publish for a deleted app (unknown key)');
  }],
  ['database down: cached apps keep working, unknown keys refused, /up DEGRADED; back after restart', async () => {
    const h = mkApp('hotel');
    await insertApp(h);
    const pre = raw(server.port, h.key);
    await pre.established();
    const a = apps.alpha;
    assertEq(await up(), '200 OK', '/up before');
    await db.kill();
    // Cached apps: connects and publishes work.
    await pollUntil(async () => (await metric('pushcore_app_manager_up')) === 0, 'app manager down', 8_000, 200);
    const r = raw(server.port, a.key);
    await r.established();
    assertEq(await status(sdk(server.port, a).trigger('public-news', 'while-down', {})), 200, 'publish on a cached app');
    const t0 = Date.now();
    assertEq(await raw(server.port, 'india-key').closeCode(), 4001, 'unknown key while down');
    assert(Date.now() - t0 < 1_500, `refused at once, took ${Date.now() - t0} ms`);
    assertEq(await up(), '200 DEGRADED', '/up while down');
    await pollUntil(() => server.tail.some((l) => /msg=app_manager_refusing_unknown_keys/.test(l)), 'one refusal log line', 12_000, 200);
    assertEq(pre.ws.readyState, WebSocket.OPEN, 'connected client during the outage');
    await db.launch();
    await insertApp(mkApp('india'));
    await pollUntil(async () => {
      const x = raw(server.port, 'india-key');
      const f = await x.frames.waitFor(() => true, 'first frame');
      x.ws.close();
      return f.event === 'pusher:connection_established';
    }, 'new app served after the database is back', 10_000, 300);
    assertEq(await up(), '200 OK', '/up after');
    r.ws.close();
    pre.ws.close();
    const lines = server.tail.filter((l) => /msg=app_manager_refusing_unknown_keys/.test(l)).length;
    assert(lines >= 1 && lines <= 3, `refusal log lines: ${lines}`);
  }],
  ...(driver === 'postgres' ? [['LISTEN/NOTIFY: with notify_channel, changes apply at once, long before the TTL', async () => {
    // The trigger of docs/APP_MANAGERS.md; a node with a 300 s TTL, so only the notification can
    // explain a change seen within seconds.
    await db.sql(`CREATE OR REPLACE FUNCTION pushcore_app_changed() RETURNS trigger AS $$
      BEGIN PERFORM pg_notify('pushcore_apps', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END); RETURN NULL; END
      $$ LANGUAGE plpgsql`);
    await db.sql(`CREATE TRIGGER pushcore_app_changed AFTER INSERT OR UPDATE OR DELETE ON applications FOR EACH ROW EXECUTE FUNCTION pushcore_app_changed()`);
    const slow = await startServer(dbEnv({ CACHE_TTL_SECONDS: '300' }), { ...baseConfig, database: { postgres: { notify_channel: 'pushcore_apps' } } }, 'pushcore-notify');
    try {
      const k = mkApp('kilo');
      await insertApp(k);
      const r = raw(slow.port, k.key);
      await r.established();
      await db.sql(`UPDATE applications SET secret = 'kilo-rotated' WHERE id = 'kilo-id'`);
      await pollUntil(async () => (await status(sdk(slow.port, k, 'kilo-rotated').trigger('x', 'y', {}))) === 200, 'new secret accepted via NOTIFY', 3_000, 100);
      await db.sql(`UPDATE applications SET enabled = FALSE WHERE id = 'kilo-id'`);
      assertEq(await r.closeCode(3_000), 4003, 'disabled via NOTIFY');
      const l = mkApp('lima');
      assertEq(await raw(slow.port, l.key).closeCode(), 4001, 'lima before its row');
      await insertApp(l); // its negative entry (30 s with this TTL) is dropped by the notification
      // The notification is asynchronous: a connect racing it still meets the negative entry.
      let r2 = null;
      await pollUntil(async () => {
        const r = raw(slow.port, l.key);
        const f = await r.frames.waitFor(() => true, 'first frame');
        if (f.event === 'pusher:connection_established') r2 = r;
        else r.ws.close();
        return r2 !== null;
      }, 'lima served via NOTIFY, long before its 30 s negative entry expires', 3_000, 100);
      await db.sql(`DELETE FROM applications WHERE id = 'lima-id'`);
      assertEq(await r2.closeCode(3_000), 4001, 'deleted via NOTIFY');
    } finally {
      await slow.stop();
    }
  }]] : []),
  ['Prometheus: lookups, queries, latency histogram, errors', async () => {
    assert((await metric('pushcore_app_manager_lookups_total', 'result="hit"')) > 0, 'hits');
    assert((await metric('pushcore_app_manager_queries_total')) > 0, 'queries');
    assert((await metric('pushcore_app_manager_errors_total')) > 0, 'errors (the outage)');
    assert((await metric('pushcore_app_manager_query_duration_seconds_count')) > 0, 'latency samples');
    assertEq(await metric('pushcore_app_manager_up'), 1, 'up');
  }],
];

// ---------------------------------------------------------------- runner

let failed = 0;
const cleanup = () => {
  for (const p of children) p.proc && p.proc.exitCode === null && p.proc.kill('SIGKILL');
  if (db) db.killNow();
};
process.on('exit', cleanup);
try {
  db = driver === 'mysql' ? await MariaDb.start({ dir: `${scratch}/mariadb` }) : await Postgres.start({ dir: `${scratch}/postgres` });
} catch (e) {
  console.log(`FAIL ${driver}: cannot start the database: ${e.message}`);
  process.exit(1);
}
for (const [name, fn] of scenarios) {
  const t0 = Date.now();
  try {
    await withTimeout(fn(), 30_000, name);
    console.log(`ok   ${driver}: ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${driver}: ${name}: ${e.message}`);
    if (server) console.log(`  server log tail:\n    ${server.tail.slice(-15).join('\n    ')}`);
  }
}
for (const p of children) await p.stop();
await db.stop();
console.log(failed ? `${failed} of ${scenarios.length} scenarios failed` : `all ${scenarios.length} scenarios passed`);
process.exit(failed ? 1 : 0);
