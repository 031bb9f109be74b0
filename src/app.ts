/**
 * The composition root: the only place (with its parts in src/app/) adapters are constructed and wired.
 * `startAccessBot` runs the web process (Slack listeners + health), the workers (grant, revoke, deliver,
 * reconcile), or both.
 *
 * Start-up order is part of the safety story: config and policy are validated before anything connects,
 * migrations run next, and a worker reconciles once (revoking every grant whose window passed while the
 * system was down) before it serves anything.
 *
 * Where things are (src/app/):
 * - logger.ts: the process's logger, with every secret masked
 * - policy.ts: policy as code at start-up (`openPolicy`)
 * - redis.ts: the start-up check of Redis' eviction policy
 * - revoke-watchdog.ts: the timer of the revoke watchdog, which runs in every process
 * - slack-web.ts: the Slack side of the web process: receiver, Bolt app, in-flight count, replay guard, listeners
 * - request-id.ts: new request ids
 * - startup-error.ts: `StartupError`
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import type { Logger as Pino } from 'pino';
import { createAppLogger } from './app/logger.js';
import { openPolicy, type OpenedPolicy } from './app/policy.js';
import { checkRedisDatabase, checkRedisEvictionPolicy } from './app/redis.js';
import { WATCH_INTERVAL_MS, startRevokeWatchdog, watchGraceMs } from './app/revoke-watchdog.js';
import { newRequestId } from './app/request-id.js';
import { startSlackWeb } from './app/slack-web.js';
import { StartupError } from './app/startup-error.js';
import { boltLogger } from './chat/slack/bolt-logger.js';
import { InFlightSlackWork } from './chat/slack/in-flight.js';
import { SlackDirectory } from './chat/slack/slack-directory.js';
import { SlackNotifier } from './chat/slack/slack-notifier.js';
import type { WebConfig, WorkerConfig } from './config.js';
import { BullJobQueue } from './jobs/bullmq-queue.js';
import type { BackoffSettings } from './jobs/names.js';
import { startWorkers, type Workers } from './jobs/workers.js';
import { startHealthServer, type ReadinessProbe } from './observability/health.js';
import { asPortLogger } from './observability/logger.js';
import { missingConnectionEnv, policyEnvValues, readPolicyFile } from './policy/load.js';
import { openDatabase } from './store/db.js';
import { migrateDatabase } from './store/migrate.js';
import { PostgresRequestStore } from './store/request-store.js';
import { PostgresRevokeWatch } from './store/revoke-watch.js';
import { PostgresSlackSignatures } from './store/slack-signatures.js';
import type { UseCaseDeps } from './use-cases/deps.js';
import { reconcile } from './use-cases/reconcile.js';

export { StartupError } from './app/startup-error.js';
export { newRequestId } from './app/request-id.js';
export { checkRedisEvictionPolicy } from './app/redis.js';
export { openPolicy, type OpenedPolicy } from './app/policy.js';

export interface StartOptions {
  config: WebConfig | WorkerConfig;
  /** Read for the target connections the policy names (`connection: { env: NAME }`). */
  env: Readonly<Record<string, string | undefined>>;
  roles: { web: boolean; worker: boolean };
  /** Tests: where log lines go, how fast revokes retry, how many times the Slack client retries. */
  logDestination?: NodeJS.WritableStream;
  revokeBackoff?: BackoffSettings;
  slackRetries?: number;
  /** Tests: a revoke watchdog that looks more often and is less patient than production's. */
  revokeWatch?: { graceMs: number; intervalMs: number };
}

export interface RunningBot {
  /** The HTTP port actually listened on (PORT=0 picks a free one). */
  port: number;
  log: Pino;
  stop(): Promise<void>;
}

const PRODUCTION_REVOKE_BACKOFF: BackoffSettings = { baseMs: 5_000, capMs: 5 * 60_000 };
/** How long stop() waits for Slack listeners still running after their ack (a click's work, its reply). */
const LISTENER_DRAIN_MS = 10_000;
/** An enqueue is one or two Redis round trips; a second without an answer means Redis is in trouble. */
const PRODUCER_COMMAND_TIMEOUT_MS = 1_000;

