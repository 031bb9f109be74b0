/** More time on an active grant: checking a request for it, and applying an approved one to the grant. */
import { err, ok, type DomainError, type Result } from './errors.js';
import { failGrant, SYSTEM_ACTOR, type AccessRequest, type Effect, type Transition } from './request.js';
import { warningTime } from './timed-checks.js';
import { bump, notIn } from './transition-helpers.js';

/**
 * Checks a request for more time on an active grant: only its requester may ask, only while it is active,
 * one extension at a time, and the whole window (what was granted plus every extension) stays within the
 * role's maximum total.
 */
export function checkExtension(
  original: AccessRequest,
  input: { requesterId: string; durationMs: number; maxTotalMs: number; pendingExtension: boolean },
): DomainError | null {
  if (input.requesterId !== original.requesterId) return { code: 'NOT_YOURS', requestId: original.id };
  if (original.status !== 'active') return notIn(original, ['active']);
  if (input.pendingExtension) return { code: 'EXTENSION_PENDING', requestId: original.id };
  const remainingMs = input.maxTotalMs - original.durationMs;
  if (input.durationMs > remainingMs) return { code: 'EXTENSION_TOO_LONG', maxTotalMs: input.maxTotalMs, remainingMs: Math.max(0, remainingMs) };
  return null;
}

/**
 * An approved extension is applied to the grant it extends, in one step: the grant's window ends later (its
 * revoke and warning move with it), and the extension request is done. If the grant ended meanwhile, the
 * extension fails and nothing is lengthened.
 */
export function applyExtension(
  extension: AccessRequest,
  original: AccessRequest,
  maxTotalMs: number,
  now: Date,
): Result<[Transition, Transition]> {
  if (extension.status !== 'approved' || extension.extendsId !== original.id) return err(notIn(extension, ['approved']));
  // Checked again here: two extensions asked for at the same moment must not add up past the maximum.
  const problem =
    original.status !== 'active' || original.expiresAt === null
      ? 'the grant had already ended'
      : original.durationMs + extension.durationMs > maxTotalMs
        ? `it would make the grant longer than the role's maximum total of ${Math.round(maxTotalMs / 60_000)} minutes`
        : null;
  if (problem !== null || original.expiresAt === null) {
    const failed = failGrant(extension, problem ?? 'the grant had already ended', now);
    if (!failed.ok) return failed;
    return ok([
      failed.value,
      { next: bump(original, {}), audit: { action: 'extension.not-applied', actor: SYSTEM_ACTOR, details: { extension: extension.id, why: problem } }, effects: [] },
    ]);
  }
  const expiresAt = new Date(original.expiresAt.getTime() + extension.durationMs);
  const lengthened = { ...original, durationMs: original.durationMs + extension.durationMs, expiresAt, warnedAt: null };
  const effects: Effect[] = [{ type: 'schedule-revoke', at: expiresAt }, { type: 'notify-requester', notice: 'extended' }, { type: 'refresh-cards' }];
  const warnAt = warningTime(lengthened, expiresAt);
  if (warnAt) effects.push({ type: 'schedule-check', check: 'warn', at: warnAt });
  return ok([
    {
      next: bump(extension, { status: 'applied', grantedAt: now, expiresAt }),
      audit: { action: 'extension.applied', actor: SYSTEM_ACTOR, details: { extends: original.id, byMs: extension.durationMs } },
      effects: [{ type: 'refresh-cards' }],
    },
    {
      next: bump(lengthened, {}),
      audit: { action: 'grant.extended', actor: SYSTEM_ACTOR, details: { extension: extension.id, byMs: extension.durationMs, expiresAt: expiresAt.toISOString() } },
      effects,
    },
  ]);
}

