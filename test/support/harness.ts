/**
 * The real app, end to end, in-process: its HTTP server on a random port, a fresh database, a fresh target
 * database with real roles, a unique queue prefix on the real Redis, and a fake Slack at the HTTP boundary.
 * Requests reach it exactly as Slack sends them: recorded payload shapes, signed with the signing secret.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { vi } from 'vitest';
import { startAccessBot, type RunningBot } from '../../src/app.js';
import { loadConfig, type WebConfig } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { REDIS_URL, uniqueSuffix } from './env.js';
import { FakeSlack } from './fake-slack.js';
import { blockActionsBody, signedHeaders, slashCommandBody } from './slack-signing.js';
import { createTargetDb, type TargetDb, type TargetDbOptions } from './target-db.js';

export const USERS = {
  alice: 'U0ALICE01',
  bob: 'U0BOB0002',
  carol: 'U0CAROL03',
  dave: 'U0DAVE004',
} as const;
export const APPROVERS_CHANNEL = 'C0APPROVE1';
export const ESCALATION_CHANNEL = 'C0ESCALAT1';

export interface Harness {
  sfx: string;
  slack: FakeSlack;
  db: TestDatabase;
  sql: postgres.Sql;
  target: TargetDb;
  secrets: { botToken: string; signingSecret: string };
  logs: () => string;
  bot: RunningBot;
  /** The environment the app runs with (fault tests start child processes of the real CLI with it). */
  env: Readonly<Record<string, string>>;
  baseUrl: () => string;
  command(text: string, user?: string): Promise<{ status: number; body: Record<string, any> }>;
  click(action: 'access_approve' | 'access_deny' | 'access_acknowledge', requestId: string, user: string, denyReason?: string): Promise<number>;
  /** A click on the Revoke button of the request's card, with what was typed in its reason box. */
  clickRevoke(requestId: string, user: string, reason?: string): Promise<number>;
  post(body: string, headers: Record<string, string>): Promise<Response>;
  /** The same Slack requests, sent to another instance's HTTP endpoint (a second process, a child process). */
  via(baseUrl: string): SlackSender;
  /** Starts one more instance on the same database, Redis prefix, policy and target (stopped by close()). */
  startInstance(roles: { web: boolean; worker: boolean }): Promise<RunningBot>;
  /** Deletes every Redis key of this file's queues: what a FLUSHALL does to us, without touching other files. */
  loseRedisData(): Promise<void>;
  /** Stops the process (if running) and starts a new one on the same database, Redis prefix and policy. */
  restart(overrides?: { worker?: boolean }): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export type SlackSender = Pick<Harness, 'command' | 'click' | 'clickRevoke' | 'post'>;

export interface HarnessOptions {
  reconcileInterval?: string;
  /** Start without workers (web only), to control when jobs run. */
  worker?: boolean;
  /** A Redis other than the shared one (fault tests stop their own private Redis). */
  redisUrl?: string;
  /** A database other than a fresh copy of the template on the shared server (fault tests restart their own). */
  database?: TestDatabase;
  /**
   * More roles for prod-db: YAML appended under its `roles:`, indented as the harness's own roles are (six
   * spaces for a role name). A function is given the target's role names, which carry the file's suffix.
   */
  extraRoles?: string | ((roles: TargetDb['roles']) => string);
  /** More settings for prod-db (YAML lines indented four spaces), e.g. `    mode: login`. */
  resourceSettings?: string;
  /** More environment variables for the app (what `resourceSettings` names). */
  extraEnv?: Record<string, string>;
  /** Where the target database lives (see `createTargetDb`); the shared test server by default. */
  target?: TargetDbOptions;
  /** A revoke watchdog that looks more often and is less patient; production's (minutes) by default. */
  revokeWatch?: { graceMs: number; intervalMs: number };
}

