/**
 * PostgreSQL driver errors as provider errors: permanent (retrying cannot fix them) or retryable, and as text
 * that never contains the connection URL, its password or the host.
 */
import postgres from 'postgres';
import { PermanentProviderError } from '../../use-cases/ports.js';
import type { TargetTimeouts } from '../definition.js';

/** SQLSTATEs that retrying cannot fix. */
const PERMANENT_SQLSTATES = new Set([
  '42704', // undefined_object: the role or the principal does not exist
  '42501', // insufficient_privilege: the bot lacks ADMIN OPTION on the role (or pg_signal_backend)
  '0LP01', // invalid_grant_operation: the grant would make a membership loop
]);
/**
 * A statement the target gave up on: lock_not_available (it waited longer than `lock_timeout`, e.g. behind a
 * DBA's open transaction on the same membership) and query_canceled (`statement_timeout`). Retryable, like
 * every SQLSTATE not listed above; named here for the message.
 */
const LOCK_NOT_AVAILABLE = '55P03';
const QUERY_CANCELED = '57014';
export const UNDEFINED_OBJECT = '42704';
/** dependent_objects_still_exist: DROP ROLE of a role that owns objects or holds privileges on them. */
export const DEPENDENT_OBJECTS = '2BP01';

/** A provider error, saying which bound a timed-out statement hit. */
export function boundedError(error: unknown, context: string, timeouts: TargetTimeouts): Error {
  const state = sqlstate(error);
  if (state === LOCK_NOT_AVAILABLE) {
    return new Error(`${context}: waited longer than lock_timeout (${seconds(timeouts.lockMs)}) for a lock another session holds on the target (SQLSTATE ${state}); retryable`);
  }
  if (state === QUERY_CANCELED) {
    return new Error(`${context}: cancelled on the target, by statement_timeout (${seconds(timeouts.statementMs)}) or by an administrator (SQLSTATE ${state}); retryable`);
  }
  return providerError(error, context);
}

/**
 * A driver error as text that is safe to log and show: the SQLSTATE and the server's message. Socket and
 * driver errors (ECONNREFUSED, CONNECT_TIMEOUT, CONNECTION_CLOSED, …) name the host and port in their
 * message, so only their code is kept.
 */
export function describePgError(error: unknown): string {
  if (error instanceof postgres.PostgresError) return `SQLSTATE ${error.code}: ${error.message}`;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) return `driver error ${code}`;
  return `unexpected driver error (${error instanceof Error ? error.name : typeof error})`;
}

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

/** A server DETAIL on one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').trim();
}

export function sqlstate(error: unknown): string | undefined {
  return error instanceof postgres.PostgresError ? error.code : undefined;
}

/** Never passes the driver error on as `cause`: its properties may hold connection details. */
export function providerError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describePgError(error)}`;
  const state = sqlstate(error);
  return state !== undefined && PERMANENT_SQLSTATES.has(state) ? new PermanentProviderError(message) : new Error(message);
}
