/** The outbox: the chat notifications a transition owes, saved with it and delivered later. */
import type { AdminNotice, ApproverAlert, Effect, RequesterNotice } from '../../domain/request.js';

export type Notification =
  | { kind: 'post-cards'; escalated?: true }
  | { kind: 'refresh-cards' }
  | { kind: 'notify-requester'; notice: RequesterNotice }
  | { kind: 'alert-approvers'; alert: ApproverAlert }
  | { kind: 'alert-admins'; notice: AdminNotice };

/** The outbox row a transition's effect owes, if the effect is a chat message (jobs are the use case's). */
export function notificationFor(effect: Effect): Notification | null {
  switch (effect.type) {
    case 'post-cards':
      return effect.escalated ? { kind: 'post-cards', escalated: true } : { kind: 'post-cards' };
    case 'refresh-cards':
      return { kind: effect.type };
    case 'notify-requester':
      return { kind: 'notify-requester', notice: effect.notice };
    case 'alert-approvers':
      return { kind: 'alert-approvers', alert: effect.alert };
    case 'alert-admins':
      return { kind: 'alert-admins', notice: effect.notice };
    case 'schedule-grant':
    case 'schedule-revoke':
    case 'schedule-check':
      return null;
  }
}
