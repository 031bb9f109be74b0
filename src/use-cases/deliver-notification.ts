/**
 * Delivers one outbox notification to chat. Cards are always rendered from the request's current state, so
 * refreshing a card twice is harmless; a direct message is sent once per notification row, and the row is
 * marked delivered right after. Failures are recorded and rethrown for the queue to retry.
 *
 * Except a refusal for good (`PermanentChatError`: the approvers' channel deleted or archived, the bot removed
 * from it, the requester deactivated, a message Slack will never take): retrying it could only fail again, for
 * ever, since the reconciler revives a delivery that ran out of attempts. Such a delivery is given up: the row is
 * marked abandoned (no longer listed as undelivered, so the reconciler leaves it), audited
 * `notification.abandoned` (its kind, the platform's code and where it was going; never the message), logged at
 * error level, and the job completes. People are told once per request and kind: a DM to the policy admins, sent
 * directly, never through the outbox, so a failure to tell them is logged and nothing loops. A transient failure
 * (429, 5xx, the network, any code not known to be permanent) is still retried for ever, the queue's attempts
 * first and then the reconciler once per interval: the right call for an outage, which ends (decision 35).
 *
 * The requester's DMs that offer actions on the grant (Revoke now, Extend) are remembered when sent, and
 * rewritten without them by the `refresh-cards` delivery of the first transition that leaves the request
 * no longer active (an early revoke at `revoking`, the window's end at `revoked`): every such transition
 * already owes a card refresh, so the DMs ride on it and are retried and recovered by the reconciler like
 * the cards, with no new outbox kind or domain effect (decision 34).
 */
import { findRole } from '../domain/policy.js';
import type { UseCaseDeps } from './deps.js';
import { describeError } from './effects.js';
import { homeAudience, refreshHomes } from './home-view.js';
import { PermanentChatError, targetOf, type LoginCredentials, type Notification, type RequestSnapshot } from './ports.js';

export type DeliveryOutcome = 'delivered' | 'already-delivered' | 'missing' | 'abandoned';

export async function deliverNotification(
  deps: Pick<UseCaseDeps, 'store' | 'notifier' | 'log'> & Partial<Pick<UseCaseDeps, 'providers' | 'policy' | 'clock'>>,
  notificationId: string,
): Promise<DeliveryOutcome> {
  const row = await deps.store.notification(notificationId);
  if (!row) return 'missing';
  if (row.deliveredAt) return 'already-delivered';
  if (row.abandonedAt) return 'abandoned';
  const snapshot = await deps.store.get(row.requestId);
  if (!snapshot) return 'missing';
  try {
    const n = row.notification;
    switch (n.kind) {
      case 'post-cards':
        await postCards(deps, snapshot, n.escalated === true);
        break;
      case 'refresh-cards': {
        // A card refused for good (its channel deleted) does not keep the others from their update.
        const refused = await eachRefusedLast(await deps.store.cards(row.requestId), (card) => deps.notifier.updateCard(card, snapshot));
        await endRequesterDms(deps, snapshot);
        if (refused) throw refused;
        break;
      }
      case 'notify-requester': {
        const credentials = n.notice === 'granted' ? await loginCredentials(deps, snapshot) : null;
        const dm = credentials ? await deps.notifier.notifyRequester(snapshot, n.notice, credentials) : await deps.notifier.notifyRequester(snapshot, n.notice);
        if (dm) {
          const { request } = snapshot;
          await deps.store.saveRequesterDm(request.id, {
            ...dm,
            notice: n.notice,
            shownExpiresAt: request.expiresAt,
            shownDurationMs: request.durationMs,
            withLogin: credentials !== null,
          });
          // The grant may have ended before this DM was saved, its refresh finding nothing to rewrite: do it now.
          const latest = await deps.store.get(request.id);
          if (latest) await endRequesterDms(deps, latest);
        }
        break;
      }
      case 'alert-approvers':
        await deps.notifier.alertApprovers(snapshot, n.alert);
        break;
      case 'alert-admins': {
        // The admins in force now; none configured, nobody to tell (the channel card still carries it).
        const admins = deps.policy?.current().admins ?? [];
        if (admins.length > 0) await deps.notifier.alertAdmins(admins, { kind: n.notice, request: snapshot.request });
        break;
      }
    }
  } catch (error) {
    if (error instanceof PermanentChatError) {
      await giveUp(deps, notificationId, row.notification, snapshot, error);
      return 'abandoned';
    }
    await deps.store.recordDeliveryFailure(notificationId, describeError(error));
    throw error;
  }
  await deps.store.markDelivered(notificationId);
  if (row.notification.kind === 'post-cards' || row.notification.kind === 'refresh-cards') await refreshHomesOf(deps, row.requestId);
  return 'delivered';
}

