/**
 * Fault (of operations): a web process is asked to stop (what SIGTERM does: `cli.ts` calls `stop()`) while clicks
 * it has already acked are still being worked on. Slack got its 200 within 3 s; the decision and the clickers'
 * answers come after. `stop()` stops taking requests at once, waits (bounded) for those listeners, and only then
 * closes the database and Redis they use.
 *
 * The in-flight moments are made honestly, without a hook in src/: another session holds the request's row, so
 * the clicks' transitions wait on it (support/locks.ts); and FakeSlack holds its answer to chat.postEphemeral,
 * so the losing clicker's private reply is in flight (a slow Slack).
 *
 * The web process is the harness's in-process app; a separate worker instance (in-process too) keeps running,
 * as the workers of a real deployment do while one web replica is replaced, and delivers the card updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { holdRequestRow, sessionsWaitingOnLock } from '../support/locks.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('clickstop', { worker: false, reconcileInterval: '1s' });
  await h.startInstance({ web: false, worker: true });
});
afterAll(async () => {
  await h?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const cardUpdatesOf = (id: string) => h.slack.callsTo('chat.update').filter(about(id));
const ephemeralsOf = (id: string) => h.slack.callsTo('chat.postEphemeral').filter(about(id));
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const decisionsOf = async (id: string) => h.sql`SELECT approver_id, outcome FROM decisions WHERE request_id = ${id}`;
const logLines = () =>
  h
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('stop() while clicks are in flight in a web process', () => {
  it('stops taking requests at once, lets the acked clicks finish (decision recorded, private reply delivered), then stops', async () => {
    const id = requestIdIn((await h.command('request prod-db read 1h INC-901 clicks in flight at shutdown')).body);
    await eventually(() => expect(cardsOf(id)).toHaveLength(1));

    const row = await holdRequestRow(h.db.url, id);
    const releaseEphemeral = h.slack.hold('chat.postEphemeral');
    let stopped = false;
    let stopping: Promise<void> | null = null;
    let began = 0;
    try {
      // Both approvers click; both are acked at once, and both listeners wait on the row.
      expect(await h.click('access_approve', id, USERS.bob)).toBe(200);
      expect(await h.click('access_approve', id, USERS.carol)).toBe(200);
      await eventually(async () => expect(await sessionsWaitingOnLock(h.sql, h.db.name, { except: row.pid })).toHaveLength(2));

      began = Date.now();
      stopping = h.stop().then(() => {
        stopped = true;
      });
      // New requests are not taken any more: the listening socket is closed, so the connection is refused
      // (the Slack endpoint and the health routes alike), and nothing is recorded.
      const late = await h.command('request prod-db read 1h INC-902 sent after stop began').then(
        (r) => r.status,
        () => 'refused' as const,
      );
      expect(late).toBe('refused');
      expect(await fetch(`${h.baseUrl()}/healthz`).then((r) => r.status, () => 'refused')).toBe('refused');
      await sleep(500);
      expect(stopped).toBe(false); // draining: the clicks are still running
      expect(await statusOf(id)).toBe('pending');
    } finally {
      await row.release();
    }

    // The clicks go on: one decision is recorded; the other clicker's private answer is on its way (held).
    await eventually(async () => expect(await decisionsOf(id)).toHaveLength(1));
    await eventually(() => expect(ephemeralsOf(id)).toHaveLength(1));
    await sleep(300);
    expect(stopped).toBe(false); // still waiting for that answer
    releaseEphemeral();
    await stopping;
    const tookMs = Date.now() - began;
    expect(tookMs).toBeLessThan(10_000); // well inside the listener bound and the CLI's 30 s

    const [decision] = await decisionsOf(id);
    expect(decision!.outcome).toBe('approve');
    const winner = decision!.approver_id as string;
    const loser = winner === USERS.bob ? USERS.carol : USERS.bob;
    expect([USERS.bob, USERS.carol]).toContain(winner);
    const [reply] = ephemeralsOf(id);
    expect(reply!.args.user).toBe(loser);
    expect(reply!.args.channel).toBe(APPROVERS_CHANNEL);
    expect(String(reply!.args.text)).toMatch(/already decided/i);
    expect(['approved', 'active']).toContain(await statusOf(id));
    const [late] = await h.sql`SELECT count(*)::int AS n FROM access_requests WHERE reason LIKE '%INC-902%'`;
    expect(late!.n).toBe(0);

    // Stopped cleanly: nothing cut short, nothing failed, and the stop was logged.
    const lines = logLines();
    expect(lines.some((l) => l.msg === 'waiting for Slack listeners to finish')).toBe(true);
    expect(lines.some((l) => l.msg === 'accessbot stopped')).toBe(true);
    expect(lines.filter((l) => /cut short|use case failed|unhandled Slack listener error/.test(String(l.msg)))).toEqual([]);

    // The card shows the decision: the worker, still running, delivers the update from the outbox.
    await eventually(() => expect(cardUpdatesOf(id).length).toBeGreaterThan(0));
  });
});
