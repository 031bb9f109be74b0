/**
 * Policy evaluation: who may request what, for how long, and who may decide. Pure functions over the
 * validated policy (see `src/policy/schema.ts` for the file format that produces these types).
 */
import { err, ok, type DomainError, type Result } from './errors.js';

export interface RolePolicy {
  /** The roles (or provider-specific grants) given to the principal on the target. */
  grants: string[];
  maxDurationMs: number;
  /** The duration used when a request form leaves it empty (≤ `maxDurationMs`); absent: the form requires one. */
  defaultDurationMs?: number | undefined;
  /**
   * Who may decide: listed users, and members of the listed Slack user groups (`S…` ids). Group membership is
   * not known here: the use cases resolve the viewer's groups (`IdentityDirectory.groupsOf`) and pass them in.
   */
  approvers: Members;
  /** How many distinct approvers must approve. */
  approvals: number;
  /** The approvers' channel where the card is posted. */
  channel: string;
  /** Who may request this role; absent means everyone in the workspace. */
  requesters?: Members | undefined;
  /** `dmApprovers`: each listed approver user (not groups) also gets the card by direct message. */
  notify?: { dmApprovers: boolean } | undefined;
  /** A pending request expires after this long without a decision. */
  requestTtlMs: number;
  /** Approvers are reminded once after this long; null: no reminder. */
  remindAfterMs: number | null;
  /** The requester is warned this long before the window ends; 0: no warning. */
  warnBeforeMs: number;
  /** The longest a grant may last with its extensions; by default the role's maximum duration. */
  maxTotalMs?: number | undefined;
  /** Still pending after `afterMs`: a card goes to `channel` too, and `users` may decide as well. */
  escalation?: { afterMs: number; channel?: string | undefined; users: string[] } | undefined;
  /** What the reason must hold; a request that falls short is refused (see `evaluate.ts`). */
  justification?: JustificationRule | undefined;
  /** When no person needs to decide: every condition given must hold, and the request must raise no flag. */
  autoApprove?: AutoApproveRule | undefined;
  /** Which requests are flagged for approvers' attention, and how many approvals a flagged one needs. */
  risk?: RiskRule | undefined;
  /**
   * How long the grant waits after the deciding approval; a deny in that time still wins (`review`).
   * Absent: `DEFAULT_APPROVAL_GRACE_MS`. 0: the grant starts as soon as a worker takes it.
   */
  approvalGraceMs?: number | undefined;
  /** `/access break-glass` may grant this role at once, without an approver; the grant must be acknowledged afterwards. */
  breakGlass?: boolean | undefined;
}

/** People named directly (`users`) or through Slack user groups (`groups`, ids like S0123ABCD). */
export interface Members {
  users: string[];
  groups?: string[] | undefined;
}

/** Is the person one of `members`, directly or through one of `groups` (the user groups they are in)? */
export function isMember(members: Members, userId: string, groups: readonly string[] = []): boolean {
  return members.users.includes(userId) || (members.groups?.some((g) => groups.includes(g)) ?? false);
}

/** Every user group the policy names (requesters, approvers, auto-approval groups): the candidates to resolve for a person. */
export function policyGroups(policy: Policy): string[] {
  const all = new Set<string>();
  for (const res of Object.values(policy.resources)) {
    for (const role of Object.values(res.roles)) {
      for (const g of [...(role.approvers.groups ?? []), ...(role.requesters?.groups ?? []), ...(role.autoApprove?.groups ?? [])]) all.add(g);
    }
  }
  return [...all].sort();
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** The days of `business_hours` when the file leaves them out. */
export const DEFAULT_BUSINESS_DAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];

/** Local working hours: `start` ≤ time < `end` (`HH:MM`, 24-hour), on `days`, in the IANA zone `tz`. */
export interface BusinessHours {
  days: Weekday[];
  start: string;
  end: string;
  tz: string;
}

