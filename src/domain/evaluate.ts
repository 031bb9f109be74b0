/**
 * The policy engine: what happens to a new request. Pure: the policy, the request, the requester's recent
 * history and `now` in, one verdict out.
 *
 *   deny            the request breaks a rule (unknown role, too long, reason too short, no ticket, …)
 *   auto-approve    the role's `auto_approve` conditions all hold and nothing is flagged: no person decides
 *   needs-approval  people decide: `approvals` of them, more when flagged; `flags` say why it stands out
 */
import { describeHours, withinBusinessHours } from './business-hours.js';
import { DAY, formatDuration } from './duration.js';
import type { DomainError } from './errors.js';
import { checkRequest, type AutoApproveRule, type Policy, type RequestDraft, type RolePolicy } from './policy.js';
import { riskFlags, type HistoryEntry, type RiskFlag } from './risk.js';

export interface EvaluatedRequest extends RequestDraft {
  reason: string;
}

/** Why a role that can auto-approve did not: kept in the audit entry. */
export type NotAutoApproved = 'flagged' | 'duration' | 'outside-business-hours' | 'daily-limit' | 'not-in-group';

export type Evaluation =
  | { outcome: 'deny'; error: DomainError }
  | { outcome: 'auto-approve'; rolePolicy: RolePolicy; rule: string }
  | { outcome: 'needs-approval'; rolePolicy: RolePolicy; approvals: number; flags: RiskFlag[]; notAutoApproved: NotAutoApproved | null };

/** `groups`: the Slack user groups the requester is in, resolved by the caller (the domain makes no calls). */
export function evaluate(
  policy: Policy,
  request: EvaluatedRequest,
  history: readonly HistoryEntry[],
  now: Date,
  groups: readonly string[] = [],
): Evaluation {
  const checked = checkRequest(policy, request, groups);
  if (!checked.ok) return { outcome: 'deny', error: checked.error };
  const rolePolicy = checked.value;
  const refusal = checkJustification(rolePolicy, request.reason);
  if (refusal) return { outcome: 'deny', error: refusal };

  const flags = riskFlags(rolePolicy.risk, request, history, now);
  const auto = rolePolicy.autoApprove;
  const notAutoApproved = !auto ? null : flags.length > 0 ? 'flagged' : autoApproveBlocker(auto, request, history, now, groups);
  if (auto && notAutoApproved === null) {
    return { outcome: 'auto-approve', rolePolicy, rule: describeRule(request, auto) };
  }
  const flagged = flags.length > 0 ? (rolePolicy.risk?.flaggedApprovals ?? 0) : 0;
  return { outcome: 'needs-approval', rolePolicy, approvals: Math.max(rolePolicy.approvals, flagged), flags, notAutoApproved };
}

/** The role's `justification` rules, checked on the reason as typed (trimmed). */
export function checkJustification(rolePolicy: RolePolicy, reason: string): DomainError | null {
  const rule = rolePolicy.justification;
  if (!rule) return null;
  if (rule.minLength !== undefined && reason.trim().length < rule.minLength) return { code: 'REASON_TOO_SHORT', minLength: rule.minLength };
  if (rule.ticketPattern !== undefined && !new RegExp(rule.ticketPattern).test(reason)) return { code: 'TICKET_REQUIRED', pattern: rule.ticketPattern };
  return null;
}

/** The first `auto_approve` condition that does not hold, or null when all do. */
function autoApproveBlocker(
  rule: AutoApproveRule,
  request: EvaluatedRequest,
  history: readonly HistoryEntry[],
  now: Date,
  groups: readonly string[],
): NotAutoApproved | null {
  if (rule.groups !== undefined && !rule.groups.some((g) => groups.includes(g))) return 'not-in-group';
  if (rule.maxDurationMs !== undefined && request.durationMs > rule.maxDurationMs) return 'duration';
  if (rule.businessHours && !withinBusinessHours(rule.businessHours, now)) return 'outside-business-hours';
  if (rule.maxPerDay !== undefined && autoApprovalsToday(request, history, now) >= rule.maxPerDay) return 'daily-limit';
  return null;
}

/** The requester's auto-approved requests for this role in the 24 hours before `now`. */
export function autoApprovalsToday(request: Pick<RequestDraft, 'resource' | 'role'>, history: readonly HistoryEntry[], now: Date): number {
  const since = now.getTime() - DAY;
  return history.filter(
    (h) => h.autoApproved && h.resource === request.resource && h.role === request.role && h.createdAt.getTime() > since && h.createdAt <= now,
  ).length;
}

/** The rule as recorded on the request and shown on its card: `prod-db/read auto_approve (up to 1h; at most 3 per 24h)`. */
export function describeRule(request: Pick<RequestDraft, 'resource' | 'role'>, rule: AutoApproveRule): string {
  const conditions = [
    ...(rule.maxDurationMs !== undefined ? [`up to ${formatDuration(rule.maxDurationMs)}`] : []),
    ...(rule.businessHours ? [describeHours(rule.businessHours)] : []),
    ...(rule.maxPerDay !== undefined ? [`at most ${rule.maxPerDay} per 24h`] : []),
    ...(rule.groups !== undefined ? [`members of ${rule.groups.join(', ')}`] : []),
  ];
  return `${request.resource}/${request.role} auto_approve (${conditions.length > 0 ? conditions.join('; ') : 'no conditions'})`;
}
