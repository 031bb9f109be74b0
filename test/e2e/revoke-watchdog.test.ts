/**
 * The revoke watchdog end to end: every worker stops while a grant is active; its window ends; the web
 * process, which cannot revoke, tells the admins once that revokes are not progressing. When a worker runs
 * again the grant is revoked and nothing more is said.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import { USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';

const ADMIN = 'U0ADMIN03';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('watchdog', { revokeWatch: { graceMs: 1_000, intervalMs: 250 } });
});
afterAll(async () => {
  await h?.close();
});

const alertsToAdmin = () =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === ADMIN && String(c.args.text).startsWith('Revokes are not progressing'));
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string;
const audit = async (id: string) => (await h.sql`SELECT action FROM audit_events WHERE request_id = ${id} ORDER BY id`).map((r) => r.action as string);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('every worker gone while a grant is active', () => {
  it('the web process tells the admins once that the revoke is not progressing; a worker back revokes it, and nothing more is said', async () => {
    const res = await h.command('request prod-db quick 5s INC-950 watchdog', USERS.alice);
    const id = requestIdIn(res.body);
    await eventually(() => expect(h.slack.callsTo('chat.postMessage').some((c) => JSON.stringify(c.args).includes(id))).toBe(true));
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
    await eventually(async () => expect(await statusOf(id)).toBe('active'), 15_000);

    // Only a web process from now on: nothing can revoke.
    await h.restart({ worker: false });
    await eventually(() => expect(alertsToAdmin()).toHaveLength(1), 20_000);
    const alert = alertsToAdmin()[0]!;
    expect(alert.args.text).toBe('Revokes are not progressing: 1 grant past its end still in place.');
    const blocks = JSON.stringify(FakeSlack.blocks(alert));
    expect(blocks).toContain(`\`${id}\``);
    expect(blocks).toContain('Is an accessbot worker running');
    expect(await statusOf(id)).toBe('active');
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(true);
    expect((await audit(id)).filter((a) => a === 'revoke.stalled')).toHaveLength(1);
    expect(h.logs()).toMatch(/revokes are not progressing/);

    // Told once, not at every run of the watchdog.
    await sleep(1_500);
    expect(alertsToAdmin()).toHaveLength(1);

    // A worker again: the overdue revoke runs (start-up reconcile), and the watchdog has nothing more to say.
    await h.restart({ worker: true });
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'), 20_000);
    expect(await h.target.hasRole(h.target.principal, h.target.roles.read)).toBe(false);
    await sleep(1_000);
    expect(alertsToAdmin()).toHaveLength(1);
  });
});
