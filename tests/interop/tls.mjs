#!/usr/bin/env node
// TLS interop: pushcore with `ssl.enabled` against the real pusher-js client (forceTLS, wssPort)
// and the real `pusher` SDK (useTLS), trusting a test CA generated now with the openssl CLI.
//
//   node tls.mjs --server /path/to/pushcore
//
// The CA must be known when node starts (NODE_EXTRA_CA_CERTS is read once), so the script makes
// the certificates, then runs itself again as a child with NODE_EXTRA_CA_CERTS set.
// Scenarios: wss + https end to end (private, presence, publish, client events, /up); the
// certificate is really verified (an untrusting client fails); a plain ws:// client and a plain
// HTTP request are refused cleanly and counted; a TLS 1.1-only client is refused; a silent TCP
// client is dropped at the handshake deadline; bad certificate/key/passphrase fail at start with
// a clear message. One line per scenario; exit code 1 when any fails.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

import PusherClient from 'pusher-js';
import PusherServer from 'pusher';
import WebSocket from 'ws';

import { APP, Inbox, RUN, ServerProcess, assert, assertEq, fmt, serverConfig, appConfig, withTimeout, WAIT_MS } from './harness.mjs';

const args = process.argv.slice(2);
const argValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const serverBin = argValue('--server');
if (!serverBin) {
  console.error('usage: node tls.mjs --server /path/to/pushcore');
  process.exit(2);
}

// ---------------------------------------------------------------- parent: certificates, then the child

function openssl(argv, dir) {
  const r = spawnSync('openssl', argv, { cwd: dir, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`openssl ${argv.join(' ')} failed: ${r.error ? r.error.message : r.stderr}`);
}

function makeCertificates(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  // Test CA.
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pushcore test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  // Server certificate for localhost / 127.0.0.1 signed by it.
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf'], dir);
  // The same key encrypted with a passphrase (ssl.passphrase).
  openssl(['pkey', '-in', 'server.key', '-aes256', '-passout', 'pass:test-passphrase', '-out', 'server-enc.key'], dir);
  // A second, unrelated key (key/certificate mismatch).
  openssl(['genpkey', '-algorithm', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'other.key'], dir);
}

if (!args.includes('--child')) {
  if (spawnSync('openssl', ['version']).status !== 0) {
    console.error('tls.mjs: the openssl CLI is required (apt-get install openssl)');
    process.exit(1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pushcore-tls-'));
  let code = 1;
  try {
    makeCertificates(dir);
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args, '--child', '--certs', dir], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    });
    code = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  } catch (e) {
    console.error(`tls.mjs: ${e.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}

// ---------------------------------------------------------------- child: the scenarios

const certs = argValue('--certs');
const cert = (name) => join(certs, name);
const caPem = readFileSync(cert('ca.pem'));

PusherClient.logToConsole = false;

function tlsServerConfig(ssl = {}, top = {}) {
  return serverConfig({
    apps: [appConfig()],
    handshake_timeout: 1,
    ssl: { enabled: true, cert_path: cert('server.pem'), key_path: cert('server-enc.key'), passphrase: 'test-passphrase', ca_path: cert('ca.pem'), ...ssl },
    ...top,
  });
}

function sdk(port) {
  return new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(port), useTLS: true, timeout: 5_000 });
}

function tlsClient(port, auth, { presence, name = 'client' } = {}) {
  const p = new PusherClient(APP.key, {
    wsHost: '127.0.0.1',
    wsPort: port,
    wssPort: port,
    forceTLS: true,
    enabledTransports: ['ws', 'wss'],
    cluster: 'mt1',
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, auth.authorizeChannel(socketId, channelName, channelName.startsWith('presence-') ? presence : undefined));
        } catch (e) {
          callback(e, null);
        }
      },
    },
  });
  const c = { name, pusher: p, states: new Inbox(`${name} states`), closes: new Inbox(`${name} closes`) };
  p.connection.bind('state_change', (s) => c.states.push(s.current));
  return c;
}

function subscribe(c, channel) {
  const events = new Inbox(`${c.name} ${channel}`);
  const ch = c.pusher.subscribe(channel);
  ch.bind_global((event, data) => events.push({ event, data }));
  return { ch, events, ok: events.waitFor((e) => e.event === 'pusher:subscription_succeeded', `${channel} subscription_succeeded`) };
}

async function metric(server, name) {
  const text = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.metricsPort, path: '/metrics' }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

async function pollMetric(server, name, pred, label) {
  const deadline = Date.now() + WAIT_MS;
  let v;
  while (Date.now() < deadline) {
    v = await metric(server, name);
    if (v !== undefined && pred(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${label}: ${name} is ${fmt(v)}`);
}

// Resolves with how a connection attempt ended: { opened } or { error } / { closed }.
function settle(emitter, { open = 'open', ms = WAIT_MS } = {}) {
  return withTimeout(
    new Promise((resolve) => {
      emitter.once(open, () => resolve({ opened: true }));
      emitter.once('error', (e) => resolve({ error: e }));
      emitter.once('close', () => resolve({ closed: true }));
    }),
    ms,
    'the connection attempt to settle'
  );
}

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario('wss_end_to_end', async ({ server }) => {
  const port = server.port;
  const api = sdk(port);
  const a = tlsClient(port, api, { presence: { user_id: 'alice', user_info: { n: 1 } }, name: 'alice' });
  const b = tlsClient(port, api, { presence: { user_id: 'bob', user_info: { n: 2 } }, name: 'bob' });
  try {
    await a.states.waitFor((s) => s === 'connected', 'alice connected over wss');
    await b.states.waitFor((s) => s === 'connected', 'bob connected over wss');
    const priv = `private-tls-${RUN}`;
    const pres = `presence-tls-${RUN}`;
    const [ap, bp, apr] = [subscribe(a, priv), subscribe(b, priv), subscribe(a, pres)];
    await Promise.all([ap.ok, bp.ok, apr.ok]);
    const bpr = subscribe(b, pres);
    const okB = await bpr.ok;
    assertEq(okB.data.count, 2, 'presence count seen by bob');
    await apr.events.waitFor((e) => e.event === 'pusher:member_added' && e.data.id === 'bob', 'member_added(bob) at alice');
    // HTTPS API through the SDK (useTLS), fan-out to both subscribers over wss.
    const payload = { big: 'x'.repeat(40_000), n: 1 }; // spans several TLS records
    const res = await api.trigger(priv, 'sdk-event', payload);
    assertEq(res.status, 200, 'trigger status');
    for (const s of [ap, bp]) {
      const ev = await s.events.waitFor((e) => e.event === 'sdk-event', `sdk-event on ${s.events.name}`);
      assertEq(ev.data, payload, 'event data');
    }
    // Client event relayed over wss.
    ap.ch.trigger('client-hello', { from: 'alice' });
    const ce = await bp.events.waitFor((e) => e.event === 'client-hello', 'client-hello at bob');
    assertEq(ce.data, { from: 'alice' }, 'client event data');
    // Channel info over HTTPS.
    const info = await (await api.get({ path: `/channels/${pres}/users` })).json();
    assertEq(info.users.map((u) => u.id).sort(), ['alice', 'bob'], 'presence users over https');
    // /up over https.
    const up = await new Promise((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path: '/up', servername: 'localhost' }, (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode));
      }).on('error', reject);
    });
    assertEq(up, 200, 'GET /up over https');
  } finally {
    a.pusher.disconnect();
    b.pusher.disconnect();
  }
});

