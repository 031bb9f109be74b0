/** Slack user groups, default durations and approver DMs, through the use cases over fakes. */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import { ROLE_TIMING_DEFAULTS, type RolePolicy } from '../../src/domain/policy.js';
import { gatherHome } from '../../src/use-cases/home-view.js';
import { requestStory } from '../../src/use-cases/query-requests.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { revokeEarly } from '../../src/use-cases/revoke-early.js';
import { submitRequest } from '../../src/use-cases/submit-request.js';
import { ALICE, APPROVERS_CHANNEL, BOB, CAROL, DAVE, MALLORY, active, createWorld, deliverAll, readRequest, type World } from './world.js';

const SRE = 'S0SRE0001';
const DEVS = 'S0DEVS001';

/** prod-db/oncall: requested by the DEVS group only, decided by the SRE group only. */
function withGroupRole(w: World, over: Partial<RolePolicy> = {}): World {
  w.policy.resources['prod-db']!.roles.oncall = {
    grants: ['app_read'],
    maxDurationMs: 2 * HOUR,
    approvers: { users: [], groups: [SRE] },
    approvals: 1,
    channel: APPROVERS_CHANNEL,
    requesters: { users: [], groups: [DEVS] },
    ...ROLE_TIMING_DEFAULTS,
    ...over,
  };
  w.directory.group(DEVS, [ALICE]).group(SRE, [DAVE]);
  return w;
}

const oncall = (over = {}) => readRequest({ role: 'oncall', ...over });

describe('user groups: requesters', () => {
  it('a requester allowed only through a group may request; the directory is asked about the policy groups', async () => {
    const w = withGroupRole(createWorld());
    const result = await submitRequest(w.deps, oncall());
    expect(result).toMatchObject({ ok: true, value: { request: { status: 'pending', role: 'oncall' } } });
    expect(w.directory.groupLookups).toEqual([{ userId: ALICE, candidates: [DEVS, SRE] }]);
  });

  it('someone outside the group is refused and the refusal audited', async () => {
    const w = withGroupRole(createWorld());
    const result = await submitRequest(w.deps, oncall({ requesterId: MALLORY }));
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_A_REQUESTER' } });
    expect(w.store.requestCount()).toBe(0);
    expect(w.store.auditLog().at(-1)).toMatchObject({ action: 'request.refused', details: { code: 'NOT_A_REQUESTER' } });
  });

  it('a directory outage fails closed: refused, with a warning, never let in', async () => {
    const w = withGroupRole(createWorld());
    w.directory.failNext();
    const result = await submitRequest(w.deps, oncall());
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_A_REQUESTER' } });
    expect(w.log.at('warn').map((l) => l.msg)).toContain('could not read Slack user group membership; treating the user as in no group');
  });

  it('a policy without groups makes no group lookup', async () => {
    const w = createWorld();
    await submitRequest(w.deps, readRequest());
    expect(w.directory.groupLookups).toEqual([]);
  });
});

describe('user groups: approvers', () => {
  it('an approver only in the approver group may approve', async () => {
    const w = withGroupRole(createWorld());
    const submitted = await submitRequest(w.deps, oncall());
    if (!submitted.ok) throw new Error(submitted.error.code);
    const result = await reviewRequest(w.deps, { requestId: submitted.value.request.id, deciderId: DAVE, outcome: 'approve', reason: null });
    expect(result).toMatchObject({ ok: true, value: { request: { status: 'approved' } } });
  });

  it('a listed approver of other roles, outside the group, is refused and audited', async () => {
    const w = withGroupRole(createWorld());
    const submitted = await submitRequest(w.deps, oncall());
    if (!submitted.ok) throw new Error(submitted.error.code);
    const id = submitted.value.request.id;
    const result = await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });
    expect(result).toMatchObject({ ok: false, error: { code: 'NOT_AN_APPROVER' } });
    expect(w.store.request(id).status).toBe('pending');
    expect(w.store.auditLog().at(-1)).toMatchObject({ action: 'decision.refused', details: { code: 'NOT_AN_APPROVER' } });
  });

  it('the Home shows the group approver what waits for them and the group requester what they may request', async () => {
    const w = withGroupRole(createWorld());
    await submitRequest(w.deps, oncall());
    const approverHome = await gatherHome(w.deps, DAVE);
    expect(approverHome.waiting?.items.map((r) => r.role)).toEqual(['oncall']);
    const requesterHome = await gatherHome(w.deps, ALICE);
    expect(requesterHome.requestable.map((r) => r.role)).toContain('oncall');
    const outsiderHome = await gatherHome(w.deps, MALLORY);
    expect(outsiderHome.requestable.map((r) => r.role)).not.toContain('oncall');
    expect(outsiderHome.waiting).toBeNull();
  });
});

