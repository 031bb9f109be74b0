/**
 * The only reader of the environment. The caller passes `process.env`; everything else receives the frozen,
 * typed `Config` this returns. Every problem is reported at once, one line each, naming the variable and what to
 * do. Messages about secret variables never include their values, not even a prefix: a start-up error ends up
 * in logs and CI output.
 */
import { z } from 'zod';
import { HOUR, SECOND, parseDuration } from './domain/duration.js';
import { assertNever } from './domain/errors.js';

export type Mode = 'all' | 'web' | 'worker' | 'migrate';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_PORT = 3000;
export const DEFAULT_RECONCILE_INTERVAL = '30s';
export const DEFAULT_QUEUE_PREFIX = 'accessbot';
/** The reconcile interval bounds how late a revoke can be once the queue has lost a job, so it stays short. */
export const MAX_RECONCILE_INTERVAL_MS = HOUR;

export interface SlackConfig {
  readonly botToken: string;
  /** Required (and present) in `web` and `all`; the worker makes outbound calls only. */
  readonly signingSecret: string | undefined;
  /** An app-level token switches the web process to Socket Mode. */
  readonly appToken: string | undefined;
  readonly socketMode: boolean;
  /** Web API base, always ending in `/`; overridden to point tests at a fake Slack. */
  readonly apiUrl: string;
}

export interface MigrateConfig {
  readonly mode: 'migrate';
  readonly database: { readonly url: string };
  readonly log: { readonly level: LogLevel };
}

export interface WorkerConfig extends Omit<MigrateConfig, 'mode'> {
  readonly mode: 'worker';
  readonly slack: SlackConfig;
  readonly redis: { readonly url: string };
  readonly http: { readonly port: number };
  readonly policy: { readonly path: string };
  readonly jobs: { readonly reconcileIntervalMs: number; readonly queuePrefix: string };
}

export interface WebConfig extends Omit<WorkerConfig, 'mode' | 'slack'> {
  readonly mode: 'web' | 'all';
  readonly slack: SlackConfig & { readonly signingSecret: string };
}

export type Config = MigrateConfig | WorkerConfig | WebConfig;
export type ConfigFor<M extends Mode> = M extends 'migrate' ? MigrateConfig : M extends 'worker' ? WorkerConfig : WebConfig;

export type ConfigResult<C extends Config = Config> = { ok: true; config: C } | { ok: false; problems: string[] };

type Env = Readonly<Record<string, string | undefined>>;

// --- variables -------------------------------------------------------------------------------------------------
// Each message follows "VAR: " and says what to do. Secret variables' messages are constants: they never look
// at the input.

const notSet = (what: string) => z.string({ error: `not set; ${what}` });

