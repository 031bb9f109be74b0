/**
 * The `RequestStore` contract as a suite that runs against any implementation: the fake beside it and the
 * PostgreSQL adapter must both pass it, which is what lets the use-case tests trust the fake. Times are
 * wall-clock times, because the real store reads `now()` from the database.
 * Left out: the audit trail (the port has no reader for it) and real-concurrency races on one row, which
 * the store's own tests cover with two connection pools.
 */
import { requestDraft } from '../support/request-draft.js';
import { ROLE_TIMING_DEFAULTS } from '../../src/domain/policy.js';
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../../src/domain/duration.js';
import type { Policy } from '../../src/domain/policy.js';
import { activate, completeRevoke, review, startRevoke, submit, type NewRequest } from '../../src/domain/request.js';
import type { RequestStore } from '../../src/use-cases/ports.js';

const BOB = 'U0BOB0002';
const CHANNEL = 'C0APPROVE1';
const ADMIN = 'U0ADMIN03';

const policy: Policy = {
  version: 1,
  admins: [],
  principals: {},
  resources: {
    'prod-db': {
      provider: 'postgres',
      settings: { connection: { env: 'PROD_DB_URL' } },
      principal: 'email-local-part',
      roles: { read: { grants: ['g_read'], maxDurationMs: 4 * HOUR, approvers: { users: [BOB] }, approvals: 1, channel: CHANNEL, ...ROLE_TIMING_DEFAULTS } },
    },
  },
};