export interface JustificationRule {
  /** The reason, trimmed, has at least this many characters. */
  minLength?: number | undefined;
  /** A regular expression the reason must match somewhere (a ticket reference). */
  ticketPattern?: string | undefined;
}

export interface AutoApproveRule {
  maxDurationMs?: number | undefined;
  businessHours?: BusinessHours | undefined;
  /** The rate brake: at most this many auto-approvals per person for this role in any 24 hours. */
  maxPerDay?: number | undefined;
  /** Only requesters in one of these Slack user groups (`S…` ids) are auto-approved. */
  groups?: string[] | undefined;
}

export interface RiskRule {
  high: boolean;
  usualDurationMs?: number | undefined;
  businessHours?: BusinessHours | undefined;
  burst?: { count: number; withinMs: number } | undefined;
  /** Approvals a flagged request needs (never fewer than the role's `approvals`). */
  flaggedApprovals?: number | undefined;
}

export const DEFAULT_REQUEST_TTL_MS = 24 * 3_600_000;
export const DEFAULT_REMIND_AFTER_MS = 3_600_000;
export const DEFAULT_WARN_BEFORE_MS = 5 * 60_000;
/**
 * Long enough for clicks already in flight when the deciding approval lands (Slack's round trip, a second
 * approver clicking Deny on a card not yet refreshed) to arrive; short enough that nobody notices the wait.
 */
export const DEFAULT_APPROVAL_GRACE_MS = 5_000;
/** The time-driven settings of a role when the policy file leaves them out. */
export const ROLE_TIMING_DEFAULTS = {
  requestTtlMs: DEFAULT_REQUEST_TTL_MS,
  remindAfterMs: DEFAULT_REMIND_AFTER_MS,
  warnBeforeMs: DEFAULT_WARN_BEFORE_MS,
} as const satisfies Pick<RolePolicy, 'requestTtlMs' | 'remindAfterMs' | 'warnBeforeMs'>;

/** How a requester's identity on a resource's target is derived from their chat email. */
export type PrincipalSource = 'email-local-part' | 'email';

export interface ResourcePolicy {
  provider: string;
  /** Provider-specific settings, validated by the provider's own schema; opaque here, and never secrets. */
  settings: Readonly<Record<string, unknown>>;
  /** Default `email-local-part` (database users); cloud IAMs usually want the whole `email`. */
  principal: PrincipalSource;
  roles: Record<string, RolePolicy>;
}

export interface Policy {
  version: 1;
  admins: string[];
  /** Explicit principal names on the targets, by chat user id; otherwise the email's local part. */
  principals: Record<string, string>;
  resources: Record<string, ResourcePolicy>;
}

export interface RequestDraft {
  requesterId: string;
  resource: string;
  role: string;
  durationMs: number;
}

/**
 * Looks up a key the user typed. Parsed policy records are plain objects, so a bare index would find
 * `constructor`, `toString`, … on Object.prototype and treat them as configured resources or roles.
 */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function findRole(policy: Policy, resource: string, role: string): Result<RolePolicy> {
  const res = own(policy.resources, resource);
  if (!res) return err({ code: 'UNKNOWN_RESOURCE', resource, known: Object.keys(policy.resources).sort() });
  const rolePolicy = own(res.roles, role);
  if (!rolePolicy) return err({ code: 'UNKNOWN_ROLE', resource, role, known: Object.keys(res.roles).sort() });
  return ok(rolePolicy);
}

/** `groups`: the user groups the requester is in (resolved by the caller; only the policy's groups matter). */
export function mayRequest(rolePolicy: RolePolicy, requesterId: string, groups: readonly string[] = []): boolean {
  return rolePolicy.requesters === undefined || isMember(rolePolicy.requesters, requesterId, groups);
}

