/**
 * One builder of new-request inputs for the tests that need a request without going through Slack: Alice
 * asks for prod-db / read for 2h, created at `T0`, pending for 24h, no reminder, no escalation. Each test
 * overrides what it is about.
 */
import { HOUR } from '../../src/domain/duration.js';
import type { NewRequest } from '../../src/domain/request.js';

export const DRAFT_T0 = new Date('2025-08-06T12:00:00.000Z');

export function requestDraft(patch: Partial<NewRequest> = {}): NewRequest {
  const createdAt = patch.createdAt ?? DRAFT_T0;
  return {
    id: 'req_01',
    extendsId: null,
    escalateAt: null,
    escalationChannel: null,
    platform: 'slack',
    requesterId: 'U0ALICE01',
    principal: 'alice',
    resource: 'prod-db',
    role: 'read',
    grants: ['pg_read_all_data'],
    durationMs: 2 * HOUR,
    reason: 'INC-4821 hotfix',
    approvalsRequired: 1,
    channel: 'C0APPROVE1',
    createdAt,
    pendingUntil: new Date(createdAt.getTime() + 24 * HOUR),
    remindAt: null,
    warnBeforeMs: 0,
    ...patch,
  };
}
