/** Chat: who people are, and the messages posted to them. */
import type { AccessRequest, ApproverAlert, RequesterNotice } from '../../domain/request.js';
import type { HomeData } from '../home-view.js';
import type { Notification } from './notifications.js';
import type { LoginCredentials } from './providers.js';
import type { RequestSnapshot } from './store.js';

/** A reference to one approval card posted in a chat channel. */
export interface CardRef {
  platform: 'slack';
  channel: string;
  messageId: string;
}

/**
 * A requester DM that offers actions on the grant (Revoke now, Extend), as remembered so its actions can be taken
 * off once the grant ends (`ChatNotifier.endRequesterDm`). `shown…`: the window the DM showed when posted, kept
 * because an extension moves the request's own window later; `withLogin`: it carried a grant's login, which
 * is never stored and is left out when the DM is rewritten.
 */
export interface RequesterDmRef extends CardRef {
  notice: RequesterNotice;
  shownExpiresAt: Date | null;
  shownDurationMs: number;
  withLogin: boolean;
}

/** Who people are in chat. */
export interface IdentityDirectory {
  emailOf(userId: string): Promise<string | null>;
  /** Which of `candidateGroups` (Slack user group ids) the user is a member of; may be cached for a few minutes. */
  groupsOf(userId: string, candidateGroups: readonly string[]): Promise<string[]>;
}

/**
 * Chat refused a message for good: the same call can never succeed (the channel is gone or archived, the bot is
 * not in it, the user cannot be messaged, the message itself is refused). The adapter decides which of its
 * platform's answers mean that, conservatively; anything else a `ChatNotifier` method throws is transient and
 * retried. `code`: the platform's own reason (Slack's error string, e.g. `channel_not_found`); `destination`: the
 * channel or user the refused call was for.
 */
export class PermanentChatError extends Error {
  override name = 'PermanentChatError';
  constructor(
    readonly code: string,
    readonly destination: string,
    options?: ErrorOptions,
  ) {
    super(`chat refused for good: ${code} (${destination})`, options);
  }
}

/**
 * Posts and updates chat messages. Receives domain data; rendering is the adapter's business. A refusal that
 * retrying cannot fix is thrown as `PermanentChatError`.
 */
export interface ChatNotifier {
  postCard(channel: string, snapshot: RequestSnapshot): Promise<CardRef>;
  updateCard(card: CardRef, snapshot: RequestSnapshot): Promise<void>;
  /**
   * `credentials`: only with the "granted" notice of a grant that created a login; shown in that DM alone.
   * Returns where the DM is when it offers actions on the grant (to be taken off by `endRequesterDm` once the
   * grant ends), null when it offers none.
   */
  notifyRequester(snapshot: RequestSnapshot, notice: RequesterNotice, credentials?: LoginCredentials): Promise<CardRef | null>;
  /**
   * Rewrites a DM sent by `notifyRequester` in place, once its request is no longer active: what it said,
   * without its actions, and why they are gone. `at`: when the delivery runs, for an early revoke not yet done.
   */
  endRequesterDm(dm: RequesterDmRef, snapshot: RequestSnapshot, at: Date | null): Promise<void>;
  alertApprovers(snapshot: RequestSnapshot, alert: ApproverAlert): Promise<void>;
  /** A direct message to each of `admins` (chat user ids). Tries every admin; throws afterwards if any failed. */
  alertAdmins(admins: string[], alert: AnyAdminAlert): Promise<void>;
  /** Publishes (replaces) `userId`'s App Home with what `home` holds for them. */
  publishHome(userId: string, home: HomeData): Promise<void>;
}

/**
 * `break-glass`: someone took a role at once with `/access break-glass` (the request as saved; its card in the
 * approvers' channel has the Acknowledge button). Sent to the admins like an `AdminAlert`.
 */
export type BreakGlassAlert = { kind: 'break-glass'; request: AccessRequest };

/**
 * `revokes-stalled`: grants past their end whose revoke is not progressing (`watch-revokes.ts`): no worker may
 * be running. Sent to the admins (or, with none, the grants' approvers' channels) like an `AdminAlert`.
 */
export type StalledRevokesAlert = { kind: 'revokes-stalled'; requests: AccessRequest[]; at: Date };

/**
 * `notification-undeliverable`: chat refused an outbox notification for good (`PermanentChatError`) and the bot
 * gave it up (deliver-notification.ts): `notification` is which one (a card, an approvers' alert, a requester DM),
 * `destination` the channel or user it was for, `code` the platform's reason. Sent once per request and kind.
 */
export type UndeliverableAlert = {
  kind: 'notification-undeliverable';
  request: AccessRequest;
  notification: Notification['kind'];
  destination: string;
  code: string;
};

/** Every alert `ChatNotifier.alertAdmins` sends. */
export type AnyAdminAlert = AdminAlert | BreakGlassAlert | StalledRevokesAlert | UndeliverableAlert;

/**
 * What the admins are told. `drift-revoked`: the bot found on the target access it had granted that the
 * records do not account for, and removed it. `requestStatus` is null when no request is named or known.
 */
export type AdminAlert = {
  kind: 'drift-revoked';
  resource: string;
  principal: string;
  grant: string;
  requestId: string | null;
  requestStatus: AccessRequest['status'] | null;
  at: Date;
};
