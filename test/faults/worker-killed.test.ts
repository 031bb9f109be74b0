/**
 * Fault: the worker process is SIGKILLed in the middle of a job, at the two worst moments:
 *  - after the target granted the role but before PostgreSQL recorded the grant (access exists, no window);
 *  - after the revoke was started (`revoking` saved) but before the target revoked anything.
 * The web process (in-process here) keeps running; the workers are the real CLI (`src/cli.ts worker`) in child
 * processes: restarted after the kill in the first test, a second worker already running in the second. The
 * kill point is made exact, without a hook in src/, by another session holding a lock the step needs (see
 * support/locks.ts), then polling until the worker waits on it.
 *
 * BullMQ finds the dead worker's job by its stall check, with the production timings (src/jobs/workers.ts
 * STALL_SETTINGS: lock 10 s, check every 5 s, so taken over at most 15 s after the crash; nothing shortened),
 * and each test asserts the takeover came within TAKEOVER_BOUND_MS of the kill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killApp, spawnApp, type ChildApp } from '../support/child-app.js';
import { ADMIN_URL } from '../support/env.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { holdInTransaction, holdRequestRow, LONG_LOCK_WAIT, sessionsWaitingOnLock, type HeldLock } from '../support/locks.js';
import { CRASHED_JOB_TAKEOVER_MS } from '../../src/jobs/workers.js';

/**
 * From the SIGKILL to the job's transition saved by another worker: BullMQ's bound (15 s) plus the pick-up and
 * the job itself on a loaded test machine. BullMQ's defaults (lock 30 s, check every 30 s) took 30–60 s.
 */
const TAKEOVER_BOUND_MS = 20_000;

let h: Harness;
let worker: ChildApp | null = null;
const workers: ChildApp[] = [];
beforeAll(async () => {
  // The in-process app is the web process only; the workers are child processes.
  // The bot's GRANT or REVOKE waits behind a DBA's lock as long as the test holds it (see LONG_LOCK_WAIT).
  h = await startHarness('workerkill', { worker: false, reconcileInterval: '1s', resourceSettings: LONG_LOCK_WAIT });
});
afterAll(async () => {
  for (const w of workers) await killApp(w);
  await h?.close();
});

const startWorker = async () => {
  worker = await spawnApp('worker', { ...h.env, LOG_LEVEL: 'info' });
  workers.push(worker);
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

it('production stall timings take a crashed job back within 15 s (BullMQ defaults: 30–60 s)', () => {
  expect(CRASHED_JOB_TAKEOVER_MS).toBeLessThanOrEqual(15_000);
});

describe('a worker killed after the target granted, before the database recorded the grant', () => {
  it('after a restart: one membership, active with one "granted" DM within the takeover bound, then revoked at the end of its window', async () => {
    const id = requestIdIn((await h.command('request prod-db read 5s INC-801 kill mid-grant')).body);
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('approved'));

    // The kill point, in two steps. A DBA's uncommitted GRANT of the same membership holds the bot's GRANT,
    // after everything the job saves on this row before granting (the grant's claim, what was held before).
    // While it waits, this row is held; then the DBA rolls back, the bot's GRANT goes through, and the job
    // waits to save `active` on the row.
    const dba = await holdInTransaction(ADMIN_URL, [`GRANT "${h.target.roles.read}" TO "${h.target.principal}"`]);
    let row: HeldLock | null = null;
    let killed: ChildApp;
    let killedAt = 0;
    try {
      killed = await startWorker();
      await eventually(
        async () => expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: dba.pid, application: 'accessbot' })).not.toHaveLength(0),
        20_000,
      );
      row = await holdRequestRow(h.db.url, id);
      await dba.release();
      await eventually(async () => expect(await hasRead()).toBe(true)); // the target granted...
      await eventually(async () => expect(await sessionsWaitingOnLock(h.sql, h.db.name, { except: row!.pid })).not.toHaveLength(0));
      expect(await statusOf(id)).toBe('approved'); // ...and the database does not know yet
      killedAt = Date.now();
      killed.kill('SIGKILL');
      expect((await killed.exited).signal).toBe('SIGKILL');
    } finally {
      await dba.release();
      await row?.release();
    }
    // The dangerous state: access on the target, no window in PostgreSQL, no process running the job.
    await sleep(500);
    expect(await statusOf(id)).toBe('approved');
    expect(await hasRead()).toBe(true);

    // Measured from the replacement worker's start (a tsx child: seconds of start-up under load are not the
    // takeover's); the lock the killed worker held expires on its own clock meanwhile.
    await startWorker();
    const restartedAt = Date.now();
    await eventually(async () => expect(await statusOf(id)).toBe('active'), TAKEOVER_BOUND_MS + 5_000);
    expect(Date.now() - restartedAt).toBeLessThan(TAKEOVER_BOUND_MS);
    expect(restartedAt).toBeGreaterThan(killedAt);
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
  }, 90_000);
});

describe('a worker killed mid-revoke (revoking saved, nothing revoked on the target yet)', () => {
  it('a second worker, already running, completes the revoke within the takeover bound: role gone, revoked once, the requester told once', async () => {
    if (!worker || worker.proc.exitCode !== null) await startWorker();
    const victim = worker!;
    const id = requestIdIn((await h.command('request prod-db read 5s INC-802 kill mid-revoke')).body);
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 15_000);
    await eventually(() => expect(dmsOf(id)).toHaveLength(1));

    // Someone else's uncommitted REVOKE of the same membership: the bot's REVOKE waits behind it.
    const concurrent = await holdInTransaction(ADMIN_URL, [`REVOKE "${h.target.roles.read}" FROM "${h.target.principal}"`]);
    let killedAt = 0;
    try {
      await eventually(async () => expect(await statusOf(id)).toBe('revoking'), 15_000);
      await eventually(async () =>
        expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: concurrent.pid, application: 'accessbot' })).not.toHaveLength(0),
      );
      // A second worker process (another replica), up and idle before the crash: it must take the job over
      // by BullMQ's stall check alone; nobody restarts anything. (Its reconciles leave an active job alone.)
      await startWorker();
      killedAt = Date.now();
      victim.kill('SIGKILL');
      expect((await victim.exited).signal).toBe('SIGKILL');
      // Its REVOKE never ran: end the orphaned session, as if the kill had come just before it was sent
      // (left alone, PostgreSQL would run it once the lock frees, and the revoke would be half ours).
      for (const pid of await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: concurrent.pid, application: 'accessbot' })) {
        await h.target.sql`SELECT pg_terminate_backend(${pid}, 5000)`;
      }
    } finally {
      await concurrent.release(); // rolled back: the membership is still there
    }
    // The dead worker's lock on the job lasts for a few more seconds: nobody runs the revoke yet.
    expect(await statusOf(id)).toBe('revoking');
    expect(await hasRead()).toBe(true);

    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), TAKEOVER_BOUND_MS + 5_000);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(TAKEOVER_BOUND_MS);
    expect(await hasRead()).toBe(false); // the role is really gone on the target
    await eventually(() => expect(dmsOf(id)).toHaveLength(2));
    await sleep(1_000);
    expect(dmsOf(id)).toHaveLength(2);
    expect((await actions(id)).filter((a) => a === 'revoke.completed')).toHaveLength(1);
  }, 90_000);
});
