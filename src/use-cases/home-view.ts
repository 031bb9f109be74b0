/**
 * The App Home: what one person sees there, gathered from the store and the policy in force. Pure selection;
 * the chat adapter renders it (`ChatNotifier.publishHome`).
 * - everyone: what they may request, their active grants and their pending requests;
 * - approvers (of any role, escalation included): the pending requests they may decide now, by the same rule
 *   a click is checked with (`checkDecider`: no self-approval, the escalation group only once escalated), less
 *   those they already approved;
 * - admins: the rules of the policy file, read-only, and the newest audit entries.
 * The Home is republished for the people who see a request when it changes (`refreshHomes`), but only for
 * those who have opened the Home at least once, so the bot never publishes a Home nobody looks at.
 */
import { checkDecider, isMember, requestableRoles, type Policy } from '../domain/policy.js';
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { describeError } from './effects.js';
import { groupsOf } from './groups.js';
import type { RecentAuditEntry } from './ports.js';

/** Newest active grants and pending requests of the viewer read per list. */
export const HOME_MINE_FETCH = 50;
/** Pending requests scanned for "Waiting for me"; a backlog beyond this is shown as incomplete. */
export const HOME_PENDING_SCAN = 500;
/** Audit entries in the admins' section. */
export const HOME_AUDIT_ENTRIES = 20;

/** A list as read from the store: `complete` is false when the store held more than was read. */
export interface Listed<T> {
  items: T[];
  complete: boolean;
}

/** One role of the policy, as the admins' section shows it. */
export interface RuleRow {
  resource: string;
  provider: string;
  role: string;
  grants: string[];
  maxDurationMs: number;
  approvals: number;
  approvers: string[];
  channel: string;
  /** Null: everyone may request the role. */
  requesters: string[] | null;
  /** Slack user groups (`S…`) whose members may decide; absent or empty: none. */
  approverGroups?: string[];
  /** Slack user groups whose members may request; absent or empty: none (see `requesters`). */
  requesterGroups?: string[];
  escalation: { afterMs: number; users: string[]; channel: string | null } | null;
  autoApprove: boolean;
  highRisk: boolean;
  /** Risk checks other than "high risk" (usual duration, business hours, bursts) are configured. */
  riskChecks: boolean;
  justification: boolean;
}

export interface HomeData {
  viewerId: string;
  /** When the data was read; "time left" is counted from it. */
  at: Date;
  requestable: { resource: string; role: string; maxDurationMs: number; defaultDurationMs?: number }[];
  /** Active and being-revoked grants of the viewer, newest first. */
  active: Listed<AccessRequest>;
  /** Pending and approved (being granted) requests of the viewer, newest first. */
  pending: Listed<AccessRequest>;
  /** Requests the viewer may decide now, oldest first; null when the viewer approves no role. */
  waiting: Listed<AccessRequest> | null;
  /** Null unless the viewer is an admin. */
  admin: { rules: RuleRow[]; audit: RecentAuditEntry[] } | null;
}

/**
 * `directory` and `log` resolve the viewer's Slack user groups; without them (a caller that has no directory)
 * the viewer is taken to be in no group.
 */
type HomeDeps = Pick<UseCaseDeps, 'store' | 'policy' | 'clock'> & Partial<Pick<UseCaseDeps, 'directory' | 'log'>>;

export async function gatherHome(deps: HomeDeps, viewerId: string): Promise<HomeData> {
  const policy = deps.policy.current();
  const at = deps.clock.now();
  const groups = deps.directory && deps.log ? await groupsOf({ directory: deps.directory, log: deps.log }, policy, viewerId) : [];
  const approver = approvesAnything(policy, viewerId, groups);
  const admin = policy.admins.includes(viewerId);
  const [active, pending, waiting, audit] = await Promise.all([
    deps.store.listForRequester(viewerId, ['active', 'revoking'], HOME_MINE_FETCH),
    deps.store.listForRequester(viewerId, ['pending', 'approved'], HOME_MINE_FETCH),
    approver ? waitingFor(deps, policy, viewerId, groups) : Promise.resolve(null),
    admin ? deps.store.recentAudit(HOME_AUDIT_ENTRIES) : Promise.resolve(null),
  ]);
  return {
    viewerId,
    at,
    requestable: requestableRoles(policy, viewerId, groups),
    active: { items: active, complete: active.length < HOME_MINE_FETCH },
    pending: { items: pending, complete: pending.length < HOME_MINE_FETCH },
    waiting,
    admin: audit ? { rules: ruleRows(policy), audit } : null,
  };
}

