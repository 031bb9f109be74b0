/**
 * The grant job: give the approved role on the target, then start the window.
 *
 * Order matters for crash safety. What the principal already held is recorded first (first write wins), so
 * a retry after a crash between the provider call and the save never mistakes our own grant for
 * pre-existing access. The provider call is idempotent, and the window starts only when the grant is saved.
 * All of it runs under the target lock, so a revoke of an overlapping grant cannot interleave.
 *
 * Before anything is granted the job claims the request (`startGrant`): a deny saved before the claim wins and
 * nothing is granted; a deny after it is refused. A re-run after a crash finds the claim and goes on.
 */
import { activate, failGrant, startGrant, type AccessRequest } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { describeError, runEffects } from './effects.js';
import { applyApprovedExtension } from './extend-grant.js';
import { grantsToAdd, mayHaveAdded, revocable } from './grant-scope.js';
import { PermanentProviderError, targetOf } from './ports.js';

export type ActivateOutcome = 'activated' | 'not-approved' | 'failed';

export async function activateGrant(
  deps: UseCaseDeps,
  requestId: string,
  opts: { finalAttempt: boolean },
): Promise<ActivateOutcome> {
  const first = await deps.store.get(requestId);
  if (!first || first.request.status !== 'approved') return 'not-approved';
  const { resource, principal } = first.request;
  return deps.store.withTargetLock(resource, principal, async () => {
    const snapshot = await deps.store.get(requestId);
    if (!snapshot || snapshot.request.status !== 'approved') return 'not-approved';
    let { request } = snapshot;
    if (request.grantStartedAt === null) {
      const claim = await deps.store.apply(requestId, (s) => startGrant(s.request, deps.clock.now()));
      if (!claim.ok) return 'not-approved'; // a deny landed first: it wins
      request = claim.transition.next;
    }
    if (request.extendsId) return extensionGrant(deps, request, opts);
    // What this attempt adds, once the pre-existing record is read; null until then.
    let toGrant: string[] | null = null;
    try {
      // Inside the try: a resource that left the policy is retried (a rolling deploy), then fails cleanly.
      const provider = deps.providers.forResource(request.resource);
      const expiresAt = new Date(deps.clock.now().getTime() + request.durationMs);
      const target = { requestId, principal: request.principal, expiresAt };
      toGrant = await grantsToAdd(deps.store, provider, request, () => provider.held({ ...target, grants: request.grants }), deps.log);
      await provider.grant({ ...target, grants: toGrant });
    } catch (error) {
      if (!(error instanceof PermanentProviderError) && !opts.finalAttempt) throw error;
      return giveUp(deps, requestId, toGrant, error);
    }
    const outcome = await deps.store.apply(requestId, (s) => activate(s.request, deps.clock.now()));
    if (!outcome.ok) {
      // The request left `approved` while we granted (a future cancel or revoke): revoke wins.
      deps.log.warn({ requestId, code: outcome.error.code }, 'request changed while granting; taking the grant back');
      const provider = deps.providers.forResource(request.resource);
      await provider.revoke(targetOf(request, await revocable(deps.store, provider, request, toGrant)));
      return 'not-approved';
    }
    deps.log.info({ requestId, resource: request.resource, role: request.role }, 'grant activated');
    await runEffects(deps, outcome.transition, outcome.notificationIds);
    return 'activated';
  });
}

/** An extension's grant job: errors retry like a grant's; when it gives up, it fails the extension only. */
async function extensionGrant(deps: UseCaseDeps, request: AccessRequest, opts: { finalAttempt: boolean }): Promise<ActivateOutcome> {
  try {
    return await applyApprovedExtension(deps, request);
  } catch (error) {
    if (!(error instanceof PermanentProviderError) && !opts.finalAttempt) throw error;
    // Never the clean-up revoke of giveUp: what is granted belongs to the grant being extended.
    const outcome = await deps.store.apply(request.id, (s) => failGrant(s.request, describeError(error), deps.clock.now()));
    if (outcome.ok) await runEffects(deps, outcome.transition, outcome.notificationIds);
    return 'failed';
  }
}

/**
 * Fails the request for good after taking back what any attempt of it may have added. `attempted`: what this
 * attempt adds; null when it failed before learning it, and then the durable record decides (`mayHaveAdded`),
 * since an earlier attempt may have granted and lost the save of `active`: no revoke is ever scheduled for a
 * failed request, and not every target has drift detection. Runs under the target lock of `activateGrant`.
 */
async function giveUp(deps: UseCaseDeps, requestId: string, attempted: string[] | null, error: unknown): Promise<ActivateOutcome> {
  const reason = describeError(error);
  const snapshot = await deps.store.get(requestId);
  if (snapshot && attempted?.length !== 0) {
    // Providers grant atomically where the target allows it; this clean-up covers the ones that cannot.
    const { request } = snapshot;
    try {
      const provider = deps.providers.forResource(request.resource);
      const added = attempted ?? (await mayHaveAdded(deps.store, provider, request, () => provider.held(targetOf(request, request.grants)), deps.log));
      if (added.length > 0) await provider.revoke(targetOf(request, await revocable(deps.store, provider, request, added)));
    } catch (cleanup) {
      deps.log.error({ requestId, err: describeError(cleanup) }, 'clean-up after a failed grant failed');
      await deps.store.audit({ action: 'grant.cleanup-failed', actor: 'system', details: { error: describeError(cleanup) } }, requestId);
    }
  }
  const outcome = await deps.store.apply(requestId, (s) => failGrant(s.request, reason, deps.clock.now()));
  deps.log.error({ requestId, err: reason }, 'grant failed for good');
  if (outcome.ok) await runEffects(deps, outcome.transition, outcome.notificationIds);
  return 'failed';
}
