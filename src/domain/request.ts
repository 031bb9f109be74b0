/**
 * The access request lifecycle: a small state machine with a clock.
 *
 *   pending ──approve×N──▶ approved ──grant──▶ active ──expiry / early revoke──▶ revoking ──▶ revoked
 *    │  │  │ deny                 │ grant fails for good                        ▲   │ failure: stays revoking,
 *    │  │  ▼                      ▼                                             └───┘ retried until it succeeds
 *    │  │ denied               failed
 *    │  ▼ requester cancels
 *    │ cancelled
 *    ▼ no decision within the request's time-to-live
 *  expired
 *
 * Deny beats approve: an `approved` request whose grant job has not claimed it yet (`startGrant`, no earlier
 * than the role's approval grace after the deciding approval) still goes to `denied` on a deny (`review`).
 *
 * Every transition is a pure function `(state, input, now) → Transition | DomainError`. A transition
 * returns the next state, one audit entry and the effects to perform; it performs nothing. The store saves
 * the next state with compare-and-swap on `version`, writes the audit entry and the notifications in the
 * same transaction, and only then does the use case run the job effects.
 */
import { err, ok, type Result } from './errors.js';
import { warningTime } from './timed-checks.js';
import { bump, notIn } from './transition-helpers.js';

// The rest of the lifecycle, one concern per file: time-driven checks, extensions, break-glass, decisions,
// ending early (cancel, early revoke).
export * from './timed-checks.js';
export * from './extensions.js';
export * from './break-glass.js';
export * from './review.js';
export * from './early-end.js';

export type RequestStatus =
  | 'pending'
  | 'approved'
  | 'active'
  | 'revoking'
  | 'revoked'
  | 'denied'
  | 'failed'
  | 'cancelled'
  | 'expired'
  /** An extension request whose time was added to the grant it extends. */
  | 'applied';

export const TERMINAL_STATUSES: readonly RequestStatus[] = ['revoked', 'denied', 'failed', 'cancelled', 'expired', 'applied'];

/** `expired`: the window ended. `early`: someone revoked it before (`revokedBy` says who). */
export type RevokeReason = 'expired' | 'early';

export interface AccessRequest {
  id: string;
  /** Set on an extension request: the active request whose window it would lengthen. */
  extendsId: string | null;
  status: RequestStatus;
  /** Incremented by every saved transition; the compare-and-swap token. */
  version: number;
  platform: 'slack';
  requesterId: string;
  /** The requester's identity on the target system (database role name, …). */
  principal: string;
  resource: string;
  role: string;
  /** Provider-level grants, copied from the policy at submit time so a revoke never depends on a later edit. */
  grants: string[];
  durationMs: number;
  reason: string;
  approvalsRequired: number;
  /** The approvers' channel, copied from the policy at submit time: cards and alerts go there. */
  channel: string;
  createdAt: Date;
  /** A pending request expires, undecided, at this time (the role's request time-to-live). */
  pendingUntil: Date;
  /** When the approvers are reminded of a pending request; null: never. */
  remindAt: Date | null;
  remindedAt: Date | null;
  /** When a still-pending request is escalated (a second channel, more deciders); null: never. */
  escalateAt: Date | null;
  escalatedAt: Date | null;
  /** The escalation channel, frozen at submit like the approvers' channel. */
  escalationChannel: string | null;
  /** How long before the end the requester is warned; 0: never. */
  warnBeforeMs: number;
  warnedAt: Date | null;
  decidedAt: Date | null;
  /**
   * An approved request's grant starts no earlier than this: the deciding approval's time plus the role's
   * approval grace, in which a deny still wins (`review`). Null until approved.
   */
  grantAfter: Date | null;
  /** When the grant job claimed the request (`startGrant`); from then on a deny is refused. */
  grantStartedAt: Date | null;
  grantedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: RevokeReason | null;
  /** Who asked for an early revoke, and why; null for an expiry. */
  revokedBy: string | null;
  revokeNote: string | null;
  revokeAttempts: number;
  lastError: string | null;
  /** Risk flags raised at submit (`risk.ts`), each with its reason; shown to the approvers. */
  flags: RequestFlag[];
  /** The `auto_approve` rule that approved it, as worded at the time; null when people decided. */
  autoApprovedBy: string | null;
  /** Who acknowledged a break-glass grant, and when; null until someone does (and for every other request). */
  acknowledgedBy: string | null;
  acknowledgedAt: Date | null;
}

