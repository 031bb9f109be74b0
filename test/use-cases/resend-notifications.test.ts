import { describe, expect, it } from 'vitest';
import { deliverJobId } from '../../src/jobs/names.js';
import { deliverNotification } from '../../src/use-cases/deliver-notification.js';
import { resendNotifications } from '../../src/use-cases/resend-notifications.js';
import { reviewRequest } from '../../src/use-cases/review-request.js';
import { BOB, MALLORY, createWorld, readRequest, submitted, type World } from './world.js';

const ADMIN = 'U0ADMIN01';
const GONE = 'C0GONE0001';

/** A request whose approvers' channel Slack refused for good (archived): its card given up, the admins told. */
async function givenUpCard(): Promise<{ w: World; id: string; row: string }> {
  const w = createWorld();
  w.policy.admins.push(ADMIN);
  const read = w.policy.resources['prod-db']?.roles['read'];
  if (!read) throw new Error('policy fixture changed');
  read.channel = GONE;
  const id = await submitted(w, readRequest());
  const row = w.store.outbox(id).find((n) => n.notification.kind === 'post-cards')?.id ?? '';
  expect(await deliverNotification(w.deps, row)).toBe('abandoned');
  w.queue.complete(deliverJobId(row)); // as the worker does: the job ends when the delivery is given up
  return { w, id, row };
}

describe('resendNotifications ("Send again" on the admins’ alert)', () => {
  it('an admin, once the channel is back: the card is owed again, queued, audited; delivered, it is the request as it stands', async () => {
    const { w, id, row } = await givenUpCard();
    w.notifier.addChannel(GONE);

    expect(await resendNotifications(w.deps, ADMIN, id)).toEqual({ ok: true, notificationIds: [row] });

    expect(w.store.undeliveredIds()).toContain(row);
    expect(w.queue.pendingIds('deliver')).toContain(deliverJobId(row));
    expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'notification.resent', actor: ADMIN, details: { kinds: ['post-cards', 'refresh-cards'], notificationIds: [row] } });
    expect(await deliverNotification(w.deps, row)).toBe('delivered');
    expect(w.notifier.cardsOf(id).map((c) => [c.card.channel, c.snapshot.request.status])).toEqual([[GONE, 'pending']]);
    // Still decidable from the late card.
    expect((await reviewRequest(w.deps, { requestId: id, deciderId: BOB, outcome: 'approve', reason: null })).ok).toBe(true);
  });

  it('refused again for good: given up again, and the admins are told again', async () => {
    const { w, id, row } = await givenUpCard();
    expect(w.notifier.adminAlerts).toHaveLength(1);

    await resendNotifications(w.deps, ADMIN, id);
    expect(await deliverNotification(w.deps, row)).toBe('abandoned');

    expect(w.notifier.adminAlerts).toHaveLength(2);
    expect(w.store.auditLog(id).map((a) => a.action).filter((a) => a.startsWith('notification.'))).toEqual([
      'notification.abandoned',
      'notification.resent',
      'notification.abandoned',
    ]);
  });

  it('anyone but a policy admin is refused, audited, and nothing is owed again', async () => {
    const { w, id, row } = await givenUpCard();
    w.notifier.addChannel(GONE);

    expect(await resendNotifications(w.deps, BOB, id)).toEqual({ ok: false, refused: 'not-admin' });

    expect(w.store.undeliveredIds()).not.toContain(row);
    expect(w.queue.pendingIds('deliver')).not.toContain(deliverJobId(row));
    expect(w.store.auditLog(id).at(-1)).toMatchObject({ action: 'notification.resend-refused', actor: BOB, details: { code: 'NOT_AN_ADMIN' } });
  });

  it('a request id nobody has: an admin is told, a non-admin’s attempt is audited unlinked, naming the id', async () => {
    const { w } = await givenUpCard();
    const before = w.store.auditLog(null).length;

    expect(await resendNotifications(w.deps, ADMIN, 'req_forged')).toEqual({ ok: false, refused: 'no-such-request' });
    expect(w.store.auditLog(null)).toHaveLength(before);
    expect(await resendNotifications(w.deps, MALLORY, 'req_forged')).toEqual({ ok: false, refused: 'not-admin' });
    expect(w.store.auditLog(null).at(-1)).toMatchObject({ action: 'notification.resend-refused', actor: MALLORY, details: { code: 'NOT_AN_ADMIN', requestId: 'req_forged' } });
  });

  it('nothing given up (sent meanwhile, or a second click): nothing owed, nothing audited', async () => {
    const { w, id } = await givenUpCard();
    w.notifier.addChannel(GONE);
    await resendNotifications(w.deps, ADMIN, id);
    const audited = w.store.auditLog(id).length;

    expect(await resendNotifications(w.deps, ADMIN, id)).toEqual({ ok: false, refused: 'nothing-given-up' });
    expect(w.store.auditLog(id)).toHaveLength(audited);
  });
});
