/**
 * Drift detection: access the bot granted that is still on the target although the records say it should
 * not be (a binding of a revoked request, a membership no open request covers) is revoked, audited as
 * `drift.revoked`, and reported to the policy admins. It catches what the revoke job cannot see: a revoke
 * that reported success but left something behind, a grant restored by hand or from a backup, a request
 * whose objects outlived it. Only providers that can list their own grants (`listGranted`) are checked.
 *
 * What counts as drift:
 * - An object named after a request (Kubernetes, GCP): the request is over (revoked, failed, denied,
 *   cancelled, expired) or unknown. Pending, approved, active and revoking requests are left to their jobs.
 * - A shared membership (PostgreSQL, MariaDB): no approved, active or revoking request of that principal on the
 *   resource includes the grant. What a request recorded as held before does not count: everything listed is
 *   the bot's own grant, and "held before" protects access held without the bot only. A grant no longer
 *   records the bot's leftover so (grant-scope.ts), but older records may, and would keep it forever. Except
 *   where the listing cannot tell the bot's grants from others' (`listsOthersGrants`, aws-sso): there what a
 *   request of that principal recorded as held before is left alone.
 * Each drift is judged again under the target lock, with the object listed again, before it is revoked:
 * a grant activating meanwhile is not taken, and two processes checking at once report a drift once.
 *
 * The admins are told directly through `ChatNotifier`, not through the outbox: an outbox row belongs to a
 * request (`notifications.request_id` is a required reference), and most drift has none (a membership, an
 * unknown id). The audit row, written first, is the durable record; a lost DM is logged and not retried.
 */