export async function startHarness(label: string, options: HarnessOptions = {}): Promise<Harness> {
  const sfx = uniqueSuffix();
  const principal = `alice_${sfx}`;
  const slack = await new FakeSlack().addChannel(APPROVERS_CHANNEL).addChannel(ESCALATION_CHANNEL).start();
  slack
    .addUser({ id: USERS.alice, email: `${principal}@example.com` })
    .addUser({ id: USERS.bob, email: `bob_${sfx}@example.com` })
    .addUser({ id: USERS.carol, email: `carol_${sfx}@example.com` })
    .addUser({ id: USERS.dave });
  const db = options.database ?? (await createTestDatabase(label));
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const sql = postgres(db.url, { max: 2, onnotice: () => {} });
  const target = await createTargetDb(sfx, principal, options.target);
  const envName = `TARGET_DB_URL_${sfx.toUpperCase()}`;
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-'));
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(
    policyPath,
    `version: 1
admins: [U0ADMIN03]
resources:
  prod-db:
    provider: postgres
    connection: { env: ${envName} }
${options.resourceSettings ? `${options.resourceSettings.replace(/\n+$/, '')}\n` : ''}    roles:
      read:
        grants: [${target.roles.read}]
        max_duration: 4h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        approvals: 1
        channel: ${APPROVERS_CHANNEL}
        approval_grace: 1s
      write:
        grants: [${target.roles.write}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        approvals: 2
        channel: ${APPROVERS_CHANNEL}
        approval_grace: 1s
      quick:
        grants: [${target.roles.read}]
        max_duration: 1h
        approvers: { users: [${USERS.bob}, ${USERS.carol}] }
        channel: ${APPROVERS_CHANNEL}
        approval_grace: off
        request_ttl: 6s
        remind_after: 3s
        warn_before: 3s
        escalation: { after: 2s, channel: ${ESCALATION_CHANNEL}, users: [${USERS.dave}] }
${typeof options.extraRoles === 'function' ? options.extraRoles(target.roles) : (options.extraRoles ?? '')}`,
  );
  const secrets = { botToken: `xoxb-test-${sfx}-t0k3n`, signingSecret: `signing-${sfx}-s3cr3t` };
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: secrets.botToken,
    SLACK_SIGNING_SECRET: secrets.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    PORT: '0',
    ACCESS_POLICY: policyPath,
    RECONCILE_INTERVAL: options.reconcileInterval ?? '1s',
    LOG_LEVEL: 'debug',
    QUEUE_PREFIX: `test-${sfx}`,
    [envName]: target.botUrl,
    ...options.extraEnv,
  };
  const loaded = loadConfig(env, 'all');
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  const config = loaded.config as WebConfig;
  let logText = '';
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString()));
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // a private Redis may be down on purpose

  const start = (worker = options.worker ?? true) =>
    startAccessBot({
      config,
      env,
      roles: { web: true, worker },
      logDestination: logStream,
      revokeBackoff: { baseMs: 200, capMs: 1_000 },
      slackRetries: 0,
      ...(options.revokeWatch ? { revokeWatch: options.revokeWatch } : {}),
    });
  let bot = await start();
  let running = true;
  const extra: RunningBot[] = [];

  const sender = (baseUrl: () => string): SlackSender => {
    const s: SlackSender = {
      async post(body, headers) {
        return fetch(`${baseUrl()}/slack/events`, { method: 'POST', headers, body });
      },
      async command(text, user = USERS.alice) {
        const body = slashCommandBody({
          text,
          user_id: user,
          user_name: user.toLowerCase(),
          response_url: slack.responseUrl(`commands/${user}`),
        });
        const res = await s.post(body, signedHeaders(secrets.signingSecret, body, 'application/x-www-form-urlencoded'));
        const raw = await res.text();
        return { status: res.status, body: raw ? (JSON.parse(raw) as Record<string, any>) : {} };
      },
      async click(action, requestId, user, denyReason) {
        const card = slack.callsTo('chat.postMessage').find((c) => c.args.channel === APPROVERS_CHANNEL);
        const body = blockActionsBody((p) => {
          p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
          p.actions[0].action_id = action;
          p.actions[0].value = requestId;
          p.actions[0].block_id = `req_decision:${requestId}`;
          p.actions[0].style = action === 'access_approve' ? 'primary' : 'danger';
          p.actions[0].text.text = action === 'access_approve' ? 'Approve' : 'Deny';
          p.response_url = slack.responseUrl(`actions/${user}`);
          if (card) p.container.message_ts = p.message.ts = String(card.args.ts ?? p.message.ts);
          p.state = {
            values: denyReason === undefined ? {} : { access_deny_reason: { deny_reason: { type: 'plain_text_input', value: denyReason } } },
          };
        });
        const res = await s.post(body, signedHeaders(secrets.signingSecret, body, 'application/x-www-form-urlencoded'));
        await res.text();
        return res.status;
      },
      async clickRevoke(requestId, user, reason) {
        const body = blockActionsBody((p) => {
          p.user = { ...p.user, id: user, username: user.toLowerCase(), name: user.toLowerCase() };
          p.actions[0] = { ...p.actions[0], action_id: 'access_revoke', value: requestId, block_id: `req_decision:${requestId}`, style: 'danger', text: { type: 'plain_text', text: 'Revoke', emoji: true } };
          p.response_url = slack.responseUrl(`actions/${user}`);
          p.state = { values: reason === undefined ? {} : { access_revoke_reason: { revoke_reason: { type: 'plain_text_input', value: reason } } } };
        });
        const res = await s.post(body, signedHeaders(secrets.signingSecret, body, 'application/x-www-form-urlencoded'));
        await res.text();
        return res.status;
      },
    };
    return s;
  };
  const own = sender(() => harness.baseUrl());

  const harness: Harness = {
    sfx,
    slack,
    db,
    sql,
    target,
    secrets,
    logs: () => logText,
    get bot() {
      return bot;
    },
    baseUrl: () => `http://127.0.0.1:${bot.port}`,
    env,
    post: (body, headers) => own.post(body, headers),
    command: (text, user) => own.command(text, user),
    click: (action, requestId, user, denyReason) => own.click(action, requestId, user, denyReason),
    clickRevoke: (requestId, user, reason) => own.clickRevoke(requestId, user, reason),
    via: (baseUrl) => sender(() => baseUrl),
    async startInstance(roles) {
      const instance = await startAccessBot({
        config,
        env,
        roles,
        logDestination: logStream,
        revokeBackoff: { baseMs: 200, capMs: 1_000 },
        slackRetries: 0,
        ...(options.revokeWatch ? { revokeWatch: options.revokeWatch } : {}),
      });
      extra.push(instance);
      return instance;
    },
    async loseRedisData() {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `test-${sfx}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    },
    async stop() {
      if (running) await bot.stop();
      running = false;
    },
    async restart(overrides = {}) {
      await harness.stop();
      bot = await start(overrides.worker);
      running = true;
    },
    async close() {
      for (const instance of extra.splice(0)) await instance.stop().catch(() => undefined);
      await harness.stop();
      await harness.loseRedisData();
      await redis.quit();
      await sql.end();
      await slack.stop();
      await target.drop();
      await db.drop();
    },
  };
  return harness;
}

/** The id of the request that `command()` just created, read from the ack text. */
export function requestIdIn(body: Record<string, any>): string {
  const id = /req_[a-z0-9]+/.exec(JSON.stringify(body))?.[0];
  if (!id) throw new Error(`no request id in ${JSON.stringify(body)}`);
  return id;
}

export const eventually = <T>(fn: () => T | Promise<T>, timeout = 15_000) => vi.waitFor(fn, { timeout, interval: 50 });
