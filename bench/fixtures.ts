/** A one-resource policy and pending requests created through the real store, as `/access request` would. */
import { randomBytes } from 'node:crypto';
import type { Policy, ResourcePolicy, RolePolicy } from '../src/domain/policy.js';
import { submit } from '../src/domain/request.js';
import type { PostgresRequestStore } from '../src/store/request-store.js';

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