/**
 * Runs `send` for each item, in order. A transient failure is thrown at once (the delivery is retried whole,
 * which is harmless: cards are re-rendered, a posted one is not posted again); a refusal for good is kept and
 * returned once every other item had its turn, so one deleted channel does not hold back the others.
 */
async function eachRefusedLast<T>(items: readonly T[], send: (item: T) => Promise<void>): Promise<PermanentChatError | null> {
  let refused: PermanentChatError | null = null;
  for (const item of items) {
    try {
      await send(item);
    } catch (error) {
      if (!(error instanceof PermanentChatError)) throw error;
      refused ??= error;
    }
  }
  return refused;
}

/**
 * Gives a notification up after chat refused it for good: marks it abandoned and audits it (one transaction),
 * logs it, and, the first time a notification of this kind of this request is given up, tells the policy admins.
 * An admin alert that is itself refused is only logged: telling the admins about it would loop. Telling them
 * is best effort and not retried (the audit entry and the error log line stay).
 */
async function giveUp(
  deps: Pick<UseCaseDeps, 'store' | 'notifier' | 'log'> & Partial<Pick<UseCaseDeps, 'policy'>>,
  notificationId: string,
  notification: Notification,
  snapshot: RequestSnapshot,
  error: PermanentChatError,
): Promise<void> {
  const { request } = snapshot;
  const details = { notificationId, kind: notification.kind, code: error.code, destination: error.destination };
  const { abandoned, firstOfKind } = await deps.store.abandonDelivery(notificationId, error.code, { action: 'notification.abandoned', actor: 'system', details });
  if (!abandoned) return; // delivered or given up meanwhile, by another run of the same job
  deps.log.error({ requestId: request.id, ...details }, 'chat refused a notification for good; it is given up and not retried');
  if (!firstOfKind || notification.kind === 'alert-admins') return;
  const admins = deps.policy?.current().admins ?? [];
  if (admins.length === 0) {
    deps.log.warn({ requestId: request.id, kind: notification.kind }, 'a notification was given up, but the policy names no admins to tell; it is in the audit log');
    return;
  }
  try {
    await deps.notifier.alertAdmins(admins, { kind: 'notification-undeliverable', request, notification: notification.kind, destination: error.destination, code: error.code });
  } catch (alertError) {
    deps.log.error({ requestId: request.id, kind: notification.kind, err: describeError(alertError) }, 'a notification was given up, but telling the admins failed; it is in the audit log');
  }
}

/**
 * Once the request is no longer active, takes the actions off each requester DM that still shows them, and
 * records it, so a later refresh (`revoking`, then `revoked`) does not rewrite it again. Sent before being
 * recorded: a crash in between rewrites it once more, with the same text.
 *
 * Best effort: a DM that cannot be rewritten (Slack refusing, the requester deactivated) is logged and left
 * for the next refresh; it never fails the delivery it rides on, which would re-send the cards, or re-post the
 * DM just sent. A stale button only gets a polite refusal.
 */
async function endRequesterDms(
  deps: Pick<UseCaseDeps, 'store' | 'notifier' | 'log'> & Partial<Pick<UseCaseDeps, 'clock'>>,
  snapshot: RequestSnapshot,
): Promise<void> {
  const { request } = snapshot;
  // A DM with actions is sent only once the grant is active; `applied` and `failed` extensions never get one.
  if (request.status === 'active' || request.status === 'pending' || request.status === 'approved') return;
  const at = deps.clock?.now() ?? null;
  try {
    for (const dm of await deps.store.openRequesterDms(request.id)) {
      await deps.notifier.endRequesterDm(dm, snapshot, at);
      await deps.store.markRequesterDmEnded(dm.id);
    }
  } catch (error) {
    deps.log.warn({ requestId: request.id, err: describeError(error) }, 'could not take the buttons off a requester DM; a later refresh tries again');
  }
}

/**
 * The login a grant created (an ephemeral database role), derived now from the provider, never read from
 * or written to the store: the credentials exist in this process only while the DM is sent. None once the
 * grant is no longer active (its login is gone or going).
 */
