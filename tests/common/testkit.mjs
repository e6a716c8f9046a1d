// Shared by the Node test suites (tests/interop, tests/webhooks, tests/browser): deadlines, an
// awaitable inbox, assertions, and child processes that announce readiness on a log line
// (pushcore prints `msg=listening ... port=N` first on stderr). Node built-ins only, so every
// suite can import it by relative path whatever its own node_modules hold.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { inspect, isDeepStrictEqual } from 'node:util';

export const WAIT_MS = 5_000; // default deadline for one awaited item
export const STARTUP_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------- deadlines and assertions

export class TimeoutError extends Error {}

export function withTimeout(promise, ms, label) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function fmt(v) {
  if (v instanceof Error) return v.message;
  return inspect(v, { depth: 6, breakLength: Infinity });
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export function assertEq(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) throw new Error(`${what}: expected ${fmt(expected)}, got ${fmt(actual)}`);
}

// Polls an async predicate until it returns a truthy value (bounded). For state that has no push
// notification (e.g. an unsubscribe being processed), observed through the HTTP API.
export async function pollUntil(fn, label, ms = WAIT_MS, interval = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new TimeoutError(`timed out after ${ms} ms polling for ${label} (last: ${fmt(last)})`);
    await sleep(interval);
  }
}

// Collects items (events, log lines) and lets callers await one that matches, with a deadline.
// Items that arrived before the wait started count too. `max` bounds the items kept.
export class Inbox {
  constructor(name, { waitMs = WAIT_MS, max = Infinity } = {}) {
    this.name = name;
    this.waitMs = waitMs;
    this.max = max;
    this.items = [];
    this.waiters = [];
  }
  push(item) {
    this.items.push(item);
    if (this.items.length > this.max) this.items.shift();
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }
  filter(pred = () => true) {
    return this.items.filter(pred);
  }
  count(pred = () => true) {
    return this.items.filter(pred).length;
  }
  waitFor(pred = () => true, label = 'item', ms = this.waitMs, { from = 0 } = {}) {
    const found = this.items.slice(from).find(pred);
    if (found !== undefined) return Promise.resolve(found);
    let w;
    const p = new Promise((resolve) => {
      w = { pred, resolve };
      this.waiters.push(w);
    });
    return withTimeout(p, ms, `${label} on ${this.name}`).finally(() => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) this.waiters.splice(i, 1);
    });
  }
}

// ---------------------------------------------------------------- child processes

// A child process whose output lines are kept (`lines`: the last `max`, stdout and stderr alike;
// `tail`: the same with stdout marked, for failure dumps). `spawn` resolves with the port parsed
// from the first line matching `readyRe`, and rejects if the process exits or fails first.
export class ChildProcess {
  constructor(label, { max = 2000 } = {}) {
    this.label = label;
    this.lines = new Inbox(`${label} output`, { max });
    this.tail = [];
    this.tailMax = max;
    this.proc = null;
    this.listeners = [];
  }

  onLine(fn) {
    this.listeners.push(fn);
  }

  spawn(cmd, args, opts, readyRe, parsePort) {
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    let onReady;
    const ready = new Promise((resolve, reject) => {
      onReady = (line) => {
        if (!readyRe.test(line)) return;
        const port = parsePort(line);
        if (port) resolve(port);
        else reject(new Error(`${this.label}: ready line without a port: ${line}`));
      };
      this.proc.once('error', (e) => reject(new Error(`cannot spawn ${cmd}: ${e.message}`)));
      this.exited.then(({ code, signal }) => reject(new Error(`${this.label} exited during startup (code ${code}, signal ${signal})`)));
    });
    for (const stream of ['stdout', 'stderr']) {
      let buf = '';
      this.proc[stream].setEncoding('utf8');
      this.proc[stream].on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          this.tail.push(stream === 'stdout' ? `[stdout] ${line}` : line);
          if (this.tail.length > this.tailMax) this.tail.shift();
          this.lines.push(line);
          onReady(line);
          for (const fn of this.listeners) fn(line);
        }
      });
    }
    return withTimeout(ready, STARTUP_TIMEOUT_MS, `${this.label} to start (its ready line)`);
  }

  get running() {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // Resident memory in KiB (Linux), or null.
  rssKiB() {
    try {
      const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : null;
    } catch {
      return null;
    }
  }

  // SIGTERM, then SIGKILL after `killAfterMs`; resolves with { code, signal } (null if never run).
  async stop(killAfterMs = 5_000) {
    if (!this.proc) return null;
    if (this.running) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), killAfterMs);
      this.exit = await this.exited;
      clearTimeout(t);
    } else {
      this.exit = await this.exited;
    }
    return this.exit;
  }

  // Synchronous last resort (process 'exit' handlers).
  killNow() {
    if (this.running) this.proc.kill('SIGKILL');
  }
}

