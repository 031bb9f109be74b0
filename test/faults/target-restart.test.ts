/**
 * Fault: the target database (where roles are granted; a private PostgreSQL cluster here, so the shared
 * server is never touched) restarts while the bot's GRANT is running on it. The grant attempt fails, the app
 * (the real CLI, `src/cli.ts start`, in a child process) survives, and the grant job retries once the target
 * is back: one grant, one "granted" DM.
 *
 * The GRANT is held in flight honestly: it waits behind a DBA's uncommitted GRANT of the same membership.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killApp, spawnApp, type ChildApp } from '../support/child-app.js';
import { USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { holdInTransaction, LONG_LOCK_WAIT, sessionsWaitingOnLock } from '../support/locks.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-servers.js';

let pg: PrivatePostgres;
let h: Harness;
let app: ChildApp | null = null;
beforeAll(async () => {
  pg = await startPrivatePostgres();
  // The bot's GRANT or REVOKE waits behind a DBA's lock as long as the test holds it (see LONG_LOCK_WAIT).
  h = await startHarness('tgtrestart', { worker: false, reconcileInterval: '1s', target: { adminUrl: pg.urlFor('postgres') }, resourceSettings: LONG_LOCK_WAIT });
  app = await spawnApp('start', { ...h.env, LOG_LEVEL: 'info' });
}, 60_000);
afterAll(async () => {
  try {
    await killApp(app);
    await pg?.start().catch(() => undefined); // running again, so the harness can drop the target
    await h?.close();
  } finally {
    await pg?.destroy();
  }
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail' && app) console.log(app.output().slice(-4000));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && JSON.stringify(c.args).includes(id));

describe('the target database restarts while the bot is granting', () => {
  it('the app survives and the grant job retries: one grant, one "granted" DM', async () => {
    const slack = h.via(app!.baseUrl);
    const id = requestIdIn((await slack.command('request prod-db read 1h INC-301 target restart')).body);
    const dba = await holdInTransaction(pg.urlFor('postgres'), [`GRANT "${h.target.roles.read}" TO "${h.target.principal}"`]);
    try {
      expect(await slack.click('access_approve', id, USERS.bob)).toBe(200);
      await eventually(async () => expect(await statusOf(id)).toBe('approved'));
      // The bot's GRANT is in flight, inside the provider's transaction on the target.
      await eventually(async () =>
        expect(await sessionsWaitingOnLock(h.target.sql, h.target.database, { except: dba.pid, application: 'accessbot' })).not.toHaveLength(0),
      );
      await pg.stop();
    } finally {
      await dba.release().catch(() => undefined); // its session died with the server
    }
    await sleep(1_000);
    await pg.start();

    expect(app!.proc.exitCode, app!.output().slice(-3000)).toBeNull();
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 20_000);
    expect(await hasRead()).toBe(true);
    await eventually(() => expect(dmsOf(id)).toHaveLength(1));
    expect(app!.proc.exitCode).toBeNull();
    expect(app!.output()).not.toMatch(/TypeError|Uncaught/);
    await slack.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
    expect(await hasRead()).toBe(false);
    await eventually(() => expect(dmsOf(id)).toHaveLength(2)); // granted, then given back
    await sleep(1_000);
    expect(dmsOf(id)).toHaveLength(2);
    expect((await h.sql`SELECT 1 FROM audit_events WHERE request_id = ${id} AND action = 'grant.activated'`).length).toBe(1);
  });
});
