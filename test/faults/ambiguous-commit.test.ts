/**
 * Fault: an ambiguous commit. PostgreSQL commits a write, and the connection is cut before the app hears it
 * ("COMMIT" never arrives): the driver reports a lost connection, exactly as when nothing was committed. A TCP
 * proxy (`test/support/pg-proxy.ts`) between the app and the shared PostgreSQL places the cut exactly: it
 * swallows the server's CommandComplete "COMMIT" of the transaction that inserted the request (or the decision)
 * and closes both sides. The app is the real CLI (`src/cli.ts start`, web and workers) in a child process, its
 * DATABASE_URL pointed at the proxy; the test reads PostgreSQL directly. The use case re-reads and answers the
 * truth (`src/use-cases/ambiguous-write.ts`): committed is answered as done, not committed as "try again".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killApp, spawnApp, type ChildApp } from '../support/child-app.js';
import { APPROVERS_CHANNEL, USERS, eventually, requestIdIn, startHarness, type Harness, type SlackSender } from '../support/harness.js';
import { startPgProxy, type Cut, type PgProxy } from '../support/pg-proxy.js';

let proxy: PgProxy;
let h: Harness;
let app: ChildApp;
let slack: SlackSender;
beforeAll(async () => {
  const { hostname, port } = new URL(process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  proxy = await startPgProxy({ host: hostname, port: Number(port || 5432) });
  // The harness's own instance (web only, idle) and the test talk to PostgreSQL directly; the app, through the proxy.
  h = await startHarness('ambiguous', { worker: false, reconcileInterval: '1s' });
  app = await spawnApp('start', { ...h.env, DATABASE_URL: proxy.urlFor(h.db.url), LOG_LEVEL: 'info' });
  slack = h.via(app.baseUrl);
}, 60_000);
afterAll(async () => {
  try {
    await killApp(app);
    await h?.close();
  } finally {
    await proxy?.close();
  }
});

afterEach((ctx) => {
  proxy.disarm();
  if (ctx.task.result?.state === 'fail') console.log(app.lines().filter((l) => Number(l.level) >= 40).map((l) => JSON.stringify(l).slice(0, 600)).join('\n'));
});

/** The process lived through it: still running, and it printed no crash. */
function expectAlive(): void {
  expect(app.proc.exitCode, app.output().slice(-3000)).toBeNull();
  expect(app.output()).not.toMatch(/TypeError|Uncaught|uncaughtException/);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, sleep(ms).then(() => Promise.reject(new Error(`${what} did not happen within ${ms} ms`)))]);
const about = (id: string) => (c: { args: Record<string, unknown> }) => JSON.stringify(c.args).includes(id);
const cardsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && about(id)(c));
const cardUpdatesOf = (id: string) => h.slack.callsTo('chat.update').filter(about(id));
const dmsOf = (id: string) => h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === USERS.alice && about(id)(c));
const privateRepliesTo = (user: string) => h.slack.callsTo('chat.postEphemeral').filter((c) => c.args.user === user);
const requestsWithReason = async (reason: string) => (await h.sql`SELECT id FROM access_requests WHERE reason = ${reason}`).map((r) => r.id as string);
const statusOf = async (id: string) => (await h.sql`SELECT status FROM access_requests WHERE id = ${id}`)[0]?.status as string | undefined;
const logged = (msg: RegExp) => app.lines().filter((l) => msg.test(String(l.msg)));
const hasRead = () => h.target.hasRole(h.target.principal, h.target.roles.read);

describe('the COMMIT of a new request is cut: PostgreSQL committed, the app never heard it', () => {
  it('the requester gets the normal confirmation with the request id; one request row, one card', async () => {
    const reason = 'INC-801 commit reply lost';
    const cut = proxy.cutAt({ tag: 'COMMIT', when: /insert into "access_requests"/i });
    const res = await slack.command(`request prod-db read 1h ${reason}`);
    const { statements } = await within(cut, 1_000, 'the cut');
    expect(statements.some((s) => /insert into "access_requests"/i.test(s))).toBe(true);

    const text = JSON.stringify(res.body);
    expect(text).not.toMatch(/nothing was changed|try again/i);
    const id = requestIdIn(res.body);
    expect(text).toContain(`Request ${id} sent to approvers`);
    expect(await requestsWithReason(reason)).toEqual([id]);
    expect(logged(/re-read: committed/)).toHaveLength(1);
    expect(logged(/use case failed/)).toHaveLength(0);
    // Its card is posted from the outbox row the lost COMMIT carried, once.
    await eventually(() => expect(cardsOf(id)).toHaveLength(1));
    await sleep(1_500); // a reconcile interval: nothing posts it again
    expect(cardsOf(id)).toHaveLength(1);
    expect(await requestsWithReason(reason)).toEqual([id]);
    expectAlive();
  });
});

