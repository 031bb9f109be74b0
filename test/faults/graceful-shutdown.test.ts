/**
 * Fault (of operations): SIGTERM, as a deploy or a scale-down sends it, to a `start` process (web and workers,
 * the real CLI in a child process) while a grant is in the middle of its GRANT on the target. The process
 * stops taking HTTP at once, lets the running job finish, and exits 0 within its bound; nothing is left
 * half-done, and what it owed (the "granted" DM) is delivered after the next start.
 *
 * The slow grant is honest: the bot's GRANT waits behind someone else's uncommitted GRANT of the same
 * membership (a DBA's open transaction), which PostgreSQL serialises on pg_auth_members' unique index. The
 * resource's lock_timeout is raised to 1m so the GRANT outlasts the test's wait (a few seconds) instead of
 * giving up after the 10 s default (then the attempt would fail and the job retry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killApp, spawnApp, type ChildApp } from '../support/child-app.js';
import { ADMIN_URL } from '../support/env.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { holdInTransaction, LONG_LOCK_WAIT, sessionsWaitingOnLock } from '../support/locks.js';

let h: Harness;
let app: ChildApp | null = null;
beforeAll(async () => {
  // The harness provides the database, fake Slack, target and policy; its own instance is web-only and idle.
  h = await startHarness('shutdown', { worker: false, reconcileInterval: '1s', resourceSettings: LONG_LOCK_WAIT });
});
afterAll(async () => {
  await killApp(app);
  await h?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
const start = async () => (app = await spawnApp('start', { ...h.env, LOG_LEVEL: 'info' }));

/** What an HTTP client sees: a status, or that the connection was refused or reset. */
async function probe(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
  } catch {
    return 'refused';
  }
}

describe('SIGTERM while a grant is running', () => {
  it('stops taking HTTP, finishes the grant, exits 0; the grant is whole and its DM goes out after the restart', async () => {
    const running = await start();
    const slack = h.via(running.baseUrl);
    const id = requestIdIn((await slack.command('request prod-db read 1h INC-401 graceful shutdown')).body);
    await eventually(() => expect(cardsOf(id)).toHaveLength(1));

    const dba = await holdInTransaction(ADMIN_URL, [`GRANT "${h.target.roles.read}" TO "${h.target.principal}"`]);
    let exit: { code: number | null; signal: NodeJS.Signals | null };
    let signalled = 0;
    try {
      expect(await slack.click('access_approve', id, USERS.bob)).toBe(200);
      await eventually(async () => expect(await statusOf(id)).toBe('approved'));
      // The grant job is inside the provider's GRANT, waiting.
      await eventually(async () =>
        expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: dba.pid, application: 'accessbot' })).not.toHaveLength(0),
      );

      signalled = Date.now();
      running.kill('SIGTERM');
      // It stops taking HTTP at once, while the job is still running.
      await eventually(async () => expect(await probe(`${running.baseUrl}/healthz`)).not.toBe(200), 5_000);
      expect(['refused', 503]).toContain(await probe(`${running.baseUrl}/slack/events`));
      expect(running.proc.exitCode).toBeNull(); // still draining
      await sleep(1_000);
      expect(running.proc.exitCode).toBeNull();
      expect(await statusOf(id)).toBe('approved');
    } finally {
      await dba.release(); // the DBA rolls back: the bot's GRANT goes through
    }
    exit = await running.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(30_000); // the CLI's bound
    expect(running.lines().some((l) => l.msg === 'accessbot stopped')).toBe(true);

    // The DM was owed after the workers had stopped taking jobs: it waits in the outbox (and its queue).
    expect(dmsOf(id)).toHaveLength(0);
    // Nothing half-done: the job that was running finished its whole transition before the exit.
    expect(await statusOf(id)).toBe('active');
    expect(await hasRead()).toBe(true);
    const [g] = await h.sql`SELECT granted_at, expires_at FROM grants WHERE request_id = ${id}`;
    expect(g!.granted_at).not.toBeNull();
    expect(g!.expires_at).not.toBeNull();

    // What it owed and did not send before stopping is in the outbox: the next start delivers it, once.
    await start();
    await eventually(() => expect(dmsOf(id)).toHaveLength(1), 15_000);
    expect(JSON.stringify(dmsOf(id)[0]!.args)).toMatch(/granted/i);
    await h.via(app!.baseUrl).command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await hasRead()).toBe(false);
    await sleep(1_000);
    expect(dmsOf(id)).toHaveLength(2);
    expect(cardsOf(id)).toHaveLength(1);
  });
});