// The variables pushcore reads as config overrides (README "Environment variables").
const ENV_OVERRIDES =
  /^(HOST|PORT|DEBUG|DEBUG_MODE|ACTIVITY_TIMEOUT|SHUTDOWN_GRACE_PERIOD|USER_AUTHENTICATION_TIMEOUT|WEBSOCKET_MAX_PAYLOAD_KB|SSL_.*|ADAPTER_DRIVER|REDIS_URL|DATABASE_.*|APP_MANAGER_.*|CACHE_TTL_SECONDS|METRICS_.*|RATE_LIMITER_.*|CORS_ORIGINS|WEBHOOK_BATCHING_.*|SOCKUDO_.*|SOKETI_.*)$/;

const portOf = (line) => Number((/\bport=(\d+)\b/.exec(line) || [])[1]);

// pushcore with `config` written to a temporary file. Resolves `start` with the WebSocket/API
// port; when the config enables metrics, also waits for `msg=metrics_listening` (metricsPort).
// The environment overrides pushcore reads (ENV_OVERRIDES) are removed
// from the inherited environment so the config file decides; `env` adds explicit ones.
export class PushcoreProcess extends ChildProcess {
  constructor(bin, label = 'pushcore', opts = {}) {
    super(label, opts);
    this.bin = resolvePath(bin); // absolute: the child runs in its temporary directory
    this.dir = null;
    this.port = null;
    this.metricsPort = null;
  }

  // `config`: an object (written as config.json), `{ fileName, text }` (a file written as is,
  // e.g. a TOML config; metrics assumed enabled), or null (no --config: the embedded default
  // and `env` only; metrics enabled unless `env` has SOKETI_METRICS_ENABLED=false).
  async start(config, env = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'pushcore-test-'));
    const args = [];
    let metrics = true;
    if (config && typeof config.text === 'string') {
      const cfgPath = join(this.dir, config.fileName);
      writeFileSync(cfgPath, config.text);
      args.push('--config', cfgPath);
    } else if (config) {
      const cfgPath = join(this.dir, 'config.json');
      writeFileSync(cfgPath, JSON.stringify(config, null, 2));
      args.push('--config', cfgPath);
      metrics = config.metrics === undefined || config.metrics.enabled !== false;
    } else {
      metrics = !['false', '0'].includes(String(env.METRICS_ENABLED ?? env.SOKETI_METRICS_ENABLED ?? 'true'));
    }
    const childEnv = { ...process.env };
    for (const k of Object.keys(childEnv)) {
      if (ENV_OVERRIDES.test(k)) delete childEnv[k];
    }
    Object.assign(childEnv, env);
    let metricsSeen;
    if (metrics) {
      metricsSeen = new Promise((resolve) => {
        this.onLine((line) => {
          if (/\bmsg=metrics_listening\b/.test(line)) {
            this.metricsPort = portOf(line) || null;
            resolve();
          } else if (/\bmsg=metrics_listen_failed\b/.test(line)) {
            resolve();
          }
        });
      });
    }
    // The temporary directory is the working directory: no config/config.toml is found there.
    this.port = await this.spawn(this.bin, args, { env: childEnv, cwd: this.dir }, /\bmsg=listening\b/, portOf);
    if (metricsSeen) await withTimeout(metricsSeen, STARTUP_TIMEOUT_MS, `${this.label}'s metrics listener`);
    return this.port;
  }

  async stop(killAfterMs = 5_000) {
    const exit = await super.stop(killAfterMs);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    return exit;
  }
}