describe('user groups: overseeing a grant', () => {
  it('an approver through a group may read the story and revoke early; someone outside may not', async () => {
    const w = createWorld();
    w.policy.resources['prod-db']!.roles.read!.approvers.groups = [SRE];
    w.directory.group(SRE, [DAVE]);
    const id = await active(w);

    expect(await requestStory(w.deps, { requestId: id, viewerId: MALLORY })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await requestStory(w.deps, { requestId: id, viewerId: DAVE })).toMatchObject({ ok: true });
    expect(await revokeEarly(w.deps, { requestId: id, actorId: MALLORY, note: 'cleanup' })).toMatchObject({ ok: false, error: { code: 'NOT_YOURS' } });
    expect(await revokeEarly(w.deps, { requestId: id, actorId: DAVE, note: 'incident over' })).toMatchObject({ ok: true, value: { request: { status: 'revoking' } } });
  });
});

describe('default_duration', () => {
  it('a request with no duration gets the role default', async () => {
    const w = withGroupRole(createWorld(), { defaultDurationMs: 45 * MINUTE });
    const result = await submitRequest(w.deps, oncall({ durationMs: null }));
    expect(result).toMatchObject({ ok: true, value: { request: { durationMs: 45 * MINUTE } } });
  });

  it('a request with no duration for a role without a default is refused as too long, naming the maximum', async () => {
    const w = createWorld();
    const result = await submitRequest(w.deps, readRequest({ durationMs: null }));
    expect(result).toMatchObject({ ok: false, error: { code: 'DURATION_TOO_LONG', maxMs: 4 * HOUR } });
  });
});

describe('notify.dm_approvers', () => {
  it('posts the card to the channel and to each listed approver (not the requester), and a decision updates them all', async () => {
    const w = createWorld();
    const write = w.policy.resources['prod-db']!.roles.write!;
    write.notify = { dmApprovers: true }; // approvers: Alice, Bob, Carol; Alice requests
    const submitted = await submitRequest(w.deps, readRequest({ role: 'write', durationMs: 30 * MINUTE }));
    if (!submitted.ok) throw new Error(submitted.error.code);
    const id = submitted.value.request.id;
    await deliverAll(w);
    expect(w.notifier.cardsOf(id).map((c) => c.card.channel)).toEqual([APPROVERS_CHANNEL, `D${BOB.slice(1)}`, `D${CAROL.slice(1)}`]);
    expect((await w.store.cards(id)).map((c) => c.channel).sort()).toEqual([APPROVERS_CHANNEL, `D${BOB.slice(1)}`, `D${CAROL.slice(1)}`].sort());

    expect(await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'deny', reason: 'not now' })).toMatchObject({ ok: true });
    await deliverAll(w);
    for (const posted of w.notifier.cardsOf(id)) {
      expect(posted.updates).toBeGreaterThan(0);
      expect(posted.snapshot.request.status).toBe('denied');
    }
  });

  it('without notify, only the channel gets the card', async () => {
    const w = createWorld();
    const id = (await submitRequest(w.deps, readRequest()));
    if (!id.ok) throw new Error(id.error.code);
    await deliverAll(w);
    expect(w.notifier.cardsOf(id.value.request.id).map((c) => c.card.channel)).toEqual([APPROVERS_CHANNEL]);
  });
});
