/**
 * Expected outcomes that are not successes. Each chat adapter turns a code into user-facing text in one
 * function (`chat/slack/messages.ts`); nothing matches on message strings.
 */
export type DomainError =
  | { code: 'UNKNOWN_RESOURCE'; resource: string; known: string[] }
  | { code: 'UNKNOWN_ROLE'; resource: string; role: string; known: string[] }
  | { code: 'NOT_A_REQUESTER'; resource: string; role: string }
  | { code: 'DURATION_TOO_LONG'; maxMs: number }
  | { code: 'NO_PRINCIPAL'; userId: string }
  | { code: 'NOT_FOUND'; requestId: string }
  | { code: 'NOT_PENDING'; requestId: string; status: string; decidedBy: string[] }
  | { code: 'SELF_APPROVAL'; requestId: string }
  | { code: 'NOT_AN_APPROVER'; requestId: string }
  | { code: 'ALREADY_DECIDED'; requestId: string; outcome: 'approve' | 'deny' }
  | { code: 'NOT_IN_STATE'; requestId: string; status: string; expected: string[] }
  | { code: 'NOT_DUE'; requestId: string; expiresAt: Date }
  | { code: 'NOT_YOURS'; requestId: string }
  | { code: 'REASON_REQUIRED'; requestId: string }
  | { code: 'EXTENSION_PENDING'; requestId: string }
  | { code: 'EXTENSION_TOO_LONG'; maxTotalMs: number; remainingMs: number }
  | { code: 'REASON_TOO_SHORT'; minLength: number }
  | { code: 'TICKET_REQUIRED'; pattern: string }
  | { code: 'BREAK_GLASS_NOT_ALLOWED'; resource: string; role: string }
  | { code: 'ALREADY_ACKNOWLEDGED'; requestId: string; by: string };

export type DomainErrorCode = DomainError['code'];

export type Result<T, E = DomainError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
