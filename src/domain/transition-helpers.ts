/** Small helpers shared by the lifecycle's transition modules (request.ts and its siblings). */
import type { DomainError } from './errors.js';
import type { AccessRequest, RequestStatus } from './request.js';

/** The next state: the patch applied and the compare-and-swap version incremented by exactly one. */
export function bump(request: AccessRequest, patch: Partial<AccessRequest>): AccessRequest {
  return { ...request, ...patch, version: request.version + 1 };
}

export function notIn(request: AccessRequest, expected: RequestStatus[]): DomainError {
  return { code: 'NOT_IN_STATE', requestId: request.id, status: request.status, expected };
}
