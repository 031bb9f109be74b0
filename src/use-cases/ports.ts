/**
 * What the use cases need from the outside world. Each port is named for the domain; vendor types never
 * cross it. Fakes of these live in `test/fakes`; the real adapters in `store/`, `jobs/`, `chat/`, `providers/`.
 */
import type { DomainError, Result } from '../domain/errors.js';
import type { Policy } from '../domain/policy.js';
import type { HistoryEntry } from '../domain/risk.js';
import type { AccessRequest, AdminNotice, ApproverAlert, AuditEntry, Decision, Effect, RequesterNotice, TimedCheck, Transition } from '../domain/request.js';
import type { HomeData } from './home-view.js';

export interface RequestSnapshot {
  request: AccessRequest;
  decisions: Decision[];
}

export type ApplyOutcome = { ok: true; transition: Transition; notificationIds: string[] } | { ok: false; error: DomainError };

/** A reference to one approval card posted in a chat channel. */
export interface CardRef {
  platform: 'slack';
  channel: string;
  messageId: string;
}

export type Notification =
  | { kind: 'post-cards' }
  | { kind: 'refresh-cards' }
  | { kind: 'notify-requester'; notice: RequesterNotice }
  | { kind: 'alert-approvers'; alert: ApproverAlert }
  | { kind: 'alert-admins'; notice: AdminNotice };

