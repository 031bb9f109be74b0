/**
 * The benchmark's own, throw-away resources on the local services: a migrated database
 * `accessbot_bench_<random>` and a unique BullMQ key prefix. `cleanup()` drops the database and deletes
 * every Redis key under the prefix, then checks that nothing is left; it runs once, also on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { openDatabase, type Database, type DatabaseHandle } from '../src/store/db.js';
import { migrateDatabase } from '../src/store/migrate.js';
import * as schema from '../src/store/schema.js';

export const ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Scratch {
  dbName: string;
  /** The app's own handle (`openDatabase`), on which everything measured runs. */
  db: DatabaseHandle;
  redis: Redis;
  prefix: string;
  /** Registers something to close before the database is dropped and the keys are deleted (last in, first out). */
  onCleanup(close: () => Promise<unknown>): void;
  cleanup(): Promise<{ leftoverDatabases: number; leftoverKeys: number }>;
  /**
   * A second pool on the scratch database, only for building large fixtures through the real store: its
   * sessions run with `synchronous_commit = off`, so tens of thousands of fixture transactions do not each
   * wait for a WAL flush (the scratch database is thrown away anyway). Nothing measured runs on it.
   */
  openFixturePool(max: number): Database;
}

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/**
 * Redis is reached first, so a missing service fails the run before anything exists. `registerCleanup` is
 * handed the cleanup as soon as the database exists, so an interrupt during the migration still drops it.
 */
export async function createScratch(
  poolSize: number,
  registerCleanup: (cleanup: Scratch['cleanup']) => void,
): Promise<Scratch> {
  const suffix = randomBytes(5).toString('hex');
  const dbName = `accessbot_bench_${suffix}`;
  const prefix = `accessbot-bench-${suffix}`;
  const closers: (() => Promise<unknown>)[] = [];

  // Producer settings, as in the app: fail fast rather than queue commands while Redis is away.
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  let redisError: Error | undefined;
  redis.on('error', (error: Error) => (redisError ??= error));
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`bench: Redis at ${REDIS_URL} is not reachable: ${String(redisError ?? error)}`);
  }

  try {
    await admin((sql) => sql.unsafe(`CREATE DATABASE "${dbName}"`));
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  let db: DatabaseHandle | undefined;
  let cleaned: Promise<{ leftoverDatabases: number; leftoverKeys: number }> | undefined;

  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const close of closers.reverse()) await close().catch((e: unknown) => console.error('bench cleanup:', e));
      await db?.close().catch(() => undefined);
      try {
        await admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
        const leftoverDatabases = (await admin((sql) => sql`SELECT 1 FROM pg_database WHERE datname = ${dbName}`)).length;
        await deleteKeys(redis, `${prefix}:*`);
        const leftoverKeys = await countKeys(redis, `${prefix}:*`);
        return { leftoverDatabases, leftoverKeys };
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
    })());

  registerCleanup(cleanup);
  try {
    await migrateDatabase(urlFor(dbName));
    db = openDatabase(urlFor(dbName), { max: poolSize });
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
  const openFixturePool = (max: number): Database => {
    const sql = postgres(urlFor(dbName), { max, onnotice: () => {}, connection: { synchronous_commit: 'off' } });
    closers.push(() => sql.end({ timeout: 5 }));
    return drizzle(sql, { schema });
  };
  return { dbName, db, redis, prefix, onCleanup: (close) => closers.push(close), cleanup, openFixturePool };
}
