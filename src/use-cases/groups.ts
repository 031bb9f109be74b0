/**
 * The user groups a person is in, among those the policy names: what the pure domain functions take as
 * `groups` (`mayRequest`, `checkDecider`, `evaluate`). No lookup at all when the policy names no group.
 * Fails closed: when the directory cannot answer, the person is treated as in no group (a warning is logged),
 * so an outage can refuse someone but never let anyone in.
 */
import { policyGroups, type Policy } from '../domain/policy.js';
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
