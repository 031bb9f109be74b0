/**
 * The start-up check of Redis's eviction policy, as an operator reads it in the log. BullMQ requires
 * `maxmemory-policy noeviction`: under an evicting policy, Redis drops keys when memory runs short and a dropped
 * key is a lost job. The app runs against a throw-away `redis-server` started here with an evicting policy (the
 * shared Redis is never reconfigured), then with the policy fixed, and the check is run as a managed Redis would
 * answer it (CONFIG refused; CONFIG and INFO refused).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisEvictionPolicy } from '../../src/app.js';
import { checkRedisDatabase } from '../../src/app/redis.js';
import { StartupError } from '../../src/app/startup-error.js';
import { createLogger } from '../../src/observability/logger.js';
import { eventually, startHarness, type Harness } from '../support/harness.js';

let server: ChildProcess;
let dir: string;
let url: string;
let admin: Redis;
let h: Harness;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  dir = mkdtempSync(join(tmpdir(), 'accessbot-redis-'));
  server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--maxmemory-policy', 'allkeys-lru', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  url = `redis://127.0.0.1:${port}`;
  admin = new Redis(url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
  await eventually(async () => expect(await admin.ping()).toBe('PONG'), 10_000);
  h = await startHarness('redisconf', { redisUrl: url });
});

afterAll(async () => {
  await h?.close();
  await admin?.quit().catch(() => undefined);
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Line = { level: number; msg: string; [k: string]: unknown };
const linesOf = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
const aboutEviction = (lines: Line[]) => lines.filter((l) => l.setting === 'maxmemory-policy');

describe('the app started against a Redis with maxmemory-policy allkeys-lru', () => {
  it('logs one loud warning naming the setting, its value, why it matters and the fix, and still starts', async () => {
    await eventually(() => expect(aboutEviction(linesOf(h.logs()))).toHaveLength(1));
    const [line] = aboutEviction(linesOf(h.logs()));
    expect(line).toMatchObject({ level: 40, setting: 'maxmemory-policy', value: 'allkeys-lru', required: 'noeviction' });
    expect(line!.msg).toContain('Redis maxmemory-policy is allkeys-lru, not noeviction');
    expect(line!.msg).toMatch(/evict queue keys.*jobs .* are lost/);
    expect(line!.msg).toContain('CONFIG SET maxmemory-policy noeviction');

    const health = await fetch(`${h.baseUrl()}/readyz`);
    expect(health.status).toBe(200);
    await health.text();
  });

  it('after the policy is fixed, the next start logs no warning (a debug line says it was checked)', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const before = h.logs().length;
    await h.restart();
    const since = () => aboutEviction(linesOf(h.logs().slice(before)));
    await eventually(() => expect(since()).toHaveLength(1));
    expect(since()[0]).toMatchObject({ level: 20, value: 'noeviction', msg: 'Redis maxmemory-policy is noeviction, as BullMQ requires' });
    expect(linesOf(h.logs().slice(before)).filter((l) => l.level >= 40 && /maxmemory/.test(l.msg))).toEqual([]);
  });
});

describe('a managed Redis that refuses CONFIG', () => {
  async function checkAs(user: string, rules: string[]): Promise<Line[]> {
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    await admin.call('ACL', 'SETUSER', user, 'reset', 'on', '>pw-for-test', '~*', '&*', '+@all', ...rules);
    const client = new Redis(url.replace('redis://', `redis://${user}:pw-for-test@`), { maxRetriesPerRequest: 1 });
    let text = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    try {
      await checkRedisEvictionPolicy(client, createLogger({ level: 'debug', secrets: [], destination: stream }));
    } finally {
      await client.quit();
    }
    return aboutEviction(linesOf(text));
  }

  it('still reads the policy through INFO (which BullMQ needs anyway) and warns', async () => {
    expect(await checkAs('no-config', ['-config'])).toEqual([
      expect.objectContaining({ level: 40, value: 'volatile-lru', msg: expect.stringContaining('Redis maxmemory-policy is volatile-lru, not noeviction') }),
    ]);
  });

  it('logs one info line saying it could not be verified when neither CONFIG nor INFO is permitted', async () => {
    expect(await checkAs('no-config-no-info', ['-config', '-info'])).toEqual([
      expect.objectContaining({
        level: 30,
        reason: 'CONFIG GET and INFO not permitted',
        msg: 'could not verify Redis maxmemory-policy; BullMQ needs noeviction: check it in your Redis settings',
      }),
    ]);
  });
});

describe('a REDIS_URL naming a database the server does not have', () => {
  // ioredis SELECTs it on connect and, refused, carries on in database 0: another deployment's queues.
  async function withClient<T>(db: number, use: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(`${url.replace('redis://', 'redis://:pw-never-shown@')}/${db}`, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      return await use(client);
    } finally {
      client.disconnect();
    }
  }

  it('fails the start-up check with a StartupError naming REDIS_URL, never the URL', async () => {
    const error = await withClient(99, (client) => checkRedisDatabase(client).then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(StartupError);
    const { problems } = error as StartupError;
    expect(problems).toEqual([expect.stringMatching(/^REDIS_URL: Redis refused database 99 \(ERR DB index is out of range\); use a database number the server has/)]);
    expect(problems.join('\n')).not.toMatch(/pw-never-shown|127\.0\.0\.1/);
  });

  it('passes a database the server has', async () => {
    await withClient(3, (client) => expect(checkRedisDatabase(client)).resolves.toBeUndefined());
  });

  it('is logged as fatal by the background start-up check, naming REDIS_URL', async () => {
    let text = '';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await withClient(99, (client) => checkRedisEvictionPolicy(client, createLogger({ level: 'info', secrets: [], destination: stream })));
    expect(linesOf(text).filter((l) => l.setting === 'REDIS_URL')).toEqual([
      expect.objectContaining({ level: 60, msg: expect.stringMatching(/^REDIS_URL: Redis refused database 99/) }),
    ]);
  });
});