import type { AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { describeError } from './effects.js';
import type { AccessOnRecord, AccessProvider, AdminAlert, GrantTarget, GrantedObject } from './ports.js';

export interface DriftReport {
  /** Resources whose provider listed what it granted. */
  checked: number;
  /** Objects found drifting (confirmed under the target lock). */
  drift: number;
  revoked: number;
  /** Resources or objects that could not be checked, and drift that could not be revoked: each logged, tried again next run. */
  failed: number;
}

type Deps = Pick<UseCaseDeps, 'store' | 'providers' | 'policy' | 'notifier' | 'clock' | 'log'>;

/** A request in one of these states owns nothing on the target any more. */
const OVER: ReadonlySet<AccessRequest['status']> = new Set(['revoked', 'failed', 'denied', 'cancelled', 'expired']);

/** A shared membership is named after no request; its revoke derives nothing from this. */
const NO_REQUEST = 'drift';

export async function detectDrift(deps: Deps): Promise<DriftReport> {
  const report: DriftReport = { checked: 0, drift: 0, revoked: 0, failed: 0 };
  const { resources, admins } = deps.policy.current();
  for (const [resource, policy] of Object.entries(resources)) {
    const grants = [...new Set(Object.values(policy.roles).flatMap((role) => role.grants))].sort();
    let provider: AccessProvider;
    let found: GrantedObject[];
    try {
      provider = deps.providers.forResource(resource);
      if (!provider.listGranted) continue;
      found = await provider.listGranted(grants);
    } catch (error) {
      report.failed += 1;
      deps.log.warn({ resource, err: describeError(error) }, 'drift check: cannot list what the bot granted; trying again next run');
      continue;
    }
    report.checked += 1;
    const check = new ResourceCheck(deps, resource, provider, grants);
    for (const object of found) {
      if (object.requestId === null && provider.perGrantObjects) continue; // nothing our revoke could name
      const outcome = await check.object(object);
      if (outcome.kind === 'in-order') continue;
      if (outcome.kind !== 'unchecked') report.drift += 1;
      if (outcome.kind !== 'revoked') {
        report.failed += 1;
        continue;
      }
      report.revoked += 1;
      await tellAdmins(deps, admins, outcome.alert);
    }
  }
  return report;
}

/** `unchecked`: reading the records or the target failed; `not-revoked`: drift whose revoke failed. */
type Outcome = { kind: 'in-order' } | { kind: 'unchecked' } | { kind: 'not-revoked' } | { kind: 'revoked'; alert: AdminAlert };

class ResourceCheck {
  #onRecord: Promise<AccessOnRecord[]> | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly resource: string,
    private readonly provider: AccessProvider,
    private readonly grants: string[],
  ) {}

  async object(object: GrantedObject): Promise<Outcome> {
    const { deps } = this;
    try {
      // A first look without the lock: most objects are in order, and the records say so cheaply.
      const first = await this.#judge(object, false);
      if (!first.drift) return { kind: 'in-order' };
      // The lock a grant or revoke of that request takes (its resource may differ when two resources share a target).
      const lockResource = first.request?.resource ?? this.resource;
      const lockPrincipal = first.request?.principal ?? object.principal;
      return await deps.store.withTargetLock(lockResource, lockPrincipal, async () => {
        // Again under the lock: a grant of this principal may have activated, or another process removed it.
        const again = await this.#judge(object, true);
        if (!again.drift || !(await this.#stillThere(object))) return { kind: 'in-order' } as const;
        const at = deps.clock.now();
        const target: GrantTarget = { requestId: object.requestId ?? NO_REQUEST, principal: object.principal, grants: [object.grant], expiresAt: at };
        try {
          await this.provider.revoke(target);
        } catch (error) {
          deps.log.warn({ resource: this.resource, ...object, err: describeError(error) }, 'drift found but not revoked; trying again next run');
          return { kind: 'not-revoked' } as const;
        }
        const details = { resource: this.resource, principal: object.principal, grant: object.grant, requestId: object.requestId };
        deps.log.warn(details, 'drift found and revoked');
        try {
          await deps.store.audit({ action: 'drift.revoked', actor: 'system', details }, object.requestId ?? undefined);
        } catch (error) {
          deps.log.error({ ...details, err: describeError(error) }, 'drift revoked, but its audit entry could not be written');
        }
        return { kind: 'revoked', alert: { kind: 'drift-revoked', ...details, requestStatus: again.request?.status ?? null, at } } as const;
      });
    } catch (error) {
      deps.log.warn({ resource: this.resource, ...object, err: describeError(error) }, 'drift check of one object failed; trying again next run');
      return { kind: 'unchecked' };
    }
  }

  /** Whether the records account for the object; the request it names, when there is one. */
  async #judge(object: GrantedObject, fresh: boolean): Promise<{ drift: boolean; request: AccessRequest | null }> {
    if (object.requestId !== null) {
      const request = (await this.deps.store.get(object.requestId))?.request ?? null;
      return { drift: request === null || OVER.has(request.status), request };
    }
    // Read once per resource for the first looks; again for each judgement under a lock.
    let onRecord = this.#onRecord;
    if (fresh || !onRecord) {
      const read = this.deps.store.openGrantsOf(this.resource);
      this.#onRecord = onRecord = read;
      read.catch(() => {
        if (this.#onRecord === read) this.#onRecord = undefined;
      });
    }
    const record = (await onRecord).find((r) => this.#same(r.principal, object.principal));
    // `record.preExisting` only where the listing cannot tell the bot's grants from others' (`listsOthersGrants`):
    // elsewhere listed means the bot granted it, so it is not access held without the bot.
    const heldBefore = this.provider.listsOthersGrants === true && record?.preExisting.includes(object.grant) === true;
    const accounted = record !== undefined && (record.grants.includes(object.grant) || heldBefore);
    return { drift: !accounted, request: null };
  }

  async #stillThere(object: GrantedObject): Promise<boolean> {
    const now = (await this.provider.listGranted?.(this.grants)) ?? [];
    return now.some((o) => this.#same(o.principal, object.principal) && o.grant === object.grant && o.requestId === object.requestId);
  }

  /** The same principal on this target: exactly, or as the provider compares them (`principalKey`). */
  #same(a: string, b: string): boolean {
    const key = (p: string) => this.provider.principalKey?.(p) ?? p;
    return key(a) === key(b);
  }
}

async function tellAdmins(deps: Deps, admins: string[], alert: AdminAlert): Promise<void> {
  if (admins.length === 0) {
    deps.log.warn({ resource: alert.resource }, 'drift revoked, but the policy names no admins to tell; it is in the audit log');
    return;
  }
  try {
    await deps.notifier.alertAdmins(admins, alert);
  } catch (error) {
    deps.log.warn({ resource: alert.resource, err: describeError(error) }, 'drift revoked, but telling the admins failed; it is in the audit log');
  }
}