export interface RequestFlag {
  code: string;
  reason: string;
}

export interface Decision {
  approverId: string;
  outcome: 'approve' | 'deny';
  reason: string | null;
  at: Date;
}

export type RequesterNotice = 'denied' | 'granted' | 'revoked' | 'grant-failed' | 'expired' | 'expiring-soon' | 'extended';
export type ApproverAlert = 'revoke-failing' | 'revoke-recovered' | 'reminder';
/** What the policy admins are told about a request by DM. */
export type AdminNotice = 'break-glass';

/** Time-driven checks, each a delayed job that the reconciler also recovers. */
export type TimedCheck = 'remind' | 'expire' | 'warn' | 'escalate';

/** What a transition asks the outside world to do once its new state is saved. */
export type Effect =
  /** `escalated`: the escalation's post, which also DMs the card to the escalation's users. */
  | { type: 'post-cards'; escalated?: true }
  | { type: 'refresh-cards' }
  | { type: 'notify-requester'; notice: RequesterNotice }
  | { type: 'alert-approvers'; alert: ApproverAlert }
  | { type: 'alert-admins'; notice: AdminNotice }
  | { type: 'schedule-grant'; at: Date }
  | { type: 'schedule-revoke'; at: Date }
  | { type: 'schedule-check'; check: TimedCheck; at: Date };

export interface AuditEntry {
  action: string;
  actor: string;
  details: Record<string, unknown>;
}

export interface Transition {
  next: AccessRequest;
  audit: AuditEntry;
  effects: Effect[];
  decision?: Decision;
}

/** After this many failed revoke attempts the approvers' channel is alerted, once. */
export const REVOKE_ALERT_THRESHOLD = 3;

export const SYSTEM_ACTOR = 'system';

export function isOverdue(request: AccessRequest, now: Date): boolean {
  return (request.status === 'active' || request.status === 'revoking') && request.expiresAt !== null && request.expiresAt <= now;
}

export function approvalsOf(decisions: Decision[]): Decision[] {
  return decisions.filter((d) => d.outcome === 'approve');
}


export type NewRequest = Omit<
  AccessRequest,
  | 'status'
  | 'version'
  | 'decidedAt'
  | 'grantAfter'
  | 'grantStartedAt'
  | 'grantedAt'
  | 'expiresAt'
  | 'revokedAt'
  | 'revokeReason'
  | 'revokedBy'
  | 'revokeNote'
  | 'revokeAttempts'
  | 'lastError'
  | 'remindedAt'
  | 'warnedAt'
  | 'escalatedAt'
  | 'flags'
  | 'autoApprovedBy'
  | 'acknowledgedBy'
  | 'acknowledgedAt'
> & { flags?: RequestFlag[] };

export function submit(input: NewRequest): Transition {
  const next: AccessRequest = {
    ...input,
    status: 'pending',
    version: 1,
    decidedAt: null,
    grantAfter: null,
    grantStartedAt: null,
    grantedAt: null,
    expiresAt: null,
    revokedAt: null,
    revokeReason: null,
    revokedBy: null,
    revokeNote: null,
    revokeAttempts: 0,
    lastError: null,
    remindedAt: null,
    warnedAt: null,
    escalatedAt: null,
    flags: input.flags ?? [],
    autoApprovedBy: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
  };
  const effects: Effect[] = [{ type: 'post-cards' }, { type: 'schedule-check', check: 'expire', at: input.pendingUntil }];
  if (input.remindAt) effects.push({ type: 'schedule-check', check: 'remind', at: input.remindAt });
  if (input.escalateAt) effects.push({ type: 'schedule-check', check: 'escalate', at: input.escalateAt });
  return {
    next,
    audit: {
      action: 'request.submitted',
      actor: input.requesterId,
      details: {
        resource: input.resource,
        role: input.role,
        durationMs: input.durationMs,
        reason: input.reason,
        ...(input.flags?.length ? { flags: input.flags.map((f) => f.code) } : {}),
      },
    },
    effects,
  };
}

