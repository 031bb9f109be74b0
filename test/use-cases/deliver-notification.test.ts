import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { activateGrant } from '../../src/use-cases/activate-grant.js';
import { deliverNotification } from '../../src/use-cases/deliver-notification.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { runCheck } from '../../src/use-cases/run-check.js';
import { revokeEarly } from '../../src/use-cases/revoke-early.js';
import { revokeGrant } from '../../src/use-cases/revoke-grant.js';
import type { NotifierMethod } from '../fakes/fake-notifier.js';
import { ALICE, APPROVERS_CHANNEL, BOB, CAROL, DAVE, active, createWorld, deliverAll, readRequest, submitted, type World } from './world.js';

/** The id of the request's notification of this kind (the last one when there are several). */
function notificationOf(w: World, requestId: string, kind: string): string {
  const row = w.store.outbox(requestId).findLast((n) => n.notification.kind === kind);
  if (!row) throw new Error(`no ${kind} notification for ${requestId}`);
  return row.id;
}

describe('deliverNotification', () => {
  it('post-cards posts one card in the approvers channel, saves where it is, and marks the row delivered', async () => {
    const w = createWorld();
    const id = await submitted(w);
    const row = notificationOf(w, id, 'post-cards');

    expect(await deliverNotification(w.deps, row)).toBe('delivered');

    expect(w.notifier.cardsOf(id)).toHaveLength(1);
    const [posted] = w.notifier.cardsOf(id);
    expect(posted?.card.channel).toBe(APPROVERS_CHANNEL);
    expect(posted?.snapshot.request).toMatchObject({ id, status: 'pending', requesterId: ALICE });
    expect(await w.store.cards(id)).toEqual([posted?.card]);
    expect(w.store.outbox(id)[0]).toMatchObject({ deliveredAt: w.clock.now(), attempts: 1, lastError: null });
  });

  it('a second delivery of the same row is a no-op', async () => {
    const w = createWorld();
    const id = await submitted(w);
    const row = notificationOf(w, id, 'post-cards');
    await deliverNotification(w.deps, row);

    expect(await deliverNotification(w.deps, row)).toBe('already-delivered');
    expect(w.notifier.calls).toEqual(['postCard']);
  });

  it('a retry after the card was posted but the row not marked delivered posts no second card', async () => {
    const w = createWorld();
    const id = await submitted(w);
    const row = notificationOf(w, id, 'post-cards');
    w.store.failNext('markDelivered');

    await expect(deliverNotification(w.deps, row)).rejects.toThrow();
    expect(await deliverNotification(w.deps, row)).toBe('delivered');

    expect(w.notifier.cardsOf(id)).toHaveLength(1);
  });

  it('refresh-cards updates every card of the request to its current state', async () => {
    const w = createWorld();
    const id = await submitted(w);
    await deliverAll(w);
    // A second card of the same request elsewhere, as a cross-posting adapter would save one.
    const snapshot = await w.store.get(id);
    if (!snapshot) throw new Error('request vanished');
    w.notifier.addChannel('C0AUDIT002');
    await w.store.saveCard(id, await w.notifier.postCard('C0AUDIT002', snapshot));

    await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });
    expect(await deliverNotification(w.deps, notificationOf(w, id, 'refresh-cards'))).toBe('delivered');

    const cards = w.notifier.cardsOf(id);
    expect(cards).toHaveLength(2);
    for (const card of cards) {
      expect(card.updates).toBe(1);
      expect(card.snapshot.request.status).toBe('approved');
      expect(card.snapshot.decisions).toMatchObject([{ approverId: BOB, outcome: 'approve' }]);
    }
  });

  it('a refresh delivered before any card exists updates nothing and is done', async () => {
    const w = createWorld();
    const id = await submitted(w);
    await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });

    expect(await deliverNotification(w.deps, notificationOf(w, id, 'refresh-cards'))).toBe('delivered');
    expect(w.notifier.calls).toEqual([]);
    // The late post then shows the decision.
    await deliverNotification(w.deps, notificationOf(w, id, 'post-cards'));
    expect(w.notifier.cardsOf(id)[0]?.snapshot.request.status).toBe('approved');
  });

  it('a decision that lands while the card is being posted is shown on the card', async () => {
    const w = createWorld();
    const id = await submitted(w);
    w.notifier.whilePosting = async () => {
      await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });
      // Its refresh runs at once and finds no card saved yet.
      expect(await deliverNotification(w.deps, notificationOf(w, id, 'refresh-cards'))).toBe('delivered');
    };

    expect(await deliverNotification(w.deps, notificationOf(w, id, 'post-cards'))).toBe('delivered');

    const [card] = w.notifier.cardsOf(id);
    expect(card?.updates).toBe(1);
    expect(card?.snapshot.request.status).toBe('approved');
    expect(w.notifier.calls).toEqual(['postCard', 'updateCard']);
  });

  it('notify-requester sends one direct message to the requester', async () => {
    const w = createWorld();
    const id = await active(w);
    const row = notificationOf(w, id, 'notify-requester');

    expect(await deliverNotification(w.deps, row)).toBe('delivered');
    expect(await deliverNotification(w.deps, row)).toBe('already-delivered');

    expect(w.notifier.notices).toMatchObject([{ requestId: id, to: ALICE, notice: 'granted' }]);
  });

  describe('the requester DMs that offer actions on the grant', () => {
    it('are remembered where Slack put them, and rewritten once, by the refresh of the transition that ends the grant', async () => {
      const w = createWorld();
      const id = await active(w);
      await deliverAll(w);
      const [granted] = w.notifier.notices;
      expect(granted).toMatchObject({ notice: 'granted', ref: { channel: 'D0ALICE01' }, ended: null });
      expect(await w.store.openRequesterDms(id)).toEqual([
        { ...granted!.ref, id: expect.any(String), notice: 'granted', shownExpiresAt: w.store.request(id).expiresAt, shownDurationMs: 30 * 60_000, withLogin: false },
      ]);

      expect((await revokeEarly(w.deps, { requestId: id, actorId: ALICE, note: null })).ok).toBe(true);
      await deliverAll(w); // the refresh at `revoking` takes the buttons off
      expect(granted!.ended).toMatchObject({ times: 1, at: w.clock.now(), snapshot: { request: { status: 'revoking', revokedBy: ALICE } } });
      expect(await w.store.openRequesterDms(id)).toEqual([]);

      expect(await revokeGrant(w.deps, id, 'early')).toEqual({ kind: 'revoked' });
      await deliverAll(w); // the refresh at `revoked` finds nothing left to rewrite
      expect(granted!.ended?.times).toBe(1);
      expect(w.notifier.noticesOf(id)).toEqual(['granted', 'revoked']);
      expect(w.notifier.notices[1]?.ref).toBeNull();
    });

    it('a DM sent after its grant ended has its buttons taken off at once', async () => {
      const w = createWorld();
      const id = await active(w);
      const grantedRow = notificationOf(w, id, 'notify-requester');
      expect((await revokeEarly(w.deps, { requestId: id, actorId: ALICE, note: null })).ok).toBe(true);
      for (const row of w.store.undeliveredIds().filter((r) => r !== grantedRow)) await deliverNotification(w.deps, row);

      expect(await deliverNotification(w.deps, grantedRow)).toBe('delivered');
      expect(w.notifier.notices[0]).toMatchObject({ notice: 'granted', ended: { times: 1 } });
      expect(await w.store.openRequesterDms(id)).toEqual([]);
    });

    it('a failed rewrite is best effort: the refresh is delivered, the DM stays open, and the next refresh rewrites it', async () => {
      const w = createWorld();
      const id = await active(w);
      await deliverAll(w);
      expect((await revokeEarly(w.deps, { requestId: id, actorId: ALICE, note: null })).ok).toBe(true);
      const refresh = notificationOf(w, id, 'refresh-cards');
      w.notifier.failNext('endRequesterDm');

      // The cards' refresh is not failed (and so not re-sent) for a cosmetic rewrite.
      expect(await deliverNotification(w.deps, refresh)).toBe('delivered');
      expect(w.notifier.notices[0]?.ended).toBeNull();
      expect(await w.store.openRequesterDms(id)).toHaveLength(1);
      expect(w.log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toContain(
        'could not take the buttons off a requester DM; a later refresh tries again',
      );

      expect(await revokeGrant(w.deps, id, 'early')).toEqual({ kind: 'revoked' });
      await deliverAll(w);
      expect(w.notifier.notices[0]?.ended?.times).toBe(1);
      expect(await w.store.openRequesterDms(id)).toEqual([]);
    });

    it('a failed rewrite never re-posts the DM it rides on: the grant DM is delivered once', async () => {
      const w = createWorld();
      const id = await active(w);
      const grantedRow = notificationOf(w, id, 'notify-requester');
      expect((await revokeEarly(w.deps, { requestId: id, actorId: ALICE, note: null })).ok).toBe(true);
      for (const row of w.store.undeliveredIds().filter((r) => r !== grantedRow)) await deliverNotification(w.deps, row);
      w.notifier.failNext('endRequesterDm');

      expect(await deliverNotification(w.deps, grantedRow)).toBe('delivered');
      expect(await deliverNotification(w.deps, grantedRow)).toBe('already-delivered');
      expect(w.notifier.noticesOf(id)).toEqual(['granted']);
    });
  });

  it('a notification that does not exist is reported missing', async () => {
    const w = createWorld();
    expect(await deliverNotification(w.deps, '404')).toBe('missing');
  });

  describe('a chat failure is recorded on the row and thrown back for the queue to retry', () => {
    it.each<{ kind: string; method: NotifierMethod; setup: (w: World) => Promise<string> }>([
      { kind: 'post-cards', method: 'postCard', setup: (w) => submitted(w) },
      {
        kind: 'refresh-cards',
        method: 'updateCard',
        setup: async (w) => {
          const id = await submitted(w);
          await deliverAll(w);
          await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });
          return id;
        },
      },
      { kind: 'notify-requester', method: 'notifyRequester', setup: (w) => active(w) },
    ])('$kind', async ({ kind, method, setup }) => {
      const w = createWorld();
      const id = await setup(w);
      const row = notificationOf(w, id, kind);
      w.notifier.failNext(method);

      await expect(deliverNotification(w.deps, row)).rejects.toThrow(/service_unavailable/);
      expect(w.store.outbox(id).find((n) => n.id === row)).toMatchObject({ deliveredAt: null, attempts: 1, lastError: expect.stringContaining('service_unavailable') });
      expect(w.store.undeliveredIds()).toContain(row);

      expect(await deliverNotification(w.deps, row)).toBe('delivered');
      expect(w.store.outbox(id).find((n) => n.id === row)).toMatchObject({ attempts: 2, lastError: null });
    });
  });

  it('an escalation naming users only (no channel) DMs them the card, once, and they can decide from it', async () => {
    const w = createWorld();
    const role = w.policy.resources['prod-db']!.roles.read!;
    role.escalation = { afterMs: 10 * MINUTE, users: [DAVE, ALICE] }; // Alice is the requester: never her
    const id = await submitted(w);
    await deliverAll(w);
    expect(w.notifier.cardsOf(id).map((c) => c.card.channel)).toEqual([APPROVERS_CHANNEL]);
    w.clock.advance(11 * MINUTE);
    expect((await runCheck(w.deps, id, 'escalate')).kind).toBe('done');
    await deliverAll(w);

    const dm = `D${DAVE.slice(1)}`;
    expect(w.notifier.cardsOf(id).map((c) => c.card.channel)).toEqual([APPROVERS_CHANNEL, dm]);
    expect(w.notifier.cardsOf(id)[1]?.snapshot.request.escalatedAt).toEqual(w.clock.now());
    expect((await w.store.cards(id)).map((c) => c.channel)).toEqual([APPROVERS_CHANNEL, dm]);
    expect((await reviewRequest(w.deps, { requestId: id, deciderId: DAVE, outcome: 'approve', reason: null })).ok).toBe(true);
    await deliverAll(w);
    expect(w.notifier.cardsOf(id).filter((c) => c.card.channel === dm)).toHaveLength(1); // updated, not posted again
  });

  describe('a refusal for good (PermanentChatError) gives the delivery up, audits it, and tells the admins once', () => {
    const ADMIN = 'U0ADMIN01';
    const GONE = 'C0GONE0001';
    const abandonedEntries = (w: World, id: string) => w.store.auditLog(id).filter((a) => a.action === 'notification.abandoned');

    /** A world whose read role posts to a channel the fake chat does not have (deleted, or the bot never in it). */
    function goneChannelWorld(admins: string[] = [ADMIN]): World {
      const w = createWorld();
      w.policy.admins.push(...admins);
      const read = w.policy.resources['prod-db']?.roles['read'];
      if (!read) throw new Error('policy fixture changed');
      read.channel = GONE;
      return w;
    }

    it('a card for a channel that does not exist: abandoned, not retried, audited, logged, one admin DM', async () => {
      const w = goneChannelWorld();
      const id = await submitted(w, readRequest());
      const row = notificationOf(w, id, 'post-cards');

      expect(await deliverNotification(w.deps, row)).toBe('abandoned');

      expect(await w.store.cards(id)).toEqual([]);
      expect(w.store.outbox(id)[0]).toMatchObject({ deliveredAt: null, abandonedAt: w.clock.now(), abandonReason: 'channel_not_found', attempts: 1 });
      expect(w.store.undeliveredIds()).not.toContain(row);
      expect(await w.store.listUndelivered(new Date(w.clock.now().getTime() + 1), 100)).not.toContain(row);
      const [entry, ...more] = abandonedEntries(w, id);
      expect(more).toEqual([]);
      expect(entry).toMatchObject({ actor: 'system', details: { notificationId: row, kind: 'post-cards', code: 'channel_not_found', destination: GONE } });
      expect(JSON.stringify(entry)).not.toContain('INC-4821'); // never the message or the request's reason
      expect(w.log.at('error')).toMatchObject([{ obj: { requestId: id, kind: 'post-cards', code: 'channel_not_found' } }]);
      expect(w.notifier.adminAlerts).toEqual([
        { to: ADMIN, alert: { kind: 'notification-undeliverable', request: expect.objectContaining({ id }), notification: 'post-cards', destination: GONE, code: 'channel_not_found' } },
      ]);

      // The job, run again (a stale retry), touches chat no more.
      const calls = w.notifier.calls.length;
      expect(await deliverNotification(w.deps, row)).toBe('abandoned');
      expect(w.notifier.calls).toHaveLength(calls);
      expect(abandonedEntries(w, id)).toHaveLength(1);
      expect(w.notifier.adminAlerts).toHaveLength(1);
    });

    it('the admins are told once per request and kind, however many notifications of that kind are refused', async () => {
      const w = createWorld();
      w.policy.admins.push(ADMIN);
      const id = await submitted(w, readRequest({ role: 'write' }));
      await deliverAll(w);
      await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null });
      await reviewRequest(w.deps, { requestId: id, deciderId: CAROL, outcome: 'approve', reason: null });
      const refreshes = w.store.outbox(id).filter((n) => n.notification.kind === 'refresh-cards' && n.deliveredAt === null);
      expect(refreshes).toHaveLength(2);
      w.notifier.refuseNext('updateCard', 'is_archived', 2);

      for (const r of refreshes) expect(await deliverNotification(w.deps, r.id)).toBe('abandoned');

      expect(abandonedEntries(w, id)).toHaveLength(2);
      expect(w.notifier.adminAlerts).toHaveLength(1);
      expect(w.notifier.adminAlerts[0]?.alert).toMatchObject({ kind: 'notification-undeliverable', notification: 'refresh-cards', code: 'is_archived', destination: APPROVERS_CHANNEL });
      // Another kind of the same request is told again: the requester's DM refused, once the grant is active.
      expect(await activateGrant(w.deps, id, { finalAttempt: false })).toBe('activated');
      w.notifier.refuseNext('notifyRequester', 'user_not_found');
      expect(await deliverNotification(w.deps, notificationOf(w, id, 'notify-requester'))).toBe('abandoned');
      expect(w.notifier.adminAlerts.map((a) => a.alert)).toMatchObject([
        { notification: 'refresh-cards' },
        { notification: 'notify-requester', destination: ALICE, code: 'user_not_found' },
      ]);
    });

    it('one destination refused for good does not keep the others from their card', async () => {
      const w = goneChannelWorld();
      const read = w.policy.resources['prod-db']!.roles['read']!;
      read.notify = { dmApprovers: true };
      const id = await submitted(w, readRequest());

      expect(await deliverNotification(w.deps, notificationOf(w, id, 'post-cards'))).toBe('abandoned');

      // The approvers' DMs went out (saved under their DM ids); the channel card is the one given up.
      expect((await w.store.cards(id)).map((c) => c.channel).sort()).toEqual([`D${BOB.slice(1)}`, `D${CAROL.slice(1)}`]);
      expect(abandonedEntries(w, id)).toMatchObject([{ details: { destination: GONE } }]);
    });

    it('telling the admins is best effort: its failure is logged, the delivery still given up, nothing loops', async () => {
      const w = goneChannelWorld();
      const id = await submitted(w, readRequest());
      w.notifier.failNext('alertAdmins');

      expect(await deliverNotification(w.deps, notificationOf(w, id, 'post-cards'))).toBe('abandoned');

      expect(w.notifier.adminAlerts).toEqual([]);
      expect(w.log.at('error').map((l) => l.msg)).toContain('a notification was given up, but telling the admins failed; it is in the audit log');
      expect(w.store.undeliveredIds()).toEqual([]);
    });

    it('with no admins in the policy: given up, audited, and the log says nobody was told', async () => {
      const w = goneChannelWorld([]);
      const id = await submitted(w, readRequest());

      expect(await deliverNotification(w.deps, notificationOf(w, id, 'post-cards'))).toBe('abandoned');

      expect(abandonedEntries(w, id)).toHaveLength(1);
      expect(w.notifier.calls).not.toContain('alertAdmins');
      expect(w.log.at('warn').map((l) => l.msg)).toContain('a notification was given up, but the policy names no admins to tell; it is in the audit log');
    });

    it('an admins\' alert refused for good is given up without telling the admins about it (no loop)', async () => {
      const w = createWorld();
      w.policy.admins.push(ADMIN);
      const id = await submitted(w);
      await w.store.apply(id, (s) => ({
        ok: true,
        value: { next: { ...s.request, version: s.request.version + 1 }, audit: { action: 'test.alert', actor: 'system', details: {} }, effects: [{ type: 'alert-admins', notice: 'break-glass' }] },
      }));
      w.notifier.refuseNext('alertAdmins', 'user_not_found');

      expect(await deliverNotification(w.deps, notificationOf(w, id, 'alert-admins'))).toBe('abandoned');

      expect(w.notifier.calls.filter((c) => c === 'alertAdmins')).toHaveLength(1);
      expect(abandonedEntries(w, id)).toMatchObject([{ details: { kind: 'alert-admins', code: 'user_not_found', destination: ADMIN } }]);
    });
  });
});
