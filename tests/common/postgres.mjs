// A throwaway PostgreSQL server on loopback for the database app-manager suites: a fresh data
// directory made by initdb under the caller's folder (the build folder), a free port (kept
// across kill() / restart() so a connected pushcore reconnects to the same address, data
// intact), database `sockudo` and a role pushcore / pushcore-pw owning it. PostgreSQL refuses
// to run as root: initdb and the server run as the `postgres` system user (Debian's package
// creates it); the superuser logs in over the unix socket without password (trust).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DbServer, run, SQL_MS } from './dbserver.mjs';
import { freePort } from './redis.mjs';

/// Debian's server binaries (/usr/lib/postgresql/<major>/bin, not on PATH), newest first.
function pgBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) throw new Error('PostgreSQL is not installed (scripts/setup.sh installs it)');
  const majors = readdirSync(root).filter((d) => existsSync(`${root}/${d}/bin/postgres`)).sort((a, b) => Number(b) - Number(a));
  if (!majors.length) throw new Error(`no PostgreSQL server under ${root}`);
  return `${root}/${majors[0]}/bin`;
}

/// The system user the server runs as when we are root.
function serverUser() {
  if (process.getuid() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

export class Postgres extends DbServer {
  constructor(dir, port) {
    super('postgres', port);
    this.dir = dir;
    this.datadir = `${dir}/data`;
    this.socketDir = dir;
    this.user = 'pushcore';
    this.password = 'pushcore-pw';
    this.database = 'sockudo';
    this.bin = pgBinDir();
    this.as = serverUser();
  }

  /// A fresh server under `dir` (wiped first) on `port` (0: a free one), ready, with the
  /// `sockudo` database owned by the pushcore role.
  static async start({ dir, port = 0 } = {}) {
    if (!dir) throw new Error('Postgres.start: dir is required');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    let where = dir;
    const as = serverUser();
    if (as) {
      chownSync(dir, as.uid, as.gid);
      // The server user must reach the folder: a build folder under a private home (mode 700)
      // is not reachable, then a private temporary folder is used instead.
      if (spawnSync('test', ['-w', dir, '-a', '-x', dir], as).status !== 0) {
        where = mkdtempSync(join(tmpdir(), 'pushcore-pg-'));
        chownSync(where, as.uid, as.gid);
        console.log(`# postgres: ${dir} is not reachable by the postgres user, using ${where}`);
      }
    }
    const db = new Postgres(where, port || (await freePort()));
    await run(`${db.bin}/initdb`, ['-D', db.datadir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C'], 120_000, db.as ?? {});
    await db.launch();
    await db.sql(`CREATE ROLE ${db.user} LOGIN PASSWORD ${lit(db.password)}`, 'postgres');
    await db.sql(`CREATE DATABASE ${db.database} OWNER ${db.user}`, 'postgres');
    return db;
  }

  launch() {
    if (this.running) return Promise.resolve();
    const args = [
      '-D', this.datadir, '-p', String(this.port), '-k', this.socketDir,
      '-c', 'listen_addresses=127.0.0.1',
      // A fast, small throwaway: no durability, little memory.
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=16MB', '-c', 'max_connections=50',
      '-c', 'log_destination=stderr', '-c', 'logging_collector=off',
    ];
    return this.spawnAndWait(`${this.bin}/postgres`, args, this.as ?? {}, () =>
      run(`${this.bin}/pg_isready`, ['-h', this.socketDir, '-p', String(this.port), '-t', '2'], 5_000));
  }

  /// Runs `query` as the superuser over the unix socket in database `db`; resolves with stdout
  /// (unaligned, tuples only), rejects with psql's stderr.
  sql(query, db = this.database) {
    return run(`${this.bin}/psql`, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', this.socketDir, '-p', String(this.port), '-U', 'postgres', '-d', db, '-At', '-c', query], SQL_MS);
  }

  /// A fast clean shutdown (SIGINT: active transactions are rolled back).
  stop() {
    return this.signalAndWait('SIGINT');
  }

  /// An outage: immediate shutdown (SIGQUIT: backends are dropped at once, clients see their
  /// connections close).
  kill() {
    return this.signalAndWait('SIGQUIT');
  }
}
