/**
 * The user groups a person is in, among those the policy names: what the pure domain functions take as
 * `groups` (`mayRequest`, `checkDecider`, `evaluate`). No lookup at all when the policy names no group.
 * Fails closed: when the directory cannot answer, the person is treated as in no group (a warning is logged),
 * so an outage can refuse someone but never let anyone in.
 */
import { policyGroups, requestableRoles, type Policy } from '../domain/policy.js';
import type { UseCaseDeps } from './deps.js';
import { describeError } from './effects.js';

export async function groupsOf(deps: Pick<UseCaseDeps, 'directory' | 'log'>, policy: Policy, userId: string): Promise<string[]> {
  const candidates = policyGroups(policy);
  if (candidates.length === 0) return [];
  try {
    return await deps.directory.groupsOf(userId, candidates);
  } catch (error) {
    deps.log.warn({ user: userId, err: describeError(error) }, 'could not read Slack user group membership; treating the user as in no group');
    return [];
  }
}

/** The roles a person may request, through their own id or their groups (for the request form). */
export async function requestableFor(deps: Pick<UseCaseDeps, 'directory' | 'log' | 'policy'>, userId: string) {
  const policy = deps.policy.current();
  return requestableRoles(policy, userId, await groupsOf(deps, policy, userId));
}
