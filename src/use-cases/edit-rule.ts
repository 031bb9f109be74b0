/**
 * Editing the policy from chat (the admins' App Home): one role's common fields, a new role, or a role removed.
 * Only policy admins may, checked here at the time of the change (not only when the Home was rendered); a
 * refusal is audited as `policy.edit-refused`. The change is made on the text in force (comments kept, see
 * `policy/edit-role.ts`) and applied as a new version through `PolicyVersions.apply`, which validates it,
 * stores it, audits `policy.applied` and puts it in force.
 */
import { editRole, errorsByField, type EditField, type RoleChange } from '../policy/edit-role.js';
import type { UseCaseDeps } from './deps.js';

/** Where an error is shown: one of the role's keys, the add form's `resource` / `role`, or the form as a whole. */
export type RuleEditErrors = Map<string, string[]>;
export type RuleEditOutcome = { ok: true; version: number; changed: boolean } | { ok: false; refused?: 'not-admin'; errors: RuleEditErrors };

const one = (field: EditField | string, message: string): RuleEditErrors => new Map([[field, [message]]]);

export function isPolicyAdmin(deps: Pick<UseCaseDeps, 'policy'>, userId: string): boolean {
  return deps.policy.current().admins.includes(userId);
}

export async function editRule(
  deps: Pick<UseCaseDeps, 'policy' | 'policyVersions' | 'store'>,
  actor: string,
  change: RoleChange,
  fields: readonly string[],
): Promise<RuleEditOutcome> {
  if (!isPolicyAdmin(deps, actor)) {
    await deps.store.audit({ action: 'policy.edit-refused', actor, details: { change: change.kind, resource: change.resource, role: change.role, code: 'NOT_AN_ADMIN' } });
    return { ok: false, refused: 'not-admin', errors: one('general', 'Only policy admins may edit the policy; nothing was changed.') };
  }
  const versions = deps.policyVersions;
  const stored = versions ? await versions.active() : null;
  if (!versions || !stored) return { ok: false, errors: one('general', 'The policy cannot be edited here: no stored policy version is in force.') };
  const edited = editRole(stored.text, change);
  if (!edited.ok) return { ok: false, errors: one(edited.field, edited.message) };
  const applied = await versions.apply(edited.text, actor, 'home');
  if (!applied.ok) return { ok: false, errors: errorsByField(applied.errors, change.resource, change.role, fields) };
  return { ok: true, version: applied.version, changed: applied.changed };
}
