/**
 * What ties an Azure object to a request: the deterministic name of a grant's role assignment, the marker in
 * its description, and the comparison of role definition ids and scopes as Azure returns them.
 */
import { createHash } from 'node:crypto';

/** Marks an assignment as ours in its description; revoke deletes no assignment without it. */
export const MARKER = 'accessbot ';

/**
 * A name-based (version 5, SHA-1) UUID as in RFC 9562 §5.5: the same name in the same namespace always
 * gives the same UUID. Written here rather than adding a package for twenty lines.
 */
export function uuidV5(name: string, namespace: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replace(/-/g, ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** accessbot's own namespace for assignment names (a fixed random UUID: never change it). */
const ASSIGNMENT_NAMESPACE = '5b0c1e4e-3f8a-4d7c-9a51-6c2f0d8e7b13';

/** The role assignment name of one grant of one request: the same on every retry, different for any other. */
export function assignmentName(requestId: string, grant: string): string {
  return uuidV5(JSON.stringify([requestId, grant]), ASSIGNMENT_NAMESPACE);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

export function normalScope(scope: string | undefined): string {
  return (scope ?? '').replace(/\/+$/, '').toLowerCase();
}

/** Role definition ids come back in subscription or tenant form; the GUID at the end identifies the role. */
export function roleGuid(id: string | undefined): string {
  return (id ?? '').split('/').pop()?.toLowerCase() ?? '';
}
