/** `accessbot provider check` for the gcp provider: reads, never writes. */
import type { ProviderCheck } from '../../use-cases/ports.js';
import { CheckReport } from '../check.js';
import { unique } from './bindings.js';
import type { Policy, ProjectIamClient } from './client.js';
import { describeGoogleError } from './errors.js';

/**
 * Read-only (`accessbot provider check`): each grant looks like an IAM role name, the project's policy is
 * readable (`getIamPolicy`, which also proves the credentials), and `testIamPermissions` on the project
 * says the bot holds getIamPolicy and setIamPolicy. Both are POSTs that change nothing; setIamPolicy is
 * never called.
 */
export async function checkGcpIam(iam: ProjectIamClient, grants: string[]): Promise<ProviderCheck> {
  const report = new CheckReport();
  for (const role of unique(grants)) {
    if (!/^(roles|projects\/[^/\s]+\/roles|organizations\/\d+\/roles)\/[A-Za-z0-9_.]+$/.test(role)) {
      report.fail(`"${role}" is not an IAM role name (roles/…, projects/<project>/roles/… or organizations/<id>/roles/…)`);
    } else if (['roles/owner', 'roles/editor', 'roles/viewer'].includes(role)) {
      report.fail(`"${role}" is a basic role: Google refuses a condition on it, so it cannot be granted for a window; use a predefined or custom role`);
    }
  }
  let policy: Policy;
  try {
    policy = await iam.read('provider-check', `cannot read the IAM policy of project "${iam.project}"`);
  } catch (error) {
    return report.fail((error as Error).message).result();
  }
  const bindings = policy.bindings ?? [];
  const conditional = bindings.filter((b) => b.condition).length;
  report.ok(`may read the IAM policy of project "${iam.project}" (${bindings.length} bindings, ${conditional} with a condition)`);
  if (conditional >= 90) {
    report.warn(`${conditional} conditional bindings: Google advises at most 100 per policy; each open grant adds one per role until its revoke`);
  }

  const wanted = ['resourcemanager.projects.getIamPolicy', 'resourcemanager.projects.setIamPolicy'];
  let held: Set<string>;
  try {
    const res = await iam.testIamPermissions(wanted, 'provider-check');
    held = new Set(res.data.permissions ?? []);
  } catch (error) {
    return report.fail(`cannot test the bot's permissions on project "${iam.project}": ${describeGoogleError(error)}`).result();
  }
  for (const permission of wanted) {
    if (held.has(permission)) report.ok(`holds ${permission}`);
    else {
      report.fail(
        `missing ${permission} on project "${iam.project}": grant and revoke read and write the project's IAM policy ` +
          '(roles/resourcemanager.projectIamAdmin, with a condition limiting the roles it may grant)',
      );
    }
  }
  return report.result();
}
