/** The system of record: the port the PostgreSQL store implements, and what it reads and returns. */
import type { DomainError, Result } from '../../domain/errors.js';
import type { HistoryEntry } from '../../domain/risk.js';
import type { AccessRequest, AuditEntry, Decision, Transition } from '../../domain/request.js';
import type { CardRef, RequesterDmRef } from './chat.js';
import type { Notification } from './notifications.js';

export interface RequestSnapshot {
  request: AccessRequest;
  decisions: Decision[];
}

export type ApplyOutcome = { ok: true; transition: Transition; notificationIds: string[] } | { ok: false; error: DomainError };

/**
 * The system of record. Contract: every write that changes a request is one transaction that also writes its
 * audit entry and its notifications (an outbox), so a crash can never leave a state change without its
 * record or its messages. `apply` serialises concurrent writers on the request row and saves with
 * compare-and-swap on `version`; a refused transition writes nothing.
 * Left out on purpose: deletes. Requests and audit entries are never removed.
 */
export interface RequestStore {
  create(transition: Transition): Promise<{ notificationIds: string[] }>;
  get(requestId: string): Promise<RequestSnapshot | null>;
  apply(requestId: string, decide: (snapshot: RequestSnapshot) => Result<Transition>): Promise<ApplyOutcome>;
  /**
   * Like `apply`, over several requests at once (an extension and the grant it extends): all rows locked,
   * one decision over all of them, every transition saved, or nothing.
   */
  applyTogether(
    requestIds: string[],
    decide: (snapshots: RequestSnapshot[]) => Result<Transition[]>,
  ): Promise<{ ok: true; applied: { transition: Transition; notificationIds: string[] }[] } | { ok: false; error: DomainError }>;
  /** The pending or approved extension of a request, if any. */
  pendingExtensionOf(requestId: string): Promise<AccessRequest | null>;
  /** Appends an audit entry that is not part of a transition (a refused attempt, an alert). */
  audit(entry: AuditEntry, requestId?: string): Promise<void>;
  /**
   * Records which of the request's grants the principal already held before we touched the target. The first
   * call wins and later calls return what was recorded, so a retried grant never mistakes its own earlier
   * work for pre-existing access.
   */
  recordPreExisting(requestId: string, held: string[]): Promise<string[]>;
  /** What `recordPreExisting` recorded; empty when nothing was recorded. */
  preExisting(requestId: string): Promise<string[]>;
  /**
   * The grants of this request that another request of ours (same principal and resource, not revoked)
   * also added. `window`: only those whose window has not ended, i.e. access a revoke must leave in place.
   * `until-revoked`: also those past their end but not yet revoked, i.e. access that is ours, not
   * pre-existing, when a new grant looks at what the principal holds.
   */
  coveredElsewhere(request: AccessRequest, scope: 'window' | 'until-revoked'): Promise<string[]>;
  /**
   * Drift detection on shared-membership targets: per principal of `resource`, the grants of its requests
   * that are `approved`, `active` or `revoking` (access the records say it may hold now, a grant in flight
   * included), and what any of its requests, in any state, recorded as held before (never ours to revoke).
   */
  openGrantsOf(resource: string): Promise<AccessOnRecord[]>;
  /**
   * Runs `work` while holding a lock on one principal's access to one resource, across every process, so a
   * grant and a revoke of overlapping windows never interleave between "what is held" and "change it".
   */
  withTargetLock<T>(resource: string, principal: string, work: () => Promise<T>): Promise<T>;

  // Reconciliation: read from PostgreSQL alone.
  listByStatus(statuses: AccessRequest['status'][], limit: number): Promise<AccessRequest[]>;
  /** One page of the requests in these states, by id: those after `afterId` (null: from the first), at most `limit`. */
  pageByStatus(statuses: AccessRequest['status'][], afterId: string | null, limit: number): Promise<AccessRequest[]>;
  /**
   * One person's requests created at or after `since`, in any state, oldest first, extensions left out: the
   * history the policy engine weighs (first request, bursts, the auto-approval rate brake).
   */
  recentRequestsOf(requesterId: string, since: Date): Promise<HistoryEntry[]>;
  /** One person's requests in these states, newest first. */
  listForRequester(requesterId: string, statuses: AccessRequest['status'][], limit: number): Promise<AccessRequest[]>;
  /** The request's audit trail, oldest first. */
  auditTrail(requestId: string): Promise<(AuditEntry & { at: Date })[]>;
  /** The newest `limit` audit entries of any request (or none), newest first: the admins' App Home. */
  recentAudit(limit: number): Promise<RecentAuditEntry[]>;

  // The App Home: who has opened it, so a state change republishes only Homes someone has seen.
  /** Records that `userId` opened the App Home now (one row per person; a later open moves the time). */
  recordHomeOpened(userId: string): Promise<void>;
  /** Which of `userIds` have opened the App Home at least once. */
  homeViewers(userIds: string[]): Promise<string[]>;
  /** Notifications neither delivered nor given up (`abandonDelivery`), created before `olderThan`, oldest first (by id, after `afterId` when given). */
  listUndelivered(olderThan: Date, limit: number, afterId?: string): Promise<string[]>;

  // Outbox delivery.
  notification(id: string): Promise<{ requestId: string; notification: Notification; deliveredAt: Date | null; abandonedAt: Date | null } | null>;
  markDelivered(id: string): Promise<boolean>;
  recordDeliveryFailure(id: string, error: string): Promise<void>;
  /**
   * Gives a notification up for good (chat refused it: `PermanentChatError`): records when and `reason` (the
   * platform's code), counts the attempt, and appends `audit` for its request, in one transaction. It is never
   * listed by `listUndelivered` again. `abandoned`: false when it was already delivered or given up (nothing is
   * written). `firstOfKind`: no other notification of the same request and kind had been given up before, so the
   * caller tells people once per request and kind; exactly one of concurrent callers gets it.
   */
  abandonDelivery(id: string, reason: string, audit: AuditEntry): Promise<{ abandoned: boolean; firstOfKind: boolean }>;
  /**
   * Takes back the giving up of the request's notifications of these kinds (an admin's "Send again"): each is
   * owed again, listed by `listUndelivered`, and `audit` is appended with their ids, in one transaction. Returns
   * their ids, oldest first; none (and no audit entry) when nothing of those kinds was given up.
   */
  reviveAbandoned(requestId: string, kinds: readonly Notification['kind'][], audit: AuditEntry): Promise<string[]>;
  cards(requestId: string): Promise<CardRef[]>;
  saveCard(requestId: string, card: CardRef): Promise<void>;
  /** Remembers a requester DM that offers actions (a second save of the same message is ignored). */
  saveRequesterDm(requestId: string, dm: RequesterDmRef): Promise<void>;
  /** The request's requester DMs whose actions are still shown, oldest first, each with its row id. */
  openRequesterDms(requestId: string): Promise<(RequesterDmRef & { id: string })[]>;
  /** Records that a DM's actions were taken off; it is not listed by `openRequesterDms` again. */
  markRequesterDmEnded(id: string): Promise<void>;
}

/** One audit entry with when it happened and the request it concerns (null: none). */
export type RecentAuditEntry = AuditEntry & { at: Date; requestId: string | null };

/** One principal's access on record for one resource (`RequestStore.openGrantsOf`). */
export interface AccessOnRecord {
  principal: string;
  grants: string[];
  preExisting: string[];
}
