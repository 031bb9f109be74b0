/**
 * Policy-text helpers for the schema tests of one role's settings: a policy with one PostgreSQL resource
 * `prod-db` and one role `read` built from role lines, and that role as parsed, or the errors that refuse it.
 */
import { parsePolicy } from '../../src/policy/load.js';

/** `lines` indented under the role, blank lines dropped. */
const underRole = (lines: string): string =>
  lines
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `        ${l}`)
    .join('\n');

/** The policy whose `prod-db` resource has one role `read`: its `fixed` lines, then the `extra` lines a test adds. */
export function oneRolePolicy(fixed: string, extra: string): string {
  return `version: 1
resources:
  prod-db:
    provider: postgres
    connection: { env: PROD_DB_URL }
    roles:
      read:
${underRole(fixed)}
${underRole(extra)}
`;
}

/** The role `read` of `prod-db` as parsed from `text`, which must be accepted. */
export function roleOf(text: string) {
  const result = parsePolicy(text, 'policy.yaml');
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.policy.resources['prod-db']?.roles.read;
}

/** The errors that refuse `text`, which must be refused. */
export function policyErrors(text: string): string[] {
  const result = parsePolicy(text, 'policy.yaml');
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.errors;
}