/** The provider granted the role: the window starts now and ends `durationMs` later. */
export function activate(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'approved') return err(notIn(request, ['approved']));
  const expiresAt = new Date(now.getTime() + request.durationMs);
  const effects: Effect[] = [{ type: 'schedule-revoke', at: expiresAt }, { type: 'notify-requester', notice: 'granted' }, { type: 'refresh-cards' }];
  const warnAt = warningTime(request, expiresAt);
  if (warnAt) effects.push({ type: 'schedule-check', check: 'warn', at: warnAt });
  return ok({
    next: bump(request, { status: 'active', grantedAt: now, expiresAt }),
    audit: { action: 'grant.activated', actor: SYSTEM_ACTOR, details: { grants: request.grants, principal: request.principal, expiresAt: expiresAt.toISOString() } },
    effects,
  });
}

/** Granting failed for good (permanent error or retries exhausted). Whatever was added is revoked by the caller first. */
export function failGrant(request: AccessRequest, error: string, now: Date): Result<Transition> {
  if (request.status !== 'approved') return err(notIn(request, ['approved']));
  return ok({
    next: bump(request, { status: 'failed', lastError: error, revokedAt: now }),
    audit: { action: 'grant.failed', actor: SYSTEM_ACTOR, details: { error } },
    effects: [{ type: 'notify-requester', notice: 'grant-failed' }, { type: 'refresh-cards' }],
  });
}

/** Marks the intent to revoke before the provider is called, so a crash mid-revoke is visible and resumed. */
export function startRevoke(request: AccessRequest, reason: RevokeReason, now: Date): Result<Transition> {
  if (request.status !== 'active') return err(notIn(request, ['active']));
  if (reason === 'expired' && request.expiresAt !== null && request.expiresAt > now) {
    return err({ code: 'NOT_DUE', requestId: request.id, expiresAt: request.expiresAt });
  }
  return ok({
    next: bump(request, { status: 'revoking', revokeReason: reason }),
    audit: { action: 'revoke.started', actor: SYSTEM_ACTOR, details: { reason } },
    effects: [],
  });
}

export function completeRevoke(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'revoking') return err(notIn(request, ['revoking']));
  const effects: Effect[] = [{ type: 'notify-requester', notice: 'revoked' }, { type: 'refresh-cards' }];
  if (request.revokeAttempts >= REVOKE_ALERT_THRESHOLD) effects.push({ type: 'alert-approvers', alert: 'revoke-recovered' });
  return ok({
    next: bump(request, { status: 'revoked', revokedAt: now, lastError: null }),
    audit: { action: 'revoke.completed', actor: SYSTEM_ACTOR, details: { reason: request.revokeReason, attempts: request.revokeAttempts + 1 } },
    effects,
  });
}

/** A revoke attempt failed. The request stays `revoking`; the approvers are alerted once, at the threshold. */
export function recordRevokeFailure(request: AccessRequest, error: string): Result<Transition> {
  if (request.status !== 'revoking') return err(notIn(request, ['revoking']));
  const attempts = request.revokeAttempts + 1;
  const effects: Effect[] =
    attempts === REVOKE_ALERT_THRESHOLD ? [{ type: 'alert-approvers', alert: 'revoke-failing' }, { type: 'refresh-cards' }] : [];
  return ok({
    next: bump(request, { revokeAttempts: attempts, lastError: error }),
    audit: { action: 'revoke.attempt-failed', actor: SYSTEM_ACTOR, details: { attempt: attempts, error } },
    effects,
  });
}
