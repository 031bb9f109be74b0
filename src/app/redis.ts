/** The start-up check of Redis' eviction policy, which BullMQ needs to be noeviction. */
import type { Redis } from 'ioredis';
import type { Logger as Pino } from 'pino';

const REDIS_CHECK_TIMEOUT_MS = 10_000;

/**
 * BullMQ requires `maxmemory-policy noeviction`: under any other policy Redis evicts keys when memory is short,
 * and an evicted key is a lost job (a grant, a revoke, a message). Checked once at start and logged loudly if
 * wrong. Managed Redis often refuses CONFIG; INFO (which BullMQ itself uses) reports the policy too.
 */
export async function checkRedisEvictionPolicy(redis: Redis, log: Pino): Promise<void> {
  const read = async (): Promise<string | null> => {
    const reply: unknown = await redis.config('GET', 'maxmemory-policy').catch(() => null);
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
    const info = await redis.info('memory').catch(() => '');
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? null;
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), REDIS_CHECK_TIMEOUT_MS).unref()));
  const policy = await Promise.race([read().catch(() => null), timeout]).finally(() => clearTimeout(timer));
  if (policy === 'noeviction') {
    log.debug({ setting: 'maxmemory-policy', value: policy }, 'Redis maxmemory-policy is noeviction, as BullMQ requires');
    return;
  }
  if (policy === null || policy === 'timeout') {
    log.info(
      { setting: 'maxmemory-policy', reason: policy === 'timeout' ? 'no answer from Redis' : 'CONFIG GET and INFO not permitted' },
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
