/**
 * The composition root: the only place adapters are constructed and wired. `startAccessBot` runs the web
 * process (Slack listeners + health), the workers (grant, revoke, deliver, reconcile), or both.
 *
 * Start-up order is part of the safety story: config and policy are validated before anything connects,
 * migrations run next, and a worker reconciles once (revoking every grant whose window passed while the
 * system was down) before it serves anything.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { App, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import type { Logger as Pino } from 'pino';
import { registerSlackHandlers } from './chat/slack/listeners/index.js';
import { boltLogger } from './chat/slack/bolt-logger.js';
import { SlackDirectory } from './chat/slack/slack-directory.js';
import { SlackNotifier } from './chat/slack/slack-notifier.js';
import { secretValues, type WebConfig, type WorkerConfig } from './config.js';
import { BullJobQueue } from './jobs/bullmq-queue.js';
import type { BackoffSettings } from './jobs/names.js';
import { startWorkers, type Workers } from './jobs/workers.js';
import { healthRoutes, startHealthServer, type ReadinessProbe } from './observability/health.js';
import { asPortLogger, createLogger } from './observability/logger.js';
import { loadPolicyFile, missingConnectionEnv } from './policy/load.js';
import { createProviderRegistry } from './providers/registry.js';
import { openDatabase } from './store/db.js';
import { migrateDatabase } from './store/migrate.js';
import { PostgresRequestStore } from './store/request-store.js';
import type { UseCaseDeps } from './use-cases/deps.js';
import { reconcile } from './use-cases/reconcile.js';

export interface StartOptions {
  config: WebConfig | WorkerConfig;
  /** Read for the target connections the policy names (`connection: { env: NAME }`). */
  env: Readonly<Record<string, string | undefined>>;
  roles: { web: boolean; worker: boolean };
  /** Tests: where log lines go, how fast revokes retry, how many times the Slack client retries. */
  logDestination?: NodeJS.WritableStream;
  revokeBackoff?: BackoffSettings;
  slackRetries?: number;
}

export interface RunningBot {
  /** The HTTP port actually listened on (PORT=0 picks a free one). */
  port: number;
  log: Pino;
  stop(): Promise<void>;
}

export class StartupError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'StartupError';
  }
}

const PRODUCTION_REVOKE_BACKOFF: BackoffSettings = { baseMs: 5_000, capMs: 5 * 60_000 };
/** An enqueue is one or two Redis round trips; a second without an answer means Redis is in trouble. */
const PRODUCER_COMMAND_TIMEOUT_MS = 1_000;

export function newRequestId(): string {
  // 10 characters of base32: short enough to type in `/access status`, 50 bits against guessing.
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return `req_${[...randomBytes(10)].map((b) => alphabet[b % 32]).join('')}`;
}

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

export async function startAccessBot(options: StartOptions): Promise<RunningBot> {
  const { config } = options;
  const log = createLogger({
    level: config.log.level,
    secrets: [...secretValues(config), ...Object.values(options.env).filter((v): v is string => typeof v === 'string' && /:\/\/[^/]*@/.test(v))],
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });

  const loaded = await loadPolicyFile(config.policy.path);
  if (!loaded.ok) throw new StartupError(loaded.errors);
  const policy = loaded.policy;
  const missing = missingConnectionEnv(policy, options.env);
  if (missing.length > 0) throw new StartupError(missing);

  await migrateDatabase(config.database.url);
  const database = openDatabase(config.database.url);
  const store = new PostgresRequestStore(database.db);
  // Producers fail fast when Redis is down (the state is safe in PostgreSQL; the reconciler re-enqueues);
  // workers wait for Redis forever, as BullMQ requires. "Fast" means: refused at once while disconnected (no
  // offline queue; the client's reconnect back-off grows to seconds, and a command queued behind it held the
  // Slack reply past its 3 s), and given up after a second when Redis is connected but does not answer.
  const producerRedis = new Redis(config.redis.url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS,
    lazyConnect: false,
  });
  const workerRedis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  for (const r of [producerRedis, workerRedis]) r.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  // In the background: start-up does not wait on it (the worker connection queues it until Redis answers).
  void checkRedisEvictionPolicy(workerRedis, log);
  const queue = new BullJobQueue(producerRedis, config.jobs.queuePrefix);
  // Without a listener BullMQ prints each connection error's stack to stderr, past the structured (and
  // redacting) logger, once per reconnect attempt of an outage. The connection's own handler above logs it.
  for (const q of [queue.access, queue.notify]) q.on('error', (err: Error) => log.debug({ err: err.message }, 'queue error'));
  const providers = createProviderRegistry(policy, options.env);

  const slackLogger = boltLogger(log);
  const client = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    logger: slackLogger,
    retryConfig: { retries: options.slackRetries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 10_000 },
  });
  const deps: UseCaseDeps = {
    store,
    queue,
    policy: { current: () => policy },
    providers,
    directory: new SlackDirectory(client),
    notifier: new SlackNotifier(client),
    clock: { now: () => new Date() },
    log: asPortLogger(log),
    newId: newRequestId,
  };
  const probes: ReadinessProbe[] = [
    { name: 'database', check: () => database.sql`SELECT 1` },
    { name: 'redis', check: () => producerRedis.ping() },
  ];

  let workers: Workers | null = null;
  if (options.roles.worker) {
    const report = await reconcile(deps);
    log.info({ ...report }, 'start-up reconcile done');
    workers = await startWorkers(deps, queue, workerRedis, {
      prefix: config.jobs.queuePrefix,
      reconcileIntervalMs: config.jobs.reconcileIntervalMs,
      revokeBackoff: options.revokeBackoff ?? PRODUCTION_REVOKE_BACKOFF,
    });
  }

  let bolt: App | null = null;
  let healthServer: Server | null = null;
  let port: number;
  if (options.roles.web && config.mode !== 'worker') {
    const web = config as WebConfig;
    bolt = new App({
      token: web.slack.botToken,
      signingSecret: web.slack.signingSecret,
      ...(web.slack.socketMode ? { socketMode: true, appToken: web.slack.appToken } : {}),
      customRoutes: healthRoutes(probes),
      logger: slackLogger,
      logLevel: LogLevel.INFO,
      clientOptions: { slackApiUrl: web.slack.apiUrl, retryConfig: { retries: options.slackRetries ?? 3 } },
      ...(web.slack.socketMode ? { installerOptions: { port: web.http.port } } : {}),
    });
    registerSlackHandlers(bolt, deps);
    const server = (await bolt.start(web.http.port)) as Server | undefined;
    port = (server?.address() as AddressInfo | null)?.port ?? web.http.port;
  } else {
    healthServer = await startHealthServer(config.http.port, probes);
    port = (healthServer.address() as AddressInfo).port;
  }
  log.info({ port, web: options.roles.web, worker: options.roles.worker, socketMode: config.slack.socketMode }, 'accessbot started');

  return {
    port,
    log,
    async stop() {
      // Stop taking new work first, then let running jobs finish, then close connections.
      if (bolt) await bolt.stop().catch((err: unknown) => log.warn({ err }, 'error stopping the Slack receiver'));
      if (healthServer) {
        healthServer.closeAllConnections();
        await new Promise<void>((resolve) => healthServer!.close(() => resolve()));
      }
      if (workers) await workers.close();
      await queue.close();
      await Promise.all([producerRedis.quit().catch(() => undefined), workerRedis.quit().catch(() => undefined)]);
      await providers.close();
      await database.close();
      log.info({}, 'accessbot stopped');
    },
  };
}
