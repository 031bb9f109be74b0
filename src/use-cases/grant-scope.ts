/**
 * What a grant adds and what its revoke may take back, by the kind of target. A provider with per-grant
 * objects (an inline policy or a binding named after the request) adds and removes exactly its own object,
 * whatever other grants hold. A provider whose grants share one membership must not add what was there
 * before, and must not revoke what the principal held before or what another open grant still covers.
 *
 * Pre-existing means held without the bot: what the bot itself granted and no open grant covers (a leftover
 * of a clean-up or revoke that failed, a restored backup) is never recorded as such, or nothing would ever
 * take it back. Only a provider that lists exactly what it granted (`listGranted`, not `listsOthersGrants`)
 * can tell; without it, or when its listing fails for good, everything held is recorded as pre-existing,
 * leftovers included (its limit).
 */
import type { AccessRequest } from '../domain/request.js';
import { describeError } from './effects.js';
import { PermanentProviderError, type AccessProvider, type Logger, type RequestStore } from './ports.js';

/** The grants this request adds, recording (first write wins) what was held before it. */
export async function grantsToAdd(store: RequestStore, provider: AccessProvider, request: AccessRequest, heldNow: () => Promise<string[]>, log: Logger): Promise<string[]> {
  if (provider.perGrantObjects) {
    await store.recordPreExisting(request.id, []);
    return [...request.grants];
  }
  // What another grant of ours added is not pre-existing access: its own revoke decides its fate.
  const ours = await store.coveredElsewhere(request, 'until-revoked');
  const held = (await heldNow()).filter((g) => !ours.includes(g));
  const preExisting = await store.recordPreExisting(request.id, await heldWithoutTheBot(provider, request, held, log));
  return notHeldBefore(request, preExisting);
}

/**
 * Of `held` (what the principal holds that no open grant of ours covers), what the bot did not grant: one
 * listing, only when something is held (usually nothing is), limited to those grants. Principals compare as
 * drift detection compares them (`principalKey`). A transient listing error fails the attempt before anything
 * is recorded, to be retried; one that fails for good (a superuser PostgreSQL bot) cannot tell, so everything
 * held is recorded, as for a provider that cannot list at all: taking access held without the bot is worse.
 */
async function heldWithoutTheBot(provider: AccessProvider, request: AccessRequest, held: string[], log: Logger): Promise<string[]> {
  if (held.length === 0 || !provider.listGranted || provider.listsOthersGrants === true) return held;
  let listed;
  try {
    listed = await provider.listGranted(held);
  } catch (error) {
    if (!(error instanceof PermanentProviderError)) throw error;
    log.warn({ requestId: request.id, err: describeError(error) }, 'cannot list what the bot granted; recording everything held as pre-existing');
    return held;
  }
  const key = (p: string) => provider.principalKey?.(p) ?? p;
  const principal = key(request.principal);
  const byBot = new Set(listed.filter((o) => key(o.principal) === principal).map((o) => o.grant));
  return held.filter((g) => !byBot.has(g));
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
  return notHeldBefore(request, await store.preExisting(request.id));
}

/**
 * What any attempt of a grant being given up may have added, for an attempt that failed before learning it
 * (reading the target or the records): an EARLIER attempt may have granted, then lost the save of `active`.
 * Taken from the durable record, never from memory. A record naming something held before proves an attempt
 * recorded, so the target is not read. An empty one cannot tell "no attempt recorded, so none granted" from
 * "one recorded nothing held, and may have granted it all": the record is then made as a grant makes it
 * (first write wins), from what the target holds now, so access held without us is never taken. When the
 * target cannot be read, this throws and nothing is taken.
 */
export async function mayHaveAdded(store: RequestStore, provider: AccessProvider, request: AccessRequest, heldNow: () => Promise<string[]>, log: Logger): Promise<string[]> {
  const added = await addedBy(store, provider, request);
  if (provider.perGrantObjects || added.length < request.grants.length) return added;
  return grantsToAdd(store, provider, request, heldNow, log);
}

function notHeldBefore(request: AccessRequest, preExisting: string[]): string[] {
  return request.grants.filter((g) => !preExisting.includes(g));
}
