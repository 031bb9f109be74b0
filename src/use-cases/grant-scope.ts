/**
 * What a grant adds and what its revoke may take back, by the kind of target. A provider with per-grant
 * objects (an inline policy or a binding named after the request) adds and removes exactly its own object,
 * whatever other grants hold. A provider whose grants share one membership must not add what was there
 * before, and must not revoke what the principal held before or what another open grant still covers.
 */
import type { AccessRequest } from '../domain/request.js';
import type { AccessProvider, RequestStore } from './ports.js';

/** The grants this request adds, recording (first write wins) what was held before it. */
export async function grantsToAdd(store: RequestStore, provider: AccessProvider, request: AccessRequest, heldNow: () => Promise<string[]>): Promise<string[]> {
  if (provider.perGrantObjects) {
    await store.recordPreExisting(request.id, []);
    return [...request.grants];
  }
  // What another grant of ours added is not pre-existing access: its own revoke decides its fate.
  const ours = await store.coveredElsewhere(request, 'until-revoked');
  const preExisting = await store.recordPreExisting(request.id, (await heldNow()).filter((g) => !ours.includes(g)));
  return request.grants.filter((g) => !preExisting.includes(g));
}

/** Of `candidates` (what this request added), what its revoke may take back now. */
export async function revocable(store: RequestStore, provider: AccessProvider, request: AccessRequest, candidates: string[]): Promise<string[]> {
  if (provider.perGrantObjects) return candidates;
  const covered = await store.coveredElsewhere(request, 'window');
  return candidates.filter((g) => !covered.includes(g));
}

/** Everything this request added: its grants less what was held before (nothing, for per-grant objects). */
export async function addedBy(store: RequestStore, provider: AccessProvider, request: AccessRequest): Promise<string[]> {
  if (provider.perGrantObjects) return [...request.grants];
  const preExisting = await store.preExisting(request.id);
  return request.grants.filter((g) => !preExisting.includes(g));
}
