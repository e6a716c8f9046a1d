// A throwaway redis-server on loopback for the cluster suites (tests/interop/cluster.mjs,
// sockudo_v2_cluster.mjs): a free port, no persistence, killed with SIGKILL (also to simulate
// an outage; start() again reuses the port, empty).
import { execFile, spawn } from 'node:child_process';
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

/// redis-server arguments for TLS only on `port` (`tls`: { cert, key, ca, authClients }).
function tlsArgs(port, tls) {
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', tls.authClients ? 'yes' : 'no'];
}

/// Runs redis-cli against 127.0.0.1:`port` (TLS with the test CA's client certificate when
/// `tls`, AUTH when `password`); resolves with stdout, or null on failure.
export function redisCli(cli, port, argv, { tls = null, password = null, ms = 3000 } = {}) {
  const conn = ['-h', '127.0.0.1', '-p', String(port)];
  if (tls) conn.push('--tls', '--cacert', tls.ca, ...(tls.clientCert ? ['--cert', tls.clientCert, '--key', tls.clientKey] : []));
  if (password) conn.push('-a', password, '--no-auth-warning');
  return new Promise((resolve) => execFile(cli, [...conn, ...argv], { timeout: ms }, (e, out) => resolve(e ? null : out)));
}

export class Redis {
  // `extra`: more redis-server arguments (e.g. ['--requirepass', 'pw']); `auth`: the password
  // the readiness PING needs (then any reply proves it is up); `tls`: { cert, key, ca,
  // authClients, clientCert, clientKey } serves TLS only on the port.
  constructor(bin, port, extra = [], { auth = false, tls = null } = {}) {
    this.bin = bin;
    this.cli = bin.replace(/redis-server$/, 'redis-cli');
    this.port = port;
    this.extra = extra;
    this.auth = auth;
    this.tls = tls;
    this.proc = null;
  }
  async start() {
    const listen = this.tls ? tlsArgs(this.port, this.tls) : ['--port', String(this.port)];
    this.proc = spawn(this.bin, [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...this.extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.once('error', (e) => console.log(`# cannot start ${this.bin}: ${e.message}`));
    const ready = this.tls ? async () => (await redisCli(this.cli, this.port, ['PING'], { tls: this.tls })) !== null : () => redisPing(this.port, this.auth);
    await pollUntil(ready, `redis-server on ${this.port}`, 10_000, 50);
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

/// A throwaway Redis Cluster on loopback: `primaries` primaries with `replicas` replicas each,
/// made by `redis-cli --cluster create` in a fresh directory, no persistence of data (the
/// nodes.conf files stay, so killAll() + startAll() brings the same cluster back, empty).
export class RedisCluster {
  // `tls`: { cert, key, ca } (TLS only, also between the nodes); `password`: requirepass and
  // masterauth of every node.
  constructor(bin, dir, { primaries = 3, replicas = 1, nodeTimeoutMs = 1000, extra = [], tls = null, password = null } = {}) {
    this.bin = bin;
    this.cli = bin.replace(/redis-server$/, 'redis-cli');
    this.dir = dir;
    this.primaries = primaries;
    this.replicas = replicas;
    this.nodeTimeoutMs = nodeTimeoutMs;
    this.extra = extra;
    this.tls = tls;
    this.password = password;
    this.nodes = []; // { port, proc, exited }
  }
  /// redis-cli against node `port` with this cluster's TLS and password.
  run(port, argv, ms) {
    return redisCli(this.cli, port, argv, { tls: this.tls, password: this.password, ms });
  }
  async start() {
    const { mkdirSync, rmSync } = await import('node:fs');
    rmSync(this.dir, { recursive: true, force: true });
    const count = this.primaries * (1 + this.replicas);
    for (let i = 0; i < count; i++) {
      // Two ports per node: clients, and the cluster bus (its default, port + 10000, may be
      // past 65535 or taken). Released ports can repeat: all distinct.
      const taken = () => this.nodes.flatMap((n) => [n.port, n.busPort]);
      let port = await freePort();
      while (taken().includes(port)) port = await freePort();
      let busPort = await freePort();
      while (busPort === port || taken().includes(busPort)) busPort = await freePort();
      mkdirSync(`${this.dir}/${port}`, { recursive: true });
      this.nodes.push({ port, busPort, proc: null });
    }
    await this.startAll();
    const out = await this.run(this.nodes[0].port, ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(this.replicas), '--cluster-yes'], 30_000);
    if (out === null) throw new Error('redis-cli --cluster create failed');
    await this.waitOk();
  }
  async startNode(n) {
    const listen = this.tls ? [...tlsArgs(n.port, this.tls), '--tls-cluster', 'yes', '--tls-replication', 'yes'] : ['--port', String(n.port)];
    const auth = this.password ? ['--requirepass', this.password, '--masterauth', this.password] : [];
    n.proc = spawn(this.bin, [...listen, ...auth, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--cluster-enabled', 'yes', '--cluster-port', String(n.busPort), '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(this.nodeTimeoutMs), '--dir', `${this.dir}/${n.port}`, '--logfile', 'redis.log', '--repl-diskless-sync-delay', '0', ...this.extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    n.exited = new Promise((r) => n.proc.once('exit', r));
    n.proc.once('error', (e) => console.log(`# cannot start ${this.bin}: ${e.message}`));
    await pollUntil(async () => (await this.run(n.port, ['PING'])) !== null, `redis-server (cluster) on ${n.port}`, 10_000, 50);
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
        const info = await this.run(n.port, ['CLUSTER', 'INFO']);
        if (!info || !/cluster_state:ok/.test(info)) return false;
        // A replica that never synced cannot be promoted: wait for its link to the primary.
        const repl = await this.run(n.port, ['INFO', 'replication']);
        if (!repl || (/role:slave/.test(repl) && !/master_link_status:up/.test(repl))) return false;
      }
      return true;
    }, 'Redis Cluster state ok', ms, 100);
  }
  /// The seeds pushcore is given: every primary at creation time (redis[s]://[:pw@]127.0.0.1:port).
  seeds() {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return this.nodes.slice(0, this.primaries).map((n) => `${this.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${n.port}`);
  }
  /// The port of the primary serving `slot` now (asked of a running node).
  async primaryOf(slot) {
    for (const n of this.nodes) {
      if (!this.isRunning(n)) continue;
      const text = await this.run(n.port, ['CLUSTER', 'NODES']);
      if (!text) continue;
      for (const line of text.split('\n')) {
        const f = line.trim().split(' ');
        if (f.length < 9 || !/master/.test(f[2]) || /fail/.test(f[2])) continue;
        for (const r of f.slice(8)) {
          if (r.startsWith('[')) continue; // a slot being migrated
          const [lo, hi] = r.split('-').map(Number);
          if (slot >= lo && slot <= (hi === undefined || Number.isNaN(hi) ? lo : hi)) return Number(f[1].split(':')[1].split('@')[0]);
        }
      }
    }
    return null;
  }
  /// Moves `slot` (and its keys) to the primary on `toPort`, the way `redis-cli --cluster
  /// reshard` does: IMPORTING / MIGRATING, MIGRATE of the keys, SETSLOT NODE on every primary.
  /// `pauseMs`: time spent between MIGRATING/IMPORTING and moving the keys (clients then meet
  /// ASK for keys not on the source).
  async migrateSlot(slot, toPort, { pauseMs = 0 } = {}) {
    const fromPort = await this.primaryOf(slot);
    if (fromPort === toPort) return;
    const id = async (port) => (await this.run(port, ['CLUSTER', 'MYID'])).trim();
    const [fromId, toId] = [await id(fromPort), await id(toPort)];
    const must = async (port, argv) => {
      const out = await this.run(port, argv);
      if (out === null || /^(ERR|-)/.test(out)) throw new Error(`redis-cli -p ${port} ${argv.join(' ')}: ${out}`);
      return out;
    };
    await must(toPort, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId]);
    await must(fromPort, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId]);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    for (;;) {
      const keys = (await must(fromPort, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])).split('\n').filter((k) => k.length > 0);
      if (keys.length === 0) break;
      const auth = this.password ? ['AUTH', this.password] : [];
      await must(fromPort, ['MIGRATE', '127.0.0.1', String(toPort), '', '0', '5000', ...auth, 'KEYS', ...keys]);
    }
    for (const n of this.nodes) {
      if (!this.isRunning(n)) continue;
      const role = await this.run(n.port, ['ROLE']);
      if (role && role.startsWith('master')) await must(n.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', toId]);
    }
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