/** Checks a new request against the policy; the caller records refusals in the audit log. */
export function checkRequest(policy: Policy, draft: RequestDraft, groups: readonly string[] = []): Result<RolePolicy> {
  const found = findRole(policy, draft.resource, draft.role);
  if (!found.ok) {
    // A typo is answered with what this person may request, never the whole policy's resources and roles.
    const mine = requestableRoles(policy, draft.requesterId, groups);
    const { error } = found;
    if (error.code === 'UNKNOWN_RESOURCE') return err({ ...error, known: [...new Set(mine.map((r) => r.resource))].sort() });
    if (error.code === 'UNKNOWN_ROLE') return err({ ...error, known: mine.filter((r) => r.resource === draft.resource).map((r) => r.role).sort() });
    return found;
  }
  const rolePolicy = found.value;
  if (!mayRequest(rolePolicy, draft.requesterId, groups)) {
    return err({ code: 'NOT_A_REQUESTER', resource: draft.resource, role: draft.role });
  }
  if (draft.durationMs > rolePolicy.maxDurationMs) return err({ code: 'DURATION_TOO_LONG', maxMs: rolePolicy.maxDurationMs });
  return ok(rolePolicy);
}

/** The resource/role pairs a person may request, for the request form. */
export function requestableRoles(
  policy: Policy,
  requesterId: string,
  groups: readonly string[] = [],
): { resource: string; role: string; maxDurationMs: number; defaultDurationMs?: number }[] {
  return Object.entries(policy.resources).flatMap(([resource, res]) =>
    Object.entries(res.roles)
      .filter(([, rolePolicy]) => mayRequest(rolePolicy, requesterId, groups))
      .map(([role, rolePolicy]) => ({
        resource,
        role,
        maxDurationMs: rolePolicy.maxDurationMs,
        ...(rolePolicy.defaultDurationMs !== undefined ? { defaultDurationMs: rolePolicy.defaultDurationMs } : {}),
      })),
  );
}

/**
 * May `deciderId` approve or deny a request of `requesterId` for this role? Evaluated against the policy in
 * force at the moment of the click, so removing someone from a role's approvers takes effect at once.
 */
export function checkDecider(
  policy: Policy,
  request: { id: string; requesterId: string; resource: string; role: string; escalatedAt?: Date | null },
  deciderId: string,
  /** The user groups the decider is in (resolved by the caller). */
  groups: readonly string[] = [],
): DomainError | null {
  // Self-approval is refused even when the requester is also a listed approver: four eyes, always.
  if (deciderId === request.requesterId) return { code: 'SELF_APPROVAL', requestId: request.id };
  const found = findRole(policy, request.resource, request.role);
  if (!found.ok) return { code: 'NOT_AN_APPROVER', requestId: request.id };
  const { approvers, escalation } = found.value;
  // The escalation group may decide only once the request has been escalated to them.
  const escalated = request.escalatedAt != null && (escalation?.users.includes(deciderId) ?? false);
  if (!isMember(approvers, deciderId, groups) && !escalated) return { code: 'NOT_AN_APPROVER', requestId: request.id };
  return null;
}

/** May this person act on someone else's request for the role (revoke it early, see its story)? */
export function canOversee(policy: Policy, request: { resource: string; role: string }, actorId: string, groups: readonly string[] = []): boolean {
  if (policy.admins.includes(actorId)) return true;
  const found = findRole(policy, request.resource, request.role);
  return found.ok && isMember(found.value.approvers, actorId, groups);
}

/**
 * The requester's identity on a resource's target: an explicit override from the policy, else derived from
 * their chat email as the resource says: its local part, lower-cased (`Alice.Smith@example.com` →
 * `alice.smith`), or the whole address, lower-cased. Null when neither an override nor an email exists.
 */
export function principalFor(policy: Policy, resource: string, userId: string, email: string | null): string | null {
  const override = own(policy.principals, userId);
  if (override) return override;
  const address = email?.trim().toLowerCase();
  if (!address || !address.includes('@')) return null;
  const source = own(policy.resources, resource)?.principal ?? 'email-local-part';
  if (source === 'email') return address;
  const local = address.split('@')[0];
  return local ? local : null;
}