/** Gathers and publishes one person's Home. */
export async function publishHome(deps: HomeDeps & Pick<UseCaseDeps, 'notifier'>, userId: string): Promise<void> {
  await deps.notifier.publishHome(userId, await gatherHome(deps, userId));
}

/** `app_home_opened`: remember that this person looks at the Home, then publish theirs. */
export async function openHome(deps: HomeDeps & Pick<UseCaseDeps, 'notifier'>, userId: string): Promise<void> {
  await deps.store.recordHomeOpened(userId);
  await publishHome(deps, userId);
}

/**
 * Republishes the Home of those of `userIds` who have opened it before. Best effort: a Home is a view, not a
 * record, and the next open republishes it anyway, so a failure is logged and never fails the caller (an
 * outbox delivery must not be retried, nor its cards updated again, because a Home could not be published).
 */
export async function refreshHomes(deps: HomeDeps & Pick<UseCaseDeps, 'notifier' | 'log'>, userIds: string[]): Promise<void> {
  let viewers: string[];
  try {
    viewers = await deps.store.homeViewers([...new Set(userIds)]);
  } catch (error) {
    deps.log.warn({ err: describeError(error) }, 'could not read who opened the App Home; Homes not refreshed');
    return;
  }
  const results = await Promise.allSettled(viewers.map((user) => publishHome(deps, user)));
  results.forEach((r, i) => {
    if (r.status === 'rejected') deps.log.warn({ user: viewers[i], err: describeError(r.reason) }, 'App Home refresh failed');
  });
}

/**
 * Who sees this request on their Home: the requester, the role's approvers, and the escalation group once
 * escalated. Members of approver user groups are not listed (that would need every group's member list on
 * each change): their Home shows the request when they next open it.
 */
export function homeAudience(policy: Policy, request: Pick<AccessRequest, 'requesterId' | 'resource' | 'role' | 'escalatedAt'>): string[] {
  const rolePolicy = Object.hasOwn(policy.resources, request.resource) ? policy.resources[request.resource] : undefined;
  const role = rolePolicy && Object.hasOwn(rolePolicy.roles, request.role) ? rolePolicy.roles[request.role] : undefined;
  const approvers = role?.approvers.users ?? [];
  const escalation = request.escalatedAt ? (role?.escalation?.users ?? []) : [];
  return [...new Set([request.requesterId, ...approvers, ...escalation])];
}

/** Is this person an approver (directly or through a user group, or in the escalation group) of any role? */
function approvesAnything(policy: Policy, userId: string, groups: readonly string[]): boolean {
  return Object.values(policy.resources).some((res) =>
    Object.values(res.roles).some((role) => isMember(role.approvers, userId, groups) || (role.escalation?.users.includes(userId) ?? false)),
  );
}

async function waitingFor(deps: HomeDeps, policy: Policy, viewerId: string, groups: readonly string[]): Promise<Listed<AccessRequest>> {
  const scanned = await deps.store.listByStatus(['pending'], HOME_PENDING_SCAN);
  const decidable = scanned.filter((r) => checkDecider(policy, r, viewerId, groups) === null);
  // Only a request needing several approvals can still be pending after this viewer approved it.
  const alreadyApproved = new Set<string>();
  await Promise.all(
    decidable
      .filter((r) => r.approvalsRequired > 1)
      .map(async (r) => {
        const snapshot = await deps.store.get(r.id);
        if (snapshot?.decisions.some((d) => d.approverId === viewerId)) alreadyApproved.add(r.id);
      }),
  );
  return { items: decidable.filter((r) => !alreadyApproved.has(r.id)), complete: scanned.length < HOME_PENDING_SCAN };
}

function ruleRows(policy: Policy): RuleRow[] {
  return Object.entries(policy.resources)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([resource, res]) =>
      Object.entries(res.roles)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([role, r]) => ({
          resource,
          provider: res.provider,
          role,
          grants: [...r.grants],
          maxDurationMs: r.maxDurationMs,
          approvals: r.approvals,
          approvers: [...r.approvers.users],
          channel: r.channel,
          requesters: r.requesters ? [...r.requesters.users] : null,
          ...(r.approvers.groups?.length ? { approverGroups: [...r.approvers.groups] } : {}),
          ...(r.requesters?.groups?.length ? { requesterGroups: [...r.requesters.groups] } : {}),
          escalation: r.escalation ? { afterMs: r.escalation.afterMs, users: [...r.escalation.users], channel: r.escalation.channel ?? null } : null,
          autoApprove: r.autoApprove !== undefined,
          highRisk: r.risk?.high ?? false,
          riskChecks: r.risk !== undefined && (r.risk.usualDurationMs !== undefined || r.risk.businessHours !== undefined || r.risk.burst !== undefined),
          justification: r.justification !== undefined,
        })),
    );
}