scenario('certificate_verified', async ({ server }) => {
  // A client that trusts only the system store (not the test CA) must fail verification:
  // the server really presents the configured certificate chain.
  const r = await settle(tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: [] }), { open: 'secureConnect' });
  assert(r.error, `an untrusting client connected: ${fmt(r)}`);
  assert(/self[- ]signed|unable to (get|verify)|certificate/i.test(r.error.message), `unexpected error: ${r.error.message}`);
  // And one that trusts the CA explicitly connects, with TLS >= 1.2.
  const s = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: [caPem] });
  const ok = await settle(s, { open: 'secureConnect' });
  assert(ok.opened, `trusted client failed: ${fmt(ok.error && ok.error.message)}`);
  assert(['TLSv1.2', 'TLSv1.3'].includes(s.getProtocol()), `protocol ${s.getProtocol()}`);
  s.destroy();
});

scenario('plain_clients_refused', async ({ server }) => {
  const before = (await metric(server, 'pushcore_tls_handshake_failures_total')) ?? 0;
  // A plain ws:// client on the TLS port: never opens, the socket is closed.
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/app/${APP.key}?protocol=7`);
  const r = await settle(ws);
  assert(!r.opened, 'a plain ws:// client was accepted on the TLS port');
  // A plain HTTP request: no HTTP answer, the connection ends.
  const h = await withTimeout(
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/up', agent: false }, (res) => resolve({ status: res.statusCode }));
      req.on('error', (e) => resolve({ error: e }));
    }),
    WAIT_MS,
    'the plain HTTP request to end'
  );
  assert(h.error, `plain HTTP got an answer: ${fmt(h)}`);
  await pollMetric(server, 'pushcore_tls_handshake_failures_total', (v) => v >= before + 2, 'two plain clients counted');
  // The server is fine afterwards.
  const s = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost' });
  assert((await settle(s, { open: 'secureConnect' })).opened, 'TLS connect after the plain clients failed');
  s.destroy();
  const lines = server.stderrTail.filter((l) => /msg=tls_handshake_failed/.test(l));
  assert(lines.length >= 1, 'no tls_handshake_failed log line');
  assert(lines.length <= 1, `${lines.length} tls_handshake_failed lines for one burst (want 1)`);
});

scenario('tls11_refused', async ({ server }) => {
  const before = (await metric(server, 'pushcore_tls_handshake_failures_total')) ?? 0;
  // SECLEVEL=0 lets this client's OpenSSL offer TLS 1.1 at all; the server must refuse it.
  const s = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  const r = await settle(s, { open: 'secureConnect' });
  assert(!r.opened, `a TLS 1.1 client connected (${s.getProtocol && s.getProtocol()})`);
  // The refusal must come from the server (a protocol_version alert), seen in its counter.
  await pollMetric(server, 'pushcore_tls_handshake_failures_total', (v) => v >= before + 1, 'TLS 1.1 refusal counted');
  assert(r.error, 'no error for the TLS 1.1 client');
});

scenario('handshake_deadline', async ({ server }) => {
  // A TCP client that never starts the handshake is dropped after handshake_timeout (1 s here).
  const sock = net.connect({ host: '127.0.0.1', port: server.port });
  await withTimeout(new Promise((resolve) => sock.once('connect', resolve)), WAIT_MS, 'tcp connect');
  await withTimeout(new Promise((resolve) => sock.once('close', resolve)), WAIT_MS, 'the server to drop a silent client');
});

scenario('bad_files_fail_at_start', async () => {
  const cases = [
    [{ cert_path: cert('missing.pem') }, /ssl\.cert_path: cannot read .*missing\.pem/],
    [{ key_path: cert('missing.key'), passphrase: '' }, /ssl\.key_path: cannot read .*missing\.key/],
    [{ key_path: cert('other.key'), passphrase: '' }, /ssl\.key_path: .*(does not match|mismatch)/i],
    [{ passphrase: 'wrong' }, /ssl\.key_path: /],
    [{ cert_path: cert('ext.cnf') }, /ssl\.cert_path: /],
  ];
  for (const [ssl, re] of cases) {
    const s = new ServerProcess(serverBin, tlsServerConfig(ssl));
    let err;
    try {
      await s.start();
    } catch (e) {
      err = e;
    }
    const exit = await withTimeout(s.exited, WAIT_MS, 'the server to exit');
    await s.stop();
    assert(err, `server started with ${fmt(ssl)}`);
    assertEq(exit.code, 2, `exit code with ${fmt(ssl)}`);
    const text = s.stderrTail.join('\n');
    assert(re.test(text), `no clear message for ${fmt(ssl)}: ${text}`);
  }
});

scenario('redirect_http', async () => {
  // ssl.redirect_http: a plain listener that answers 308 to the same target on the TLS port,
  // keeping the Host's name; the TLS port itself is unchanged.
  const s = new ServerProcess(serverBin, tlsServerConfig({ redirect_http: true, http_port: 0 }));
  const seen = new Promise((resolve) => {
    s.onLine((line) => {
      const m = /\bmsg=http_redirect_listening\b.*\bport=(\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  try {
    const tlsPort = await s.start();
    const httpPort = await withTimeout(seen, WAIT_MS, 'msg=http_redirect_listening');
    const get = (headers) =>
      withTimeout(
        new Promise((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port: httpPort, path: '/apps/app-id/channels?x=1&y=%20', headers }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location }));
          });
          req.on('error', reject);
          req.end();
        }),
        WAIT_MS,
        'the redirect response'
      );
    assertEq(await get({ host: `localhost:${httpPort}` }), { status: 308, location: `https://localhost:${tlsPort}/apps/app-id/channels?x=1&y=%20` }, 'redirect with Host localhost:port');
    assertEq(await get({ host: 'example.com' }), { status: 308, location: `https://example.com:${tlsPort}/apps/app-id/channels?x=1&y=%20` }, 'redirect with a bare Host');
    assertEq((await get({ host: 'evil.example/x@y' })).location, `https://localhost:${tlsPort}/apps/app-id/channels?x=1&y=%20`, 'a malformed Host is not echoed');
    // The TLS port still answers.
    const up = await withTimeout(
      new Promise((resolve, reject) => {
        https.get({ host: '127.0.0.1', port: tlsPort, path: '/up', servername: 'localhost' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        }).on('error', reject);
      }),
      WAIT_MS,
      'GET /up over TLS'
    );
    assertEq(up, 200, 'GET /up on the TLS port');
  } finally {
    await s.stop();
  }
});

// ---------------------------------------------------------------- runner

const server = new ServerProcess(serverBin, tlsServerConfig());
let failed = 0;
try {
  await server.start();
  for (const { name, fn } of scenarios) {
    try {
      await withTimeout(fn({ server }), 20_000, `scenario ${name}`);
      console.log(`ok    ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL  ${name}: ${e && e.stack ? e.stack : e}`);
    }
  }
} catch (e) {
  failed++;
  console.log(`FAIL  startup: ${e.message}\n${server.stderrTail.join('\n')}`);
} finally {
  await server.stop();
}
if (failed) console.log(server.stderrTail.slice(-40).join('\n'));
console.log(`${scenarios.length - failed}/${scenarios.length} TLS scenarios passed`);
process.exit(failed ? 1 : 0);
