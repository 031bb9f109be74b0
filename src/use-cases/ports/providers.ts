/** The target systems privileges are granted on, and what one grant is about. */
import type { AccessRequest } from '../../domain/request.js';

/** What one grant is about, on one target: enough for a provider to derive every name it uses. */
export interface GrantTarget {
  /** Deterministic names on the target (binding, assignment, policy, account) derive from it. */
  requestId: string;
  /** The requester's identity on the target. */
  principal: string;
  /** What to grant: roles, policies, role definitions; the provider's vocabulary. */
  grants: string[];
  /** The end of the window, for targets that can expire a grant themselves (a second lock). */
  expiresAt: Date;
}

/** The target of an existing request (its window known once granted), limited to `grants`. */
export function targetOf(request: AccessRequest, grants: string[]): GrantTarget {
  return { requestId: request.id, principal: request.principal, grants, expiresAt: request.expiresAt ?? new Date(request.createdAt.getTime() + request.durationMs) };
}

/**
 * Changes privileges on one target system. Contract: `grant` and `revoke` are idempotent (granting what is
 * held, revoking what is gone: success); `revoke` also ends the principal's open sessions where the target
 * lets a session keep a revoked privilege; names are derived from `requestId`, so a revoke needs nothing but
 * the target to find what the grant added. `grants` in `revoke` lists only what this grant may take back
 * (what was held before, or is still covered by another grant, is already left out). Errors that retrying
 * cannot fix are `PermanentProviderError`.
 */
export interface AccessProvider {
  /**
   * True when every grant creates its own object on the target (an inline policy, a binding named after the
   * request): then a revoke removes exactly this grant's objects, whatever other grants hold. False when
   * grants of the same role share one membership or assignment: then the use case leaves out what the
   * principal held before and what another open grant still covers.
   */
  readonly perGrantObjects: boolean;
  /** Which of `target.grants` the principal holds right now, by any means. */
  held(target: GrantTarget): Promise<string[]>;
  grant(target: GrantTarget): Promise<void>;
  revoke(target: GrantTarget): Promise<void>;
  /**
   * Checks, without changing anything on the target, that the bot can reach it and holds what granting and
   * revoking `grants` needs (`accessbot provider check`). Findings never carry secrets. Optional: a provider
   * without it cannot be checked ahead of its first grant.
   */
  check?(grants: string[]): Promise<ProviderCheck>;
  /**
   * What the bot itself granted on the target that is still in place, for drift detection: read-only.
   * `grants` are the resource's grants; a provider whose objects are named after their request lists all of
   * its own (the request decides) and may ignore it. Every object listed must be one that
   * `revoke({ requestId, principal, grants: [grant] })` removes (for `requestId` null, any request id).
   * Optional: a provider without it is not checked for drift.
   */
  listGranted?(grants: string[]): Promise<GrantedObject[]>;
  /**
   * True when `listGranted` cannot tell the bot's grants from anyone else's and lists every grant of its kind
   * on the operator's word (aws-sso's `exclusive_user_assignments`). Then what a request recorded as held
   * before stays trusted (never revoked, by a revoke or by drift), and a leftover of the bot's own held when
   * the same person asks again is recorded so too (its limit). Absent or false: everything listed is the
   * bot's own grant, so it is never pre-existing access.
   */
  readonly listsOthersGrants?: boolean;
  /**
   * How the target compares principals, when not exactly: Azure object ids and Identity Center user ids are
   * GUID-like and case-insensitive, so the policy may write one in upper case while the target lists it in
   * lower case. Drift detection compares what a provider lists with the records through it. Absent: exact.
   */
  principalKey?(principal: string): string;
  /**
   * The credentials a grant created for the requester to log in with (an ephemeral login role), or null when
   * the grant created none (a membership of an existing user). Derived, never stored: called when the
   * "granted" DM is delivered, and the result goes into that DM only (never a log, the audit log, the
   * database or the outbox). Optional: most providers grant to an identity the requester already has.
   */
  credentialsFor?(target: GrantTarget): Promise<LoginCredentials | null>;
}

/** A login created for one grant: where and as whom the requester connects. A secret (the password). */
export interface LoginCredentials {
  username: string;
  password: string;
  host: string;
  port: number;
  database: string;
}

/** One thing the bot granted that is still on the target: a binding, a conditional binding, a membership. */
export interface GrantedObject {
  principal: string;
  grant: string;
  /** The request the object is named after; null where the target keeps no such name (a shared membership). */
  requestId: string | null;
}

/** The outcome of `AccessProvider.check`: `ok` unless some finding is `fail`. */
export interface ProviderCheck {
  ok: boolean;
  findings: { level: 'ok' | 'warn' | 'fail'; what: string }[];
}

export class PermanentProviderError extends Error {
  override name = 'PermanentProviderError';
}

export interface ProviderRegistry {
  forResource(resource: string): AccessProvider;
}