let counter = 0;
const unique = (label: string) => `${label}_${process.pid.toString(36)}_${(++counter).toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

function draft(over: Partial<NewRequest> = {}): NewRequest {
  return requestDraft({ id: unique('req'), principal: unique('p'), grants: ['g_read'], durationMs: HOUR, reason: 'INC-1', channel: CHANNEL, createdAt: new Date(), ...over });
}

export function requestStoreContract(name: string, open: () => RequestStore): void {
  describe(`RequestStore contract: ${name}`, () => {
    async function approvedRequest(store: RequestStore, over: Partial<NewRequest> = {}): Promise<string> {
      const t = submit(draft(over));
      await store.create(t);
      const outcome = await store.apply(t.next.id, (s) => review(s.request, s.decisions, policy, { deciderId: BOB, outcome: 'approve', reason: null }, new Date()));
      expect(outcome.ok).toBe(true);
      return t.next.id;
    }

    /** Active with a window that started at `grantedAt`; `preExisting` recorded first, as the grant job does. */
    async function activeRequest(store: RequestStore, over: Partial<NewRequest>, grantedAt: Date, preExisting: string[] = []): Promise<string> {
      const id = await approvedRequest(store, over);
      await store.recordPreExisting(id, preExisting);
      expect((await store.apply(id, (s) => activate(s.request, grantedAt))).ok).toBe(true);
      return id;
    }

    it('creates a request with its outbox, and reads it back in whole seconds', async () => {
      const store = open();
      const t = submit(draft({ durationMs: 90 * MINUTE + 400 }));
      const { notificationIds } = await store.create(t);

      expect(notificationIds).toHaveLength(1);
      const snapshot = await store.get(t.next.id);
      expect(snapshot).toEqual({ request: { ...t.next, durationMs: 90 * MINUTE }, decisions: [] });
      expect(await store.notification(notificationIds[0] ?? '')).toEqual({ requestId: t.next.id, notification: { kind: 'post-cards' }, deliveredAt: null, abandonedAt: null });
      await expect(store.create(t)).rejects.toThrow();
      expect(await store.get('req_missing')).toBeNull();
    });

    it('saves a transition with compare-and-swap, its decision and its notifications together', async () => {
      const store = open();
      const t = submit(draft());
      await store.create(t);

      const outcome = await store.apply(t.next.id, (s) => review(s.request, s.decisions, policy, { deciderId: BOB, outcome: 'deny', reason: 'no' }, new Date()));

      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      const after = await store.get(t.next.id);
      expect(after?.request).toMatchObject({ status: 'denied', version: 2 });
      expect(after?.decisions).toMatchObject([{ approverId: BOB, outcome: 'deny', reason: 'no' }]);
      const kinds = await Promise.all(outcome.notificationIds.map(async (id) => (await store.notification(id))?.notification));
      expect(kinds).toEqual([{ kind: 'refresh-cards' }, { kind: 'notify-requester', notice: 'denied' }]);
    });

    it('writes nothing for a refused or throwing decision, and reports a missing request', async () => {
      const store = open();
      const t = submit(draft());
      await store.create(t);
      const before = await store.get(t.next.id);
      const undelivered = await store.listUndelivered(new Date(Date.now() + HOUR), 10_000);

      const refused = await store.apply(t.next.id, (s) => review(s.request, s.decisions, policy, { deciderId: 'U0MALL005', outcome: 'approve', reason: null }, new Date()));
      expect(refused).toEqual({ ok: false, error: { code: 'NOT_AN_APPROVER', requestId: t.next.id } });
      await expect(
        store.apply(t.next.id, () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');

      expect(await store.get(t.next.id)).toEqual(before);
      expect(await store.listUndelivered(new Date(Date.now() + HOUR), 10_000)).toEqual(undelivered);
      const notCalled = (): never => {
        throw new Error('decide called for a missing request');
      };
      expect(await store.apply('req_missing', notCalled)).toEqual({
        ok: false,
        error: { code: 'NOT_FOUND', requestId: 'req_missing' },
      });
    });

    it('keeps the first record of pre-existing access', async () => {
      const store = open();
      const id = await approvedRequest(store);

      expect(await store.preExisting(id)).toEqual([]);
      expect(await store.recordPreExisting(id, ['g_read'])).toEqual(['g_read']);
      expect(await store.recordPreExisting(id, [])).toEqual(['g_read']);
      expect(await store.preExisting(id)).toEqual(['g_read']);
      await expect(store.recordPreExisting('req_missing', [])).rejects.toThrow();
    });

    it('counts as covered elsewhere only what other unrevoked requests of the same target added', async () => {
      const store = open();
      const principal = unique('p');
      const now = Date.now();
      const current = await activeRequest(store, { principal }, new Date(now - MINUTE));
      const self = await approvedRequest(store, { principal, grants: ['g_read', 'g_write', 'g_own'] });
      const ended = await activeRequest(store, { principal, grants: ['g_write'] }, new Date(now - 2 * HOUR));
      await activeRequest(store, { principal, grants: ['g_own'] }, new Date(now - MINUTE), ['g_own']);
      await activeRequest(store, { grants: ['g_write'] }, new Date(now - MINUTE));
      const revoked = await activeRequest(store, { principal, grants: ['g_write'] }, new Date(now - MINUTE));
      expect((await store.apply(revoked, (s) => startRevoke(s.request, 'expired', new Date(now + 2 * HOUR)))).ok).toBe(true);
      expect((await store.apply(revoked, (s) => completeRevoke(s.request, new Date()))).ok).toBe(true);
      const request = (await store.get(self))?.request;
      if (!request) throw new Error('request vanished');

      expect((await store.coveredElsewhere(request, 'window')).sort()).toEqual(['g_read']);
      expect((await store.coveredElsewhere(request, 'until-revoked')).sort()).toEqual(['g_read', 'g_write']);
      const currentRequest = (await store.get(current))?.request;
      if (!currentRequest) throw new Error('request vanished');
      expect(await store.coveredElsewhere(currentRequest, 'window')).toEqual([]);

      // The ended one is revoking now: still ours until revoked.
      expect((await store.apply(ended, (s) => startRevoke(s.request, 'expired', new Date()))).ok).toBe(true);
      expect((await store.coveredElsewhere(request, 'until-revoked')).sort()).toEqual(['g_read', 'g_write']);
    });

    it('delivers each notification once and records failures', async () => {
      const store = open();
      const t = submit(draft());
      const [id = ''] = (await store.create(t)).notificationIds;
      const later = new Date(Date.now() + HOUR);

      expect(await store.listUndelivered(later, 10_000)).toContain(id);
      expect(await store.listUndelivered(new Date(Date.now() - HOUR), 10_000)).not.toContain(id);
      await store.recordDeliveryFailure(id, 'channel_not_found');
      expect(await store.listUndelivered(later, 10_000)).toContain(id);
      expect(await store.markDelivered(id)).toBe(true);
      expect(await store.markDelivered(id)).toBe(false);
      expect((await store.notification(id))?.deliveredAt).toBeInstanceOf(Date);
      expect(await store.listUndelivered(later, 10_000)).not.toContain(id);
    });

    it('gives a notification up for good: audited, no longer undelivered, once; the first of its request and kind is told so', async () => {
      const store = open();
      const t = submit(draft());
      const [id = ''] = (await store.create(t)).notificationIds;
      const later = new Date(Date.now() + HOUR);
      await store.recordDeliveryFailure(id, 'An API error occurred: service_unavailable');
      const audit = { action: 'notification.abandoned', actor: 'system', details: { notificationId: id, kind: 'post-cards', code: 'channel_not_found' } };

      expect(await store.abandonDelivery(id, 'channel_not_found', audit)).toEqual({ abandoned: true, firstOfKind: true });
      expect(await store.listUndelivered(later, 10_000)).not.toContain(id);
      const row = await store.notification(id);
      expect(row?.abandonedAt).toBeInstanceOf(Date);
      expect(row?.deliveredAt).toBeNull();
      expect((await store.auditTrail(t.next.id)).map((a) => a.action)).toEqual([t.audit.action, 'notification.abandoned']);
      expect((await store.auditTrail(t.next.id))[1]?.details).toEqual(audit.details);

      // A second give-up of the same row changes nothing.
      expect(await store.abandonDelivery(id, 'channel_not_found', audit)).toEqual({ abandoned: false, firstOfKind: false });
      expect((await store.auditTrail(t.next.id)).filter((a) => a.action === 'notification.abandoned')).toHaveLength(1);

      // A delivered row is never given up.
      const other = submit(draft());
      const [delivered = ''] = (await store.create(other)).notificationIds;
      expect(await store.markDelivered(delivered)).toBe(true);
      expect(await store.abandonDelivery(delivered, 'channel_not_found', audit)).toEqual({ abandoned: false, firstOfKind: false });
      expect((await store.notification(delivered))?.abandonedAt).toBeNull();
    });

    it('a second notification of the same request and kind given up is not the first of its kind; another kind is', async () => {
      const store = open();
      const id = await approvedRequest(store);
      const outboxOf = async (kind: string): Promise<string[]> => {
        const ids = await store.listUndelivered(new Date(Date.now() + HOUR), 10_000);
        const rows = await Promise.all(ids.map(async (n) => ({ id: n, row: await store.notification(n) })));
        return rows.filter((r) => r.row?.requestId === id && r.row.notification.kind === kind).map((r) => r.id);
      };
      const [refresh] = await outboxOf('refresh-cards');
      const [card] = await outboxOf('post-cards');
      if (!refresh || !card) throw new Error('fixture changed: an approved request owes a card and a refresh');
      const audit = (kind: string) => ({ action: 'notification.abandoned', actor: 'system', details: { kind, code: 'channel_not_found' } });

      expect(await store.abandonDelivery(refresh, 'channel_not_found', audit('refresh-cards'))).toEqual({ abandoned: true, firstOfKind: true });
      expect(await store.abandonDelivery(card, 'channel_not_found', audit('post-cards'))).toEqual({ abandoned: true, firstOfKind: true });
      // Another refresh of the same request, given up later: its kind was already given up once.
      const touched = await store.apply(id, (s) => ({
        ok: true,
        value: { next: { ...s.request, version: s.request.version + 1 }, audit: { action: 'test.touch', actor: 'system', details: {} }, effects: [{ type: 'refresh-cards' }] },
      }));
      expect(touched.ok).toBe(true);
      const [again] = await outboxOf('refresh-cards');
      if (!again) throw new Error('no second refresh');
      expect(await store.abandonDelivery(again, 'channel_not_found', audit('refresh-cards'))).toEqual({ abandoned: true, firstOfKind: false });
    });

    it('revives the given-up notifications of the kinds asked: owed again, audited with their ids; nothing else changes', async () => {
      const store = open();
      const t = submit(draft());
      const id = t.next.id;
      await store.create(t);
      expect((await store.apply(id, (s) => review(s.request, s.decisions, policy, { deciderId: BOB, outcome: 'deny', reason: 'no' }, new Date()))).ok).toBe(true);
      const later = new Date(Date.now() + HOUR);
      const ofRequest = async (): Promise<{ id: string; kind: string }[]> => {
        const ids = await store.listUndelivered(later, 10_000);
        const rows = await Promise.all(ids.map(async (n) => ({ id: n, row: await store.notification(n) })));
        return rows.filter((r) => r.row?.requestId === id).map((r) => ({ id: r.id, kind: r.row?.notification.kind ?? '' }));
      };
      const owed = await ofRequest();
      const card = owed.find((n) => n.kind === 'post-cards')?.id;
      const refresh = owed.find((n) => n.kind === 'refresh-cards')?.id;
      const dm = owed.find((n) => n.kind === 'notify-requester')?.id;
      if (!card || !refresh || !dm) throw new Error('fixture changed: a denied request owes a card, a refresh and a DM');
      const gaveUp = { action: 'notification.abandoned', actor: 'system', details: { code: 'channel_not_found' } };
      for (const n of [card, refresh, dm]) await store.abandonDelivery(n, 'channel_not_found', gaveUp);
      const resent = { action: 'notification.resent', actor: ADMIN, details: { kinds: ['post-cards', 'refresh-cards'] } };

      const revived = await store.reviveAbandoned(id, ['post-cards', 'refresh-cards'], resent);

      expect(revived).toEqual([card, refresh].sort((a, b) => Number(a) - Number(b)));
      expect((await ofRequest()).map((n) => n.id).sort()).toEqual([card, refresh].sort());
      expect((await store.notification(card))?.abandonedAt).toBeNull();
      expect((await store.notification(dm))?.abandonedAt).toBeInstanceOf(Date); // a kind not asked for stays given up
      const trail = await store.auditTrail(id);
      expect(trail.at(-1)).toMatchObject({ action: 'notification.resent', actor: ADMIN, details: { kinds: ['post-cards', 'refresh-cards'], notificationIds: revived } });
      // Nothing left to revive: no rows, no audit entry.
      expect(await store.reviveAbandoned(id, ['post-cards', 'refresh-cards'], resent)).toEqual([]);
      expect(await store.auditTrail(id)).toHaveLength(trail.length);
      // A delivered row is never revived, and given up again later it counts as the first of its kind again.
      expect(await store.markDelivered(card)).toBe(true);
      expect(await store.abandonDelivery(refresh, 'channel_not_found', gaveUp)).toEqual({ abandoned: true, firstOfKind: true });
      expect(await store.reviveAbandoned(id, ['post-cards', 'refresh-cards'], resent)).toEqual([refresh]);
      expect((await store.notification(card))?.deliveredAt).toBeInstanceOf(Date);
    });

    it('pages requests by status in id order, and undelivered notifications after an id, so every row is reached', async () => {
      const store = open();
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const t = submit(draft());
        await store.create(t);
        ids.push(t.next.id);
      }
      const pending = async (after: string | null, limit: number) =>
        (await store.pageByStatus(['pending'], after, limit)).map((r) => r.id).filter((id) => ids.includes(id));
      // Other tests' rows may share the database: walk every page, keep ours.
      const seen: string[] = [];
      for (let after: string | null = null, page = await store.pageByStatus(['pending'], null, 2); page.length > 0; page = await store.pageByStatus(['pending'], after, 2)) {
        expect(page.length).toBeLessThanOrEqual(2);
        seen.push(...page.map((r) => r.id).filter((id) => ids.includes(id)));
        after = page.at(-1)!.id;
      }
      expect(seen).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(await pending(seen.at(-1)!, 10)).toEqual([]);
      expect(await store.pageByStatus([], null, 10)).toEqual([]);

      const later = new Date(Date.now() + HOUR);
      const all = await store.listUndelivered(later, 10_000);
      const firstTwo = await store.listUndelivered(later, 2);
      expect(firstTwo).toEqual(all.slice(0, 2));
      expect(await store.listUndelivered(later, 2, firstTwo[1])).toEqual(all.slice(2, 4));
    });

    it('saves one card per request and channel', async () => {
      const store = open();
      const t = submit(draft());
      await store.create(t);
      const card = { platform: 'slack' as const, channel: CHANNEL, messageId: '1722950400.000100' };

      await store.saveCard(t.next.id, card);
      await store.saveCard(t.next.id, { ...card, messageId: '1722950401.000100' });
      await store.saveCard(t.next.id, { ...card, channel: 'C0OTHER02', messageId: '1722950402.000100' });

      expect(await store.cards(t.next.id)).toEqual([card, { ...card, channel: 'C0OTHER02', messageId: '1722950402.000100' }]);
    });

    it('remembers the requester DMs offering actions, one row per message, until their actions are taken off', async () => {
      const store = open();
      const t = submit(draft());
      await store.create(t);
      const shownExpiresAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const granted = { platform: 'slack' as const, channel: 'D0ALICE01', messageId: '1722950400.000200', notice: 'granted' as const, shownExpiresAt, shownDurationMs: 30 * MINUTE, withLogin: true };
      const warning = { ...granted, messageId: '1722950401.000200', notice: 'expiring-soon' as const, withLogin: false };

      await store.saveRequesterDm(t.next.id, granted);
      await store.saveRequesterDm(t.next.id, granted); // a second save of the same message
      await store.saveRequesterDm(t.next.id, warning);
      const open1 = await store.openRequesterDms(t.next.id);
      expect(open1).toEqual([
        { ...granted, id: expect.any(String) },
        { ...warning, id: expect.any(String) },
      ]);

      await store.markRequesterDmEnded(open1[0]!.id);
      expect(await store.openRequesterDms(t.next.id)).toEqual([{ ...warning, id: open1[1]!.id }]);
      expect(await store.cards(t.next.id)).toEqual([]); // not cards
    });

    it('lists by status, soonest expiry first', async () => {
      const store = open();
      const now = Date.now();
      const late = await activeRequest(store, {}, new Date(now + 10 * MINUTE));
      const soon = await activeRequest(store, {}, new Date(now));
      const listed = (await store.listByStatus(['active'], 10_000)).map((r) => r.id);

      expect(listed.indexOf(soon)).toBeGreaterThanOrEqual(0);
      expect(listed.indexOf(soon)).toBeLessThan(listed.indexOf(late));
      expect((await store.listByStatus(['denied'], 10_000)).map((r) => r.id)).not.toContain(soon);
    });

    it('runs work on one target one at a time, and other targets alongside', async () => {
      const store = open();
      const events: string[] = [];
      const work = (label: string, ms: number) => async () => {
        events.push(`${label}+`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`${label}-`);
        return label;
      };
      const principal = unique('p');

      const results = await Promise.all([
        store.withTargetLock('prod-db', principal, work('a', 40)),
        store.withTargetLock('prod-db', principal, work('b', 1)),
      ]);
      expect(results).toEqual(['a', 'b']);
      expect(['a+ a- b+ b-', 'b+ b- a+ a-']).toContain(events.join(' '));

      events.length = 0;
      await Promise.all([
        store.withTargetLock('prod-db', unique('p'), work('c', 150)),
        store.withTargetLock('prod-db', unique('p'), work('d', 1)),
      ]);
      expect(events.indexOf('d-')).toBeLessThan(events.indexOf('c-'));

      await expect(store.withTargetLock('prod-db', principal, async () => Promise.reject(new Error('inside')))).rejects.toThrow('inside');
      expect(await store.withTargetLock('prod-db', principal, async () => 'released')).toBe('released');
    });

    it('tells drift detection what open requests cover and what any request recorded as held before', async () => {
      const store = open();
      const [alice, bob] = [unique('p'), unique('p')];
      const now = Date.now();
      await activeRequest(store, { principal: alice, grants: ['g_read'] }, new Date(now));
      await approvedRequest(store, { principal: alice, grants: ['g_write'] });
      const over = await activeRequest(store, { principal: bob, grants: ['g_read', 'g_own'] }, new Date(now), ['g_own']);
      expect((await store.apply(over, (s) => startRevoke(s.request, 'expired', new Date(now + 2 * HOUR)))).ok).toBe(true);
      expect((await store.apply(over, (s) => completeRevoke(s.request, new Date()))).ok).toBe(true);

      const records = (await store.openGrantsOf('prod-db')).filter((r) => [alice, bob].includes(r.principal));
      expect(records.sort((a, b) => (a.principal === alice ? -1 : b.principal === alice ? 1 : 0))).toEqual([
        { principal: alice, grants: ['g_read', 'g_write'], preExisting: [] },
        { principal: bob, grants: [], preExisting: ['g_own'] },
      ]);
      expect((await store.openGrantsOf('other-db')).filter((r) => [alice, bob].includes(r.principal))).toEqual([]);
    });

    it('reads the newest audit entries of any request, newest first, with their request', async () => {
      const store = open();
      const actor = unique('actor');
      const id = unique('req');
      await store.audit({ action: 'test.first', actor, details: { n: 1 } }, id);
      await store.audit({ action: 'test.second', actor, details: { n: 2 } });
      await store.audit({ action: 'test.third', actor, details: { n: 3 } }, id);
      const recent = await store.recentAudit(3);
      expect(recent.map(({ action, actor: a, requestId, details }) => ({ action, actor: a, requestId, details }))).toEqual([
        { action: 'test.third', actor, requestId: id, details: { n: 3 } },
        { action: 'test.second', actor, requestId: null, details: { n: 2 } },
        { action: 'test.first', actor, requestId: id, details: { n: 1 } },
      ]);
      expect(recent.every((e) => e.at instanceof Date)).toBe(true);
      expect(await store.recentAudit(1)).toHaveLength(1);
    });

    it('remembers who opened the App Home, once per person', async () => {
      const store = open();
      const [seen, twice, never] = [unique('U'), unique('U'), unique('U')];
      await store.recordHomeOpened(seen);
      await store.recordHomeOpened(twice);
      await store.recordHomeOpened(twice);
      expect((await store.homeViewers([seen, twice, never])).sort()).toEqual([seen, twice].sort());
      expect(await store.homeViewers([never])).toEqual([]);
      expect(await store.homeViewers([])).toEqual([]);
    });
  });
}
