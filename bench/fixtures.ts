/**
 * A one-resource policy, pending requests and granted / revoked requests created through the real store and
 * domain transitions, as `/access request`, the approvers and the grant / revoke jobs would; and Slack request
 * signatures for the replay guard.
 */
import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import type { Result } from '../src/domain/errors.js';
import type { Policy, ResourcePolicy, RolePolicy } from '../src/domain/policy.js';
import { activate, completeRevoke, review, startGrant, startRevoke, submit, type Transition } from '../src/domain/request.js';
import type { PostgresRequestStore } from '../src/store/request-store.js';
import type { RequestSnapshot } from '../src/use-cases/ports.js';

export const REQUESTER = 'U_ALICE';
export const APPROVER = 'U_BOB';
/** Distinct approvers for the contended case: 50 different people click Approve on one card at once. */
export const CROWD = Array.from({ length: 50 }, (_, i) => `U_APPROVER_${String(i + 1).padStart(2, '0')}`);

/**
 * Only what `review` reads (the role's approvers) is spelled out; the provider settings of a resource are
 * none of the benchmark's business, so the resource is asserted rather than filled in for the provider.
 */
const READ: RolePolicy = {
  grants: ['pg_read_all_data'],
  maxDurationMs: 8 * 3600_000,
  approvers: { users: [APPROVER, ...CROWD] },
  approvals: 1,
  channel: 'C_APPROVERS',
  requestTtlMs: 24 * 3600_000,
  remindAfterMs: 3600_000,
  warnBeforeMs: 10 * 60_000,
};

const PROD_DB: Pick<ResourcePolicy, 'provider' | 'roles'> = { provider: 'postgres', roles: { read: READ } };

export const POLICY: Policy = {
  version: 1,
  admins: [],
  principals: { [REQUESTER]: 'alice' },
  resources: { 'prod-db': PROD_DB as ResourcePolicy },
};

/** Same shape as the app's ids (`req_` + 10 base32 characters), so index behaviour matches production. */
export function newRequestId(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return `req_${[...randomBytes(10)].map((b) => alphabet[b % 32]).join('')}`;
}

/**
 * Creates `count` pending one-approval requests with `store.create` (request + audit + outbox rows),
 * `parallel` at a time, filled in from the role as `submitRequest` does.
 */
export async function createPending(
  store: PostgresRequestStore,
  count: number,
  parallel: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const ids = Array.from({ length: count }, newRequestId);
  for (let i = 0; i < ids.length; i += parallel) {
    signal?.throwIfAborted();
    await Promise.all(
      ids.slice(i, i + parallel).map((id) => {
        const now = new Date();
        return store.create(
          submit({
            id,
            extendsId: null,
            escalateAt: null,
            escalationChannel: null,
            platform: 'slack',
            requesterId: REQUESTER,
            principal: 'alice',
            resource: 'prod-db',
            role: 'read',
            grants: [...READ.grants],
            durationMs: 2 * 3600_000,
            reason: 'INC-4821 hotfix',
            approvalsRequired: READ.approvals,
            channel: READ.channel,
            createdAt: now,
            pendingUntil: new Date(now.getTime() + READ.requestTtlMs),
            remindAt: READ.remindAfterMs === null ? null : new Date(now.getTime() + READ.remindAfterMs),
            warnBeforeMs: READ.warnBeforeMs,
          }),
        );
      }),
    );
  }
  return ids;
}

/** Runs `work` over `items`, `parallel` at a time (each lane takes the next item as soon as it is free). */
async function eachInParallel<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      await work(items[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, lane));
}

async function step(store: PostgresRequestStore, id: string, decide: (s: RequestSnapshot) => Result<Transition>, what: string): Promise<void> {
  const out = await store.apply(id, decide);
  if (!out.ok) throw new Error(`bench fixture: ${what} on ${id} refused: ${JSON.stringify(out.error)}`);
}

const MINUTE = 60_000;
const DAY = 24 * 3600_000;

/**
 * Requests taken through the whole grant life cycle with `store.apply` and the domain's own transitions, as the
 * approvers and the jobs would (submit, approve, grant claimed, activated, then for the finished ones revoke
 * started and completed). The provider calls and `recordPreExisting` are left out: the latter would only write
 * the same grants row (`pre_existing = []`) a step earlier.
 * - `active`: granted just now, window (2 h) ending in the future.
 * - `finished`: granted at a random time in the last 30 days, window long over, revoked as expired (today).
 */
export async function createGrants(
  store: PostgresRequestStore,
  counts: { active: number; finished: number },
  parallel: number,
  signal?: AbortSignal,
): Promise<{ activeIds: string[]; finishedIds: string[] }> {
  const activeIds = await createPending(store, counts.active, parallel, signal);
  const finishedIds = await createPending(store, counts.finished, parallel, signal);
  const finished = new Set(finishedIds);
  await eachInParallel(
    [...activeIds, ...finishedIds],
    parallel,
    async (id) => {
      const isFinished = finished.has(id);
      const grantedAt = isFinished ? new Date(Date.now() - 3 * 3600_000 - Math.floor(Math.random() * 30 * DAY)) : new Date();
      await step(store, id, (s) => review(s.request, s.decisions, POLICY, { deciderId: APPROVER, outcome: 'approve', reason: null }, grantedAt), 'approve');
      await step(store, id, (s) => startGrant(s.request, grantedAt), 'startGrant');
      await step(store, id, (s) => activate(s.request, grantedAt), 'activate');
      if (!isFinished) return;
      await step(store, id, (s) => startRevoke(s.request, 'expired', new Date()), 'startRevoke');
      await step(store, id, (s) => completeRevoke(s.request, new Date()), 'completeRevoke');
    },
    signal,
  );
  return { activeIds, finishedIds };
}

/** A Slack request signature as the replay guard stores it: `v0=` + 64 hex (HMAC-SHA256). */
export function newSignature(): string {
  return `v0=${randomBytes(32).toString('hex')}`;
}

/**
 * The replay guard's steady state: `count` signatures received over the last `windowMs`, evenly spread
 * (a workspace sending count / window requests). Inserted in one statement: `claim` cannot back-date a row,
 * and a table whose rows all arrived "now" would never age, so the claims measured would never purge.
 * Returns the signatures, oldest first.
 */
export async function fillSignatures(sql: postgres.Sql, count: number, windowMs: number = 10 * MINUTE): Promise<string[]> {
  const signatures = Array.from({ length: count }, newSignature);
  const now = Date.now();
  const times = signatures.map((_, i) => new Date(now - windowMs + Math.floor(((i + 1) * windowMs) / count)).toISOString());
  await sql`
    INSERT INTO slack_request_signatures (signature, received_at)
    SELECT s, t::timestamptz FROM unnest(${signatures}::text[], ${times}::text[]) AS u(s, t)`;
  return signatures;
}
