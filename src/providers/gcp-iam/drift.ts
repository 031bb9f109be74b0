/** Drift detection for the gcp provider: the bindings of ours still in the project's policy. */
import type { GrantedObject } from '../../use-cases/ports.js';
import { MEMBER_PREFIX } from './bindings.js';
import type { ProjectIamClient } from './client.js';

/**
 * Drift detection (read-only, one `getIamPolicy`): every member of every binding whose condition is titled
 * `jit-<requestId>`, with that request. `grants` is not needed: the request decides. Only members with a
 * `user:`, `group:` or `serviceAccount:` prefix are listed, as `revoke` names them; Google's `deleted:…`
 * members can no longer use anything, and our revoke would not find them.
 */
export async function listGcpGranted(iam: ProjectIamClient): Promise<GrantedObject[]> {
  const policy = await iam.read('drift-check', `cannot read the IAM policy of project "${iam.project}"`);
  const found: GrantedObject[] = [];
  for (const binding of policy.bindings ?? []) {
    const requestId = /^jit-(.+)$/.exec(binding.condition?.title ?? '')?.[1];
    if (!requestId || !binding.role) continue;
    for (const member of binding.members ?? []) {
      if (MEMBER_PREFIX.test(member)) found.push({ principal: member, grant: binding.role, requestId });
    }
  }
  return found;
}
