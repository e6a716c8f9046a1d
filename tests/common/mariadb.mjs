// A throwaway MariaDB server on loopback for the database app-manager suites: a fresh data
// directory made by mariadb-install-db, a free port (kept across kill() / restart() so a
// connected pushcore reconnects to the same address, data intact), database `sockudo` and a
// user pushcore / pushcore-pw with ALL on it. Root logs in without password, over the socket.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

import { DbServer, run, SQL_MS } from './dbserver.mjs';
import { freePort } from './redis.mjs';

/// The first of `names` found on PATH or in the usual sbin folders (mariadbd lives in
/// /usr/sbin, which is not always on a test runner's PATH).
function findBin(names) {
  const dirs = [...(process.env.PATH || '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];
  for (const name of names) for (const d of dirs) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return names[0];
}

/// SQL string literal (single quotes, backslashes escaped), for the set-up statements.
const lit = (s) => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export class MariaDb extends DbServer {
  constructor(dir, port, extra = []) {
    super('mariadbd', port);
    this.dir = dir;
    this.extra = extra;
    this.datadir = `${dir}/data`;
    this.socket = `${dir}/mysqld.sock`;
    this.errorLog = `${dir}/error.log`;
    this.user = 'pushcore';
    this.password = 'pushcore-pw';
    this.database = 'sockudo';
    this.bins = {
      install: findBin(['mariadb-install-db', 'mysql_install_db']),
      server: findBin(['mariadbd', 'mysqld']),
      admin: findBin(['mariadb-admin', 'mysqladmin']),
      client: findBin(['mariadb', 'mysql']),
    };
  }

  /// A fresh server under `dir` (wiped first) on `port` (0: a free one), ready, with the
  /// `sockudo` database and the pushcore user. `extra`: more mariadbd arguments (e.g.
  /// ['--ssl-cert=...', '--ssl-key=...', '--ssl-ca=...'] for TLS).
  static async start({ dir, port = 0, extra = [] } = {}) {
    if (!dir) throw new Error('MariaDb.start: dir is required');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const db = new MariaDb(dir, port || (await freePort()), extra);
    await run(db.bins.install, ['--no-defaults', `--datadir=${db.datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root', '--skip-name-resolve'], 120_000);
    await db.launch();
    const users = ['127.0.0.1', 'localhost'].map((h) => `CREATE USER IF NOT EXISTS ${lit(db.user)}@${lit(h)} IDENTIFIED BY ${lit(db.password)}; GRANT ALL ON \`${db.database}\`.* TO ${lit(db.user)}@${lit(h)};`);
    await db.sql(`CREATE DATABASE IF NOT EXISTS \`${db.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; ${users.join(' ')} FLUSH PRIVILEGES;`, '');
    return db;
  }

  /// The last `lines` lines of the server's error log ('' when there is none yet).
  logTail(lines = 30) {
    try {
      return readFileSync(this.errorLog, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  launch() {
    if (this.running) return Promise.resolve();
    const args = [
      '--no-defaults',
      `--datadir=${this.datadir}`,
      `--socket=${this.socket}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      '--user=root',
      '--skip-name-resolve',
      `--pid-file=${this.dir}/mysqld.pid`,
      `--log-error=${this.errorLog}`,
      // A fast, small start: little memory, no extra files or checks a test does not need.
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--skip-log-bin',
      '--skip-performance-schema',
      '--loose-skip-feedback',
      '--max-connections=200',
      ...this.extra,
    ];
    const ping = ['--no-defaults', `--socket=${this.socket}`, '-uroot', '--connect-timeout=2', 'ping'];
    return this.spawnAndWait(this.bins.server, args, {}, () => run(this.bins.admin, ping, 5_000));
  }

  /// Runs `query` (one or more statements) as root over the unix socket in database `db`;
  /// resolves with stdout (tab-separated, no header), rejects with the client's stderr.
  sql(query, db = this.database) {
    const argv = ['--no-defaults', `--socket=${this.socket}`, '-uroot', '-N', '-B', '-e', query];
    if (db) argv.push(db);
    return run(this.bins.client, argv, SQL_MS);
  }
}