/** The outbox row a transition's effect owes, if the effect is a chat message (jobs are the use case's). */
export function notificationFor(effect: Effect): Notification | null {
  switch (effect.type) {
    case 'post-cards':
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
  listUndelivered(olderThan: Date, limit: number): Promise<string[]>;

  // Outbox delivery.
  notification(id: string): Promise<{ requestId: string; notification: Notification; deliveredAt: Date | null } | null>;
  markDelivered(id: string): Promise<boolean>;
  recordDeliveryFailure(id: string, error: string): Promise<void>;
  cards(requestId: string): Promise<CardRef[]>;
  saveCard(requestId: string, card: CardRef): Promise<void>;
}

/**
 * Background work. Every method is idempotent ("ensure"): job ids derive from the request id, an existing job
 * is left alone, and a job that has failed for good is revived. Losing the queue loses nothing: the
 * reconciler calls these again from PostgreSQL.
 */
export interface JobQueue {
  /** The grant job, due at `at` (the end of the approval grace; now or earlier: at once). */
  ensureGrant(requestId: string, at: Date): Promise<void>;
  ensureRevoke(requestId: string, at: Date): Promise<void>;
  ensureDelivery(notificationId: string): Promise<void>;
  /** A time-driven check (reminder, pending expiry, expiry warning) due at `at`. */
  ensureCheck(requestId: string, check: TimedCheck, at: Date): Promise<void>;
}

/** What one grant is about, on one target: enough for a provider to derive every name it uses. */
export interface GrantTarget {
  /** Deterministic names on the target (binding, assignment, policy, account) derive from it. */
  requestId: string;
  /** The requester's identity on the target. */
  principal: string;
  /** What to grant: roles, policies, role definitions; the provider's vocabulary. */
  grants: string[];
  /** The end of the window, for targets that can expire a grant themselves (a second lock). */
  expiresAt: Date;
}

/** The target of an existing request (its window known once granted), limited to `grants`. */
export function targetOf(request: AccessRequest, grants: string[]): GrantTarget {
  return { requestId: request.id, principal: request.principal, grants, expiresAt: request.expiresAt ?? new Date(request.createdAt.getTime() + request.durationMs) };
}

/**
 * Changes privileges on one target system. Contract: `grant` and `revoke` are idempotent (granting what is
 * held, revoking what is gone: success); `revoke` also ends the principal's open sessions where the target
 * lets a session keep a revoked privilege; names are derived from `requestId`, so a revoke needs nothing but
 * the target to find what the grant added. `grants` in `revoke` lists only what this grant may take back
 * (what was held before, or is still covered by another grant, is already left out). Errors that retrying
 * cannot fix are `PermanentProviderError`.
 */
export interface AccessProvider {
  /**
   * True when every grant creates its own object on the target (an inline policy, a binding named after the
   * request): then a revoke removes exactly this grant's objects, whatever other grants hold. False when
   * grants of the same role share one membership or assignment: then the use case leaves out what the
   * principal held before and what another open grant still covers.
   */
  readonly perGrantObjects: boolean;
  /** Which of `target.grants` the principal holds right now, by any means. */
  held(target: GrantTarget): Promise<string[]>;
  grant(target: GrantTarget): Promise<void>;
  revoke(target: GrantTarget): Promise<void>;
  /**
   * Checks, without changing anything on the target, that the bot can reach it and holds what granting and
   * revoking `grants` needs (`accessbot provider check`). Findings never carry secrets. Optional: a provider
   * without it cannot be checked ahead of its first grant.
   */
  check?(grants: string[]): Promise<ProviderCheck>;
  /**
   * What the bot itself granted on the target that is still in place, for drift detection: read-only.
   * `grants` are the resource's grants; a provider whose objects are named after their request lists all of
   * its own (the request decides) and may ignore it. Every object listed must be one that
   * `revoke({ requestId, principal, grants: [grant] })` removes (for `requestId` null, any request id).
   * Optional: a provider without it is not checked for drift.
   */
  listGranted?(grants: string[]): Promise<GrantedObject[]>;
  /**
   * The credentials a grant created for the requester to log in with (an ephemeral login role), or null when
   * the grant created none (a membership of an existing user). Derived, never stored: called when the
   * "granted" DM is delivered, and the result goes into that DM only (never a log, the audit log, the
   * database or the outbox). Optional: most providers grant to an identity the requester already has.
   */
  credentialsFor?(target: GrantTarget): Promise<LoginCredentials | null>;
}

/** A login created for one grant: where and as whom the requester connects. A secret (the password). */
export interface LoginCredentials {
  username: string;
  password: string;
  host: string;
  port: number;
  database: string;
}

/** One thing the bot granted that is still on the target: a binding, a conditional binding, a membership. */
export interface GrantedObject {
  principal: string;
  grant: string;
  /** The request the object is named after; null where the target keeps no such name (a shared membership). */
  requestId: string | null;
}

/** The outcome of `AccessProvider.check`: `ok` unless some finding is `fail`. */
export interface ProviderCheck {
  ok: boolean;
  findings: { level: 'ok' | 'warn' | 'fail'; what: string }[];
}

export class PermanentProviderError extends Error {
  override name = 'PermanentProviderError';
}

export interface ProviderRegistry {
  forResource(resource: string): AccessProvider;
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
  alertAdmins(admins: string[], alert: AdminAlert | BreakGlassAlert): Promise<void>;
  /** Publishes (replaces) `userId`'s App Home with what `home` holds for them. */
  publishHome(userId: string, home: HomeData): Promise<void>;
}

/** One audit entry with when it happened and the request it concerns (null: none). */
export type RecentAuditEntry = AuditEntry & { at: Date; requestId: string | null };

/**
 * `break-glass`: someone took a role at once with `/access break-glass` (the request as saved; its card in the
 * approvers' channel has the Acknowledge button). Sent to the admins like an `AdminAlert`.
 */
export type BreakGlassAlert = { kind: 'break-glass'; request: AccessRequest };

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

/** One principal's access on record for one resource (`RequestStore.openGrantsOf`). */
export interface AccessOnRecord {
  principal: string;
  grants: string[];
  preExisting: string[];
}

/** The policy in force right now. */
export interface PolicySource {
  current(): Policy;
}

/** Where an applied policy came from: the file at start-up, the App Home editor, or `accessbot policy apply`. */
export type PolicyOrigin = 'file' | 'home' | 'cli';

/** One applied policy version, as stored. */
export interface StoredPolicy {
  /** The version number (increasing; the highest is in force). */
  version: number;
  /** The YAML exactly as applied. */
  text: string;
  sha256: string;
  /** A Slack user id, or `file` / the CLI user. */
  appliedBy: string;
  source: PolicyOrigin;
  appliedAt: Date;
  /** A short line diff against the previous version. */
  diff: string;
}

export type PolicyApplyResult = { ok: true; version: number; changed: boolean } | { ok: false; errors: string[] };

/**
 * Policy as code: every applied policy is a stored version, and the latest applied wins. Contract: `apply`
 * validates the text with the same parser as the file (`parsePolicy`) and refuses invalid text, storing
 * nothing; it stores a version only when the text differs (by SHA-256) from the one in force, otherwise
 * answers `changed: false` with the version in force; a stored version and its `policy.applied` audit entry
 * are one transaction, and concurrent applies are serialised. Source `file` is the start-up sync: the text
 * is applied only when the file changed, i.e. it is none of the texts applied since the last version that
 * came from the file, so an unchanged file never overrides a newer Home-tab or CLI edit. Versions are never
 * changed or removed.
 */
export interface PolicyVersions {
  active(): Promise<StoredPolicy | null>;
  /** The version number in force, or null before the first: a cheap query for polling. */
  activeVersion(): Promise<number | null>;
  apply(text: string, actor: string, source: PolicyOrigin): Promise<PolicyApplyResult>;
  /** The newest `limit` versions, newest first. */
  list(limit: number): Promise<StoredPolicy[]>;
}

export interface Clock {
  now(): Date;
}

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
