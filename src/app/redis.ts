/** The start-up checks of Redis: the database REDIS_URL names exists, and the eviction policy is noeviction. */
import type { Redis } from 'ioredis';
import type { Logger as Pino } from 'pino';
import { withinTime } from '../time-limit.js';
import { StartupError } from './startup-error.js';

const REDIS_CHECK_TIMEOUT_MS = 10_000;

/**
 * Why Redis refuses the database number in REDIS_URL, or null. ioredis SELECTs it on every connect and, when
 * Redis refuses (`ERR DB index is out of range`: past the server's `databases`, 16 by default), only emits an
 * error and carries on in database 0, where another deployment's queues may live. Null too when the number is
 * 0 or Redis does not answer in time: an unreachable Redis is the connection's problem, reported by it.
 * Redis' reply names no credentials; the URL itself is never quoted.
 */
async function redisDatabaseProblem(redis: Redis, timeoutMs: number): Promise<string | null> {
  const db = redis.options.db ?? 0;
  if (db === 0) return null;
  // A check never holds start-up for long: no answer in time counts as no problem.
  const refused = await withinTime(
    redis.select(db).then(
      () => null,
      (error: unknown) => (error instanceof Error && error.name === 'ReplyError' ? error.message : null),
    ),
    timeoutMs,
  );
  if (!refused.done || refused.value === null) return null;
  return `REDIS_URL: Redis refused database ${db} (${refused.value}); use a database number the server has (0–15 unless redis.conf raises "databases"), or none for 0`;
}

/**
 * Start-up: throws a StartupError naming REDIS_URL when Redis refuses its database number, instead of the
 * client silently running on database 0. Resolves when Redis does not answer within `timeoutMs`.
 */
export async function checkRedisDatabase(redis: Redis, timeoutMs = REDIS_CHECK_TIMEOUT_MS): Promise<void> {
  const problem = await redisDatabaseProblem(redis, timeoutMs);
  if (problem !== null) throw new StartupError([problem]);
}

/**
 * BullMQ requires `maxmemory-policy noeviction`: under any other policy Redis evicts keys when memory is short,
 * and an evicted key is a lost job (a grant, a revoke, a message). Checked once at start and logged loudly if
 * wrong. Managed Redis often refuses CONFIG; INFO (which BullMQ itself uses) reports the policy too.
 */
export async function checkRedisEvictionPolicy(redis: Redis, log: Pino): Promise<void> {
  // Run in the background at start, so it cannot stop the process: a wrong database is at least logged loudly.
  const dbProblem = await redisDatabaseProblem(redis, REDIS_CHECK_TIMEOUT_MS);
  if (dbProblem !== null) log.fatal({ setting: 'REDIS_URL' }, dbProblem);
  const read = async (): Promise<string | null> => {
    const reply: unknown = await redis.config('GET', 'maxmemory-policy').catch(() => null);
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
    const info = await redis.info('memory').catch(() => '');
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
  };
  const answered = await withinTime(read().catch(() => null), REDIS_CHECK_TIMEOUT_MS);
  const policy = answered.done ? answered.value : null;
  if (policy === 'noeviction') {
    log.debug({ setting: 'maxmemory-policy', value: policy }, 'Redis maxmemory-policy is noeviction, as BullMQ requires');
    return;
  }
  if (policy === null) {
    log.info(
      { setting: 'maxmemory-policy', reason: answered.done ? 'CONFIG GET and INFO not permitted' : 'no answer from Redis' },
      'could not verify Redis maxmemory-policy; BullMQ needs noeviction: check it in your Redis settings',
    );
    return;
  }
  log.warn(
    { setting: 'maxmemory-policy', value: policy, required: 'noeviction' },
    `Redis maxmemory-policy is ${policy}, not noeviction: Redis may evict queue keys under memory pressure and jobs (grants, revokes, messages) are lost. ` +
      'Fix: set maxmemory-policy noeviction (redis.conf, CONFIG SET maxmemory-policy noeviction, or your provider\'s parameter group)',
  );
}