describe('the COMMIT of an approval is cut', () => {
  it('the clicker gets no "nothing was changed": one decision, the card updated once per transition, granted once', async () => {
    const reason = 'INC-802 approval reply lost';
    const id = requestIdIn((await slack.command(`request prod-db read 1h ${reason}`)).body);
    await eventually(() => expect(cardsOf(id)).toHaveLength(1));
    const repliesBefore = privateRepliesTo(USERS.bob).length;

    const cut = proxy.cutAt({ tag: 'COMMIT', when: /insert into "decisions"/i });
    expect(await slack.click('access_approve', id, USERS.bob)).toBe(200);
    await within(cut, 2_000, 'the cut');
    await eventually(() => expect(logged(/re-read: committed/)).toHaveLength(2));

    // Approved with one decision; the grant job runs after the 1 s grace: active, once.
    await eventually(async () => expect(await statusOf(id)).toBe('active'));
    expect(await h.sql`SELECT approver_id, outcome FROM decisions WHERE request_id = ${id}`).toEqual([{ approver_id: USERS.bob, outcome: 'approve' }]);
    expect(await hasRead()).toBe(true);
    await eventually(() => expect(dmsOf(id)).toHaveLength(1)); // "granted"
    // Every outbox row delivered, each card refresh once: the approval's (whose id was in the lost reply) and the grant's.
    await eventually(async () => expect(await h.sql`SELECT id FROM notifications WHERE request_id = ${id} AND delivered_at IS NULL`).toHaveLength(0));
    await sleep(1_500);
    const refreshes = await h.sql`SELECT id FROM notifications WHERE request_id = ${id} AND payload->>'kind' = 'refresh-cards'`;
    expect(refreshes).toHaveLength(2);
    expect(cardUpdatesOf(id)).toHaveLength(refreshes.length);
    expect(cardsOf(id)).toHaveLength(1);
    expect(dmsOf(id)).toHaveLength(1);
    expect(await h.sql`SELECT 1 FROM audit_events WHERE request_id = ${id} AND action = 'grant.activated'`).toHaveLength(1);
    expect(await h.sql`SELECT 1 FROM audit_events WHERE request_id = ${id} AND action = 'decision.refused'`).toHaveLength(0);
    // A successful click needs no private answer: no "Something went wrong … nothing was changed".
    expect(privateRepliesTo(USERS.bob)).toHaveLength(repliesBefore);
    expect(logged(/use case failed/)).toHaveLength(0);
    expectAlive();

    await slack.command(`revoke ${id}`);
    await eventually(async () => expect(await statusOf(id)).toBe('revoked'));
  });
});

describe('control: the connection is cut before COMMIT (after the INSERT of the request)', () => {
  it('"nothing was changed" is then true: no row, no card; the retry creates one request', async () => {
    const reason = 'INC-803 cut before commit';
    const cut: Promise<Cut> = proxy.cutAt({ tag: 'INSERT', when: /insert into "access_requests"/i });
    const res = await slack.command(`request prod-db read 1h ${reason}`);
    expect((await within(cut, 1_000, 'the cut')).statements.at(-1)).toMatch(/^insert into "access_requests"/i);

    expect(JSON.stringify(res.body)).toMatch(/Something went wrong on our side and nothing was changed\. Please try again/);
    expect(logged(/re-read: not committed/)).toHaveLength(1);
    expect(await requestsWithReason(reason)).toEqual([]);

    const retry = requestIdIn((await slack.command(`request prod-db read 1h ${reason}`)).body);
    expect(await requestsWithReason(reason)).toEqual([retry]);
    await eventually(() => expect(cardsOf(retry)).toHaveLength(1));
    expect(h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === APPROVERS_CHANNEL && JSON.stringify(c.args).includes('INC-803'))).toHaveLength(1);
    expect(proxy.cuts()).toBe(3);
    expectAlive();
  });
});
