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
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import { Redis } from 'ioredis';
import type { Logger as Pino } from 'pino';
import { registerSlackHandlers } from './chat/slack/listeners/index.js';
import { boltLogger } from './chat/slack/bolt-logger.js';
import { InFlightSlackWork } from './chat/slack/in-flight.js';
import { answerRefusals, requestGuard, slackRequestProperties } from './chat/slack/request-guard.js';
import { SlackDirectory } from './chat/slack/slack-directory.js';
import { SlackNotifier } from './chat/slack/slack-notifier.js';
import { secretValues, type WebConfig, type WorkerConfig } from './config.js';
import { BullJobQueue } from './jobs/bullmq-queue.js';
import type { BackoffSettings } from './jobs/names.js';
import { startWorkers, type Workers } from './jobs/workers.js';
import { healthRoutes, startHealthServer, type ReadinessProbe } from './observability/health.js';
import { asPortLogger, createLogger } from './observability/logger.js';
import { LivePolicy, PolicyVersionError } from './policy/live-policy.js';
import { missingConnectionEnv, readPolicyFile } from './policy/load.js';
import { LiveProviderRegistry } from './providers/live-registry.js';
import { openDatabase, type Database } from './store/db.js';
import { migrateDatabase } from './store/migrate.js';
import { PostgresPolicyVersions } from './store/policy-versions.js';
import { PostgresRequestStore } from './store/request-store.js';
import { PostgresSlackSignatures } from './store/slack-signatures.js';
import type { UseCaseDeps } from './use-cases/deps.js';
import type { Logger } from './use-cases/ports.js';
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
/** How long stop() waits for Slack listeners still running after their ack (a click's work, its reply). */
const LISTENER_DRAIN_MS = 10_000;
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

export interface OpenedPolicy {
  policy: LivePolicy;
  providers: LiveProviderRegistry;
  /** What the file did at start-up: stored as a new version, or not (unchanged, or already in force). */
  file: { version: number; changed: boolean };
}

/**
 * Policy as code at start-up: the file's text (already validated) is applied as source `file` (stored only
 * when the file changed since it was last seen, so a newer Home-tab or CLI version stays in force), then the
 * version in force is loaded, checked against this process's variables, and followed from then on, with the
 * provider registry rebuilt for resources whose settings change. Throws `StartupError` on any problem.
 */
export async function openPolicy(
  db: Database,
  fileText: string,
  env: Readonly<Record<string, string | undefined>>,
  log: Logger,
  options: { refreshMs?: number } = {},
): Promise<OpenedPolicy> {
  const versions = new PostgresPolicyVersions(db);
  const applied = await versions.apply(fileText, 'file', 'file');
  if (!applied.ok) throw new StartupError(applied.errors);
  let providers: LiveProviderRegistry | undefined;
  let policy: LivePolicy;
  try {
    policy = await LivePolicy.load(versions, {
      ...options,
      log,
      // An edit made here (the Home tab) must work here: every variable set, every provider buildable.
      check: (p) => {
        const missing = missingConnectionEnv(p, env);
        return missing.length > 0 ? missing : LiveProviderRegistry.problemsFor(p, env);
      },
      onChange: (p, stored) => {
        const problems = providers?.update(p) ?? [];
        if (problems.length > 0) log.error({ version: stored.version, problems }, 'policy version in force, but some resources have no provider here');
      },
    });
  } catch (error) {
    if (error instanceof PolicyVersionError) throw new StartupError(error.errors);
    throw error;
  }
  const inForce = policy.stored();
  log.info(
    { version: inForce.version, source: inForce.source, appliedBy: inForce.appliedBy, fileStored: applied.changed },
    inForce.source === 'file' ? 'policy in force: the file' : `policy in force: version ${inForce.version} from ${inForce.source}, newer than the file`,
  );
  const missing = missingConnectionEnv(policy.current(), env);
  if (missing.length > 0) {
    policy.stop();
    throw new StartupError(missing.map((m) => `policy v${inForce.version}: ${m}`));
  }
  try {
    providers = LiveProviderRegistry.create(policy.current(), env);
  } catch (error) {
    policy.stop();
    throw error;
  }
  return { policy, providers, file: { version: applied.version, changed: applied.changed } };
}

export async function startAccessBot(options: StartOptions): Promise<RunningBot> {
  const { config } = options;
  const log = createLogger({
    level: config.log.level,
    secrets: [...secretValues(config), ...Object.values(options.env).filter((v): v is string => typeof v === 'string' && /:\/\/[^/]*@/.test(v))],
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });

  const loaded = await readPolicyFile(config.policy.path);
  if (!loaded.ok) throw new StartupError(loaded.errors);
  const missing = missingConnectionEnv(loaded.policy, options.env);
  if (missing.length > 0) throw new StartupError(missing);

  await migrateDatabase(config.database.url);
  const database = openDatabase(config.database.url);
  // The file seeds or updates the policy versions when it changed; the bot then runs on the version in force.
  let opened: OpenedPolicy;
  try {
    opened = await openPolicy(database.db, loaded.text, options.env, asPortLogger(log));
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
  const slackWork = new InFlightSlackWork();
  let healthServer: Server | null = null;
  let port: number;
  if (options.roles.web && config.mode !== 'worker') {
    const web = config as WebConfig;
    // In HTTP mode the receiver is built here: App does not pass customPropertiesExtractor or
    // processEventErrorHandler on to the receiver it builds, and the replay guard needs both.
    const receiver = web.slack.socketMode
      ? undefined
      : new HTTPReceiver({
          signingSecret: web.slack.signingSecret,
          customRoutes: healthRoutes(probes),
          logger: slackLogger,
          logLevel: LogLevel.INFO,
          customPropertiesExtractor: slackRequestProperties,
          processEventErrorHandler: answerRefusals,
        });
    bolt = new App({
      token: web.slack.botToken,
      ...(receiver ? { receiver } : { signingSecret: web.slack.signingSecret }),
      ...(web.slack.socketMode ? { socketMode: true, appToken: web.slack.appToken, customRoutes: healthRoutes(probes) } : {}),
      logger: slackLogger,
      logLevel: LogLevel.INFO,
      clientOptions: { slackApiUrl: web.slack.apiUrl, retryConfig: { retries: options.slackRetries ?? 3 } },
      ...(web.slack.socketMode ? { installerOptions: { port: web.http.port } } : {}),
    });
    // First of all middleware: counts each request until its listeners are done, for stop() to wait on.
    bolt.use(slackWork.middleware);
    // Refuses future-dated and replayed signed requests before any listener runs (see request-guard.ts).
    if (receiver) bolt.use(requestGuard(new PostgresSlackSignatures(database.db), asPortLogger(log)));
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
