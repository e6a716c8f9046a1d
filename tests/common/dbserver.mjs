// What the throwaway database servers of the app-manager suites share (postgres.mjs,
// mariadb.mjs): bounded commands, the server process with its log tail, a readiness loop that
// fails at once (with the log) when the process exits early, and stop / kill / restart.
import { execFile, spawn } from 'node:child_process';

import { sleep } from './testkit.mjs';

export const READY_MS = 30_000;
export const SQL_MS = 20_000;
const STOP_MS = 10_000;

/// Runs a command, bounded; resolves with stdout, rejects with an Error carrying stderr.
export function run(bin, argv, ms, opts = {}) {
  return new Promise((resolve, reject) =>
    execFile(bin, argv, { timeout: ms, maxBuffer: 16 << 20, ...opts }, (e, out, err) => {
      const shown = argv.filter((a) => !a.startsWith('--socket')).join(' ').slice(0, 200);
      if (e) reject(new Error(`${bin.split('/').pop()} ${shown}: ${(err || e.message).trim()}`));
      else resolve(out);
    }));
}

export class DbServer {
  /// `name`: for messages; `port`: kept across kill() / restart().
  constructor(name, port) {
    this.name = name;
    this.host = '127.0.0.1';
    this.port = port;
    this.proc = null;
    this.exited = null;
    this.output = ''; // the last 8 KB of the server's stderr
  }

  get running() {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /// The server's own log (a subclass may override with its log file).
  logTail() {
    return this.output;
  }

  /// Spawns `bin args` (`opts`: e.g. uid/gid) and waits until `probe()` resolves, at most
  /// READY_MS; an early exit fails at once with the log's tail.
  async spawnAndWait(bin, args, opts, probe) {
    this.output = '';
    this.proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    this.proc.stderr.on('data', (d) => {
      this.output = (this.output + d.toString()).slice(-8000);
    });
    this.exited = new Promise((r) => this.proc.once('exit', r));
    let spawnError = null;
    this.proc.once('error', (e) => {
      spawnError = e;
    });
    const deadline = Date.now() + READY_MS;
    let last = '';
    for (;;) {
      if (spawnError) throw new Error(`cannot start ${bin}: ${spawnError.message}`);
      if (!this.running) throw new Error(`${this.name} exited early (${this.proc.exitCode ?? this.proc.signalCode}):\n${this.logTail()}`);
      try {
        await probe();
        return;
      } catch (e) {
        last = e.message;
      }
      if (Date.now() > deadline) {
        await this.kill(); // never leave a half-started server behind
        throw new Error(`timed out after ${READY_MS} ms waiting for ${this.name} on ${this.port} (last: ${last})\n${this.logTail()}`);
      }
      await sleep(100);
    }
  }

  /// Sends `signal`, then SIGKILL after 10 s; resolves once the process is gone.
  async signalAndWait(signal) {
    if (!this.running) return;
    this.proc.kill(signal);
    const timer = new Promise((r) => setTimeout(() => r('timeout'), STOP_MS));
    if ((await Promise.race([this.exited, timer])) === 'timeout' && this.running) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  /// A clean shutdown.
  stop() {
    return this.signalAndWait('SIGTERM');
  }

  /// An outage: clients see their connections drop.
  kill() {
    return this.signalAndWait('SIGKILL');
  }

  /// SIGKILL without waiting (process exit handlers).
  killNow() {
    if (this.running) this.proc.kill('SIGKILL');
  }

  /// The same data directory and port again, after stop() or kill().
  async restart() {
    await this.stop();
    await this.launch();
  }
}
