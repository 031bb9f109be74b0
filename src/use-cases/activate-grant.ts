/**
 * The grant job: give the approved role on the target, then start the window.
 *
 * Order matters for crash safety. What the principal already held is recorded first (first write wins), so
 * a retry after a crash between the provider call and the save never mistakes our own grant for
 * pre-existing access. The provider call is idempotent, and the window starts only when the grant is saved.
 */
import { activate, failGrant } from '../domain/request.js';
import type { UseCaseDeps } from './deps.js';
import { describeError, runEffects } from './effects.js';
import { PermanentProviderError } from './ports.js';

export type ActivateOutcome = 'activated' | 'not-approved' | 'failed';

export async function activateGrant(
  deps: UseCaseDeps,
  requestId: string,
  opts: { finalAttempt: boolean },
): Promise<ActivateOutcome> {
  const snapshot = await deps.store.get(requestId);
  if (!snapshot || snapshot.request.status !== 'approved') return 'not-approved';
  const { request } = snapshot;
  const log = { requestId, resource: request.resource, role: request.role };
  const toGrant = await grantsToAdd(deps, requestId);
  try {
    const provider = deps.providers.forResource(request.resource);
    await provider.grant(request.principal, toGrant, new Date(deps.clock.now().getTime() + request.durationMs));
  } catch (error) {
    if (!(error instanceof PermanentProviderError) && !opts.finalAttempt) throw error;
    return giveUp(deps, requestId, toGrant, error);
  }
  const outcome = await deps.store.apply(requestId, (s) => activate(s.request, deps.clock.now()));
  if (!outcome.ok) {
    // The request left `approved` while we granted (a future cancel or revoke): revoke wins.
    deps.log.warn({ ...log, code: outcome.error.code }, 'request changed while granting; taking the grant back');
    await deps.providers.forResource(request.resource).revoke(request.principal, toGrant);
    return 'not-approved';
  }
  deps.log.info(log, 'grant activated');
  await runEffects(deps, outcome.transition, outcome.notificationIds);
  return 'activated';
}

async function grantsToAdd(deps: UseCaseDeps, requestId: string): Promise<string[]> {
  const snapshot = await deps.store.get(requestId);
  if (!snapshot) return [];
  const { request } = snapshot;
  const provider = deps.providers.forResource(request.resource);
  const heldNow = await provider.held(request.principal, request.grants);
  // What another active grant of ours covers is not pre-existing access: it is ours, and its own revoke
  // decides its fate. Only access we did not add is protected from our revokes.
  const ours = await deps.store.coveredElsewhere(request);
  const preExisting = await deps.store.recordPreExisting(
    requestId,
    heldNow.filter((g) => !ours.includes(g)),
  );
  return request.grants.filter((g) => !preExisting.includes(g));
}

async function giveUp(deps: UseCaseDeps, requestId: string, attempted: string[], error: unknown): Promise<ActivateOutcome> {
  const reason = describeError(error);
  const snapshot = await deps.store.get(requestId);
  if (snapshot) {
    // Providers grant atomically where the target allows it; this clean-up covers the ones that cannot.
    try {
      const covered = await deps.store.coveredElsewhere(snapshot.request);
      await deps.providers
        .forResource(snapshot.request.resource)
        .revoke(snapshot.request.principal, attempted.filter((g) => !covered.includes(g)));
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
