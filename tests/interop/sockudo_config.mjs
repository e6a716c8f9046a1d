#!/usr/bin/env node
// Drop-in configs: pushcore started the way an operator replacing Sockudo or Soketi would start
// it, driven by the real pusher-js client, Laravel Echo (on pusher-js) and the real `pusher`
// server SDK.
//
//   node sockudo_config.mjs --server /path/to/pushcore
//
// sockudo-toml / sockudo-json: a copy of Sockudo's shipped config/config.toml / config.json
//   (tests/data/sockudo, commit 7040dc04), unchanged except the metrics port (9601 -> 0, so
//   parallel runs do not collide); the listen port comes from the env override PORT=0. The
//   server must start with only the one "not supported" warning; pusher-js connects, subscribes
//   to a public and a private channel (signed with the SDK) and receives an event published
//   with the SDK on each; then Laravel Echo does the same with channel() / private() and
//   listen('.greeting').
// soketi-env / sockudo-env: no config file, only Soketi's SOKETI_* (resp. Sockudo's) environment
//   variables (default app credentials, port, metrics port, ...); the same pusher-js and Echo
//   drives.
// One line per scenario; exit code 1 when any fails.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import PusherClient from 'pusher-js';
import PusherServer from 'pusher';

import { Inbox, RUN, withTimeout } from './harness.mjs';
import { PushcoreProcess } from '../common/testkit.mjs';

const args = process.argv.slice(2);
const serverBin = args[args.indexOf('--server') + 1];
if (!args.includes('--server') || !serverBin) {
  console.error('usage: node sockudo_config.mjs --server /path/to/pushcore');
  process.exit(2);
}
PusherClient.logToConsole = false;

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', 'data', 'sockudo');
const SCENARIO_TIMEOUT_MS = 15_000;

// `text` with every occurrence of `from` replaced; throws if there is none (the copy changed).
function patch(text, from, to, what) {
  if (!text.includes(from)) throw new Error(`${what}: "${from}" not found in the Sockudo file`);
  return text.split(from).join(to);
}

// Connects pusher-js (then Laravel Echo, driveEcho), subscribes to a public and a private channel and receives one event
// published with the SDK on each. `app` is {id, key, secret}; `port` the server's port.
async function drive(port, app) {
  const sdk = new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false, timeout: 5_000 });
  const client = new PusherClient(app.key, {
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    cluster: 'mt1',
    disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, sdk.authorizeChannel(socketId, channelName));
        } catch (e) {
          callback(e, null);
        }
      },
    },
  });
  try {
    const states = new Inbox('pusher-js states');
    client.connection.bind('state_change', (s) => states.push(s.current));
    await states.waitFor((s) => s === 'connected', 'pusher-js connected');
    for (const name of [`public-${RUN}`, `private-${RUN}`]) {
      const events = new Inbox(`${name} events`);
      const channel = client.subscribe(name);
      channel.bind_global((event, data) => events.push({ event, data }));
      await events.waitFor((e) => e.event === 'pusher:subscription_succeeded', `subscription_succeeded(${name})`);
      const response = await sdk.trigger(name, 'greeting', { text: `hello ${name}` });
      if (response.status !== 200) throw new Error(`trigger ${name}: HTTP ${response.status}`);
      const got = await events.waitFor((e) => e.event === 'greeting', `greeting on ${name}`);
      if (got.data?.text !== `hello ${name}`) throw new Error(`greeting on ${name}: got ${JSON.stringify(got.data)}`);
    }
  } finally {
    client.disconnect();
  }
}

// Laravel Echo (tests/browser's copy: `scripts/setup.sh` installs it there) on pusher-js, the way
// a Laravel app uses it: public and private channels, `.listen('.event')` for SDK events.
async function loadEcho() {
  const file = join(here, '..', 'browser', 'node_modules', 'laravel-echo', 'dist', 'echo.js');
  return (await import(pathToFileURL(file).href)).default;
}

async function driveEcho(port, app) {
  const Echo = await loadEcho();
  const sdk = new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: false, timeout: 5_000 });
  const echo = new Echo({
    broadcaster: 'pusher',
    key: app.key,
    cluster: 'mt1',
    wsHost: '127.0.0.1',
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    Pusher: PusherClient,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, sdk.authorizeChannel(socketId, channelName));
        } catch (e) {
          callback(e, null);
        }
      },
    },
  });
  try {
    for (const [kind, name] of [['channel', `echo-public-${RUN}`], ['private', `echo-${RUN}`]]) {
      const got = new Inbox(`Echo ${kind}(${name})`);
      const ch = kind === 'channel' ? echo.channel(name) : echo.private(name);
      ch.subscribed(() => got.push({ subscribed: true }))
        .error((e) => got.push({ error: e }))
        .listen('.greeting', (data) => got.push({ data }));
      const first = await got.waitFor(() => true, `Echo ${kind}() subscribed`);
      if (!first.subscribed) throw new Error(`Echo ${kind}(${name}): ${JSON.stringify(first)}`);
      const wire = kind === 'channel' ? name : `private-${name}`;
      const response = await sdk.trigger(wire, 'greeting', { text: `hello ${wire}` });
      if (response.status !== 200) throw new Error(`trigger ${wire}: HTTP ${response.status}`);
      const ev = await got.waitFor((x) => x.data, `Echo listen('.greeting') on ${wire}`);
      if (ev.data.text !== `hello ${wire}`) throw new Error(`Echo greeting on ${wire}: got ${JSON.stringify(ev.data)}`);
    }
  } finally {
    echo.disconnect();
  }
}

