/** Chat: who people are, and the messages posted to them. */
import type { AccessRequest, ApproverAlert, RequesterNotice } from '../../domain/request.js';
import type { HomeData } from '../home-view.js';
import type { LoginCredentials } from './providers.js';
import type { RequestSnapshot } from './store.js';

/** A reference to one approval card posted in a chat channel. */
export interface CardRef {
  platform: 'slack';
  channel: string;
  messageId: string;
}

/** Who people are in chat. */
export interface IdentityDirectory {
  emailOf(userId: string): Promise<string | null>;
  /** Which of `candidateGroups` (Slack user group ids) the user is a member of; may be cached for a few minutes. */
  groupsOf(userId: string, candidateGroups: readonly string[]): Promise<string[]>;
}

/** Posts and updates chat messages. Receives domain data; rendering is the adapter's business. */
export interface ChatNotifier {
  postCard(channel: string, snapshot: RequestSnapshot): Promise<CardRef>;
  updateCard(card: CardRef, snapshot: RequestSnapshot): Promise<void>;
  /** `credentials`: only with the "granted" notice of a grant that created a login; shown in that DM alone. */
  notifyRequester(snapshot: RequestSnapshot, notice: RequesterNotice, credentials?: LoginCredentials): Promise<void>;
  alertApprovers(snapshot: RequestSnapshot, alert: ApproverAlert): Promise<void>;
  /** A direct message to each of `admins` (chat user ids). Tries every admin; throws afterwards if any failed. */
  alertAdmins(admins: string[], alert: AdminAlert | BreakGlassAlert | StalledRevokesAlert): Promise<void>;
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
