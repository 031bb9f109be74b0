import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { cancelRequest } from '../../src/use-cases/cancel-request.js';
import { deliverNotification } from '../../src/use-cases/deliver-notification.js';
import { HOME_AUDIT_ENTRIES, gatherHome, homeAudience, openHome, refreshHomes } from '../../src/use-cases/home-view.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { runCheck } from '../../src/use-cases/run-check.js';
import { ALICE, BOB, CAROL, DAVE, ERIN, MALLORY, active, createWorld, deliverAll, readRequest, submitted } from './world.js';

const ids = (list: { items: { id: string }[] } | null) => list?.items.map((r) => r.id) ?? null;

describe('gatherHome', () => {
  it('a requester gets their active grants, their pending requests and what they may request; no approver or admin part', async () => {
    const w = createWorld();
    const granted = await active(w);
    const waiting = await submitted(w, readRequest({ role: 'write' }));
    const home = await gatherHome(w.deps, MALLORY);
    expect(home.waiting).toBeNull();
    expect(home.admin).toBeNull();
    const alice = await gatherHome(w.deps, ALICE);
    expect(ids(alice.active)).toEqual([granted]);
    expect(ids(alice.pending)).toEqual([waiting]);
    expect(alice.active.complete && alice.pending.complete).toBe(true);
    expect(alice.requestable.map((r) => `${r.resource}/${r.role}`)).toEqual(['prod-db/read', 'prod-db/write']);
    expect(alice.at).toEqual(w.clock.now());
  });

  it('an approver gets the pending requests they may decide, by the rule a click is checked with', async () => {
    const w = createWorld();
    const read = await submitted(w); // Alice: read (Bob, Carol approve)
    const write = await submitted(w, readRequest({ role: 'write' })); // Alice: write (Alice, Bob, Carol; 2 approvals)
    const bobs = await submitted(w, readRequest({ requesterId: BOB, role: 'write' }));
    expect(ids((await gatherHome(w.deps, BOB)).waiting)).toEqual([read, write]); // not his own
    // Alice approves writes, but never her own.
    expect(ids((await gatherHome(w.deps, ALICE)).waiting)).toEqual([bobs]);
    // Carol approves one of two: the request is still pending, but no longer waiting for her.
    expect((await reviewRequest(w.deps, { requestId: write, deciderId: CAROL, outcome: 'approve', reason: null })).ok).toBe(true);
    expect(ids((await gatherHome(w.deps, CAROL)).waiting)).toEqual([read, bobs]);
    expect(ids((await gatherHome(w.deps, BOB)).waiting)).toEqual([read, write]);
  });

  it('the escalation group sees a request only once it is escalated', async () => {
    const w = createWorld();
    const role = w.policy.resources['prod-db']!.roles.read!;
    role.escalation = { afterMs: 10 * MINUTE, users: [DAVE] };
    const id = await submitted(w);
    expect(ids((await gatherHome(w.deps, DAVE)).waiting)).toEqual([]);
    w.clock.advance(11 * MINUTE);
    expect((await runCheck(w.deps, id, 'escalate')).kind).toBe('done');
    expect(ids((await gatherHome(w.deps, DAVE)).waiting)).toEqual([id]);
    expect(homeAudience(w.policy, w.store.request(id))).toEqual([ALICE, BOB, CAROL, DAVE]);
  });

  it('an admin gets the rules of every role and the newest audit entries, newest first', async () => {
    const w = createWorld();
    w.policy.admins = [ERIN];
    let last = '';
    for (let i = 0; i < HOME_AUDIT_ENTRIES + 5; i++) {
      w.clock.advance(MINUTE);
      last = await submitted(w, readRequest({ reason: `INC-${i}` })); // one audit entry each
    }
    const home = await gatherHome(w.deps, ERIN);
    expect(home.waiting).toBeNull(); // an admin, not an approver
    expect(home.admin?.rules.map((r) => `${r.resource}/${r.role}`)).toEqual(['prod-db/admin', 'prod-db/read', 'prod-db/write']);
    expect(home.admin?.rules.find((r) => r.role === 'admin')).toMatchObject({ provider: 'postgres', approvers: [BOB], requesters: [DAVE], approvals: 1 });
    const audit = home.admin?.audit ?? [];
    expect(audit).toHaveLength(HOME_AUDIT_ENTRIES);
    const times = audit.map((e) => e.at.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(times[0]).toBeGreaterThan(times[times.length - 1]!);
    expect(audit[0]).toMatchObject({ requestId: last, action: 'request.submitted', actor: ALICE });
    expect((await gatherHome(w.deps, BOB)).admin).toBeNull();
  });
});

describe('refreshing Homes', () => {
  it('a state change republishes the Home of the requester and approvers who opened it, and nobody else', async () => {
    const w = createWorld();
    await openHome(w.deps, BOB);
    await openHome(w.deps, ALICE);
    expect(w.notifier.homes.map((h) => h.to)).toEqual([BOB, ALICE]);
    w.notifier.homes.length = 0;

    const id = await submitted(w);
    await deliverAll(w); // post-cards
    expect(w.notifier.homes.map((h) => h.to).sort()).toEqual([ALICE, BOB]); // not Carol: she never opened it
    expect(ids(w.notifier.homeOf(BOB)?.waiting ?? null)).toEqual([id]);
    expect(ids(w.notifier.homeOf(ALICE)?.pending ?? { items: [] })).toEqual([id]);

    w.notifier.homes.length = 0;
    expect((await cancelRequest(w.deps, { requestId: id, actorId: ALICE })).ok).toBe(true);
    await deliverAll(w); // refresh-cards
    expect(w.notifier.homes.map((h) => h.to).sort()).toEqual([ALICE, BOB]);
    expect(ids(w.notifier.homeOf(BOB)?.waiting ?? null)).toEqual([]);
    expect(ids(w.notifier.homeOf(ALICE)?.pending ?? null)).toEqual([]);
  });

  it('a Home that cannot be published never fails the delivery of the cards', async () => {
    const w = createWorld();
    await openHome(w.deps, BOB);
    const id = await submitted(w);
    w.notifier.failNext('publishHome');
    for (const n of w.store.undeliveredIds()) expect(await deliverNotification(w.deps, n)).toBe('delivered');
    expect(w.notifier.cardsOf(id)).toHaveLength(1);
    expect(w.log.lines.some((l) => l.level === 'warn' && /App Home refresh failed/.test(l.msg ?? ''))).toBe(true);
  });

  it('refreshHomes republishes, with the current content, the Home of exactly those who opened it', async () => {
    const w = createWorld();
    const id = await submitted(w); // Alice's read: Bob and Carol approve it
    await refreshHomes(w.deps, [ALICE, BOB, CAROL]);
    expect(w.notifier.homes).toEqual([]); // nobody has opened the Home yet

    await openHome(w.deps, BOB);
    expect(w.notifier.homes.map((h) => h.to)).toEqual([BOB]);
    w.notifier.homes.length = 0;
    w.clock.advance(MINUTE);
    const write = await submitted(w, readRequest({ role: 'write' })); // a change Bob's open Home does not show yet

    await refreshHomes(w.deps, [ALICE, BOB, CAROL]);
    expect(w.notifier.homes.map((h) => h.to)).toEqual([BOB]); // not Alice nor Carol: they never opened it
    const bob = w.notifier.homeOf(BOB)!;
    expect(bob.viewerId).toBe(BOB);
    expect(ids(bob.waiting)).toEqual([id, write]);
    expect(ids(bob.active)).toEqual([]);
    expect(ids(bob.pending)).toEqual([]);
    expect(bob.admin).toBeNull();
    expect(bob.at).toEqual(w.clock.now());
  });
});
