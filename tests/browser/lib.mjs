// Shared harness for the browser test (run.mjs) and the Laravel Echo test (echo.mjs):
// spawns pushcore with a temporary config and the example auth server on free ports, and
// offers small bounded-wait helpers. Every wait has a deadline; nothing sleeps blindly.

import { randomBytes, createHash, createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import PusherServer from 'pusher';

import { assertEq, ChildProcess, Inbox, PushcoreProcess, WAIT_MS, withTimeout } from '../common/testkit.mjs';

export { assert, assertEq, fmt, Inbox, pollUntil, TimeoutError, WAIT_MS, withTimeout } from '../common/testkit.mjs';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '..', '..');
export const EXAMPLE_DIR = join(REPO, 'examples', 'auth-server');

export const APP = { id: 'app-id', key: 'app-key', secret: `secret-${randomBytes(8).toString('hex')}` };

// ---------------------------------------------------------------- arguments

export function parseArgs(argv, { name, extra = {} } = {}) {
  const out = { only: null, verbose: !!process.env.BROWSER_TEST_VERBOSE, ...extra };
  const usage = (err) => {
    if (err) console.error(`error: ${err}`);
    console.error(`usage: node ${name} --server /path/to/pushcore [--only a,b] [--verbose]${'artifacts' in extra ? ' [--artifacts DIR]' : ''}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--server') out.server = val();
    else if (a === '--only') out.only = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--verbose') out.verbose = true;
    else if (a === '--artifacts' && 'artifacts' in extra) out.artifacts = val();
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!out.server) usage('--server is required');
  if (!existsSync(out.server)) usage(`no such file: ${out.server}`);
  return out;
}

// ---------------------------------------------------------------- helpers

// Chromium for the browser suites (Debian's package, or CHROMIUM_PATH).
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// Start of a browser suite: a whole-run watchdog (the suite must end well inside CTest's
// timeout, whatever hangs) and the Chromium check. Returns the watchdog timer (clear it at the
// end).
export function guardRun(totalDeadlineMs) {
  const watchdog = setTimeout(() => {
    console.log(`FAIL  total deadline of ${totalDeadlineMs} ms exceeded`);
    process.exit(1);
  }, totalDeadlineMs);
  watchdog.unref();
  if (!existsSync(CHROMIUM)) {
    console.log(`FAIL  no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
    process.exit(1);
  }
  return watchdog;
}

export const marker = (p) => `${p}-${randomBytes(4).toString('hex')}`;


// Runs named scenarios in order, each under its own deadline; prints one line per scenario and
// a closing "N passed, N failed" line. Returns the number of failures.
export async function runScenarios(scenarios, { only, ctx, onFailure, timeoutMs = 15_000 }) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const s of scenarios) {
    if (only && !only.includes(s.name)) {
      skipped++;
      console.log(`skip  ${s.name}`);
      continue;
    }
    const t0 = Date.now();
    try {
      await withTimeout(Promise.resolve().then(() => s.fn(ctx)), s.timeoutMs ?? timeoutMs, `scenario ${s.name}`);
      passed++;
      console.log(`ok    ${s.name}  ${s.title}  (${Date.now() - t0} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL  ${s.name}  ${s.title}  (${Date.now() - t0} ms)\n      ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 4).join('\n      ')}`);
      if (onFailure) await onFailure(s, e).catch(() => {});
    }
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failed;
}

// ---------------------------------------------------------------- processes

// pushcore with a temporary config: client events and user authentication enabled, no metrics
// listener (avoids port clashes), free port.
export class Pushcore extends PushcoreProcess {
  start() {
    return super.start({
      host: '127.0.0.1',
      port: 0,
      activity_timeout: 120,
      metrics: { enabled: false },
      app_manager: { array: { apps: [{
        id: APP.id, key: APP.key, secret: APP.secret, enabled: true,
        policy: {
          limits: { max_client_events_per_second: 100 },
          features: { enable_client_messages: true, enable_user_authentication: true },
        },
      }] } },
    });
  }
}