// The config warnings the server logged at start-up (after the listening line).
async function startupWarnings(server) {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return server.tail.filter((line) => /\bmsg=config_warning\b/.test(line));
}

async function sockudoFile(fileName) {
  let text = readFileSync(join(dataDir, fileName), 'utf8');
  text = fileName.endsWith('.toml') ? patch(text, 'port = 9601', 'port = 0', 'metrics port') : patch(text, '"port": 9601', '"port": 0', 'metrics port');
  const server = new PushcoreProcess(serverBin, `pushcore (${fileName})`);
  try {
    const port = await server.start({ fileName, text }, { PORT: '0' });
    const warnings = await startupWarnings(server);
    if (warnings.length !== 1 || !warnings[0].includes('Sockudo options not supported by this server')) {
      throw new Error(`expected one "not supported" warning, got:\n    ${warnings.join('\n    ')}`);
    }
    if (!server.tail.some((l) => /\bmsg=listening\b/.test(l) && l.includes(fileName))) throw new Error('listening line does not name the config file');
    await drive(port, { id: 'app-id', key: 'app-key', secret: 'app-secret' });
    await driveEcho(port, { id: 'app-id', key: 'app-key', secret: 'app-secret' });
  } catch (e) {
    e.serverTail = server.tail.slice(-15);
    throw e;
  } finally {
    await server.stop();
  }
}

// No config file, only environment variables (`env`), as a Soketi or Sockudo container is
// usually configured. No config warning expected.
async function envOnly(label, env, app) {
  const server = new PushcoreProcess(serverBin, `pushcore (${label})`);
  try {
    const port = await server.start(null, env);
    const warnings = await startupWarnings(server);
    if (warnings.length) throw new Error(`unexpected config warnings:\n    ${warnings.join('\n    ')}`);
    const listening = server.tail.find((l) => /\bmsg=listening\b/.test(l)) || '';
    if (!listening.includes(`app_key=${app.key}`)) throw new Error('listening line does not name the env app key');
    if (listening.includes(app.secret)) throw new Error('the env app secret is logged');
    await drive(port, app);
    await driveEcho(port, app);
  } catch (e) {
    e.serverTail = server.tail.slice(-15);
    throw e;
  } finally {
    await server.stop();
  }
}

const soketiApp = { id: 'soketi-id', key: 'soketi-key', secret: 'soketi-secret' };
const sockudoApp = { id: 'sockudo-id', key: 'sockudo-key', secret: 'sockudo-secret' };

const scenarios = [
  ['sockudo-toml', () => sockudoFile('config.toml')],
  ['sockudo-json', () => sockudoFile('config.json')],
  [
    'soketi-env',
    () =>
      envOnly(
        'Soketi env',
        {
          SOKETI_DEFAULT_APP_ID: soketiApp.id,
          SOKETI_DEFAULT_APP_KEY: soketiApp.key,
          SOKETI_DEFAULT_APP_SECRET: soketiApp.secret,
          SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
          SOKETI_DEFAULT_APP_MAX_CONNS: '-1',
          SOKETI_PORT: '0',
          SOKETI_METRICS_SERVER_PORT: '0',
          SOKETI_DEBUG: '1',
          SOKETI_PRESENCE_MAX_MEMBERS: '50',
          SOKETI_HTTP_MAX_REQUEST_SIZE: '1',
        },
        soketiApp,
      ),
  ],
  [
    'sockudo-env',
    () =>
      envOnly(
        'Sockudo env',
        {
          SOCKUDO_DEFAULT_APP_ID: sockudoApp.id,
          SOCKUDO_DEFAULT_APP_KEY: sockudoApp.key,
          SOCKUDO_DEFAULT_APP_SECRET: sockudoApp.secret,
          SOCKUDO_DEFAULT_APP_ENABLE_CLIENT_MESSAGES: 'true',
          PORT: '0',
          METRICS_PORT: '0',
          DEBUG: 'false',
        },
        sockudoApp,
      ),
  ],
];

let failed = 0;
for (const [name, fn] of scenarios) {
  const started = Date.now();
  try {
    await withTimeout(fn(), SCENARIO_TIMEOUT_MS, name);
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
    if (e.serverTail) console.log(`  server log:\n    ${e.serverTail.join('\n    ')}`);
  }
}
process.exit(failed ? 1 : 0);
