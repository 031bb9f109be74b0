/**
 * The gcp provider itself: `held`, `grant` and `revoke` of conditional role bindings titled
 * `jit-<requestId>` (see ../gcp-iam.ts for the model).
 */
import type { AccessProvider, GrantTarget, GrantedObject, ProviderCheck } from '../../use-cases/ports.js';
import { conditionOf, hasMember, memberOf, quoteList, sameCondition, titleOf, unique, withoutMember, type Binding } from './bindings.js';
import { checkGcpIam } from './check.js';
import { ProjectIamClient, type GcpIamProviderOptions } from './client.js';
import { listGcpGranted } from './drift.js';

export class GcpIamProvider implements AccessProvider {
  /** Each grant is its own conditional binding, titled jit-<requestId>. */
  readonly perGrantObjects = true;
  readonly #iam: ProjectIamClient;
  readonly #project: string;

  constructor(options: GcpIamProviderOptions) {
    this.#iam = new ProjectIamClient(options);
    this.#project = options.project;
  }

  /** The roles among `grants` that this request's own binding gives the member: per-grant objects. */
  async held(target: GrantTarget): Promise<string[]> {
    if (target.grants.length === 0) return [];
    const member = memberOf(target.principal);
    const title = titleOf(target.requestId);
    const policy = await this.#iam.read(target.requestId, `cannot read the IAM policy of project "${this.#project}"`);
    const bindings = policy.bindings ?? [];
    return unique(target.grants).filter((role) => bindings.some((b) => b.role === role && b.condition?.title === title && hasMember(b, member)));
  }

  /**
   * Adds, per role, the binding `{ role, members: [member], condition: jit-<requestId> until expiresAt }`
   * unless it is there already. A binding of this request with another end (an earlier attempt of the same
   * grant) is replaced, so each request keeps one binding per role, ending at the latest window asked for.
   */
  async grant(target: GrantTarget): Promise<void> {
    if (target.grants.length === 0) return;
    const member = memberOf(target.principal);
    const condition = conditionOf(target);
    const roles = unique(target.grants);
    await this.#iam.update(target.requestId, `cannot grant ${quoteList(roles)} to "${member}" on project "${this.#project}"`, (bindings) => {
      let changed = false;
      for (const role of roles) {
        if (bindings.some((b) => b.role === role && sameCondition(b.condition, condition) && hasMember(b, member))) continue;
        changed = true;
        // Our binding for this role with another condition: an earlier attempt. Take our member out of it.
        bindings = withoutMember(bindings, member, (b) => b.role === role && b.condition?.title === condition.title);
        const twin = bindings.find((b) => b.role === role && sameCondition(b.condition, condition));
        if (twin) twin.members = [...(twin.members ?? []), member];
        else bindings.push({ role, members: [member], condition: { ...condition } });
      }
      return changed ? bindings : null;
    });
  }

  /**
   * Removes the member from this request's bindings (`jit-<requestId>`) of the given roles, and bindings left
   * empty. Every other binding, including an unconditional one of the same role and member (access held
   * before), stays. Nothing to remove: success, without a write.
   */
  async revoke(target: GrantTarget): Promise<void> {
    if (target.grants.length === 0) return;
    const member = memberOf(target.principal);
    const title = titleOf(target.requestId);
    const roles = new Set(target.grants);
    await this.#iam.update(target.requestId, `cannot revoke ${quoteList([...roles])} from "${member}" on project "${this.#project}"`, (bindings) => {
      const ours = (b: Binding): boolean => roles.has(b.role ?? '') && b.condition?.title === title;
      if (!bindings.some((b) => ours(b) && hasMember(b, member))) return null;
      return withoutMember(bindings, member, ours);
    });
  }

  /** Drift detection (read-only, one `getIamPolicy`): see `listGcpGranted`. */
  async listGranted(): Promise<GrantedObject[]> {
    return listGcpGranted(this.#iam);
  }

  /** Read-only (`accessbot provider check`): see `checkGcpIam`. setIamPolicy is never called. */
  async check(grants: string[]): Promise<ProviderCheck> {
    return checkGcpIam(this.#iam, grants);
  }

  async close(): Promise<void> {
    // Stateless HTTPS calls: nothing to close.
  }
}
