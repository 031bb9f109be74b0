/**
 * Private servers for fault tests that need a server to go down. The shared PostgreSQL (5432) and Redis
 * (6379) are used by every test file at once and are never stopped, flushed or reconfigured; a test that
 * stops "Redis" or restarts "PostgreSQL" stops its own copy, started here on a free port and removed after.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { TestDatabase } from './database.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port nobody listens on right now (the kernel picks it, so parallel files do not collide). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// --- Redis --------------------------------------------------------------------------------------------------------

export interface PrivateRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: no goodbye to clients) and waits until the port is closed. */
  kill(): Promise<void>;
  /** Starts it again on the same port. It persists nothing, so it comes back empty. */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing is answered (a hung server, a partition without resets). */
  freeze(): void;
  /** SIGCONT: it answers again, with its data intact. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  const ping = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };

  // If the test process ends without its afterAll (a hook timeout, a crash), the server goes with it.
  process.once('exit', () => child?.kill('SIGKILL'));
  const redis: PrivateRedis = {
    url,
    port,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) return; // already running
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
        stdio: 'ignore',
      });
      await until(`redis on ${port}`, ping);
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async kill() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
      await until(`redis on ${port} to stop`, async () => !(await ping()));
    },
    async close() {
      await redis.kill();
    },
  };
  await redis.start();
  return redis;
}

// --- PostgreSQL ---------------------------------------------------------------------------------------------------

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  port: number;
  /** The cluster's superuser URL for a database (trust auth, 127.0.0.1 only). */
  urlFor(database: string): string;
  /** A fresh empty database on this cluster, in the shape the harness takes (the app migrates it at start). */
  createDatabase(name: string): Promise<TestDatabase>;
  /** `pg_ctl stop -m fast`: every session is terminated, in-flight transactions roll back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the cluster and deletes its directory. */
  destroy(): Promise<void>;
}

function asPostgres(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-pg-'));
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  const data = join(dir, 'data');
  await asPostgres([`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // fsync off: the fault here is a restart (sessions dropped, in-flight work rolled back), not a power cut.
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=100`;
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const pgCtl = (...args: string[]) => asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', ...args]);

  let destroyed = false;
  process.once('exit', () => {
    if (destroyed) return;
    try {
      execFileSync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop'], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const cluster: PrivatePostgres = {
    port,
    urlFor,
    async createDatabase(name) {
      const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`CREATE DATABASE "${name}"`);
      } finally {
        await admin.end();
      }
      return {
        name,
        url: urlFor(name),
        // The whole cluster is removed by destroy(); dropping the database first is not needed.
        drop: async () => undefined,
      };
    },
    async start() {
      await pgCtl('-o', serverOptions, 'start');
    },
    async stop() {
      await pgCtl('-m', 'fast', 'stop');
    },
    async restart() {
      await cluster.stop();
      await cluster.start();
    },
    async destroy() {
      destroyed = true;
      await cluster.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