// The example auth server (examples/auth-server/server.mjs) on a free port, configured through
// env vars exactly as a user would. Its stdout is JSON lines; `logs` keeps the parsed ones.
export class AuthServer extends ChildProcess {
  constructor({ pushcorePort, masterKey, requestTimeoutMs = 2000 }) {
    super('auth-server');
    this.pushcorePort = pushcorePort;
    this.masterKey = masterKey;
    this.requestTimeoutMs = requestTimeoutMs;
    this.logs = new Inbox('auth-server log');
    this.onLine((line) => {
      let j;
      try {
        j = JSON.parse(line);
      } catch {
        return;
      }
      this.logs.push(j);
    });
  }
  async start() {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AUTH_SERVER_HOST: '127.0.0.1',
      AUTH_SERVER_PORT: '0',
      PUSHER_APP_ID: APP.id,
      PUSHER_APP_KEY: APP.key,
      PUSHER_APP_SECRET: APP.secret,
      PUSHER_HOST: '127.0.0.1',
      PUSHER_PORT: String(this.pushcorePort),
      PUSHER_ENCRYPTION_MASTER_KEY_BASE64: this.masterKey,
      REQUEST_TIMEOUT_MS: String(this.requestTimeoutMs),
      DEMO_PUBLISH_INTERVAL_MS: '0', // tests publish explicitly
    };
    this.port = await this.spawn(process.execPath, [join(EXAMPLE_DIR, 'server.mjs')], { env, cwd: EXAMPLE_DIR },
      /"msg":"listening"/, (l) => JSON.parse(l).port);
    this.base = `http://127.0.0.1:${this.port}`;
    return this.port;
  }
  audits() {
    return this.logs.filter((l) => l.msg === 'auth_denied');
  }
  async login(username) {
    const password = { alice: 'alice-demo', bob: 'bob-demo' }[username];
    const res = await fetch(`${this.base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assertEq(res.status, 200, `login ${username} status`);
    const j = await res.json();
    return { token: j.token, user: j.user, cookie: (res.headers.get('set-cookie') || '').split(';')[0] };
  }
}

// ---------------------------------------------------------------- crypto the tests do on their own

export function makeSdk(port, masterKey) {
  return new PusherServer({
    appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1', port: String(port), useTLS: false,
    timeout: WAIT_MS, encryptionMasterKeyBase64: masterKey,
  });
}

export const hmacHex = (s) => createHmac('sha256', APP.secret).update(s).digest('hex');

// test-vectors.md §6: base64(SHA256(channel_name || master_key)).
export function sharedSecret(channel, masterKeyB64) {
  return createHash('sha256').update(Buffer.concat([Buffer.from(channel), Buffer.from(masterKeyB64, 'base64')])).digest();
}

export async function startStack(serverBin, opts = {}) {
  const masterKey = randomBytes(32).toString('base64');
  const pushcore = new Pushcore(serverBin);
  const port = await pushcore.start();
  const auth = new AuthServer({ pushcorePort: port, masterKey, ...opts });
  try {
    await auth.start();
  } catch (e) {
    await pushcore.stop();
    throw new Error(`${e.message}\n${auth.tail.slice(-20).join('\n')}`);
  }
  const sdk = makeSdk(port, masterKey);
  // Stops both; a pushcore that does not exit cleanly on SIGTERM (crash, sanitizer report) is
  // reported as a warning line with its last output (the scenarios already passed or failed).
  const stop = async () => {
    const [, ex] = await Promise.all([auth.stop(), pushcore.stop()]);
    if (ex && ex.code !== 0) {
      console.log(`# warning: pushcore exit on SIGTERM: code ${ex.code}, signal ${ex.signal}\n${pushcore.tail.slice(-30).join('\n')}`);
    }
  };
  const killNow = () => {
    auth.killNow();
    pushcore.killNow();
  };
  process.once('exit', killNow);
  return { pushcore, auth, sdk, masterKey, port, stop, killNow };
}