export async function startAccessBot(options: StartOptions): Promise<RunningBot> {
  const { config } = options;
  const { log, secrets } = createAppLogger(config, options.env, options.logDestination);

  const loaded = await readPolicyFile(config.policy.path);
  if (!loaded.ok) throw new StartupError(loaded.errors);
  const missing = missingConnectionEnv(loaded.policy, options.env);
  if (missing.length > 0) throw new StartupError(missing);
  // Whatever a policy names in the environment is a secret: masked in every log line from now on.
  secrets.add(policyEnvValues(loaded.policy, options.env));

  await migrateDatabase(config.database.url);
  const database = openDatabase(config.database.url);
  // The file seeds or updates the policy versions when it changed; the bot then runs on the version in force.
  let opened: OpenedPolicy;
  try {
    opened = await openPolicy(database.db, loaded.text, options.env, asPortLogger(log), {
      onPolicy: (p) => secrets.add(policyEnvValues(p, options.env)),
    });
  } catch (error) {
    await database.close();
    throw error;
  }
  const { policy, providers } = opened;
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
  // A database number the server does not have fails the start, naming REDIS_URL, instead of the client
  // carrying on in database 0 (no wait for the usual database 0; at most 2 s when Redis does not answer).
  try {
    await checkRedisDatabase(workerRedis, 2_000);
  } catch (error) {
    await Promise.all([producerRedis.quit().catch(() => undefined), workerRedis.quit().catch(() => undefined), database.close()]);
    throw error;
  }
  // In the background: start-up does not wait on it (the worker connection queues it until Redis answers).
  void checkRedisEvictionPolicy(workerRedis, log);
  const queue = new BullJobQueue(producerRedis, config.jobs.queuePrefix);
  // Without a listener BullMQ prints each connection error's stack to stderr, past the structured (and
  // redacting) logger, once per reconnect attempt of an outage. The connection's own handler above logs it.
  for (const q of [queue.access, queue.notify]) q.on('error', (err: Error) => log.debug({ err: err.message }, 'queue error'));

  const slackLogger = boltLogger(log);
  // Two clients: on a 429 the Web API client pauses every call it makes for the Retry-After, so a rate limit
  // on chat.postMessage (deliveries) must not hold up users.info, which a slash command waits on.
  const slackClient = () =>
    new WebClient(config.slack.botToken, {
      slackApiUrl: config.slack.apiUrl,
      logger: slackLogger,
      retryConfig: { retries: options.slackRetries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 10_000 },
    });
  const deps: UseCaseDeps = {
    store,
    queue,
    policy,
    policyVersions: policy,
    providers,
    directory: new SlackDirectory(slackClient()),
    notifier: new SlackNotifier(slackClient()),
    clock: { now: () => new Date() },
    log: asPortLogger(log),
    newId: newRequestId,
  };
  const probes: ReadinessProbe[] = [
    { name: 'database', check: () => database.sql`SELECT 1` },
    { name: 'redis', check: () => producerRedis.ping() },
  ];

  const revokeBackoff = options.revokeBackoff ?? PRODUCTION_REVOKE_BACKOFF;
  let workers: Workers | null = null;
  if (options.roles.worker) {
    const report = await reconcile(deps);
    log.info({ ...report }, 'start-up reconcile done');
    workers = await startWorkers(deps, queue, workerRedis, {
      prefix: config.jobs.queuePrefix,
      reconcileIntervalMs: config.jobs.reconcileIntervalMs,
      revokeBackoff,
    });
  }

  // Every process watches that revokes progress: the one alarm that still sounds when no worker runs.
  const watchdog = startRevokeWatchdog(
    { policy, notifier: deps.notifier, clock: deps.clock, log: deps.log, watch: new PostgresRevokeWatch(database.db) },
    {
      graceMs: options.revokeWatch?.graceMs ?? watchGraceMs(config.jobs.reconcileIntervalMs),
      intervalMs: options.revokeWatch?.intervalMs ?? WATCH_INTERVAL_MS,
      revokeBackoffCapMs: revokeBackoff.capMs,
    },
  );

  let bolt: App | null = null;
  const slackWork = new InFlightSlackWork();
  let healthServer: Server | null = null;
  let port: number;
  if (options.roles.web && config.mode !== 'worker') {
    ({ bolt, port } = await startSlackWeb({
      web: config as WebConfig,
      deps,
      probes,
      slackLogger,
      slackWork,
      signatures: new PostgresSlackSignatures(database.db),
      log: asPortLogger(log),
      slackRetries: options.slackRetries,
    }));
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
      watchdog.stop();
      if (bolt) await bolt.stop().catch((err: unknown) => log.warn({ err }, 'error stopping the Slack receiver'));
      if (healthServer) {
        healthServer.closeAllConnections();
        await new Promise<void>((resolve) => healthServer!.close(() => resolve()));
      }
      // Listeners acked and still working (a click's decision, its private reply) and running jobs finish
      // before the database and Redis they use are closed. Listeners are waited for a bounded time.
      const listeners = async () => {
        if (slackWork.running > 0) log.info({ running: slackWork.running }, 'waiting for Slack listeners to finish');
        if (await slackWork.drained(LISTENER_DRAIN_MS)) return;
        log.warn({ running: slackWork.running, waitedMs: LISTENER_DRAIN_MS }, 'stopping with Slack listeners still running; their work is cut short');
      };
      await Promise.all([listeners(), workers?.close()]);
      await queue.close();
      await Promise.all([producerRedis.quit().catch(() => undefined), workerRedis.quit().catch(() => undefined)]);
      policy.stop();
      await providers.close();
      await database.close();
      log.info({}, 'accessbot stopped');
    },
  };
}