async function loginCredentials(deps: Partial<Pick<UseCaseDeps, 'providers'>>, snapshot: RequestSnapshot): Promise<LoginCredentials | null> {
  const { request } = snapshot;
  if (!deps.providers || request.status !== 'active') return null;
  let provider;
  try {
    provider = deps.providers.forResource(request.resource);
  } catch {
    return null; // the resource left the policy: nothing to log in to any more
  }
  if (!provider.credentialsFor) return null;
  return provider.credentialsFor(targetOf(request, [...request.grants]));
}

/**
 * A new or changed request changes what its requester and approvers see on their App Home. Best effort and
 * after the cards: `refreshHomes` never throws, and republishes only Homes that someone has opened.
 */
async function refreshHomesOf(deps: Parameters<typeof deliverNotification>[0], requestId: string): Promise<void> {
  const { policy, clock } = deps;
  if (!policy || !clock) return;
  const latest = await deps.store.get(requestId).catch(() => null);
  if (!latest) return;
  await refreshHomes({ ...deps, policy, clock }, homeAudience(policy.current(), latest.request));
}

/** The approvers to DM the card to, by the policy in force (none when the role does not ask for it). */
function dmApprovers(deps: Partial<Pick<UseCaseDeps, 'policy'>>, request: RequestSnapshot['request']): string[] {
  const policy = deps.policy?.current();
  if (!policy) return [];
  const found = findRole(policy, request.resource, request.role);
  if (!found.ok || !found.value.notify?.dmApprovers) return [];
  // Never to the requester: they may be a listed approver, but cannot decide their own request.
  return [...new Set(found.value.approvers.users)].filter((u) => u !== request.requesterId);
}

/** The escalation's users to DM the card to, by the policy in force: never the requester. */
function escalationUsers(deps: Partial<Pick<UseCaseDeps, 'policy'>>, request: RequestSnapshot['request']): string[] {
  const policy = deps.policy?.current();
  if (!policy) return [];
  const found = findRole(policy, request.resource, request.role);
  if (!found.ok) return [];
  return [...new Set(found.value.escalation?.users ?? [])].filter((u) => u !== request.requesterId);
}

async function postCards(
  deps: Pick<UseCaseDeps, 'store' | 'notifier'> & Partial<Pick<UseCaseDeps, 'policy'>>,
  snapshot: RequestSnapshot,
  escalation: boolean,
): Promise<void> {
  const { request } = snapshot;
  // The approvers' channel, and the escalation channel once the request is escalated.
  const channels = [request.channel];
  if (request.escalatedAt && request.escalationChannel && request.escalationChannel !== request.channel) channels.push(request.escalationChannel);
  const existing = await deps.store.cards(request.id);
  const pending = channels.filter((c) => !existing.some((card) => card.channel === c));
  // `notify.dm_approvers`: each listed approver (users, not groups) gets the card in a DM too, posted with the
  // user id as the channel. Slack answers with the DM's own id (D…), which is what the card is saved under and
  // updated through, so a DM card cannot be matched to its user id later: DMs are sent only with the first
  // cards (no card posted yet), never again on escalation. A delivery retried after a partial failure may
  // therefore miss the approvers whose DM had not gone out yet; the channel card still reaches them.
  if (existing.length === 0) pending.push(...dmApprovers(deps, request).filter((u) => !channels.includes(u)));
  // The escalation's own post DMs the card to the escalation's users, who may decide from now on: without a
  // channel in the escalation, nobody would tell them. Sent by this delivery only, so a later post-cards (none
  // is owed after escalation) never repeats them; a retry of this delivery after a partial failure may (the
  // same limit as above, the other way round: a duplicate DM rather than a missing one).
  if (escalation) pending.push(...escalationUsers(deps, request).filter((u) => !channels.includes(u) && !pending.includes(u)));
  // A destination refused for good (a deleted channel, a deactivated approver) does not keep the others from
  // their card; the delivery is then given up, once the others are posted.
  const refused = await eachRefusedLast(pending, async (channel) => {
    const card = await deps.notifier.postCard(channel, snapshot);
    await deps.store.saveCard(request.id, card);
    // A decision may have landed while the card was being posted; its refresh found no card to update.
    const latest = await deps.store.get(request.id);
    if (latest && latest.request.version !== request.version) await deps.notifier.updateCard(card, latest);
  });
  if (refused) throw refused;
}