function parseUrl(value: string): URL | null {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

function urlWithProtocol(protocols: string[]) {
  return (value: string): boolean => protocols.includes(parseUrl(value)?.protocol ?? '');
}

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The drivers (postgres, ioredis) `decodeURIComponent` the user name and password; a malformed `%` escape
 * would throw "URI malformed" at the first connection, naming nothing. A URL that does not parse is the
 * protocol check's to report.
 */
const userinfoDecodes = (value: string): boolean => {
  const url = parseUrl(value);
  return url === null || (decodes(url.username) && decodes(url.password));
};
const MALFORMED_ESCAPE = 'has a malformed %-escape in its user name or password; write a literal % as %25 (and percent-encode @ : / ? # as %40 %3A %2F %3F %23)';

/**
 * ioredis takes the database number from the path (`/2`), or from `?db=` when the path is empty, and
 * `parseInt`s it: anything but digits becomes `SELECT NaN`. Whether the number exists on the server (0–15
 * unless redis.conf raises `databases`) is checked at start-up (app/redis.ts).
 */
const redisDbIsNumber = (value: string): boolean => {
  const url = parseUrl(value);
  if (url === null) return true;
  const db = url.pathname === '' || url.pathname === '/' ? url.searchParams.get('db') : url.pathname.slice(1);
  return db === null || /^\d{1,9}$/.test(db);
};

const botToken = notSet('set it to the bot token (xoxb-…) from your Slack app\'s "OAuth & Permissions" page').startsWith(
  'xoxb-',
  { error: 'must be a bot token starting with xoxb- (from "OAuth & Permissions"); app-level xapp- tokens go in SLACK_APP_TOKEN' },
);

const signingSecret = notSet(
  'set it to the signing secret from your Slack app\'s "Basic Information" page; the web process verifies every request with it',
);

const appToken = z
  .string()
  .startsWith('xapp-', {
    error: 'must be an app-level token starting with xapp- ("Basic Information" → "App-Level Tokens", scope connections:write); unset it to receive Slack events over HTTP instead of Socket Mode',
  })
  .optional();

const slackApiUrl = z
  .string()
  .refine(urlWithProtocol(['https:', 'http:']), { error: `must be an http(s) URL of the Slack Web API, like ${DEFAULT_SLACK_API_URL}; unset it to use Slack's` })
  // The Web API client resolves method names against this base; without the slash `…/api` would lose its last segment.
  .transform((url) => (url.endsWith('/') ? url : `${url}/`))
  .default(DEFAULT_SLACK_API_URL);

const databaseUrl = notSet('set it to the PostgreSQL URL, like postgres://accessbot:PASSWORD@localhost:5432/accessbot').refine(
  urlWithProtocol(['postgres:', 'postgresql:']),
  { error: 'must be a postgres:// or postgresql:// URL, like postgres://accessbot:PASSWORD@localhost:5432/accessbot' },
).refine(userinfoDecodes, { error: MALFORMED_ESCAPE });

const redisUrl = z
  .string()
  .refine(urlWithProtocol(['redis:', 'rediss:']), { error: `must be a redis:// or rediss:// URL; unset it to use ${DEFAULT_REDIS_URL}` })
  .refine(userinfoDecodes, { error: MALFORMED_ESCAPE })
  .refine(redisDbIsNumber, {
    error: `the path must be empty or a database number, like ${DEFAULT_REDIS_URL}/0 (0–15 unless redis.conf raises "databases")`,
  })
  .default(DEFAULT_REDIS_URL);

const port = z
  .string()
  .default(String(DEFAULT_PORT))
  .transform((text, ctx) => {
    const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    if (n >= 0 && n <= 65535) return n;
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} is not a port; use a whole number from 0 to 65535 (default ${DEFAULT_PORT})` });
    return z.NEVER;
  });

const accessPolicy = notSet('set it to the path of the policy file (start from examples/policy.yaml)');

const reconcileInterval = z
  .string()
  .default(DEFAULT_RECONCILE_INTERVAL)
  .transform((text, ctx) => {
    // The interval bounds how late a revoke can be once the queue has lost a job, hence the 1h ceiling.
    const parsed = parseDuration(text, { minMs: SECOND, maxMs: MAX_RECONCILE_INTERVAL_MS });
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: `${parsed.problem} (default ${DEFAULT_RECONCILE_INTERVAL}); it bounds how late a revoke can be when the queue loses a job` });
      return z.NEVER;
    }
    return parsed.ms;
  });

const logLevel = z
  .string()
  .default('info')
  .transform((text) => text.toLowerCase())
  .pipe(z.enum(LOG_LEVELS, { error: (iss) => `${JSON.stringify(iss.input)} is not a log level; use one of ${LOG_LEVELS.join(', ')} (default info)` }));

const queuePrefix = z
  .string()
  .default(DEFAULT_QUEUE_PREFIX)
  .refine((p) => !/[:\s]/.test(p), { error: `must not contain ":" or spaces (BullMQ separates its key parts with ":"); default ${DEFAULT_QUEUE_PREFIX}` });

// In the order of the public contract (and of `.env.example`), so problems print in that order too.
const workerVars = z.object({
  SLACK_BOT_TOKEN: botToken,
  SLACK_SIGNING_SECRET: signingSecret.optional(),
  SLACK_APP_TOKEN: appToken,
  SLACK_API_URL: slackApiUrl,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  PORT: port,
  ACCESS_POLICY: accessPolicy,
  RECONCILE_INTERVAL: reconcileInterval,
  LOG_LEVEL: logLevel,
  QUEUE_PREFIX: queuePrefix,
});
const migrateVars = workerVars.pick({ DATABASE_URL: true, LOG_LEVEL: true });
const webVars = workerVars.extend({ SLACK_SIGNING_SECRET: signingSecret });

// --- loading ---------------------------------------------------------------------------------------------------

export function loadConfig<M extends Mode>(env: Env, mode: M): ConfigResult<ConfigFor<M>> {
  const input = normalise(env);
  const result = build(input, mode);
  return result as ConfigResult<ConfigFor<M>>;
}

function build(input: Env, mode: Mode): ConfigResult {
  switch (mode) {
    case 'migrate': {
      const parsed = migrateVars.safeParse(input);
      if (!parsed.success) return failure(parsed.error);
      return { ok: true, config: deepFreeze({ mode, ...baseSections(parsed.data) }) };
    }
    case 'worker': {
      const parsed = workerVars.safeParse(input);
      if (!parsed.success) return failure(parsed.error);
      return { ok: true, config: deepFreeze({ mode, ...runSections(parsed.data) }) };
    }
    case 'web':
    case 'all': {
      const parsed = webVars.safeParse(input);
      if (!parsed.success) return failure(parsed.error);
      const sections = runSections(parsed.data);
      return {
        ok: true,
        config: deepFreeze({ mode, ...sections, slack: { ...sections.slack, signingSecret: parsed.data.SLACK_SIGNING_SECRET } }),
      };
    }
    default:
      return assertNever(mode);
  }
}

function baseSections(vars: z.output<typeof migrateVars>): Omit<MigrateConfig, 'mode'> {
  return { database: { url: vars.DATABASE_URL }, log: { level: vars.LOG_LEVEL } };
}

function runSections(vars: z.output<typeof workerVars>): Omit<WorkerConfig, 'mode'> {
  return {
    ...baseSections(vars),
    slack: {
      botToken: vars.SLACK_BOT_TOKEN,
      signingSecret: vars.SLACK_SIGNING_SECRET,
      appToken: vars.SLACK_APP_TOKEN,
      socketMode: vars.SLACK_APP_TOKEN !== undefined,
      apiUrl: vars.SLACK_API_URL,
    },
    redis: { url: vars.REDIS_URL },
    http: { port: vars.PORT },
    policy: { path: vars.ACCESS_POLICY },
    jobs: { reconcileIntervalMs: vars.RECONCILE_INTERVAL, queuePrefix: vars.QUEUE_PREFIX },
  };
}

/**
 * Surrounding whitespace is dropped (a token read from a file often ends in a newline) and an empty variable
 * counts as unset, so `PORT=` in a compose file means the default rather than an error.
 */
function normalise(env: Env): Env {
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(webVars.shape)) {
    const value = env[key]?.trim();
    out[key] = value === '' ? undefined : value;
  }
  return out;
}

function failure(error: z.ZodError): { ok: false; problems: string[] } {
  return { ok: false, problems: error.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`) };
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child);
  }
  return Object.freeze(value);
}

/**
 * Every secret string in the config, for the logger's redaction. Connection URLs also contribute their password
 * alone, since a driver's error may print it without the rest of the URL.
 */
export function secretValues(config: Config): string[] {
  const secrets: (string | undefined)[] = [config.database.url, ...urlPasswords(config.database.url)];
  if (config.mode !== 'migrate') {
    secrets.push(config.slack.botToken, config.slack.signingSecret, config.slack.appToken);
    secrets.push(config.redis.url, ...urlPasswords(config.redis.url));
  }
  return [...new Set(secrets.filter((s): s is string => s !== undefined && s !== ''))];
}

/** The password as written in the URL and decoded; as written only when it does not decode. */
export function urlPasswords(url: string): string[] {
  const raw = parseUrl(url)?.password ?? '';
  if (raw === '') return [];
  return decodes(raw) ? [raw, decodeURIComponent(raw)] : [raw];
}
