/**
 * Fault: the system of record (a private PostgreSQL cluster, so the shared server is never touched) restarts
 * or is down for a few seconds in the middle of a flow. Every session is cut; every transaction in flight
 * rolls back. The app is the real CLI (`src/cli.ts start`, web and workers) in a child process, so a crash
 * shows as a crash. It survives; nothing that was committed is lost; work in flight is retried; a person
 * whose click was in flight is told privately to try again: never silence, never a stack trace.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killApp, spawnApp, type ChildApp } from '../support/child-app.js';
import { ADMIN_URL } from '../support/env.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness, type SlackSender } from '../support/harness.js';
import { holdInTransaction, holdRequestRow, LONG_LOCK_WAIT, sessionsWaitingOnLock, type HeldLock } from '../support/locks.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-servers.js';

let pg: PrivatePostgres;
let h: Harness;
let app: ChildApp;
let slack: SlackSender;
beforeAll(async () => {
  pg = await startPrivatePostgres();
  const database = await pg.createDatabase('accessbot_pgrestart');
  // The harness provides the database, fake Slack, target and policy; its own instance is web-only and idle.
  // The bot's GRANT or REVOKE waits behind a DBA's lock as long as the test holds it (see LONG_LOCK_WAIT).
  h = await startHarness('pgrestart', { database, worker: false, reconcileInterval: '1s', resourceSettings: LONG_LOCK_WAIT });
  app = await spawnApp('start', { ...h.env, LOG_LEVEL: 'info' });
  slack = h.via(app.baseUrl);

}, 60_000);
afterAll(async () => {
  try {
    await killApp(app);
    await pg?.start().catch(() => undefined); // running again, whatever a failed test left behind
    await h?.close();
  } finally {
    await pg?.destroy();
  }
});

afterEach((ctx) => {
  // On a failure, what the app said about it (warnings and errors) is the first thing to read.
  if (ctx.task.result?.state === 'fail') console.log(app.lines().filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l).slice(0, 600)).join('\n'));
});

/** The process lived through it: still running, and it printed no crash. */
function expectAlive(): void {
  expect(app.proc.exitCode, app.output().slice(-3000)).toBeNull();
  expect(app.output()).not.toMatch(/TypeError|Uncaught|uncaughtException/);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
const privateRepliesTo = (user: string) => h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === user && c.args.channel === APPROVERS_CHANNEL);
const decisionsOf = async (id: string) => (await h.sql`SELECT approver_id FROM decisions WHERE request_id = ${id}`).length;

async function newRequest(reason: string): Promise<string> {
  const id = requestIdIn((await slack.command(`request prod-db read 1h ${reason}`)).body);
  await eventually(() => expect(cardsOf(id)).toHaveLength(1));
  return id;
}

/** A "try again" answer: plain words and a reference, nothing a stack trace or a driver error looks like. */
function expectTryAgain(text: string): void {
  expect(text).toMatch(/try again/i);
  expect(text).toMatch(/nothing was changed/i);
  expect(text).not.toMatch(/\n\s+at |Error:|ECONN|postgres|SQLSTATE|terminat/i);
}

describe('PostgreSQL restarts between the approval and the grant', () => {
  it('loses nothing: the approved request is granted once PostgreSQL is back, with one "granted" DM', async () => {
    const id = await newRequest('INC-701 pg restart mid-grant');
    // Placing the restart exactly: a DBA's uncommitted GRANT of the same membership holds the bot's GRANT;
    // once the approval is committed the test holds the request row, then lets the GRANT through. The grant
    // job has now granted on the target and waits to record `active`...
    const dba = await holdInTransaction(ADMIN_URL, [`GRANT "${h.target.roles.read}" TO "${h.target.principal}"`]);
    let row: HeldLock | null = null;
    try {
      expect(await slack.click('access_approve', id, USERS.bob)).toBe(200);
      await eventually(async () => expect(await statusOf(id)).toBe('approved'));
      await eventually(async () =>
        expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: dba.pid, application: 'accessbot' })).not.toHaveLength(0),
      );
      row = await holdRequestRow(h.db.url, id);
      await dba.release();
      await eventually(async () => expect(await hasRead()).toBe(true));
      await eventually(async () => expect(await sessionsWaitingOnLock(h.sql, h.db.name, { except: row!.pid })).not.toHaveLength(0));
      expect(await statusOf(id)).toBe('approved');
      // ...and the whole cluster goes down now, and stays down for 3 s.
      await pg.stop();
    } finally {
      await dba.release();
      await row?.release().catch(() => undefined); // its session died with the server
    }
    const readyz = await fetch(`${app.baseUrl}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ ready: false, checks: { database: 'unreachable', redis: 'ok' } });
    expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
    await sleep(3_000);
    await pg.start();
    expectAlive();

    // The approval was committed before the restart; the grant job retries until the database answers.
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 20_000);
    expect(await hasRead()).toBe(true);
    const [g] = await h.sql`SELECT pre_existing, granted_at FROM grants WHERE request_id = ${id}`;
    expect(g!.pre_existing).toEqual([]); // so its revoke will take the role back
    expect(g!.granted_at).not.toBeNull();
    await eventually(() => expect(dmsOf(id)).toHaveLength(1));
    await sleep(1_500);
    expect(dmsOf(id)).toHaveLength(1);
    expect(cardsOf(id)).toHaveLength(1);
    expect((await h.sql`SELECT 1 FROM audit_events WHERE request_id = ${id} AND action = 'grant.activated'`).length).toBe(1);
    await slack.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('a click that arrives while PostgreSQL restarts', () => {
  it('in flight when the server goes down: the clicker is told privately to try again, and the retry works', async () => {
    const id = await newRequest('INC-702 click in flight');
    const before = privateRepliesTo(USERS.carol).length;
    // The click's transition waits on the row, so it is in flight when the restart cuts its session.
    const row = await holdRequestRow(h.db.url, id);
    try {
      expect(await slack.click('access_approve', id, USERS.carol)).toBe(200); // acked at once, as Slack requires
      await eventually(async () => expect(await sessionsWaitingOnLock(h.sql, h.db.name, { except: row.pid })).not.toHaveLength(0));
      await pg.restart();
    } finally {
      await row.release().catch(() => undefined);
    }
    await eventually(() => expect(privateRepliesTo(USERS.carol).length).toBe(before + 1), 15_000);
    expectAlive();
    expectTryAgain(String(privateRepliesTo(USERS.carol).at(-1)!.args.text));
    expect(await statusOf(id)).toBe('pending'); // nothing half-saved
    expect(await decisionsOf(id)).toBe(0);

    expect(await slack.click('access_approve', id, USERS.carol)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 15_000);
    expect(privateRepliesTo(USERS.carol).length).toBe(before + 1); // the successful click needs no private answer
    await slack.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });

  it('while the server is down: the clicker is told privately to try again, and nothing is recorded', async () => {
    const id = await newRequest('INC-703 click while down');
    const before = privateRepliesTo(USERS.bob).length;
    await pg.stop();
    try {
      const started = Date.now();
      expect(await slack.click('access_deny', id, USERS.bob, 'not now')).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_500);
      await eventually(() => expect(privateRepliesTo(USERS.bob).length).toBe(before + 1), 15_000);
      expectTryAgain(String(privateRepliesTo(USERS.bob).at(-1)!.args.text));
    } finally {
      await pg.start();
    }
    expect(await statusOf(id)).toBe('pending');
    expect(await decisionsOf(id)).toBe(0);
    expectAlive();
  });
});
