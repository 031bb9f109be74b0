/**
 * The revoke job: take the role back when the window ends. Intent is saved first (`revoking`), so a crash
 * mid-revoke is resumed by the next attempt. A failure is recorded and rethrown: the queue retries with
 * capped backoff until it succeeds, and the approvers are alerted once the failure persists.
 *
 * Never revoked: what the principal held before we granted, and what another grant of ours whose window
 * is still open covers. The work runs under the target lock, so an overlapping grant cannot interleave.
 */
import { completeRevoke, recordRevokeFailure, startRevoke, type RevokeReason } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { describeError, runEffects } from './effects.js';
import { addedBy, revocable } from './grant-scope.js';
import { targetOf } from './ports.js';

export type RevokeOutcome = { kind: 'revoked' } | { kind: 'not-due'; at: Date } | { kind: 'nothing-to-do' };

export async function revokeGrant(deps: UseCaseDeps, requestId: string, reason: RevokeReason): Promise<RevokeOutcome> {
  const first = await deps.store.get(requestId);
  if (!first || (first.request.status !== 'active' && first.request.status !== 'revoking')) return { kind: 'nothing-to-do' };
  const { resource, principal } = first.request;
  return deps.store.withTargetLock(resource, principal, () => revokeLocked(deps, requestId, reason));
}

async function revokeLocked(deps: UseCaseDeps, requestId: string, reason: RevokeReason): Promise<RevokeOutcome> {
  const snapshot = await deps.store.get(requestId);
  if (!snapshot) return { kind: 'nothing-to-do' };
  if (snapshot.request.status === 'active') {
    const started = await deps.store.apply(requestId, (s) => startRevoke(s.request, reason, deps.clock.now()));
    if (!started.ok) {
      return started.error.code === 'NOT_DUE' ? { kind: 'not-due', at: started.error.expiresAt } : { kind: 'nothing-to-do' };
    }
    await runEffects(deps, started.transition, started.notificationIds);
  } else if (snapshot.request.status !== 'revoking') {
    return { kind: 'nothing-to-do' };
  }

  const { request } = snapshot;
  try {
    const provider = deps.providers.forResource(request.resource);
    const toRevoke = await revocable(deps.store, provider, request, await addedBy(deps.store, provider, request));
    await provider.revoke(targetOf(request, toRevoke));
  } catch (error) {
    const message = describeError(error);
    deps.log.warn({ requestId, err: message }, 'revoke attempt failed; will retry');
    const failed = await deps.store.apply(requestId, (s) => recordRevokeFailure(s.request, message));
    if (failed.ok) await runEffects(deps, failed.transition, failed.notificationIds);
    throw error;
  }
  const done = await deps.store.apply(requestId, (s) => completeRevoke(s.request, deps.clock.now()));
  if (done.ok) {
    deps.log.info({ requestId }, 'grant revoked');
    await runEffects(deps, done.transition, done.notificationIds);
  }
  return { kind: 'revoked' };
}
