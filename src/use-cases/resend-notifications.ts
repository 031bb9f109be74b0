/**
 * "Send again": a policy admin takes back the giving up of a request's cards (decision 36).
 *
 * A card Slack refused for good (the approvers' channel archived or deleted, the bot removed from it) is given
 * up and the admins are told once (decision 35). Once they have fixed the cause (unarchived the channel, invited
 * the bot back), the alert's "Send again" button lands here: the request's given-up card deliveries are owed
 * again, audited `notification.resent` with the clicker and the notification ids, and handed to the queue.
 *
 * Only cards are sent again (`post-cards`, `refresh-cards`): a card is rendered from the request's state at
 * delivery, so a late card tells the truth ("Expired", "Denied by …"), and an approver can still decide a
 * request that is pending. The other kinds are about a moment (a DM "your access was granted", an alert
 * "revocation failing") and would be false or stale once late; they stay given up.
 *
 * A card is sent to the channel the request was made for (`request.channel`, fixed at submission like every
 * other part of the request): a role whose channel the admins *changed* in the policy does not move the cards
 * of requests made before the change. Refused again for good, the card is given up again and the admins are
 * told again, once per click. Only policy admins may click it: anyone else is refused, audited
 * `notification.resend-refused`, and nothing is sent.
 */
import type { Notification } from './ports.js';
import type { UseCaseDeps } from './deps.js';
import { isPolicyAdmin } from './edit-rule.js';

/** The kinds "Send again" revives: those rendered from the request's current state. */
export const RESENDABLE_KINDS: readonly Notification['kind'][] = ['post-cards', 'refresh-cards'];

export type ResendOutcome = { ok: true; notificationIds: string[] } | { ok: false; refused: 'not-admin' | 'no-such-request' | 'nothing-given-up' };

export async function resendNotifications(
  deps: Pick<UseCaseDeps, 'policy' | 'store' | 'queue' | 'log'>,
  actor: string,
  requestId: string,
): Promise<ResendOutcome> {
  // The id comes from a button's value: a request we have no record of is named in the details, not linked.
  const known = (await deps.store.get(requestId)) !== null;
  if (!isPolicyAdmin(deps, actor)) {
    const details = known ? { code: 'NOT_AN_ADMIN' } : { code: 'NOT_AN_ADMIN', requestId: requestId.slice(0, 100) };
    await deps.store.audit({ action: 'notification.resend-refused', actor, details }, known ? requestId : undefined);
    return { ok: false, refused: 'not-admin' };
  }
  if (!known) return { ok: false, refused: 'no-such-request' };
  const notificationIds = await deps.store.reviveAbandoned(requestId, RESENDABLE_KINDS, {
    action: 'notification.resent',
    actor,
    details: { kinds: RESENDABLE_KINDS },
  });
  if (notificationIds.length === 0) return { ok: false, refused: 'nothing-given-up' };
  // Owed again in PostgreSQL: an enqueue lost to a Redis outage is made again by the reconciler.
  const enqueued = await Promise.allSettled(notificationIds.map((id) => deps.queue.ensureDelivery(id)));
  if (enqueued.some((r) => r.status === 'rejected')) {
    deps.log.warn({ requestId, notificationIds }, 'could not enqueue the deliveries sent again; the reconciler will retry them');
  }
  return { ok: true, notificationIds };
}
