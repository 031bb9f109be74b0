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
import { registerSlackHandlers } from './chat/slack/listeners.js';
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

export function newRequestId(): string {
  // 10 characters of base32: short enough to type in `/access status`, 50 bits against guessing.
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return `req_${[...randomBytes(10)].map((b) => alphabet[b % 32]).join('')}`;
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
  // workers wait for Redis forever, as BullMQ requires.
  const producerRedis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  const workerRedis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  for (const r of [producerRedis, workerRedis]) r.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
  const queue = new BullJobQueue(producerRedis, config.jobs.queuePrefix);
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
