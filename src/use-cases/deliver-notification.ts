/**
 * Delivers one outbox notification to chat. Cards are always rendered from the request's current state, so
 * refreshing a card twice is harmless; a direct message is sent once per notification row, and the row is
 * marked delivered right after. Failures are recorded and rethrown for the queue to retry.
 */
import type { UseCaseDeps } from './deps.js';
import { describeError } from './effects.js';
import type { RequestSnapshot } from './ports.js';

export type DeliveryOutcome = 'delivered' | 'already-delivered' | 'missing';

export async function deliverNotification(
  deps: Pick<UseCaseDeps, 'store' | 'notifier' | 'log'>,
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
        break;
      case 'notify-requester':
        await deps.notifier.notifyRequester(snapshot, n.notice);
        break;
      case 'alert-approvers':
        await deps.notifier.alertApprovers(snapshot, n.alert);
        break;
    }
  } catch (error) {
    await deps.store.recordDeliveryFailure(notificationId, describeError(error));
    throw error;
  }
  await deps.store.markDelivered(notificationId);
  return 'delivered';
}

async function postCards(deps: Pick<UseCaseDeps, 'store' | 'notifier'>, snapshot: RequestSnapshot): Promise<void> {
  const { request } = snapshot;
  // The approvers' channel, and the escalation channel once the request is escalated.
  const channels = [request.channel];
  if (request.escalatedAt && request.escalationChannel && request.escalationChannel !== request.channel) channels.push(request.escalationChannel);
  const existing = await deps.store.cards(request.id);
  for (const channel of channels.filter((c) => !existing.some((card) => card.channel === c))) {
    const card = await deps.notifier.postCard(channel, snapshot);
    await deps.store.saveCard(request.id, card);
    // A decision may have landed while the card was being posted; its refresh found no card to update.
    const latest = await deps.store.get(request.id);
    if (latest && latest.request.version !== request.version) await deps.notifier.updateCard(card, latest);
  }
}
