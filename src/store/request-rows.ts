/**
 * Mapping between the domain's `AccessRequest` and the rows that hold it (`access_requests` + `grants`), and
 * from transition effects to outbox payloads. Pure.
 */
import type { AccessRequest } from '../domain/request.js';
import { accessRequests, grants } from './schema.js';

export const SELECT_REQUEST = {
  request: accessRequests,
  grant: grants,
};

export type RequestRow = typeof accessRequests.$inferSelect;
export type GrantRow = typeof grants.$inferSelect;

export function toDomain(row: RequestRow, grant: GrantRow | null): AccessRequest {
  return {
    id: row.id,
    extendsId: row.extendsId,
    status: row.status as AccessRequest['status'],
    version: row.version,
    platform: row.platform as AccessRequest['platform'],
    requesterId: row.requesterId,
    principal: row.principal,
    resource: row.resource,
    role: row.role,
    grants: row.grants,
    durationMs: row.durationSeconds * 1000,
    reason: row.reason,
    approvalsRequired: row.approvalsRequired,
    channel: row.channel,
    createdAt: row.createdAt,
    pendingUntil: row.pendingUntil,
    remindAt: row.remindAt,
    remindedAt: row.remindedAt,
    escalateAt: row.escalateAt,
    escalatedAt: row.escalatedAt,
    escalationChannel: row.escalationChannel,
    warnBeforeMs: row.warnBeforeSeconds * 1000,
    warnedAt: row.warnedAt,
    decidedAt: row.decidedAt,
    grantAfter: row.grantAfter,
    grantStartedAt: row.grantStartedAt,
    grantedAt: grant?.grantedAt ?? null,
    expiresAt: grant?.expiresAt ?? null,
    revokedAt: grant?.revokedAt ?? null,
    revokeReason: (grant?.revokeReason as AccessRequest['revokeReason']) ?? null,
    revokedBy: grant?.revokedBy ?? null,
    revokeNote: grant?.revokeNote ?? null,
    revokeAttempts: row.revokeAttempts,
    lastError: row.lastError,
    flags: row.flags ?? [],
    autoApprovedBy: row.autoApprovedBy,
    acknowledgedBy: row.acknowledgedBy,
    acknowledgedAt: row.acknowledgedAt,
  };
}

export function requestColumns(r: AccessRequest) {
  return {
    extendsId: r.extendsId,
    status: r.status,
    version: r.version,
    platform: r.platform,
    requesterId: r.requesterId,
    principal: r.principal,
    resource: r.resource,
    role: r.role,
    grants: r.grants,
    durationSeconds: Math.round(r.durationMs / 1000),
    reason: r.reason,
    approvalsRequired: r.approvalsRequired,
    channel: r.channel,
    createdAt: r.createdAt,
    pendingUntil: r.pendingUntil,
    remindAt: r.remindAt,
    remindedAt: r.remindedAt,
    escalateAt: r.escalateAt,
    escalatedAt: r.escalatedAt,
    escalationChannel: r.escalationChannel,
    warnBeforeSeconds: Math.round(r.warnBeforeMs / 1000),
    warnedAt: r.warnedAt,
    decidedAt: r.decidedAt,
    grantAfter: r.grantAfter,
    grantStartedAt: r.grantStartedAt,
    revokeAttempts: r.revokeAttempts,
    lastError: r.lastError,
    flags: r.flags,
    autoApprovedBy: r.autoApprovedBy,
    acknowledgedBy: r.acknowledgedBy,
    acknowledgedAt: r.acknowledgedAt,
  };
}
