/**
 * Sessions on the target: the connection settings from the URL, each pooled connection set up once (pinned
 * sql_mode and time zone, the timeouts), and the server checked to be MariaDB 10.4+ before the first use.
 */
import mysql from 'mysql2/promise';
import { PermanentProviderError } from '../../use-cases/ports.js';
import type { TargetTimeouts } from '../definition.js';

/** Pinned per session: backslash escaping stays valid, GRANT never creates an account, events run in UTC. */
const SESSION_SETUP = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER', time_zone = '+00:00'";

/**
 * The session's bounds, in seconds: `lock_wait_timeout` (metadata locks) and `innodb_lock_wait_timeout` (row
 * locks) take whole seconds (at least 1), `max_statement_time` (MariaDB only) fractions too.
 */
function timeoutSetup({ lockMs, statementMs }: TargetTimeouts): string {
  const lock = Math.max(1, Math.ceil(lockMs / 1000));
  return `SET SESSION lock_wait_timeout = ${lock}, innodb_lock_wait_timeout = ${lock}, max_statement_time = ${statementMs / 1000}`;
}

export type Conn = mysql.PoolConnection;

/** The pool's connections, each set up once with the pinned session settings and the timeouts. */
export class MysqlSessions {
  readonly #pool: mysql.Pool;
  readonly #timeouts: TargetTimeouts;
  /** Core connections that ran `SESSION_SETUP` and the timeouts. */
  readonly #ready = new WeakSet<object>();
  #serverChecked = false;

  constructor(pool: mysql.Pool, timeouts: TargetTimeouts) {
    this.#pool = pool;
    this.#timeouts = timeouts;
  }

  /** Runs `work` on one pooled connection, set up once with the pinned session settings and the timeouts. */
  async run<T>(work: (c: Conn) => Promise<T>): Promise<T> {
    const c = await this.#pool.getConnection();
    try {
      if (!this.#ready.has(c.connection)) {
        await c.query(SESSION_SETUP);
        await c.query(timeoutSetup(this.#timeouts));
        this.#ready.add(c.connection);
      }
      if (!this.#serverChecked) {
        const [row] = await select<{ v: string }>(c, 'SELECT VERSION() AS v');
        checkServer(row?.v ?? '');
        this.#serverChecked = true;
      }
      return await work(c);
    } finally {
      c.release();
    }
  }
}

export async function select<T>(c: Conn, sql: string, values?: unknown[]): Promise<T[]> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(sql, values);
  return rows as T[];
}

function checkServer(version: string): void {
  const match = /^(\d+)\.(\d+)/.exec(version);
  const [major, minor] = match ? [Number(match[1]), Number(match[2])] : [0, 0];
  if (!/mariadb/i.test(version) || major < 10 || (major === 10 && minor < 4)) {
    throw new PermanentProviderError(`unsupported server ${version.slice(0, 40)}: the mysql provider needs MariaDB 10.4 or later (MySQL 8 roles are not supported yet)`);
  }
}

/**
 * The connection settings from the URL, parsed here so query parameters cannot switch on driver options
 * (mysql2 would take `?multipleStatements=true`). Throws a message without the URL.
 */
export function connectionOptions(url: string): mysql.PoolOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('invalid MySQL connection URL');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new Error('invalid MySQL connection URL: the scheme must be mysql:// or mariadb://');
  const options: mysql.PoolOptions = {
    host: decodeURIComponent(parsed.hostname.replace(/^\[(.*)\]$/, '$1')) || 'localhost',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  const database = decodeURIComponent(parsed.pathname.slice(1));
  if (database) options.database = database;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'ssl' && (value === 'true' || value === 'false')) {
      if (value === 'true') options.ssl = {};
    } else {
      throw new Error('invalid MySQL connection URL: the only query parameter supported is ssl=true|false');
    }
  }
  return options;
}
