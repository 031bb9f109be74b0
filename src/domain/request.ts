/**
 * The access request lifecycle: a small state machine with a clock.
 *
 *   pending ──approve×N──▶ approved ──grant──▶ active ──expiry──▶ revoking ──▶ revoked
 *      │ deny                  │ grant fails for good                 ▲   │ failure: stays revoking,
 *      ▼                       ▼                                      └───┘ retried until it succeeds
 *    denied                  failed
 *
 * Every transition is a pure function `(state, input, now) → Transition | DomainError`. A transition
 * returns the next state, one audit entry and the effects to perform; it performs nothing. The store saves
 * the next state with compare-and-swap on `version`, writes the audit entry and the notifications in the
 * same transaction, and only then does the use case run the job effects.
 */
import { checkDecider, type Policy } from './policy.js';
import { err, ok, type DomainError, type Result } from './errors.js';

export type RequestStatus =
  | 'pending'
  | 'approved'
  | 'active'
  | 'revoking'
  | 'revoked'
  | 'denied'
  | 'failed';

export const TERMINAL_STATUSES: readonly RequestStatus[] = ['revoked', 'denied', 'failed'];

export type RevokeReason = 'expired';

export interface AccessRequest {
  id: string;
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
  decidedAt: Date | null;
  grantedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: RevokeReason | null;
  revokeAttempts: number;
  lastError: string | null;
}

export interface Decision {
  approverId: string;
  outcome: 'approve' | 'deny';
  reason: string | null;
  at: Date;
}

export type RequesterNotice = 'denied' | 'granted' | 'revoked' | 'grant-failed';
export type ApproverAlert = 'revoke-failing' | 'revoke-recovered';

/** What a transition asks the outside world to do once its new state is saved. */
export type Effect =
  | { type: 'post-cards' }
  | { type: 'refresh-cards' }
  | { type: 'notify-requester'; notice: RequesterNotice }
  | { type: 'alert-approvers'; alert: ApproverAlert }
  | { type: 'schedule-grant' }
  | { type: 'schedule-revoke'; at: Date };

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

function bump(request: AccessRequest, patch: Partial<AccessRequest>): AccessRequest {
  return { ...request, ...patch, version: request.version + 1 };
}

function notIn(request: AccessRequest, expected: RequestStatus[]): DomainError {
  return { code: 'NOT_IN_STATE', requestId: request.id, status: request.status, expected };
}

export type NewRequest = Omit<
  AccessRequest,
  'status' | 'version' | 'decidedAt' | 'grantedAt' | 'expiresAt' | 'revokedAt' | 'revokeReason' | 'revokeAttempts' | 'lastError'
>;

export function submit(input: NewRequest): Transition {
  const next: AccessRequest = {
    ...input,
    status: 'pending',
    version: 1,
    decidedAt: null,
    grantedAt: null,
    expiresAt: null,
    revokedAt: null,
    revokeReason: null,
    revokeAttempts: 0,
    lastError: null,
  };
  return {
    next,
    audit: {
      action: 'request.submitted',
      actor: input.requesterId,
      details: { resource: input.resource, role: input.role, durationMs: input.durationMs, reason: input.reason },
    },
    effects: [{ type: 'post-cards' }],
  };
}

export interface ReviewInput {
  deciderId: string;
  outcome: 'approve' | 'deny';
  reason: string | null;
}

/**
 * An approver's click. Refusals come back as errors (the caller audits them); the deciding approval moves
 * the request to `approved` and schedules the grant; a deny ends the request at once.
 */
export function review(
  request: AccessRequest,
  decisions: Decision[],
  policy: Policy,
  input: ReviewInput,
  now: Date,
): Result<Transition> {
  const refusal = checkDecider(policy, request, input.deciderId);
  if (refusal) return err(refusal);
  const mine = decisions.find((d) => d.approverId === input.deciderId);
  if (request.status !== 'pending') {
    return err({ code: 'NOT_PENDING', requestId: request.id, status: request.status, decidedBy: decisions.map((d) => d.approverId) });
  }
  if (mine) return err({ code: 'ALREADY_DECIDED', requestId: request.id, outcome: mine.outcome });

  const decision: Decision = { approverId: input.deciderId, outcome: input.outcome, reason: input.reason, at: now };
  if (input.outcome === 'deny') {
    return ok({
      next: bump(request, { status: 'denied', decidedAt: now }),
      decision,
      audit: { action: 'request.denied', actor: input.deciderId, details: { reason: input.reason } },
      effects: [{ type: 'refresh-cards' }, { type: 'notify-requester', notice: 'denied' }],
    });
  }
  const approvals = approvalsOf(decisions).length + 1;
  if (approvals < request.approvalsRequired) {
    return ok({
      next: bump(request, {}),
      decision,
      audit: { action: 'request.approval-recorded', actor: input.deciderId, details: { approvals, required: request.approvalsRequired } },
      effects: [{ type: 'refresh-cards' }],
    });
  }
  return ok({
    next: bump(request, { status: 'approved', decidedAt: now }),
    decision,
    audit: { action: 'request.approved', actor: input.deciderId, details: { approvals, required: request.approvalsRequired } },
    effects: [{ type: 'refresh-cards' }, { type: 'schedule-grant' }],
  });
}

/** The provider granted the role: the window starts now and ends `durationMs` later. */
export function activate(request: AccessRequest, now: Date): Result<Transition> {
  if (request.status !== 'approved') return err(notIn(request, ['approved']));
  const expiresAt = new Date(now.getTime() + request.durationMs);
  return ok({
    next: bump(request, { status: 'active', grantedAt: now, expiresAt }),
    audit: { action: 'grant.activated', actor: SYSTEM_ACTOR, details: { grants: request.grants, principal: request.principal, expiresAt: expiresAt.toISOString() } },
    effects: [{ type: 'schedule-revoke', at: expiresAt }, { type: 'notify-requester', notice: 'granted' }, { type: 'refresh-cards' }],
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
