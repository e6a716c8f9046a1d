// A throwaway redis-server on loopback for the cluster suites (tests/interop/cluster.mjs,
// sockudo_v2_cluster.mjs): a free port, no persistence, killed with SIGKILL (also to simulate
// an outage; start() again reuses the port, empty).
import { spawn } from 'node:child_process';
import net from 'node:net';

import { pollUntil } from './testkit.mjs';

/// A free TCP port on 127.0.0.1 (bound, then released).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/// True when a redis-server answers PING on `port` (with `auth`: any reply, NOAUTH included).
export function redisPing(port, auth = false) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    sock.setTimeout(500, () => sock.destroy());
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        sock.destroy();
        resolve(buf.startsWith('+PONG') || (auth && buf.startsWith('-NOAUTH')));
      }
    });
    sock.on('error', () => resolve(false));
    sock.on('close', () => resolve(false));
  });
}

export class Redis {
  // `extra`: more redis-server arguments (e.g. ['--requirepass', 'pw']); `auth`: the password
  // the readiness PING needs (then any reply proves it is up).
  constructor(bin, port, extra = [], { auth = false } = {}) {
    this.bin = bin;
    this.port = port;
    this.extra = extra;
    this.auth = auth;
    this.proc = null;
  }
  async start() {
    this.proc = spawn(this.bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...this.extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.once('error', (e) => console.log(`# cannot start ${this.bin}: ${e.message}`));
    await pollUntil(() => redisPing(this.port, this.auth), `redis-server on ${this.port}`, 10_000, 50);
  }
  get running() {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }
  /// SIGKILL without waiting (process exit handlers).
  killNow() {
    if (this.running) this.proc.kill('SIGKILL');
  }
  async kill() {
    if (this.running) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }
}

/// Sends one inline command to 127.0.0.1:`port` and resolves with the raw reply text (or null).
export function redisRaw(port, command, ms = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(ms, () => done(buf || null));
    sock.on('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d) => {
      buf += d.toString();
      // Bulk replies: wait for the announced length; simple replies end at the first CRLF.
      const m = /^\$(\d+)\r\n/.exec(buf);
      if ((m && buf.length >= m[0].length + Number(m[1]) + 2) || (!m && buf.includes('\r\n') && buf[0] !== '$' && buf[0] !== '*')) done(buf);
    });
    sock.on('error', () => done(null));
  });
}

/// A throwaway Redis Cluster on loopback: `primaries` primaries with `replicas` replicas each,
/// made by `redis-cli --cluster create` in a fresh directory, no persistence of data (the
/// nodes.conf files stay, so killAll() + startAll() brings the same cluster back, empty).
export class RedisCluster {
  constructor(bin, dir, { primaries = 3, replicas = 1, nodeTimeoutMs = 1000, extra = [] } = {}) {
    this.bin = bin;
    this.cli = bin.replace(/redis-server$/, 'redis-cli');
    this.dir = dir;
    this.primaries = primaries;
    this.replicas = replicas;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.extra = extra;
    this.nodes = []; // { port, proc, exited }
  }
  async start() {
    const { mkdirSync, rmSync } = await import('node:fs');
    rmSync(this.dir, { recursive: true, force: true });
    const count = this.primaries * (1 + this.replicas);
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      mkdirSync(`${this.dir}/${port}`, { recursive: true });
      this.nodes.push({ port, proc: null });
    }
    await this.startAll();
    const { execFile } = await import('node:child_process');
    await new Promise((resolve, reject) =>
      execFile(this.cli, ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(this.replicas), '--cluster-yes'], { timeout: 30_000 }, (e, out, err) =>
        e ? reject(new Error(`redis-cli --cluster create: ${e.message} ${err}`)) : resolve(out)));
    await this.waitOk();
  }
  async startNode(n) {
    n.proc = spawn(this.bin, ['--port', String(n.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(this.nodeTimeoutMs), '--dir', `${this.dir}/${n.port}`, '--logfile', 'redis.log', '--repl-diskless-sync-delay', '0', ...this.extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    n.exited = new Promise((r) => n.proc.once('exit', r));
    n.proc.once('error', (e) => console.log(`# cannot start ${this.bin}: ${e.message}`));
    await pollUntil(() => redisPing(n.port), `redis-server (cluster) on ${n.port}`, 10_000, 50);
  }
  async startAll() {
    for (const n of this.nodes) if (!this.isRunning(n)) await this.startNode(n);
  }
  isRunning(n) {
    return !!n.proc && n.proc.exitCode === null && n.proc.signalCode === null;
  }
  /// Every running node reports cluster_state:ok, and every replica is in sync with its primary.
  async waitOk(ms = 30_000) {
    await pollUntil(async () => {
      for (const n of this.nodes) {
        if (!this.isRunning(n)) continue;
        const info = await redisRaw(n.port, 'CLUSTER INFO');
        if (!info || !/cluster_state:ok/.test(info)) return false;
        // A replica that never synced cannot be promoted: wait for its link to the primary.
        const repl = await redisRaw(n.port, 'INFO replication');
        if (!repl || (/role:slave/.test(repl) && !/master_link_status:up/.test(repl))) return false;
      }
      return true;
    }, 'Redis Cluster state ok', ms, 100);
  }
  /// The seeds pushcore is given: every primary at creation time (redis://127.0.0.1:port).
  seeds() {
    return this.nodes.slice(0, this.primaries).map((n) => `redis://127.0.0.1:${n.port}`);
  }
  /// The port of the primary serving `slot` now (asked of a running node).
  async primaryOf(slot) {
    for (const n of this.nodes) {
      if (!this.isRunning(n)) continue;
      const text = await redisRaw(n.port, 'CLUSTER NODES');
      if (!text) continue;
      for (const line of text.split('\n')) {
        const f = line.trim().split(' ');
        if (f.length < 9 || !/master/.test(f[2]) || /fail/.test(f[2])) continue;
        for (const r of f.slice(8)) {
          const [lo, hi] = r.split('-').map(Number);
          if (slot >= lo && slot <= (hi === undefined || Number.isNaN(hi) ? lo : hi)) return Number(f[1].split(':')[1].split('@')[0]);
        }
      }
    }
    return null;
  }
  async kill(port) {
    const n = this.nodes.find((x) => x.port === port);
    if (n && this.isRunning(n)) {
      n.proc.kill('SIGKILL');
      await n.exited;
    }
  }
  async killAll() {
    await Promise.all(this.nodes.map((n) => this.kill(n.port)));
  }
  killNow() {
    for (const n of this.nodes) if (this.isRunning(n)) n.proc.kill('SIGKILL');
  }
}
