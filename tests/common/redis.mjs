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
