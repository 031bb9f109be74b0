/**
 * Fault: the worker process is SIGKILLed in the middle of a job, at the two worst moments:
 *  - after the target granted the role but before PostgreSQL recorded the grant (access exists, no window);
 *  - after the revoke was started (`revoking` saved) but before the target revoked anything.
 * The web process (in-process here) keeps running; the worker is the real CLI (`src/cli.ts worker`) in a
 * child process, restarted after the kill. The kill point is made exact, without a hook in src/, by another
 * session holding a lock the step needs (see support/locks.ts), then polling until the worker waits on it.
 *
 * BullMQ finds the dead worker's job by its stall check; the child runs with that clock shortened
 * (support/fast-stall.ts: lock 2 s, check every 1 s; production defaults are 30 s and 30 s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killApp, spawnApp, type ChildApp } from '../support/child-app.js';
import { ADMIN_URL } from '../support/env.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { holdInTransaction, holdRequestRow, sessionsWaitingOnLock } from '../support/locks.js';

let h: Harness;
let worker: ChildApp | null = null;
beforeAll(async () => {
  // The in-process app is the web process only; the worker is a child process.
  h = await startHarness('workerkill', { worker: false, reconcileInterval: '1s' });
});
afterAll(async () => {
  await killApp(worker);
  await h?.close();
});

const startWorker = async () => {
  worker = await spawnApp('worker', { ...h.env, LOG_LEVEL: 'info' }, { preload: ['test/support/fast-stall.ts'] });
  return worker;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const actions = async (id: string) => (await h.sql`SELECT action FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => r.action as string);
const memberships = async () =>
  Number(
    (
      await h.target.sql`
        SELECT count(*)::int AS n FROM pg_auth_members m
        JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
        WHERE r.rolname = ${h.target.roles.read} AND u.rolname = ${h.target.principal}`
    )[0]!.n,
  );

describe('a worker killed after the target granted, before the database recorded the grant', () => {
  it('after a restart: one membership, active with one "granted" DM, then revoked at the end of its window', async () => {
    const id = requestIdIn((await h.command('request prod-db read 5s INC-801 kill mid-grant')).body);
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('approved'));

    // The grant job will grant on the target, then wait to save `active` on this row.
    const row = await holdRequestRow(h.db.url, id);
    let killed: ChildApp;
    try {
      killed = await startWorker();
      await eventually(async () => expect(await hasRead()).toBe(true), 20_000); // the target granted...
      await eventually(async () => expect(await sessionsWaitingOnLock(h.sql, h.db.name, { except: row.pid })).not.toHaveLength(0));
      expect(await statusOf(id)).toBe('approved'); // ...and the database does not know yet
      killed.kill('SIGKILL');
      expect((await killed.exited).signal).toBe('SIGKILL');
    } finally {
      await row.release();
    }
    // The dangerous state: access on the target, no window in PostgreSQL, no process running the job.
    await sleep(500);
    expect(await statusOf(id)).toBe('approved');
    expect(await hasRead()).toBe(true);

    await startWorker();
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 20_000);
    expect(await memberships()).toBe(1);
    // What was held before was recorded (as nothing) before the first attempt granted, so the retry does not
    // mistake our own grant for pre-existing access, and the revoke will take it back.
    const [g] = await h.sql`SELECT pre_existing FROM grants WHERE request_id = ${id}`;
    expect(g!.pre_existing).toEqual([]);
    await eventually(() => expect(dmsOf(id)).toHaveLength(1));
    expect(JSON.stringify(dmsOf(id)[0]!.args)).toMatch(/granted/i);

    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 15_000);
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(dmsOf(id)).toHaveLength(2)); // granted, then ended
    await sleep(1_000);
    expect(dmsOf(id)).toHaveLength(2);
    expect(cardsOf(id)).toHaveLength(1);
    const trail = await actions(id);
    expect(trail.filter((a) => a === 'grant.activated')).toHaveLength(1);
    expect(trail.filter((a) => a === 'revoke.completed')).toHaveLength(1);
  });
});

describe('a worker killed mid-revoke (revoking saved, nothing revoked on the target yet)', () => {
  it('after a restart the revoke completes: role gone, revoked once, the requester told once', async () => {
    if (!worker || worker.proc.exitCode !== null) await startWorker();
    const id = requestIdIn((await h.command('request prod-db read 5s INC-802 kill mid-revoke')).body);
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 15_000);
    await eventually(() => expect(dmsOf(id)).toHaveLength(1));

    // Someone else's uncommitted REVOKE of the same membership: the bot's REVOKE waits behind it.
    const concurrent = await holdInTransaction(ADMIN_URL, [`REVOKE "${h.target.roles.read}" FROM "${h.target.principal}"`]);
    try {
      await eventually(async () => expect(await statusOf(id)).toBe('revoking'), 15_000);
      await eventually(async () =>
        expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: concurrent.pid, application: 'accessbot' })).not.toHaveLength(0),
      );
      const killed = worker!;
      killed.kill('SIGKILL');
      expect((await killed.exited).signal).toBe('SIGKILL');
      // Its REVOKE never ran: end the orphaned session, as if the kill had come just before it was sent
      // (left alone, PostgreSQL would run it once the lock frees, and the revoke would be half ours).
      for (const pid of await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: concurrent.pid, application: 'accessbot' })) {
        await h.target.sql`SELECT pg_terminate_backend(${pid}, 5000)`;
      }
    } finally {
      await concurrent.release(); // rolled back: the membership is still there
    }
    await sleep(500);
    expect(await statusOf(id)).toBe('revoking');
    expect(await hasRead()).toBe(true);

    await startWorker();
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 20_000);
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(dmsOf(id)).toHaveLength(2));
    await sleep(1_000);
    expect(dmsOf(id)).toHaveLength(2);
    expect((await actions(id)).filter((a) => a === 'revoke.completed')).toHaveLength(1);
  });
});
