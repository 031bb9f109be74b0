/**
 * Delivers one outbox notification to chat. Cards are always rendered from the request's current state, so
 * refreshing a card twice is harmless; a direct message is sent once per notification row, and the row is
 * marked delivered right after. Failures are recorded and rethrown for the queue to retry.
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
import { targetOf, type LoginCredentials, type RequestSnapshot } from './ports.js';

export type DeliveryOutcome = 'delivered' | 'already-delivered' | 'missing';

export async function deliverNotification(
  deps: Pick<UseCaseDeps, 'store' | 'notifier' | 'log'> & Partial<Pick<UseCaseDeps, 'providers' | 'policy' | 'clock'>>,
  notificationId: string,
): Promise<DeliveryOutcome> {
  const row = await deps.store.notification(notificationId);
  if (!row) return 'missing';
  if (row.deliveredAt) return 'already-delivered';
  const snapshot = await deps.store.get(row.requestId);
  if (!snapshot) return 'missing';
  try {
    const n = row.notification;
    switch (n.kind) {
      case 'post-cards':
        await postCards(deps, snapshot);
        break;
      case 'refresh-cards':
        for (const card of await deps.store.cards(row.requestId)) await deps.notifier.updateCard(card, snapshot);
        await endRequesterDms(deps, snapshot);
        break;
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
    await deps.store.recordDeliveryFailure(notificationId, describeError(error));
    throw error;
  }
  await deps.store.markDelivered(notificationId);
  if (row.notification.kind === 'post-cards' || row.notification.kind === 'refresh-cards') await refreshHomesOf(deps, row.requestId);
  return 'delivered';
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

async function postCards(deps: Pick<UseCaseDeps, 'store' | 'notifier'> & Partial<Pick<UseCaseDeps, 'policy'>>, snapshot: RequestSnapshot): Promise<void> {
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
  for (const channel of pending) {
    const card = await deps.notifier.postCard(channel, snapshot);
    await deps.store.saveCard(request.id, card);
    // A decision may have landed while the card was being posted; its refresh found no card to update.
    const latest = await deps.store.get(request.id);
    if (latest && latest.request.version !== request.version) await deps.notifier.updateCard(card, latest);
  }
}
